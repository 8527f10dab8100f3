// autograd::gradcheck itself: it passes right backwards, catches wrong ones, and refuses bad calls.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>

#include <xtensor/xview.hpp>

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

// ---------------------------------------------------------------- GradcheckOptions and torch's other checks

namespace {
using autograd::FiniteDifference;
using autograd::GradcheckOptions;

// y = Σ x² (a 0-d output) whose backward may ignore grad_output: with a one-element output the
// one-hot seed is 1, so only the zero-grad_output check can tell.
Tensor<double> sum_sq(const Tensor<double>& x, bool use_grad_output, bool as_1x1 = false) {
    xt::xarray<double> v = xt::xarray<double>::from_shape(as_1x1 ? std::vector<std::size_t>{1, 1} : std::vector<std::size_t>{});
    v.data()[0] = xt::sum(x.value() * x.value())();
    Tensor<double> out(v);
    if (needs_grad({x}))
        record<double>(out, "sum_sq_test", {x}, [x, use_grad_output](const xt::xarray<double>& g, const xt::xarray<double>&) {
            const double s = use_grad_output ? g.data()[0] : 1.0;
            x.accumulate_grad(xt::xarray<double>(2.0 * s * x.value()));
        });
    return out;
}

// a·b whose backward may write to an input that does not require grad, or throw on one.
enum class Undefined { Handled, WritesAnyway, Throws };
Tensor<double> mul_test(const Tensor<double>& a, const Tensor<double>& b, Undefined how) {
    Tensor<double> out(xt::xarray<double>(a.value() * b.value()));
    if (needs_grad({a, b}))
        record<double>(out, "mul_test", {a, b}, [a, b, how](const xt::xarray<double>& g, const xt::xarray<double>&) {
            if (how == Undefined::Throws && !(a.requires_grad() && b.requires_grad()))
                throw AutogradError("mul_test: both inputs must require grad");
            if (a.requires_grad() || how != Undefined::Handled) a.accumulate_grad(xt::xarray<double>(g * b.value()));
            if (b.requires_grad() || how != Undefined::Handled) b.accumulate_grad(xt::xarray<double>(g * a.value()));
        });
    return out;
}

// x·y with backward mistakes of the usual kinds.
enum class Mistake { None, Sign, OneDoubled, NoBroadcastSum, Overwrite };
// a (3) broadcast against b (2, 3): out = a * b; the gradient of a must sum over b's rows.
Tensor<double> bmul(const Tensor<double>& a, const Tensor<double>& b, Mistake m) {
    Tensor<double> out(xt::xarray<double>(a.value() * b.value()));
    if (needs_grad({a, b}))
        record<double>(out, "bmul_test", {a, b}, [a, b, m](const xt::xarray<double>& g, const xt::xarray<double>&) {
            xt::xarray<double> ga = m == Mistake::NoBroadcastSum ? xt::xarray<double>(xt::view(g * b.value(), 0, xt::all()))
                                                                 : xt::xarray<double>(xt::sum(g * b.value(), {0}));
            xt::xarray<double> gb = g * xt::broadcast(a.value(), b.shape());
            if (m == Mistake::Sign) gb = -gb;
            if (m == Mistake::OneDoubled) gb.data()[4] *= 2;
            if (a.requires_grad()) a.accumulate_grad(ga);
            if (b.requires_grad()) b.accumulate_grad(gb);
        });
    return out;
}
// x·x through one entry with two inputs: the second gradient must add to the first.
Tensor<double> square_by_two_inputs(const Tensor<double>& a, const Tensor<double>& b, bool overwrite) {
    Tensor<double> out(xt::xarray<double>(a.value() * b.value()));
    if (needs_grad({a, b}))
        record<double>(out, "mul2_test", {a, b}, [a, b, overwrite](const xt::xarray<double>& g, const xt::xarray<double>&) {
            for (const auto& [t, other] : {std::pair{a, b}, std::pair{b, a}}) {
                bool acc = false;
                xt::xarray<double>& buf = t.grad_buffer(acc);
                if (acc && !overwrite)
                    buf += g * other.value();
                else
                    buf = g * other.value();
            }
        });
    return out;
}
}  // namespace

TEST_CASE("gradcheck: a backward that ignores grad_output fails on a one-element output, its twin passes", "[gradcheck]") {
    Tensor<double> x({0.5, -1.0, 2.0}, true);
    for (bool as_1x1 : {false, true}) {
        INFO((as_1x1 ? "output (1, 1)" : "output ()"));
        auto bad = autograd::gradcheck([as_1x1](const Vec& v) { return sum_sq(v[0], false, as_1x1); }, Vec{x});
        CHECK_FALSE(bad.ok);
        CHECK(bad.what == "backward not multiplied by grad_output");
        CHECK_THAT(bad.report, Contains("with a zero grad_output for output 0, input 0 got gradient"));
        // the Jacobian alone cannot tell: the same check without it passes
        CHECK(autograd::gradcheck([as_1x1](const Vec& v) { return sum_sq(v[0], false, as_1x1); }, Vec{x},
                                  GradcheckOptions().check_grad_output(false)).ok);
        CHECK(autograd::gradcheck([as_1x1](const Vec& v) { return sum_sq(v[0], true, as_1x1); }, Vec{x}).ok);
    }
}

TEST_CASE("gradcheck check_undefined_grad: a backward that writes to or throws on an input without grad", "[gradcheck]") {
    Generator g(3);
    Tensor<double> a = randn<double>({2, 2}, g, true), b = randn<double>({2, 2}, g, true);
    auto ok = autograd::gradcheck([](const Vec& v) { return mul_test(v[0], v[1], Undefined::Handled); }, Vec{a, b});
    CHECK(ok.ok);
    auto writes = autograd::gradcheck([](const Vec& v) { return mul_test(v[0], v[1], Undefined::WritesAnyway); }, Vec{a, b});
    CHECK_FALSE(writes.ok);
    CHECK(writes.what == "backward does not handle an input without grad");
    CHECK_THAT(writes.report, Contains("with input 0 not requiring grad, backward wrote a gradient to it"));
    auto throws = autograd::gradcheck([](const Vec& v) { return mul_test(v[0], v[1], Undefined::Throws); }, Vec{a, b});
    CHECK_FALSE(throws.ok);
    CHECK_THAT(throws.report, Contains("backward threw: mul_test: both inputs must require grad"));
    CHECK(autograd::gradcheck([](const Vec& v) { return mul_test(v[0], v[1], Undefined::Throws); }, Vec{a, b},
                              GradcheckOptions().check_undefined_grad(false)).ok);
}

TEST_CASE("gradcheck nondet_tol: a backward that differs run to run by 1e-12 passes within 1e-9 only", "[gradcheck]") {
    Tensor<double> x({1.0, 2.0}, true);
    auto strict = autograd::gradcheck([](const Vec& v) { return flaky(v[0]); }, Vec{x});
    CHECK(strict.what == "backward not reentrant");
    CHECK_THAT(strict.report, Contains("The tolerance for nondeterminism was 0"));
    auto loose = autograd::gradcheck([](const Vec& v) { return flaky(v[0]); }, Vec{x}, GradcheckOptions().nondet_tol(1e-9));
    INFO(loose);
    CHECK(loose.ok);
    auto fast = autograd::gradcheck([](const Vec& v) { return flaky(v[0]); }, Vec{x}, GradcheckOptions().fast_mode(true));
    CHECK(fast.what == "backward not reentrant");
    CHECK(autograd::gradcheck([](const Vec& v) { return flaky(v[0]); }, Vec{x},
                              GradcheckOptions().fast_mode(true).nondet_tol(1e-9)).ok);
}

TEST_CASE("gradcheck: per-input tolerances", "[gradcheck]") {
    Generator g(4);
    Tensor<double> x = randn<double>({3}, g, true), y = randn<double>({3}, g, true);
    // input 1 carries a 1 % error: it passes with rtol 2 % for input 1 only, not for input 0
    auto fn = [](const Vec& v) { return Vec{cube(v[0], 1.0, 1.0), cube(v[1], 1.01, 1.0)}; };
    CHECK_FALSE(autograd::gradcheck(fn, Vec{x, y}).ok);
    auto r = autograd::gradcheck(fn, Vec{x, y}, GradcheckOptions().input_tolerance(1, 1e-5, 0.02));
    INFO(r);
    CHECK(r.ok);
    auto swapped = autograd::gradcheck(fn, Vec{x, y}, GradcheckOptions().input_tolerance(0, 1e-5, 0.02));
    CHECK_FALSE(swapped.ok);
    CHECK(swapped.input_index == 1);
    CHECK_THROWS_WITH(autograd::gradcheck(fn, Vec{x, y}, GradcheckOptions().input_tolerance(2, 0, 0)),
                      Contains("input_tolerance for input 2, but there are 2 inputs"));
}

TEST_CASE("gradcheck full and fast mode catch the usual backward mistakes and pass the correct twin", "[gradcheck]") {
    Generator g(5);
    Tensor<double> a = randn<double>({3}, g, true), b = randn<double>({2, 3}, g, true);
    for (bool fast : {false, true}) {
        const auto opt = GradcheckOptions().fast_mode(fast);
        INFO((fast ? "fast mode" : "full mode"));
        auto good = autograd::gradcheck([](const Vec& v) { return bmul(v[0], v[1], Mistake::None); }, Vec{a, b}, opt);
        INFO(good);
        CHECK(good.ok);
        CHECK(good.mode == (fast ? "fast" : "full"));
        for (Mistake m : {Mistake::Sign, Mistake::OneDoubled, Mistake::NoBroadcastSum}) {
            auto bad = autograd::gradcheck([m](const Vec& v) { return bmul(v[0], v[1], m); }, Vec{a, b}, opt);
            INFO(bad);
            CHECK_FALSE(bad.ok);
            CHECK(bad.what == "jacobian mismatch");  // fast mode falls back to the full Jacobian for the report
            CHECK(bad.mode == (fast ? "fast, then full" : "full"));
            CHECK(bad.input_index == (m == Mistake::NoBroadcastSum ? 0u : 1u));
            if (m == Mistake::OneDoubled) CHECK(bad.input_element == 4);
        }
        auto overwrite = autograd::gradcheck([](const Vec& v) { return square_by_two_inputs(v[0], v[0], true); }, Vec{a}, opt);
        CHECK_FALSE(overwrite.ok);
        CHECK(autograd::gradcheck([](const Vec& v) { return square_by_two_inputs(v[0], v[0], false); }, Vec{a}, opt).ok);
    }
    // fast mode compares one product per (output, input) pair
    auto f = autograd::gradcheck([](const Vec& v) { return bmul(v[0], v[1], Mistake::None); }, Vec{a, b},
                                 GradcheckOptions().fast_mode(true));
    CHECK(f.checked == 2);
}

TEST_CASE("gradcheck fast mode does not scale atol: a small but wholly wrong gradient fails", "[gradcheck]") {
    // y = 1e-4 x³ summed over 2000 elements, with a backward of 0: every entry is off by at most
    // 3e-4 x², and vᵀJu is small, but the absolute tolerance stays 1e-5, not 1e-5 / size
    Generator g(6);
    Tensor<double> x = randn<double>({2000}, g, true);
    auto fn = [](const Vec& v) {
        Tensor<double> y = cube(v[0], 0.0, 1.0) * 1e-4;
        return sum(y * 30.0);
    };
    auto r = autograd::gradcheck(fn, Vec{x}, GradcheckOptions().fast_mode(true));
    CHECK_FALSE(r.ok);
    CHECK(r.mode == "fast, then full");
}

TEST_CASE("gradcheck schemes: Richardson and six-point are accurate at a step where central is not", "[gradcheck]") {
    Tensor<double> x({0.3, 1.2, -0.7}, true);
    auto fn = [](const Vec& v) { return exp(v[0]); };
    const auto opt = GradcheckOptions().eps(1e-2).atol(1e-8).rtol(0);
    auto central = autograd::gradcheck(fn, Vec{x}, opt);
    CHECK_FALSE(central.ok);  // truncation error h²/6·e^x ≈ 5e-5
    for (FiniteDifference s : {FiniteDifference::Richardson, FiniteDifference::SixPoint}) {
        auto r = autograd::gradcheck(fn, Vec{x}, GradcheckOptions(opt).scheme(s));
        INFO(r);
        CHECK(r.ok);
        CHECK(r.max_error < 1e-8);
        CHECK_THAT(r.report, Contains(autograd::to_string(s)));
        // and each still catches a wrong backward
        CHECK_FALSE(autograd::gradcheck([](const Vec& v) { return cube(v[0], 1.0, -1.0); }, Vec{x}, GradcheckOptions().scheme(s)).ok);
    }
    // the automatic step scales with |x|: x³ at 1e4 and at 1e-3
    for (double scale : {1e4, 1e-3}) {
        Tensor<double> big(xt::xarray<double>{1.0 * scale, -2.0 * scale}, true);
        for (FiniteDifference s : {FiniteDifference::Central, FiniteDifference::Richardson, FiniteDifference::SixPoint}) {
            auto r = autograd::gradcheck([](const Vec& v) { return cube(v[0], 1.0, 1.0); }, Vec{big},
                                         GradcheckOptions().auto_eps(true).scheme(s));
            INFO(scale << " " << autograd::to_string(s) << "\n" << r);
            CHECK(r.ok);
            CHECK_THAT(r.report, Contains("eps = automatic"));
        }
    }
}

TEST_CASE("gradcheck kinks: ReLU and abs at 0, ties in maximum, clamp at a bound are kinks, not failures", "[gradcheck]") {
    Tensor<double> x({0.0, 1.5, -0.5}, true), y({0.0, 2.0, -1.0}, true);
    CHECK(autograd::gradcheck([](const Vec& v) { return abs(v[0]); }, Vec{x}).ok);
    struct Case {
        const char* name;
        std::function<Tensor<double>(const Vec&)> fn;
        Vec in;
    };
    const std::vector<Case> cases{
        {"relu", [](const Vec& v) { return relu(v[0]); }, Vec{x}},
        // at exactly 0, abs's central difference is 0, as its gradient: no mismatch to explain. A
        // kink inside the stencil but off x (1e-7 and 3.3e-7 from it, h = 1e-6) is one:
        {"abs near 0", [](const Vec& v) { return abs(v[0]); }, Vec{Tensor<double>({1e-7, 1.5, -0.5}, true)}},
        {"abs at h/3", [](const Vec& v) { return abs(v[0]); }, Vec{Tensor<double>({1e-6 / 3, 1.5, -0.5}, true)}},
        // a tie in max(a, dim), whose gradient goes to the first maximum only
        {"max of a tie", [](const Vec& v) { return max(v[0], 0).values; }, Vec{Tensor<double>({2.0, 2.0, -1.0}, true)}},
        {"clamp", [](const Vec& v) { return clamp(v[0], Scalar<double>(-0.5), Scalar<double>(1.0)); }, Vec{x}},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        auto r = autograd::gradcheck(c.fn, c.in);
        INFO(r);
        CHECK(r.ok);
        REQUIRE_FALSE(r.kinks.empty());  // a mismatch explained
        CHECK(r.kinks[0].analytical_between);
        CHECK_THAT(r.report, Contains("at a kink of the forward"));
        // with kink detection off, the same entries are mismatches
        CHECK_FALSE(autograd::gradcheck(c.fn, c.in, GradcheckOptions().detect_kinks(false)).ok);
    }
    // torch's maximum splits a tie in two halves, which is the central difference: no kink to explain
    auto tie = autograd::gradcheck([](const Vec& v) { return maximum(v[0], v[1]); }, Vec{x, y});
    CHECK(tie.ok);
    CHECK(tie.kinks.empty());
    // a backward that is wrong AT the kink is still caught, and the report says so
    auto wrong = autograd::gradcheck(
        [](const Vec& v) {
            Tensor<double> out(xt::xarray<double>(xt::maximum(v[0].value(), 0.0)));
            Tensor<double> in = v[0];
            if (needs_grad({in}))
                record<double>(out, "relu_wrong_at_0", {in}, [in](const xt::xarray<double>& g, const xt::xarray<double>&) {
                    in.accumulate_grad(xt::xarray<double>(g * xt::where(in.value() >= 0.0, 3.0, 0.0)));  // 3 at 0 and above
                });
            return out;
        },
        Vec{x});
    CHECK_FALSE(wrong.ok);
    // x = 1.5 is smooth: the wrong slope 3 there is an ordinary mismatch; at 0 it is outside [0, 1]
    CHECK(wrong.mismatches == 2);
}

// ---------------------------------------------------------------- gradcheck_module

namespace {
// A layer of one's own: y = x * w (w per feature), with a backward whose weight gradient may be
// doubled in one element.
template <class T> class ScaleTest : public nn::Module<T> {
public:
    explicit ScaleTest(std::size_t n, bool wrong) : wrong_(wrong) {
        weight = this->register_parameter("weight", Tensor<T>(xt::xarray<T>(xt::arange<T>(1, T(n + 1)) / T(n)), true));
    }
    Tensor<T> forward(const Tensor<T>& x) override {
        Tensor<T> out(xt::xarray<T>(x.value() * weight.value()));
        Tensor<T> w = weight;
        const bool wrong = wrong_;
        if (needs_grad({x, w}))
            record<T>(out, "scale_test", {x, w}, [x, w, wrong](const xt::xarray<T>& g, const xt::xarray<T>&) {
                if (x.requires_grad()) x.accumulate_grad(xt::xarray<T>(g * w.value()));
                if (w.requires_grad()) {
                    xt::xarray<T> gw = xt::sum(g * x.value(), {0});
                    if (wrong) gw.data()[1] *= 2;
                    w.accumulate_grad(gw);
                }
            });
        return out;
    }
    std::string repr() const override { return "ScaleTest()"; }
    std::shared_ptr<nn::Module<double>> clone_as_double() const override {
        auto c = std::make_shared<ScaleTest<double>>(weight.numel(), wrong_);
        this->copy_own_state_to(*c);
        return c;
    }
    Tensor<T> weight;

private:
    bool wrong_;
};

std::shared_ptr<nn::Sequential<float>> small_model(bool wrong, Generator& g) {
    auto m = std::make_shared<nn::Sequential<float>>();
    m->push_back(std::make_shared<nn::Linear<float>>(4, 6, true, g));
    m->push_back(std::make_shared<nn::BatchNorm1d<float>>(6));
    m->push_back(std::make_shared<ScaleTest<float>>(6, wrong));
    m->push_back(std::make_shared<nn::Tanh<float>>());
    m->push_back(std::make_shared<nn::Dropout<float>>(0.3));
    m->push_back(std::make_shared<nn::Linear<float>>(6, 3, true, g));
    return m;
}
}  // namespace

TEST_CASE("gradcheck_module checks a float32 model's parameters on a float64 copy, dropout and batch norm included", "[gradcheck]") {
    Generator g(7);
    auto model = small_model(false, g);
    const Tensor<float> x = randn<float>({5, 4}, g, true);
    const xt::xarray<std::int64_t> y{0, 2, 1, 1, 0};
    const std::string before = default_generator().state();
    auto r = autograd::gradcheck_module(*model, x, [&](const Tensor<double>& out) { return cross_entropy(out, y); });
    INFO(r.table);
    CHECK(r.ok);
    CHECK(r.mode == "full");
    REQUIRE(r.rows.size() == 8);  // input, 0.weight, 0.bias, 1.weight, 1.bias, 2.weight, 5.weight, 5.bias
    CHECK(r.rows[0].name == "input");
    CHECK(r.rows[1].name == "0.weight");
    CHECK(r.rows[1].shape == Shape{6, 4});
    CHECK(r.rows[5].name == "2.weight");
    CHECK_THAT(r.table, Contains("every tensor within tolerance") && Contains("5.bias"));
    CHECK(default_generator().state() == before);  // the caller's random stream is left as it was
    CHECK_FALSE(model->named_parameters()[0].second.has_grad());

    // a wrong weight gradient in the custom layer: its row fails, the others pass
    auto bad_model = small_model(true, g);
    for (std::size_t fast_above : {std::size_t(1000000), std::size_t(10)}) {
        auto bad = autograd::gradcheck_module(*bad_model, x, [&](const Tensor<double>& out) { return cross_entropy(out, y); },
                                              autograd::GradcheckOptions(), fast_above);
        INFO(bad.table);
        CHECK_FALSE(bad.ok);
        CHECK(bad.mode == (fast_above == 10 ? "fast, then full" : "full"));
        std::size_t failed = 0;
        for (const auto& row : bad.rows) {
            CHECK(row.ok == (row.name != "2.weight"));
            failed += !row.ok;
        }
        CHECK(failed == 1);
        CHECK_THAT(bad.table, Contains("2.weight") && Contains("FAILED (1 entries out of tolerance)"));
        CHECK_THAT(bad.table, Contains("the first failure (its input 5 is 2.weight)"));
        CHECK(bad.detail.input_element == 1);
    }
    // above fast_above, a correct model is checked in fast mode
    auto fast = autograd::gradcheck_module(*model, x, [&](const Tensor<double>& out) { return cross_entropy(out, y); },
                                           autograd::GradcheckOptions(), 10);
    CHECK(fast.ok);
    CHECK(fast.mode == "fast");
}
