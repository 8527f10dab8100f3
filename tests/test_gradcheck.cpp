// autograd::gradcheck itself: it passes right backwards, catches wrong ones, and refuses bad calls.
#include <catch2/catch.hpp>

#include <cmath>

#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;
using Catch::Matchers::Contains;
using Vec = std::vector<Tensor<double>>;

namespace {
// y = x³ with a backward that is off by `factor` and `sign`.
Tensor<double> cube(const Tensor<double>& x, double factor, double sign) {
    Tensor<double> out(xt::xarray<double>(x.value() * x.value() * x.value()));
    if (needs_grad({x}))
        record<double>(out, "cube_test", {x}, [x, factor, sign](const xt::xarray<double>& g, const xt::xarray<double>&) {
            x.accumulate_grad(xt::xarray<double>(sign * factor * 3.0 * g * x.value() * x.value()));
        });
    return out;
}
// A backward that is different every time it runs: not reentrant.
Tensor<double> flaky(const Tensor<double>& x) {
    Tensor<double> out(x.value());
    static int calls = 0;  // shared by every run, so no two backward runs agree
    if (needs_grad({x}))
        record<double>(out, "flaky_test", {x}, [x](const xt::xarray<double>& g, const xt::xarray<double>&) {
            x.accumulate_grad(xt::xarray<double>(g * (1.0 + 1e-12 * ++calls)));
        });
    return out;
}
}  // namespace

TEST_CASE("gradcheck passes a correct op and fails a sign error and a factor error", "[gradcheck]") {
    Generator g(1);
    Tensor<double> x = randn<double>({2, 3}, g, true);
    auto ok = autograd::gradcheck([](const Vec& v) { return cube(v[0], 1.0, 1.0); }, Vec{x});
    CHECK(ok.ok);
    CHECK(ok.checked == 36);
    CHECK_THAT(ok.report, Contains("gradcheck passed"));

    auto sign = autograd::gradcheck([](const Vec& v) { return cube(v[0], 1.0, -1.0); }, Vec{x});
    CHECK_FALSE(sign.ok);
    CHECK(sign.what == "jacobian mismatch");
    CHECK(sign.mismatches == 6);
    CHECK(sign.input_element == sign.output_element);  // the Jacobian is diagonal
    CHECK(sign.analytical == Approx(-sign.numerical).epsilon(1e-6));
    CHECK_THAT(sign.report, Contains("output 0 with respect to input 0") && Contains("numerical") &&
                                Contains("analytical") && Contains("index ["));
    // a sign error: analytical = −numerical, so ‖A − N‖_F / ‖N‖_F = 2
    CHECK_THAT(sign.report, Contains("|analytical - numerical|_F / |numerical|_F = 2.0000000"));

    auto factor = autograd::gradcheck([](const Vec& v) { return cube(v[0], 1.01, 1.0); }, Vec{x});
    CHECK_FALSE(factor.ok);
    CHECK(factor.max_error > 0);
    // the worst entry is reported with its multi-index
    CHECK(factor.input_position.size() == 2);

    // tolerances matter: a 1% error passes with rtol = 2%
    auto loose = autograd::gradcheck([](const Vec& v) { return cube(v[0], 1.01, 1.0); }, Vec{x}, 1e-6, 1e-5, 0.02);
    CHECK(loose.ok);
}

TEST_CASE("gradcheck: several inputs and outputs, inputs without grad", "[gradcheck]") {
    Generator g(2);
    Tensor<double> a = randn<double>({3}, g, true), b = randn<double>({3}, g, false);
    auto r = autograd::gradcheck([](const Vec& v) { return Vec{v[0] * v[1], exp(v[0])}; }, Vec{a, b});
    CHECK(r.ok);
    CHECK(r.checked == 18);  // 2 outputs × 3×3, b skipped
    CHECK(!a.has_grad());    // the caller's tensors are left alone
}

TEST_CASE("gradcheck detects a backward that is not reentrant", "[gradcheck]") {
    Tensor<double> x({1.0, 2.0}, true);
    auto r = autograd::gradcheck([](const Vec& v) { return flaky(v[0]); }, Vec{x});
    CHECK_FALSE(r.ok);
    CHECK(r.what == "backward not reentrant");
}

TEST_CASE("gradcheck refuses non-differentiable input and warns on float32", "[gradcheck]") {
    Tensor<double> x({1.0, 2.0});
    CHECK_THROWS_WITH(autograd::gradcheck([](const Vec& v) { return v[0] * 2.0; }, Vec{x}),
                      Contains("at least one input tensor to require gradient"));
    CHECK_THROWS_AS(autograd::gradcheck([](const Vec& v) { return v[0]; }, Vec{x.requires_grad_()}, -1.0), ValueError);
    Tensor<float> f({1.f, 2.f}, true);
    auto r = autograd::gradcheck([](const std::vector<Tensor<float>>& v) { return v[0] * v[0]; }, std::vector<Tensor<float>>{f},
                       1e-3, 1e-2, 1e-2);
    REQUIRE(r.warnings.size() == 1);
    CHECK_THAT(r.warnings[0], Contains("not a double precision"));
}

TEST_CASE("gradcheck reports NaN gradients as failures", "[gradcheck]") {
    Tensor<double> x({0.0, 1.0}, true);
    auto r = autograd::gradcheck([](const Vec& v) { return sqrt(v[0]); }, Vec{x});  // infinite slope at 0
    CHECK_FALSE(r.ok);
}
