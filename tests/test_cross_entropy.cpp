// cross_entropy and nll_loss against PyTorch 1.13 golden fixtures, plus errors and edge cases.
#include <catch2/catch.hpp>

#include <cmath>

#include <tapegrad/ops/loss.hpp>
#include <tapegrad/nn/loss.hpp>
#include <tapegrad/tapegrad.hpp>

#include "fixture.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;

namespace {
struct Worst {
    double loss = 0, grad = 0;
    int cases = 0;
};

// Runs one fixture case in precision T; returns the worst relative errors of loss and gradient.
template <class T> std::pair<double, double> run_case(const nlohmann::json& c, const char* loss_key, const char* grad_key, bool nll) {
    Tensor<T> input(fixture::array<T>(c["input"]), true);
    Tensor<T> weight;
    if (!c["weight"].is_null()) weight = Tensor<T>(fixture::array<T>(c["weight"]));
    const auto red = reduction_from_string(c["reduction"]);
    const std::int64_t ii = c["ignore_index"];
    Tensor<T> loss;
    if (nll) {
        loss = nll_loss(input, fixture::int_array(c["target"]), weight, ii, red);
    } else if (c["target_kind"] == "prob") {
        loss = cross_entropy(input, Tensor<T>(fixture::array<T>(c["target"])), weight, ii, red, c["label_smoothing"].get<double>());
    } else {
        loss = cross_entropy(input, fixture::int_array(c["target"]), weight, ii, red, c["label_smoothing"].get<double>());
    }
    sum(loss).backward();
    return {fixture::worst_rel_error(loss.value(), fixture::array<double>(c[loss_key])),
            fixture::worst_rel_error(input.grad(), fixture::array<double>(c[grad_key]))};
}
}  // namespace

TEST_CASE("cross_entropy matches PyTorch on every golden case (float64 1e-10, float32 1e-5)", "[cross_entropy]") {
    auto fx = fixture::load("cross_entropy.json");
    Worst w64, w32;
    for (const auto& c : fx["cases"]) {
        INFO("case id " << c["id"] << ": kind " << c["target_kind"] << ", reduction " << c["reduction"]
                        << ", smoothing " << c["label_smoothing"] << ", ignore_index " << c["ignore_index"]
                        << ", weight " << (c["weight"].is_null() ? "no" : "yes"));
        auto [l64, g64] = run_case<double>(c, "loss64", "grad64", false);
        CHECK(l64 <= 1e-10);
        CHECK(g64 <= 1e-10);
        auto [l32, g32] = run_case<float>(c, "loss32", "grad32", false);
        CHECK(l32 <= 1e-5);
        CHECK(g32 <= 1e-5);
        w64.loss = std::max(w64.loss, l64);
        w64.grad = std::max(w64.grad, g64);
        w32.loss = std::max(w32.loss, l32);
        w32.grad = std::max(w32.grad, g32);
        ++w64.cases;
    }
    CHECK(w64.cases >= 300);
    WARN("cross_entropy golden cases: " << w64.cases << "; worst relative error float64 loss " << w64.loss << ", grad "
                                        << w64.grad << "; float32 loss " << w32.loss << ", grad " << w32.grad);
}

TEST_CASE("nll_loss matches PyTorch on every golden case", "[cross_entropy]") {
    auto fx = fixture::load("nll_loss.json");
    int n = 0;
    for (const auto& c : fx["cases"]) {
        INFO("nll case " << n);
        auto [l64, g64] = run_case<double>(c, "loss64", "grad64", true);
        CHECK(l64 <= 1e-10);
        CHECK(g64 <= 1e-10);
        auto [l32, g32] = run_case<float>(c, "loss32", "grad32", true);
        CHECK(l32 <= 1e-5);
        CHECK(g32 <= 1e-5);
        ++n;
    }
    CHECK(n >= 50);
}

TEST_CASE("the golden comparison can fail: a perturbed loss is caught", "[cross_entropy]") {
    auto fx = fixture::load("cross_entropy.json");
    const auto& c = fx["cases"][0];
    Tensor<double> input(fixture::array<double>(c["input"]) * (1.0 + 1e-9), true);
    auto loss = cross_entropy(input, fixture::int_array(c["target"]), Tensor<double>(), -100, Reduction::None);
    CHECK(fixture::worst_rel_error(loss.value(), fixture::array<double>(c["loss64"])) > 1e-10);
}

TEST_CASE("seed article: cross_entropy == nll_loss(log_softmax), weights, ignore_index, reductions", "[cross_entropy]") {
    Tensor<double> logits({{2.0, 0.5, 1.0}, {0.5, 2.0, 1.5}});
    xt::xarray<std::int64_t> t = {0, 2};
    CHECK(cross_entropy(logits, t).item() == Approx(0.7842496947).epsilon(1e-10));
    CHECK(nll_loss(log_softmax(logits, 1), t).item() == Approx(cross_entropy(logits, t).item()).epsilon(1e-15));
    CHECK(cross_entropy(logits, t, Tensor<double>(), -100, Reduction::Sum).item() == Approx(1.5684993894).epsilon(1e-10));
    auto none = cross_entropy(logits, t, Tensor<double>(), -100, Reduction::None);
    CHECK(none.value()(0) == Approx(0.4643687841).epsilon(1e-10));
    CHECK(none.value()(1) == Approx(1.1041306053).epsilon(1e-10));
    CHECK(cross_entropy(logits, t, Tensor<double>({1.0, 2.0, 3.0})).item() == Approx(0.9441901500).epsilon(1e-9));
    // the composition holds under every option, values and gradients
    Tensor<double> w({0.3, 1.7, 1.1});
    xt::xarray<std::int64_t> ti = {1, -1};
    for (auto red : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
        Tensor<double> a(logits.value(), true), b(logits.value(), true);
        auto la = cross_entropy(a, ti, w, -1, red);
        auto lb = nll_loss(log_softmax(b, 1), ti, w, -1, red);
        CHECK(la.value() == lb.value());
        sum(la).backward();
        sum(lb).backward();
        for (std::size_t i = 0; i < 6; ++i) CHECK(a.grad().data()[i] == Approx(b.grad().data()[i]).margin(1e-15));
    }
    // module wrappers carry the options
    nn::CrossEntropyLoss<double> ce(Tensor<double>({1.0, 2.0, 3.0}));
    CHECK(ce(logits, t).item() == Approx(0.9441901500).epsilon(1e-9));
    nn::NLLLoss<double> nll(Tensor<double>(), -100, Reduction::Sum);
    CHECK(nll(log_softmax(logits, 1), t).item() == Approx(1.5684993894).epsilon(1e-10));
}

TEST_CASE("the fused backward is softmax minus one-hot, scaled", "[cross_entropy]") {
    Tensor<double> x({{1.0, 2.0, 3.0}, {1.0, 1.0, 1.0}}, true);
    xt::xarray<std::int64_t> t = {2, 0};
    cross_entropy(x, t).backward();
    auto p = softmax(x.detach(), 1).value();
    CHECK(x.grad()(0, 2) == Approx((p(0, 2) - 1) / 2));
    CHECK(x.grad()(1, 1) == Approx(p(1, 1) / 2));
    CHECK(x.grad()(1, 0) == Approx((p(1, 0) - 1) / 2));
    CHECK(x.grad_fn() == "");  // leaf
    Tensor<double> y({{1.0, 2.0}}, true);
    auto l = cross_entropy(y, xt::xarray<std::int64_t>({0}));
    CHECK(l.grad_fn() == "cross_entropy");  // one node
    CHECK(tape_size() >= 1);
}

TEST_CASE("all targets ignored: mean is NaN, sum is 0, gradient zeros", "[cross_entropy]") {
    xt::xarray<std::int64_t> t = {-100, -100};
    for (double eps : {0.0, 0.2}) {
        Tensor<double> x({{1.0, 2.0}, {3.0, 4.0}}, true);
        auto m = cross_entropy(x, t, Tensor<double>(), -100, Reduction::Mean, eps);
        CHECK(std::isnan(m.item()));
        m.backward();
        for (double g : x.grad()) CHECK(g == 0.0);
        CHECK(cross_entropy(x, t, Tensor<double>(), -100, Reduction::Sum, eps).item() == 0.0);
    }
}

TEST_CASE("extreme logits stay exact: 1e300 in float64, offsets of 1e8", "[cross_entropy]") {
    Tensor<double> big({{1e300, 0.0}, {-1e300, 1e300}});
    auto l = cross_entropy(big, xt::xarray<std::int64_t>({0, 1}));
    CHECK(l.item() == 0.0);
    Tensor<double> a({{0.1, 0.7, -0.3}}), b({{1e8 + 0.1, 1e8 + 0.7, 1e8 - 0.3}});
    xt::xarray<std::int64_t> t = {2};
    CHECK(cross_entropy(b, t).item() == Approx(cross_entropy(a, t).item()).epsilon(1e-7));
}

TEST_CASE("cross_entropy errors use PyTorch's wording and leave the tape untouched", "[cross_entropy]") {
    clear_tape();
    Tensor<float> x = zeros<float>({2, 3}, true);
    CHECK_THROWS_WITH(cross_entropy(x, xt::xarray<std::int64_t>({0, 5})), Contains("Target 5 is out of bounds."));
    CHECK_THROWS_AS(cross_entropy(x, xt::xarray<std::int64_t>({0, 5})), IndexError);
    CHECK_THROWS_WITH(cross_entropy(x, xt::xarray<std::int64_t>({0, -1})), Contains("Target -1 is out of bounds."));
    CHECK_THROWS_WITH(cross_entropy(x, xt::xarray<std::int64_t>({0, 1, 2})),
                      Contains("Expected input batch_size (2) to match target batch_size (3)."));
    CHECK_THROWS_WITH(cross_entropy(x, xt::xarray<std::int64_t>({0, 1}), Tensor<float>({1.f, 2.f})),
                      Contains("weight tensor should be defined either for all 3 classes or no classes but got weight "
                               "tensor of shape: [2]"));
    CHECK_THROWS_WITH(cross_entropy(x, xt::xarray<std::int64_t>({0, 1}), Tensor<float>(), -100, Reduction::Mean, 1.5),
                      Contains("label_smoothing must be between 0.0 and 1.0. Got: 1.5"));
    // a floating-point target that is not the input's shape: not class indices
    CHECK_THROWS_WITH(cross_entropy(x, Tensor<float>({0.f, 1.f})), Contains("class-index targets must be integers"));
    CHECK_THROWS_WITH(cross_entropy(x, zeros<float>({2, 3}), Tensor<float>(), 0),
                      Contains("ignore_index is not supported for floating point target"));
    CHECK_THROWS_AS(cross_entropy(zeros<float>({2, 3, 4}), xt::xarray<std::int64_t>({{0, 1, 2}, {0, 1, 2}})), ShapeError);
    CHECK_THROWS_AS(cross_entropy(Tensor<float>::scalar(1.f), xt::xarray<std::int64_t>(0)), ShapeError);
    CHECK_THROWS_AS(reduction_from_string("avg"), ValueError);
    CHECK(tape_size() == 0);  // nothing half-recorded
    CHECK_NOTHROW(cross_entropy(x, zeros<float>({2, 3}), Tensor<float>(), -1));  // negative ignore_index is fine
    // any ignore_index, also ≥ C, is accepted
    auto l = cross_entropy(x, xt::xarray<std::int64_t>({7, 1}), Tensor<float>(), 7);
    CHECK(l.item() == Approx(std::log(3.0)));
}

TEST_CASE("unbatched and K-dim inputs", "[cross_entropy]") {
    Tensor<double> v({1.0, 2.0, 3.0});
    auto l = cross_entropy(v, xt::xarray<std::int64_t>(2));
    CHECK(l.dim() == 0);
    Tensor<double> k = randn<double>({2, 3, 4, 5});
    xt::xarray<std::int64_t> t = xt::zeros<std::int64_t>({2, 4, 5});
    CHECK(cross_entropy(k, t, Tensor<double>(), -100, Reduction::None).shape() == Shape{2, 4, 5});
}

TEST_CASE("nn::CrossEntropyLoss and nn::NLLLoss take the option structs, with the functional forms' numbers", "[cross_entropy]") {
    Generator g(3);
    const Tensor<float> x = randn<float>({5, 4}, g);
    const xt::xarray<std::int64_t> y = {0, 3, 1, 2, 3};
    const Tensor<float> w(xt::xarray<float>{1.0f, 2.0f, 0.5f, 1.5f});
    const nn::CrossEntropyLoss<float> ce(CrossEntropyOptions().weight(w).label_smoothing(0.1).reduction(Reduction::Sum));
    CHECK(ce(x, y).item() == cross_entropy(x, y, w, -100, Reduction::Sum, 0.1).item());
    const nn::NLLLoss<float> nll(NLLLossOptions().ignore_index(3));
    const Tensor<float> lp = log_softmax(x, 1);
    CHECK(nll(lp, y).item() == nll_loss(lp, y, Tensor<float>(), 3).item());
    // a weight of the other precision: torch's dtype error, naming the module
    CHECK_THROWS_WITH(nn::CrossEntropyLoss<float>(CrossEntropyOptions().weight(Tensor<double>(xt::xarray<double>{1, 2, 3, 4}))),
                      Catch::Matchers::Contains("CrossEntropyLoss") && Catch::Matchers::Contains("expected scalar type Float but found Double"));
}
