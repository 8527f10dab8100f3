// The tape: recording, backward, accumulation, retain_graph, no_grad, errors, threading, anomaly mode.
#include <catch2/catch.hpp>

#include <cmath>
#include <thread>

#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;
using Catch::Matchers::Contains;

TEST_CASE("tensor basics: creation, shape, item, detach", "[tape]") {
    Tensor<> a({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
    CHECK(a.shape() == Shape{2, 3});
    CHECK(a.dim() == 2);
    CHECK(a.numel() == 6);
    CHECK(a.size(-1) == 3);
    CHECK_THROWS_AS(a.size(2), IndexError);
    CHECK_THROWS_WITH(a.item(), Contains("6 elements"));
    CHECK(Tensor<double>::scalar(2.5).item() == 2.5);
    Tensor<double> x({1.0, 2.0}, true);
    auto y = x * x;
    CHECK(!y.is_leaf());
    CHECK(y.grad_fn() == "mul");
    auto d = y.detach();
    CHECK(d.is_leaf());
    CHECK(!d.requires_grad());
    CHECK(d.value() == y.value());
    CHECK_THROWS_AS(y.requires_grad_(false), AutogradError);
    Tensor<> u;
    CHECK(!u.defined());
    CHECK_THROWS_AS(u.value(), Error);
}

TEST_CASE("factories are seeded and shaped", "[tape]") {
    CHECK((zeros<float>({2, 2}).value() == xt::xarray<float>({{0, 0}, {0, 0}})));
    CHECK((ones<double>({3}).value() == xt::xarray<double>({1, 1, 1})));
    CHECK((full<float>({2}, 7.f).value() == xt::xarray<float>({7, 7})));
    CHECK((arange<double>(0, 5, 2).value() == xt::xarray<double>({0, 2, 4})));
    CHECK((arange<double>(5, 0, -2).value() == xt::xarray<double>({5, 3, 1})));
    CHECK_THROWS_AS(arange<float>(0, 1, 0), ValueError);
    Generator g1(42), g2(42), g3(43);
    auto r1 = rand<double>({100}, g1), r2 = rand<double>({100}, g2), r3 = rand<double>({100}, g3);
    CHECK(r1.value() == r2.value());
    CHECK(r1.value() != r3.value());
    for (double v : r1.value()) CHECK((v >= 0 && v < 1));
    Generator g4(7);
    auto n = randn<double>({20000}, g4);
    double m = 0, s = 0;
    for (double v : n.value()) m += v;
    m /= 20000;
    for (double v : n.value()) s += (v - m) * (v - m);
    s = std::sqrt(s / 20000);
    CHECK(std::abs(m) < 0.03);
    CHECK(std::abs(s - 1) < 0.03);
    // the generator's state round-trips
    Generator a(5);
    a.next();
    Generator b;
    b.set_state(a.state());
    CHECK(a.next() == b.next());
    CHECK_THROWS_AS(b.set_state("garbage"), ValueError);
}

TEST_CASE("a node used several times receives the sum of its gradients", "[tape]") {
    Tensor<double> a({1.0, -2.0, 3.0}, true);
    auto b = a + a;      // db/da = 2
    auto c = b * b;      // dc/db = 2b
    sum(c).backward();   // d/da = 2·2b = 8a
    CHECK((a.grad() == xt::xarray<double>({8.0, -16.0, 24.0})));
}

TEST_CASE("gradients accumulate across backward calls until zeroed", "[tape]") {
    Tensor<double> x({2.0}, true);
    sum(x * x).backward();
    CHECK(x.grad()(0) == 4.0);
    sum(x * x).backward();
    CHECK(x.grad()(0) == 8.0);
    x.zero_grad();
    CHECK(x.grad()(0) == 0.0);
    sum(x * x).backward();
    CHECK(x.grad()(0) == 4.0);
    x.zero_grad(/*set_to_none=*/true);
    CHECK(!x.has_grad());
    CHECK_THROWS_AS(x.grad(), AutogradError);
}

TEST_CASE("retain_graph allows a second backward, without it it is a clear error", "[tape]") {
    Tensor<double> x({1.0, 2.0}, true);
    auto y = sum(exp(x));
    y.backward({}, /*retain_graph=*/true);
    auto g1 = x.grad();
    y.backward();
    CHECK((x.grad() == xt::xarray<double>(2.0 * g1)));
    CHECK_THROWS_WITH(y.backward(), Contains("backward through the graph a second time"));
    // a new graph built on a freed part of an old one fails the same way
    Tensor<double> z({1.0}, true);
    auto h = z * z;
    auto l1 = sum(h);
    l1.backward();
    auto l2 = sum(h * h);
    CHECK_THROWS_WITH(l2.backward(), Contains("retain_graph"));
}

TEST_CASE("entries are released after backward and dead graphs are swept", "[tape]") {
    clear_tape();
    Tensor<float> w({1.f, 2.f}, true);
    for (int i = 0; i < 100; ++i) {
        auto l = sum(relu(w * w - 1.f));
        l.backward();
        CHECK(tape_size() == 0);
    }
    // forwards that are never backwarded do not pile up without bound
    for (int i = 0; i < 20000; ++i) {
        auto l = sum(w * 2.f);
        (void)l;
    }
    CHECK(tape_size() < 9000);
    { auto l = sum(w); l.backward(); }
    CHECK(tape_size() == 0);
}

TEST_CASE("backward needs a scalar or an explicit gradient", "[tape]") {
    Tensor<double> x({1.0, 2.0}, true);
    auto y = x * 3.0;
    CHECK_THROWS_WITH(y.backward(), Contains("implicitly created only for scalar outputs"));
    CHECK_THROWS_AS(y.backward(Tensor<double>({1.0, 2.0, 3.0})), ShapeError);
    y.backward(Tensor<double>({1.0, 10.0}));
    CHECK((x.grad() == xt::xarray<double>({3.0, 30.0})));
    Tensor<double> c({1.0});
    CHECK_THROWS_WITH(sum(c).backward(), Contains("does not require grad"));
}

TEST_CASE("no-grad guard stops recording", "[tape]") {
    Tensor<double> x({1.0}, true);
    {
        NoGradGuard g;
        CHECK(!is_grad_enabled());
        auto y = x * x;
        CHECK(!y.requires_grad());
        CHECK(y.is_leaf());
    }
    CHECK(is_grad_enabled());
    CHECK((x * x).requires_grad());
}

TEST_CASE("one tape per thread: a graph backwarded on another thread is an error", "[tape]") {
    Tensor<double> x({1.0, 2.0}, true);
    auto y = sum(x * x);
    std::string err;
    std::thread t([&] {
        try {
            y.backward();
        } catch (const AutogradError& e) {
            err = e.what();
        }
        // and a graph built on this thread works here
        Tensor<double> a({3.0}, true);
        sum(a * a).backward();
        if (a.grad()(0) != 6.0) err += " wrong gradient on the worker thread";
    });
    t.join();
    CHECK_THAT(err, Contains("another thread"));
    y.backward();
    CHECK((x.grad() == xt::xarray<double>({2.0, 4.0})));
}

TEST_CASE("anomaly mode names the first op producing NaN or Inf", "[tape]") {
    set_detect_anomaly(true);
    Tensor<double> x({-1.0, 1.0}, true);
    CHECK_THROWS_WITH(log(x), Contains("forward of 'log'"));
    Tensor<double> z({0.0, 1.0}, true);
    auto s = sqrt(z);  // finite forward, infinite gradient at 0
    CHECK_THROWS_WITH(sum(s).backward(), Contains("backward of 'sqrt'"));
    set_detect_anomaly(false);
    clear_tape();
    auto ok = log(x);  // off again: nan passes silently, as in torch
    CHECK(std::isnan(ok.value()(0)));
}

TEST_CASE("printing", "[tape]") {
    std::ostringstream os;
    os << Tensor<float>({1.f, 2.5f}, true);
    CHECK(os.str() == "tensor([1.0000, 2.5000], requires_grad=True)");
    CHECK(format_array(xt::xarray<double>({std::nan(""), INFINITY, -INFINITY})) == "[nan, inf, -inf]");
}
