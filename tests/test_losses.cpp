// The element-wise losses (binary_cross_entropy … multilabel_soft_margin_loss) against PyTorch 1.13
// (tests/fixtures/losses.json, made by tools/gen_loss_fixtures.py): values and gradients of the
// input, the target and (multilabel_soft_margin_loss) the weight, in float32 and float64, every
// reduction and option, NaN/±inf matching exactly; torch's error texts; the modules' reprs; the
// option structs and modules giving the positional form's numbers bit for bit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <sstream>

#include <tapegrad/tapegrad.hpp>

#include "fixture.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {
template <class T> using Inputs = std::map<std::string, Tensor<T>>;

template <class T> Tensor<T> get(const Inputs<T>& x, const char* name) {
    auto it = x.find(name);
    return it == x.end() ? Tensor<T>() : it->second;
}

Reduction reduction_of(const json& a) { return reduction_from_string(a.value("reduction", std::string("mean"))); }

// The loss through its positional form.
template <class T> Tensor<T> run_positional(const std::string& loss, const json& a, const Inputs<T>& x) {
    const Tensor<T> in = get(x, "input"), t = get(x, "target"), w = get(x, "weight"), pw = get(x, "pos_weight");
    if (loss == "binary_cross_entropy") return binary_cross_entropy(in, t, w, reduction_of(a));
    if (loss == "binary_cross_entropy_with_logits") return binary_cross_entropy_with_logits(in, t, w, reduction_of(a), pw);
    if (loss == "mse_loss") return mse_loss(in, t, reduction_of(a));
    if (loss == "l1_loss") return l1_loss(in, t, reduction_of(a));
    if (loss == "smooth_l1_loss") return smooth_l1_loss(in, t, reduction_of(a), a.value("beta", 1.0));
    if (loss == "huber_loss") return huber_loss(in, t, reduction_of(a), a.value("delta", 1.0));
    if (loss == "kl_div")
        return kl_div(in, t, kl_div_reduction_from_string(a.value("reduction", std::string("mean"))), a.value("log_target", false));
    if (loss == "soft_margin_loss") return soft_margin_loss(in, t, reduction_of(a));
    if (loss == "multilabel_soft_margin_loss") return multilabel_soft_margin_loss(in, t, w, reduction_of(a));
    FAIL("no tapegrad call for fixture loss " << loss);
    return {};
}

// The same loss through its option struct.
template <class T> Tensor<T> run_options(const std::string& loss, const json& a, const Inputs<T>& x) {
    const Tensor<T> in = get(x, "input"), t = get(x, "target"), w = get(x, "weight"), pw = get(x, "pos_weight");
    auto r = [&] { return reduction_of(a); };  // not for kl_div, whose reduction may be "batchmean"
    if (loss == "binary_cross_entropy") {
        BinaryCrossEntropyOptions o;
        o.reduction(r());
        if (w.defined()) o.weight(w);
        return binary_cross_entropy(in, t, o);
    }
    if (loss == "binary_cross_entropy_with_logits") {
        BinaryCrossEntropyWithLogitsOptions o;
        o.reduction(r());
        if (w.defined()) o.weight(w);
        if (pw.defined()) o.pos_weight(pw);
        return binary_cross_entropy_with_logits(in, t, o);
    }
    if (loss == "mse_loss") return mse_loss(in, t, MSELossOptions(r()));
    if (loss == "l1_loss") return l1_loss(in, t, L1LossOptions().reduction(r()));
    if (loss == "smooth_l1_loss") return smooth_l1_loss(in, t, SmoothL1LossOptions().beta(a.value("beta", 1.0)).reduction(r()));
    if (loss == "huber_loss") return huber_loss(in, t, HuberLossOptions().reduction(r()).delta(a.value("delta", 1.0)));
    if (loss == "kl_div")
        return kl_div(in, t, KLDivOptions()
                                 .reduction(kl_div_reduction_from_string(a.value("reduction", std::string("mean"))))
                                 .log_target(a.value("log_target", false)));
    if (loss == "soft_margin_loss") return soft_margin_loss(in, t, SoftMarginLossOptions(r()));
    if (loss == "multilabel_soft_margin_loss") {
        MultilabelSoftMarginLossOptions o;
        o.reduction(r());
        if (w.defined()) o.weight(w);
        return multilabel_soft_margin_loss(in, t, o);
    }
    FAIL("no tapegrad call for fixture loss " << loss);
    return {};
}

// The same loss through its nn:: module.
template <class T> Tensor<T> run_module(const std::string& loss, const json& a, const Inputs<T>& x) {
    const Tensor<T> in = get(x, "input"), t = get(x, "target"), w = get(x, "weight"), pw = get(x, "pos_weight");
    auto r = [&] { return reduction_of(a); };  // not for kl_div, whose reduction may be "batchmean"
    if (loss == "binary_cross_entropy") return nn::BCELoss<T>(w, r())(in, t);
    if (loss == "binary_cross_entropy_with_logits") return nn::BCEWithLogitsLoss<T>(w, r(), pw)(in, t);
    if (loss == "mse_loss") return nn::MSELoss<T>(r())(in, t);
    if (loss == "l1_loss") return nn::L1Loss<T>(L1LossOptions(r()))(in, t);
    if (loss == "smooth_l1_loss") return nn::SmoothL1Loss<T>(r(), a.value("beta", 1.0))(in, t);
    if (loss == "huber_loss") return nn::HuberLoss<T>(HuberLossOptions().delta(a.value("delta", 1.0)).reduction(r()))(in, t);
    if (loss == "kl_div")
        return nn::KLDivLoss<T>(kl_div_reduction_from_string(a.value("reduction", std::string("mean"))),
                                a.value("log_target", false))(in, t);
    if (loss == "soft_margin_loss") return nn::SoftMarginLoss<T>(r())(in, t);
    if (loss == "multilabel_soft_margin_loss") return nn::MultiLabelSoftMarginLoss<T>(w, r())(in, t);
    FAIL("no tapegrad module for fixture loss " << loss);
    return {};
}

// The same bits, NaN matching NaN.
template <class T> bool identical(const xt::xarray<T>& a, const xt::xarray<T>& b) {
    if (a.shape() != b.shape()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const T x = a.data()[i], y = b.data()[i];
        if (std::isnan(x) && std::isnan(y)) continue;
        if (std::memcmp(&x, &y, sizeof(T)) != 0) return false;
    }
    return true;
}

template <class T> Inputs<T> inputs_of(const json& c, bool with_grad) {
    Inputs<T> x;
    std::vector<std::string> wrt = c.value("grad_wrt", std::vector<std::string>{});
    for (const auto& [name, v] : c["inputs"].items()) {
        const bool rg = with_grad && std::find(wrt.begin(), wrt.end(), name) != wrt.end();
        x.emplace(name, Tensor<T>(fixture::array<T>(v), rg));
    }
    return x;
}

struct Worst {
    double value = 0;
    std::size_t cases = 0;
};

// Every fixture case of one precision: the loss and the gradients of grad_wrt against torch
// within tol (relative, absolute below 1), NaN and ±inf exactly; the inputs outside grad_wrt get
// no gradient. Returns the worst relative error and the number of cases per loss.
template <class T> std::map<std::string, Worst> check_cases(const char* dtype, double tol) {
    auto fx = fixture::load("losses.json");
    std::map<std::string, Worst> worst;
    for (const auto& c : fx["cases"]) {
        if (c["dtype"] != dtype) continue;
        const std::string loss = c["loss"];
        INFO(loss << " (" << dtype << ") " << c["tag"].get<std::string>() << ", args " << c["args"].dump());
        Inputs<T> x = inputs_of<T>(c, true);
        Tensor<T> y = run_positional<T>(loss, c["args"], x);
        Worst& w = worst[loss];
        const double e = fixture::worst_rel_error(y.value(), fixture::array<double>(c["out"]));
        {
            INFO("loss value " << y);
            CHECK(e < tol);
        }
        w.value = std::max(w.value, e);
        REQUIRE(y.requires_grad());
        y.backward(Tensor<T>(fixture::array<T>(c["grad_out"])));
        for (const auto& [name, t] : x) {
            INFO("gradient of " << name);
            if (!c["grads"].contains(name)) {
                CHECK(!t.has_grad());
                continue;
            }
            REQUIRE(t.has_grad());
            const double eg = fixture::worst_rel_error(t.grad(), fixture::array<double>(c["grads"][name]));
            INFO("got " << format_array(t.grad(), 8) << "\nwant " << c["grads"][name]["data"].dump());
            CHECK(eg < tol);
            w.value = std::max(w.value, eg);
        }
        // the option struct and the module give the positional form's numbers exactly
        const Inputs<T> plain = inputs_of<T>(c, false);
        const Tensor<T> yp = run_positional<T>(loss, c["args"], plain);
        CHECK(identical(yp.value(), y.value()));
        CHECK(identical(run_options<T>(loss, c["args"], plain).value(), yp.value()));
        CHECK(identical(run_module<T>(loss, c["args"], plain).value(), yp.value()));
        ++w.cases;
    }
    std::ostringstream os;
    os << "worst relative error against torch, " << dtype << ":";
    for (const auto& [loss, w] : worst) os << "\n  " << loss << ": " << w.value << " over " << w.cases << " cases";
    WARN(os.str());
    return worst;
}

const char* const kLosses[] = {"binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss",
                               "smooth_l1_loss", "huber_loss", "kl_div", "soft_margin_loss",
                               "multilabel_soft_margin_loss"};
}  // namespace

TEST_CASE("losses: values and gradients match torch in float64", "[losses]") {
    const auto worst = check_cases<double>("float64", 1e-12);
    for (const char* l : kLosses) {
        INFO(l);
        REQUIRE(worst.count(l) == 1);
        CHECK(worst.at(l).cases >= 20);
        CHECK(worst.at(l).value < 1e-12);
    }
}

TEST_CASE("losses: values and gradients match torch in float32", "[losses]") {
    const auto worst = check_cases<float>("float32", 1e-5);
    for (const char* l : kLosses) {
        INFO(l);
        REQUIRE(worst.count(l) == 1);
        CHECK(worst.at(l).cases >= 20);
        CHECK(worst.at(l).value < 1e-5);
    }
}

TEST_CASE("losses: the comparison rejects a wrong value, a NaN for a number and a flipped infinity", "[losses]") {
    // the checks above could not fail if worst_rel_error saw no difference: it must see these
    const xt::xarray<double> want = {1.0, std::nan(""), -INFINITY, 1e-3};
    CHECK(fixture::worst_rel_error(xt::xarray<double>{1.0 + 2e-12, std::nan(""), -INFINITY, 1e-3}, want) > 1e-12);
    CHECK(std::isinf(fixture::worst_rel_error(xt::xarray<double>{1.0, 0.0, -INFINITY, 1e-3}, want)));
    CHECK(std::isinf(fixture::worst_rel_error(xt::xarray<double>{1.0, std::nan(""), INFINITY, 1e-3}, want)));
    CHECK(fixture::worst_rel_error(xt::xarray<double>{1.0, std::nan(""), -INFINITY, 1e-3}, want) == 0);
    // and a loss whose gradient is off by a factor is caught by the fixture comparison
    auto fx = fixture::load("losses.json");
    for (const auto& c : fx["cases"]) {
        if (c["loss"] != "mse_loss" || c["dtype"] != "float64" || c["args"]["reduction"] != "sum") continue;
        Inputs<double> x = inputs_of<double>(c, true);
        Tensor<double> y = mse_loss(x["input"], x["target"], Reduction::Sum);
        (y * 2.0).backward(Tensor<double>(fixture::array<double>(c["grad_out"])));
        if (x["input"].grad().size() == 0) continue;
        CHECK(fixture::worst_rel_error(x["input"].grad(), fixture::array<double>(c["grads"]["input"])) > 1e-3);
        break;
    }
}

TEST_CASE("losses: bad shapes, options and inputs throw with torch's words", "[losses][bad_input]") {
    auto fx = fixture::load("losses.json");
    std::size_t n = 0;
    for (const auto& e : fx["errors"]) {
        const std::string loss = e["loss"], msg = e["message"];
        INFO(loss << " " << e["args"].dump() << " " << e["inputs"].dump() << "\nexpected: " << msg);
        Inputs<double> x;
        const auto rg = e["requires_grad"].get<std::vector<std::string>>();
        for (const auto& [name, v] : e["inputs"].items())
            x.emplace(name, Tensor<double>(fixture::array<double>(v), std::find(rg.begin(), rg.end(), name) != rg.end()));
        if (e["when"] == "forward") {
            CHECK_THROWS_WITH(run_positional<double>(loss, e["args"], x), Contains(msg) && Contains(loss));
            CHECK_THROWS_AS(run_positional<double>(loss, e["args"], x), Error);
        } else {
            Tensor<double> y = run_positional<double>(loss, e["args"], x);
            CHECK_THROWS_WITH(sum(y).backward(), Contains(msg) && Contains(loss));
        }
        for (const auto& [name, t] : x) CHECK(!t.has_grad());
        ++n;
    }
    CHECK(n == fx["errors"].size());
    CHECK(n >= 30);
}

TEST_CASE("losses: reductions, precisions and undefined tensors are checked", "[losses][bad_input]") {
    const Tensor<float> x({0.2f, 0.7f}), t({0.0f, 1.0f});
    // kl_div alone has 'batchmean'; the string forms name every accepted value
    CHECK(kl_div_reduction_from_string("batchmean") == KLDivReduction::BatchMean);
    CHECK(kl_div_reduction_from_string("none") == KLDivReduction(Reduction::None));
    CHECK(std::string(to_string(KLDivReduction::BatchMean)) == "batchmean");
    CHECK_THROWS_WITH(kl_div_reduction_from_string("avg"),
                      Contains("'avg' is not a valid value for reduction") && Contains("'batchmean'"));
    CHECK_THROWS_AS(reduction_from_string("batchmean"), ValueError);
    // a weight of the other precision, through the option structs and the modules
    const Tensor<double> wd({1.0, 2.0});
    CHECK_THROWS_WITH(binary_cross_entropy(x, t, BinaryCrossEntropyOptions().weight(wd)),
                      Contains("binary_cross_entropy") && Contains("expected scalar type Float but found Double"));
    CHECK_THROWS_WITH(binary_cross_entropy_with_logits(x, t, BinaryCrossEntropyWithLogitsOptions().pos_weight(wd)),
                      Contains("binary_cross_entropy_with_logits") && Contains("expected scalar type Float but found Double"));
    CHECK_THROWS_WITH(nn::MultiLabelSoftMarginLoss<float>(MultilabelSoftMarginLossOptions().weight(wd)),
                      Contains("MultiLabelSoftMarginLoss") && Contains("expected scalar type Float but found Double"));
    CHECK_THROWS_WITH(nn::BCEWithLogitsLoss<double>(nn::BCEWithLogitsLossOptions().weight(Tensor<float>({1.f, 2.f}))),
                      Contains("BCEWithLogitsLoss") && Contains("expected scalar type Double but found Float"));
    // undefined operands are an Error, not a crash
    for (auto f : {+[](const Tensor<float>& a, const Tensor<float>& b) { return binary_cross_entropy(a, b); },
                   +[](const Tensor<float>& a, const Tensor<float>& b) { return binary_cross_entropy_with_logits(a, b); },
                   +[](const Tensor<float>& a, const Tensor<float>& b) { return mse_loss(a, b); },
                   +[](const Tensor<float>& a, const Tensor<float>& b) { return l1_loss(a, b); },
                   +[](const Tensor<float>& a, const Tensor<float>& b) { return smooth_l1_loss(a, b); },
                   +[](const Tensor<float>& a, const Tensor<float>& b) { return huber_loss(a, b); },
                   +[](const Tensor<float>& a, const Tensor<float>& b) { return kl_div(a, b); },
                   +[](const Tensor<float>& a, const Tensor<float>& b) { return soft_margin_loss(a, b); },
                   +[](const Tensor<float>& a, const Tensor<float>& b) { return multilabel_soft_margin_loss(a, b); }}) {
        CHECK_THROWS_AS(f(Tensor<float>(), t), Error);
        CHECK_THROWS_AS(f(x, Tensor<float>()), Error);
    }
    // beta NaN and delta NaN are refused as negative/non-positive values are
    CHECK_THROWS_AS(smooth_l1_loss(x, t, Reduction::Mean, std::nan("")), ValueError);
    CHECK_THROWS_AS(huber_loss(x, t, Reduction::Mean, std::nan("")), ValueError);
    // under no_grad a weight that requires grad is harmless, as in torch
    {
        NoGradGuard g;
        CHECK_NOTHROW(binary_cross_entropy(x, t, Tensor<float>({1.f, 2.f}, true)));
    }
}

TEST_CASE("losses: the modules print as torch's and keep their options", "[losses]") {
    auto fx = fixture::load("losses.json");
    std::map<std::string, std::string> got = {
        {"BCELoss", nn::BCELoss<float>().repr()},
        {"BCEWithLogitsLoss", nn::BCEWithLogitsLoss<float>().repr()},
        {"MSELoss", nn::MSELoss<float>().repr()},
        {"L1Loss", nn::L1Loss<float>().repr()},
        {"SmoothL1Loss", nn::SmoothL1Loss<float>(Reduction::Mean, 0.5).repr()},
        {"HuberLoss", nn::HuberLoss<double>(Reduction::Sum, 2.0).repr()},
        {"KLDivLoss", nn::KLDivLoss<float>(KLDivReduction::BatchMean, true).repr()},
        {"SoftMarginLoss", nn::SoftMarginLoss<float>().repr()},
        {"MultiLabelSoftMarginLoss", nn::MultiLabelSoftMarginLoss<float>(Tensor<float>({1.f, 2.f, 3.f})).repr()},
    };
    std::size_t n = 0;
    for (const auto& r : fx["reprs"]) {
        INFO(r.dump());
        const std::string module = r["module"];
        REQUIRE(got.count(module) == 1);
        CHECK(got[module] == r["repr"].get<std::string>());
        ++n;
    }
    CHECK(n == 16);
    // libtorch's option spellings reach the modules
    const nn::KLDivLoss<double> kl(nn::KLDivLossOptions().reduction(KLDivReduction::BatchMean).log_target(true));
    CHECK(kl.reduction == KLDivReduction::BatchMean);
    CHECK(kl.log_target);
    const nn::SmoothL1Loss<float> sl(SmoothL1LossOptions().beta(0.25).reduction(Reduction::Sum));
    CHECK(sl.beta == 0.25);
    CHECK(sl.reduction == Reduction::Sum);
    const nn::BCEWithLogitsLoss<float> bl(nn::BCEWithLogitsLossOptions().pos_weight(Tensor<float>({2.f})));
    CHECK(bl.pos_weight.defined());
    CHECK(!bl.weight.defined());
}
