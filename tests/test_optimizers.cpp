// Adam, AdamW, RMSprop, SGDOptions, gradient clipping, the new schedulers and the state dicts of
// optimizers, schedulers and modules, against PyTorch 1.13 fixtures (tools/gen_optim_fixtures.py);
// checkpoints of any optimizer and scheduler, and a resume that is bit-identical to a straight run.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <memory>

#include <tapegrad/tapegrad.hpp>

#include "fixture.hpp"
#include "temp_dir.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using json = nlohmann::json;

namespace {

template <class E, class F> std::string error_of(F f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "(no error)";
}

template <class T> bool same_bits(const xt::xarray<T>& a, const xt::xarray<T>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Relative error bounds for "the same numbers to within rounding". float64: the updates are the
// same operations in the same order as torch's; what is left is libm's pow/sqrt. float32: torch
// rounds every intermediate to float32 as here, so a few ulps over the seven steps.
template <class T> double tolerance();
template <> double tolerance<double>() { return 1e-14; }
template <> double tolerance<float>() { return 1e-6; }

template <class T> std::unique_ptr<optim::Optimizer<T>> make_optimizer(const json& c, std::vector<Tensor<T>> params) {
    const std::string name = c["optimizer"];
    const json& o = c["options"];
    auto get = [&](const char* k, double d) { return o.contains(k) ? o[k].get<double>() : d; };
    auto flag = [&](const char* k) { return o.contains(k) && o[k].get<bool>(); };
    optim::betas_t betas{0.9, 0.999};
    if (o.contains("betas")) betas = {o["betas"][0].get<double>(), o["betas"][1].get<double>()};
    if (name == "Adam")
        return std::make_unique<optim::Adam<T>>(params, optim::AdamOptions(get("lr", 1e-3)).betas(betas).eps(get("eps", 1e-8))
                                                            .weight_decay(get("weight_decay", 0)).amsgrad(flag("amsgrad"))
                                                            .maximize(flag("maximize")));
    if (name == "AdamW")
        return std::make_unique<optim::AdamW<T>>(params, optim::AdamWOptions(get("lr", 1e-3)).betas(betas).eps(get("eps", 1e-8))
                                                             .weight_decay(get("weight_decay", 1e-2)).amsgrad(flag("amsgrad"))
                                                             .maximize(flag("maximize")));
    if (name == "RMSprop")
        return std::make_unique<optim::RMSprop<T>>(params, optim::RMSpropOptions(get("lr", 1e-2)).alpha(get("alpha", 0.99))
                                                               .eps(get("eps", 1e-8)).weight_decay(get("weight_decay", 0))
                                                               .momentum(get("momentum", 0)).centered(flag("centered"))
                                                               .maximize(flag("maximize")));
    REQUIRE(name == "SGD");
    return std::make_unique<optim::SGD<T>>(params, optim::SGDOptions(get("lr", 0)).momentum(get("momentum", 0))
                                                       .dampening(get("dampening", 0)).weight_decay(get("weight_decay", 0))
                                                       .nesterov(flag("nesterov")).maximize(flag("maximize")));
}

// torch's group dicts: overrides of the defaults
template <class T> void apply_overrides(optim::ParamGroup<T>& g, const json& ov) {
    for (const auto& [k, v] : ov.items()) {
        if (k == "params") continue;
        if (k == "lr") g.lr = g.initial_lr = fixture::number(v);
        else if (k == "weight_decay") g.weight_decay = fixture::number(v);
        else if (k == "dampening") g.dampening = fixture::number(v);
        else if (k == "alpha") g.alpha = fixture::number(v);
        else FAIL("unknown override " << k);
    }
}

template <class T> std::unique_ptr<optim::Optimizer<T>> make_case(const json& c, std::vector<Tensor<T>>& params) {
    params.clear();
    for (const auto& p : c["params"]) params.emplace_back(fixture::array<T>(p), true);
    if (c["groups"].is_null()) return make_optimizer<T>(c, params);
    const json& groups = c["groups"];
    std::vector<Tensor<T>> first;
    for (const auto& i : groups[0]["params"]) first.push_back(params[i.get<std::size_t>()]);
    auto opt = make_optimizer<T>(c, first);
    apply_overrides(opt->param_groups()[0], groups[0]);
    for (std::size_t g = 1; g < groups.size(); ++g) {
        optim::ParamGroup<T> pg = opt->defaults();
        for (const auto& i : groups[g]["params"]) pg.params.push_back(params[i.get<std::size_t>()]);
        apply_overrides(pg, groups[g]);
        opt->add_param_group(pg);
    }
    return opt;
}

// The order torch numbers parameters in: through the groups.
template <class T> std::vector<std::size_t> torch_order(const json& c, std::size_t n) {
    std::vector<std::size_t> order;
    if (c["groups"].is_null())
        for (std::size_t i = 0; i < n; ++i) order.push_back(i);
    else
        for (const auto& g : c["groups"])
            for (const auto& i : g["params"]) order.push_back(i.get<std::size_t>());
    return order;
}

template <class T> void run_optimizer_cases(const std::string& dtype) {
    auto fx = fixture::load("optimizers.json");
    int n = 0;
    double worst = 0;
    for (const auto& c : fx["cases"]) {
        if (c["dtype"] != dtype) continue;
        INFO("case " << c["name"].get<std::string>() << " " << dtype);
        std::vector<Tensor<T>> params;
        auto opt = make_case<T>(c, params);
        for (std::size_t step = 0; step < c["grads"].size(); ++step) {
            for (std::size_t i = 0; i < params.size(); ++i) {
                params[i].zero_grad(true);
                if (!c["grads"][step][i].is_null()) params[i].mutable_grad() = fixture::array<T>(c["grads"][step][i]);
            }
            opt->step();
            for (std::size_t i = 0; i < params.size(); ++i) {
                const double e = fixture::worst_rel_error(params[i].value(), fixture::array<double>(c["expected"][step][i]));
                worst = std::max(worst, e);
                CHECK(e < tolerance<T>());
            }
        }
        // the state dict: torch's names, torch's numbering, the same buffers
        const auto sd = opt->state_dict();
        const auto order = torch_order<T>(c, params.size());
        CHECK(sd.state.size() == c["state"].size());
        for (const auto& [idx, st] : c["state"].items()) {
            const std::size_t k = std::stoul(idx);
            REQUIRE(sd.state.count(k));
            CHECK(sd.state.at(k).size() == st.size());
            for (const auto& [key, buf] : st.items()) {
                INFO("state " << idx << " " << key);
                REQUIRE(sd.state.at(k).count(key));
                CHECK(fixture::worst_rel_error(sd.state.at(k).at(key), fixture::array<double>(buf)) < tolerance<T>());
            }
        }
        REQUIRE(sd.param_groups.size() == c["param_groups"].size());
        for (std::size_t g = 0; g < sd.param_groups.size(); ++g) {
            const json& want = c["param_groups"][g];
            for (const auto& [key, v] : sd.param_groups[g].options) {
                INFO("param_groups[" << g << "] " << key);
                if (key == "initial_lr") continue;  // torch adds it when a scheduler is attached; tapegrad always has it
                REQUIRE(want.contains(key));
                if (want[key].is_array()) {
                    REQUIRE(v.size() == want[key].size());
                    for (std::size_t j = 0; j < v.size(); ++j) CHECK(v[j] == fixture::number(want[key][j]));
                } else {
                    const double w = want[key].is_boolean() ? (want[key] == true ? 1.0 : 0.0) : fixture::number(want[key]);
                    REQUIRE(v.size() == 1);
                    CHECK(v[0] == w);
                }
            }
            std::vector<std::size_t> idx;
            for (const auto& i : want["params"]) idx.push_back(std::size_t(fixture::number(i)));
            CHECK(sd.param_groups[g].params == idx);
        }
        (void)order;
        ++n;
    }
    WARN("worst relative error " << dtype << ": " << worst);
    CHECK(n >= 24);
}

}  // namespace

TEST_CASE("Adam, AdamW, RMSprop and SGDOptions follow torch's trajectories and state dicts (float64)", "[optim]") {
    run_optimizer_cases<double>("float64");
}

TEST_CASE("Adam, AdamW, RMSprop and SGDOptions follow torch's trajectories and state dicts (float32)", "[optim]") {
    run_optimizer_cases<float>("float32");
}
