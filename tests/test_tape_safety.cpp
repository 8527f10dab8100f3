// The tape's contract under misuse (issue: misuse raises, never corrupts): graphs of any depth are
// dropped without recursion; a tensor changed in place after an op saved it makes backward refuse;
// a graph reaching into another thread's tape is refused when recorded; a backward pass that throws
// leaves every gradient as it found it.
#include <catch2/catch.hpp>

#include <cmath>
#include <thread>

#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;
using Catch::Matchers::Contains;

namespace {
constexpr int kDeep = 200000;  // deep enough to overflow the stack of a recursive destructor

Tensor<float> chain(const Tensor<float>& x, int n) {
    Tensor<float> y = x;
    for (int i = 0; i < n; ++i) y = y * 1.0000001f;
    return y;
}
}  // namespace

TEST_CASE("graphs of any depth are dropped at scope and thread exit, and backwarded", "[tape][safety]") {
    // never backwarded, dropped at the end of a thread (the tape goes with it)
    std::thread([] {
        Tensor<float> x({1.f}, true);
        Tensor<float> y = chain(x, kDeep);
        CHECK(tape_size() >= std::size_t(kDeep) / 2);
    }).join();
    // never backwarded, dropped at the end of a scope; the next records sweep it
    {
        Tensor<float> x({1.f}, true);
        Tensor<float> y = chain(x, kDeep);
    }
    Tensor<float> z({1.f}, true);
    for (int i = 0; i < 5000; ++i) z = z * 1.f;  // recording sweeps dead entries
    clear_tape();
    // backwarded from the end
    Tensor<float> x({1.f}, true);
    sum(chain(x, kDeep)).backward();
    CHECK(x.grad()(0) == Approx(std::pow(double(1.0000001f), kDeep)).epsilon(1e-3));
    CHECK(tape_size() == 0);
}

TEST_CASE("a tensor modified in place after an op saved it: backward refuses, naming the op", "[tape][safety]") {
    SECTION("an input of mul changed through mutable_value()") {
        Tensor<double> x({1.0, 2.0, 3.0}, true);
        Tensor<double> y = x * x;
        CHECK(x.version() == 0);
        x.mutable_value()(0) = 5.0;
        CHECK(x.version() == 1);
        CHECK_THROWS_WITH(sum(y).backward(), Contains("modified by an inplace operation") && Contains("'mul'") &&
                                                 Contains("input 0") && Contains("[3]") &&
                                                 Contains("is at version 1; expected version 0"));
        CHECK(!x.has_grad());  // nothing was written
    }
    SECTION("an optimizer step between forward and backward") {
        Tensor<float> w({{1.f, 2.f}}, true);
        Tensor<float> in({{3.f, 4.f}});
        optim::SGD<float> opt({w}, 0.1);
        sum(linear(in, w)).backward();
        Tensor<float> loss = sum(linear(in, w));
        opt.step();  // changes w, which linear saved
        const auto grad_before = w.grad();
        CHECK_THROWS_WITH(loss.backward(), Contains("modified by an inplace operation") && Contains("'linear'") &&
                                               Contains("input 1"));
        CHECK(w.grad() == grad_before);  // the failed pass left the gradient as it was
    }
    SECTION("the output of exp changed, then used") {
        Tensor<double> x({0.5, 1.0}, true);
        Tensor<double> y = exp(x);
        Tensor<double> s = sum(y);
        y.mutable_value()(1) = 0.0;
        CHECK_THROWS_WITH(s.backward(), Contains("input 0 of 'sum'"));
        CHECK_THROWS_WITH(y.backward(Tensor<double>({1.0, 1.0})), Contains("the output of 'exp'"));
    }
    SECTION("a recorded tensor resized through mutable_value(): an error, not a heap overflow") {
        Tensor<float> x({1.f, 2.f, 3.f}, true);
        Tensor<float> y = sum(x * x);
        x.mutable_value() = xt::zeros<float>({1000});
        CHECK_THROWS_AS(y.backward(), AutogradError);
    }
    SECTION("a leaf resized after its gradient was computed") {
        Tensor<float> x({1.f, 2.f, 3.f}, true);
        sum(x * 2.f).backward();
        x.mutable_value() = xt::ones<float>({1000});
        Tensor<float> y = sum(x * 2.f);  // recorded after the resize: versions match
        CHECK_THROWS_WITH(y.backward(), Contains("resized after that gradient was computed"));
        x.zero_grad(true);
        y = sum(x * 2.f);
        y.backward();
        CHECK(x.grad().size() == 1000);
    }
    SECTION("writes after backward are fine: the training loop's order") {
        Tensor<float> w({1.f, 2.f}, true);
        optim::SGD<float> opt({w}, 0.1);
        for (int step = 0; step < 3; ++step) {
            opt.zero_grad();
            sum(w * w).backward();
            opt.step();
        }
        CHECK(w.version() == 3);
    }
}

TEST_CASE("a graph reaching into another thread's tape is refused when recorded", "[tape][safety]") {
    Tensor<float> x({1.f, 2.f}, true);
    Tensor<float> h;
    std::thread([&] { h = x * 2.f; }).join();  // an intermediate made on a worker
    CHECK_THROWS_WITH(sum(h), Contains("another thread's tape") && Contains("'mul_scalar'"));
    CHECK_THROWS_WITH(h + x, Contains("another thread's tape"));
    // detached, it is a leaf of this thread's graph
    Tensor<float> s = sum(h.detach() * x);
    s.backward();
    CHECK(x.grad()(1) == 4.f);
    // and a graph recorded here still cannot be backwarded there
    Tensor<float> local = sum(x * x);
    std::string err;
    std::thread([&] {
        try {
            local.backward();
        } catch (const AutogradError& e) {
            err = e.what();
        }
    }).join();
    CHECK_THAT(err, Contains("not on this thread's tape"));
}

TEST_CASE("a backward pass that throws leaves every gradient as it was: a retry does not double count",
          "[tape][safety]") {
    Tensor<double> a({1.0, 2.0}, true), b({3.0, 4.0}, true), c({0.0, 1.0}, true);
    a.mutable_grad() = xt::xarray<double>({10.0, 20.0});  // a holds an accumulated gradient
    b.mutable_grad();
    b.zero_grad();  // b holds zeros
    // recorded: sqrt(c) first, a·b last, so backward writes a and b before reaching sqrt
    auto f = [&] { return sum(sqrt(c)) + sum(a * b); };
    set_detect_anomaly(true);
    Tensor<double> loss = f();
    CHECK_THROWS_WITH(loss.backward(), Contains("anomaly detected") && Contains("'sqrt'"));
    set_detect_anomaly(false);
    CHECK(a.grad() == xt::xarray<double>({10.0, 20.0}));
    CHECK(b.grad() == xt::xarray<double>({0.0, 0.0}));
    CHECK(!c.has_grad());
    // the retry (with c fixed) adds exactly one contribution
    c.mutable_value()(0) = 4.0;
    f().backward();
    CHECK(a.grad() == xt::xarray<double>({13.0, 24.0}));
    CHECK(b.grad() == xt::xarray<double>({1.0, 2.0}));
    CHECK(c.grad()(0) == Approx(0.25));
}
