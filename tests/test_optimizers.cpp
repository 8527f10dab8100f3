// Adam, AdamW, RMSprop, SGDOptions, gradient clipping, the new schedulers and the state dicts of
// optimizers, schedulers and modules, against PyTorch 1.13 fixtures (tools/gen_optim_fixtures.py);
// checkpoints of any optimizer and scheduler, and a resume that is bit-identical to a straight run.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <memory>

#include <xtensor/xview.hpp>

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

// Relative error bounds for "the same numbers to within rounding", where the bits may differ: SGD
// (whose loops let the compiler fuse other products than torch's kernels do) and gradient norms
// (summed in another order): a few ulps over seven steps.
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
        // Adam, AdamW and RMSprop round as torch's kernels do (src/optim/adam.cpp): the same bits.
        // SGD's loops (src/optim/sgd.cpp, older) let the compiler fuse other products: within rounding.
        const double exactness = c["optimizer"] == "SGD" ? tolerance<T>() : 0.0;
        for (std::size_t step = 0; step < c["grads"].size(); ++step) {
            for (std::size_t i = 0; i < params.size(); ++i) {
                params[i].zero_grad(true);
                if (!c["grads"][step][i].is_null()) params[i].mutable_grad() = fixture::array<T>(c["grads"][step][i]);
            }
            opt->step();
            for (std::size_t i = 0; i < params.size(); ++i) {
                const double e = fixture::worst_rel_error(params[i].value(), fixture::array<double>(c["expected"][step][i]));
                worst = std::max(worst, e);
                CHECK(e <= exactness);
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
                CHECK(fixture::worst_rel_error(sd.state.at(k).at(key), fixture::array<double>(buf)) <= exactness);
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
    CHECK(worst < tolerance<T>());
    CHECK(n >= 24);
}

}  // namespace

TEST_CASE("Adam, AdamW, RMSprop and SGDOptions follow torch's trajectories and state dicts (float64)", "[optim]") {
    run_optimizer_cases<double>("float64");
}

TEST_CASE("Adam, AdamW, RMSprop and SGDOptions follow torch's trajectories and state dicts (float32)", "[optim]") {
    run_optimizer_cases<float>("float32");
}

TEST_CASE("Adam, AdamW and RMSprop refuse bad hyper-parameters with torch's texts, and sparse gradients", "[optim][bad_input]") {
    std::vector<Tensor<float>> p{zeros<float>({2}, true)};
    using optim::AdamOptions;
    using optim::AdamWOptions;
    using optim::RMSpropOptions;
    CHECK_THAT(error_of<ValueError>([&] { optim::Adam<float>(p, AdamOptions(-1)); }), Contains("Adam: Invalid learning rate: -1.0"));
    CHECK_THAT(error_of<ValueError>([&] { optim::Adam<float>(p, AdamOptions(0.1).eps(-1e-8)); }),
               Contains("Invalid epsilon value: -1e-08"));
    CHECK_THAT(error_of<ValueError>([&] { optim::Adam<float>(p, AdamOptions(0.1).betas({1.0, 0.999})); }),
               Contains("Invalid beta parameter at index 0: 1.0"));
    CHECK_THAT(error_of<ValueError>([&] { optim::Adam<float>(p, AdamOptions(0.1).betas({0.9, -0.5})); }),
               Contains("Invalid beta parameter at index 1: -0.5"));
    CHECK_THAT(error_of<ValueError>([&] { optim::AdamW<float>(p, AdamWOptions(0.1).weight_decay(-0.01)); }),
               Contains("AdamW: Invalid weight_decay value: -0.01"));
    CHECK_THAT(error_of<ValueError>([&] { optim::Adam<float>(p, AdamOptions(NAN)); }), Contains("Invalid learning rate: nan"));
    CHECK_THAT(error_of<ValueError>([&] { optim::Adam<float>(p, AdamOptions(INFINITY)); }), Contains("Invalid learning rate: inf"));
    CHECK_THAT(error_of<ValueError>([&] { optim::Adam<float>({}, AdamOptions(0.1)); }), Contains("empty parameter list"));
    CHECK_THAT(error_of<ValueError>([&] { optim::RMSprop<float>(p, RMSpropOptions(0.1).alpha(-0.5)); }),
               Contains("RMSprop: Invalid alpha value: -0.5"));
    CHECK_THAT(error_of<ValueError>([&] { optim::RMSprop<float>(p, RMSpropOptions(0.1).momentum(-1)); }),
               Contains("Invalid momentum value: -1.0"));
    CHECK_THAT(error_of<ValueError>([&] { optim::RMSprop<float>(p, RMSpropOptions(0.1).eps(NAN)); }),
               Contains("Invalid epsilon value: nan"));
    // the defaults are torch's
    optim::AdamW<float> w(p);
    CHECK(w.defaults().lr == 1e-3);
    CHECK(w.defaults().weight_decay == 1e-2);
    CHECK(std::get<1>(w.defaults().betas) == 0.999);
    optim::RMSprop<float> r(p);
    CHECK(r.defaults().lr == 1e-2);
    CHECK(r.defaults().alpha == 0.99);
    // a group made bad after construction is refused at step, before anything moves
    optim::Adam<float> a(p, AdamOptions(0.1));
    p[0].mutable_grad() = xt::xarray<float>({1.f, 2.f});
    a.param_groups()[0].betas = {0.9, 1.5};
    CHECK_THAT(error_of<ValueError>([&] { a.step(); }), Contains("Adam::step: param_groups[0]: Invalid beta parameter at index 1: 1.5"));
    CHECK(p[0].value()(0) == 0.f);
    CHECK(a.state(p[0]) == nullptr);
    // row-sparse gradients: refused, nothing moved
    Tensor<float> table(xt::xarray<float>({{1.f, 2.f}, {3.f, 4.f}}), true);
    Tensor<float> dense = zeros<float>({2}, true);
    dense.mutable_grad() = xt::xarray<float>({1.f, 1.f});
    auto out = embedding_bag(xt::xarray<std::int64_t>({1}), table, xt::xarray<std::int64_t>({0}), EmbeddingBagMode::Sum, true);
    sum(out).backward();
    optim::Adam<float> s({dense, table}, AdamOptions(0.1));
    CHECK_THAT(error_of<ValueError>([&] { s.step(); }), Contains("Adam does not support sparse gradients"));
    CHECK(dense.value()(0) == 0.f);
    // SGDOptions is the positional constructor
    Tensor<double> q1(xt::xarray<double>({1.0, -2.0}), true), q2(xt::xarray<double>({1.0, -2.0}), true);
    optim::SGD<double> s1({q1}, optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(0.01));
    optim::SGD<double> s2({q2}, 0.1, 0.9, 0, 0.01, true);
    for (int k = 0; k < 3; ++k) {
        q1.mutable_grad() = xt::xarray<double>({0.5, 0.25});
        q2.mutable_grad() = xt::xarray<double>({0.5, 0.25});
        s1.step();
        s2.step();
    }
    CHECK(same_bits(q1.value(), q2.value()));
}

namespace {
template <class T> std::unique_ptr<optim::Optimizer<T>> sched_optimizer(const json& c, std::vector<Tensor<T>>& params) {
    const std::string name = c["optimizer"];
    const json& kw = c["optimizer_kwargs"];
    const auto lrs = c["lrs"].get<std::vector<double>>();
    params.clear();
    for (std::size_t i = 0; i < lrs.size(); ++i) params.push_back(zeros<T>({2}, true));
    const double mom = kw.contains("momentum") ? fixture::number(kw["momentum"]) : 0.0;
    std::unique_ptr<optim::Optimizer<T>> opt;
    if (name == "SGD")
        opt = std::make_unique<optim::SGD<T>>(std::vector<Tensor<T>>{params[0]},
                                              optim::SGDOptions(lrs[0]).momentum(mom).nesterov(kw.contains("nesterov")));
    else if (name == "Adam")
        opt = std::make_unique<optim::Adam<T>>(std::vector<Tensor<T>>{params[0]}, optim::AdamOptions(lrs[0]));
    else if (name == "AdamW")
        opt = std::make_unique<optim::AdamW<T>>(std::vector<Tensor<T>>{params[0]}, optim::AdamWOptions(lrs[0]));
    else if (name == "RMSprop")
        opt = std::make_unique<optim::RMSprop<T>>(std::vector<Tensor<T>>{params[0]}, optim::RMSpropOptions(lrs[0]).momentum(mom));
    REQUIRE(opt);
    for (std::size_t i = 1; i < lrs.size(); ++i) {
        auto g = opt->defaults();
        g.params = {params[i]};
        g.lr = g.initial_lr = lrs[i];
        opt->add_param_group(g);
    }
    return opt;
}

template <class T>
std::unique_ptr<optim::lr_scheduler::Scheduler<T>> make_scheduler(const json& c, optim::Optimizer<T>& opt) {
    using namespace optim::lr_scheduler;
    const std::string name = c["scheduler"];
    const json& kw = c["kwargs"];
    auto get = [&](const char* k, double d) { return kw.contains(k) ? fixture::number(kw[k]) : d; };
    auto list = [&](const char* k, std::vector<double> d) {
        if (!kw.contains(k)) return d;
        if (!kw[k].is_array()) return std::vector<double>{fixture::number(kw[k])};
        std::vector<double> v;
        for (const auto& x : kw[k]) v.push_back(fixture::number(x));
        return v;
    };
    if (name == "ExponentialLR") return std::make_unique<ExponentialLR<T>>(opt, get("gamma", 0));
    if (name == "MultiStepLR") {
        std::vector<int> m;
        for (double x : list("milestones", {})) m.push_back(int(x));
        return std::make_unique<MultiStepLR<T>>(opt, m, get("gamma", 0.1));
    }
    if (name == "LinearLR")
        return std::make_unique<LinearLR<T>>(opt, get("start_factor", 1.0 / 3), get("end_factor", 1.0), int(get("total_iters", 5)));
    if (name == "OneCycleLR") {
        OneCycleLROptions o(list("max_lr", {}));
        if (kw.contains("total_steps")) o.total_steps(int(get("total_steps", 0)));
        if (kw.contains("epochs")) o.epochs(int(get("epochs", 0)));
        if (kw.contains("steps_per_epoch")) o.steps_per_epoch(int(get("steps_per_epoch", 0)));
        o.pct_start(get("pct_start", 0.3)).div_factor(get("div_factor", 25.0)).final_div_factor(get("final_div_factor", 1e4));
        o.base_momentum(get("base_momentum", 0.85)).max_momentum(get("max_momentum", 0.95));
        if (kw.contains("anneal_strategy")) o.anneal_strategy(kw["anneal_strategy"].get<std::string>());
        if (kw.contains("three_phase")) o.three_phase(kw["three_phase"] == true);
        if (kw.contains("cycle_momentum")) o.cycle_momentum(kw["cycle_momentum"] == true);
        return std::make_unique<OneCycleLR<T>>(opt, o);
    }
    REQUIRE(name == "ReduceLROnPlateau");
    ReduceLROnPlateauOptions o;
    if (kw.contains("mode")) o.mode(kw["mode"].get<std::string>());
    if (kw.contains("threshold_mode")) o.threshold_mode(kw["threshold_mode"].get<std::string>());
    o.factor(get("factor", 0.1)).patience(int(get("patience", 10))).threshold(get("threshold", 1e-4));
    o.cooldown(int(get("cooldown", 0))).min_lr(list("min_lr", {0.0})).eps(get("eps", 1e-8));
    return std::make_unique<ReduceLROnPlateau<T>>(opt, o);
}

void check_close(const std::vector<double>& got, const json& want, const char* what) {
    INFO(what);
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double w = fixture::number(want[i]);
        if (std::isinf(w)) {
            CHECK(got[i] == w);
            continue;
        }
        // the same recursive formulas in double as torch's Python floats: equal but for libm's cos
        CHECK(std::abs(got[i] - w) <= 1e-15 * std::max(1.0, std::abs(w)));
    }
}
}  // namespace

TEST_CASE("ExponentialLR, MultiStepLR, LinearLR, OneCycleLR and ReduceLROnPlateau follow torch's rates", "[optim]") {
    auto fx = fixture::load("lr_schedulers2.json");
    int n = 0;
    for (const auto& c : fx["cases"]) {
        INFO("case " << n << " " << c["scheduler"].get<std::string>() << " " << c["kwargs"].dump());
        std::vector<Tensor<double>> params;
        auto opt = sched_optimizer<double>(c, params);
        auto sched = make_scheduler<double>(c, *opt);
        auto* plateau = dynamic_cast<optim::lr_scheduler::ReduceLROnPlateau<double>*>(sched.get());
        auto* epochwise = dynamic_cast<optim::lr_scheduler::LRScheduler<double>*>(sched.get());
        const auto& rows = c["rows"];
        for (std::size_t r = 0; r < rows.size(); ++r) {
            INFO("row " << r);
            if (r > 0) {
                for (auto& p : params) p.mutable_grad() = xt::xarray<double>({0.0, 0.0});
                opt->step();
                if (plateau)
                    plateau->step(fixture::number(c["metrics"][r - 1]));
                else
                    epochwise->step();
            }
            std::vector<double> lr, beta1, momentum;
            for (const auto& g : opt->param_groups()) {
                lr.push_back(g.lr);
                beta1.push_back(std::get<0>(g.betas));
                momentum.push_back(g.momentum);
            }
            auto* one_cycle = dynamic_cast<optim::lr_scheduler::OneCycleLR<double>*>(sched.get());
            if (one_cycle && r == std::size_t(one_cycle->total_steps())) {
                // one step past the schedule: tapegrad holds the end (see OneCycleLR), torch extrapolates
                const json& kw = c["kwargs"];
                for (std::size_t i = 0; i < lr.size(); ++i) {
                    const double max_lr = kw["max_lr"].is_array() ? fixture::number(kw["max_lr"][i]) : fixture::number(kw["max_lr"]);
                    const double want = max_lr / kw.value("div_factor", 25.0) / kw.value("final_div_factor", 1e4);
                    CHECK(std::abs(lr[i] - want) <= 1e-15 * max_lr);  // (end - start)·1 + start: end, within the rounding of start
                    CHECK(std::abs(lr[i] - fixture::number(rows[r]["lr"][i])) < 0.01);  // where torch went
                }
                continue;
            }
            check_close(lr, rows[r]["lr"], "lr");
            if (rows[r].contains("beta1")) check_close(beta1, rows[r]["beta1"], "beta1");
            if (rows[r].contains("momentum")) check_close(momentum, rows[r]["momentum"], "momentum");
            check_close(sched->get_last_lr(), rows[r]["lr"], "get_last_lr");
        }
        // the state dict under torch's names
        const auto sd = sched->state_dict();
        int shared = 0;
        const bool one_cycle = c["scheduler"] == "OneCycleLR";
        for (const auto& [k, v] : c["state_dict"].items()) {
            if (!sd.count(k) || (one_cycle && k == "_last_lr")) continue;  // its last row: see above
            ++shared;
            INFO("state_dict " << k);
            if (v.is_boolean())
                CHECK((sd.at(k) == std::vector<double>{v == true ? 1.0 : 0.0}));
            else if (v.is_array())
                check_close(sd.at(k), v, k.c_str());
            else
                check_close(sd.at(k), json::array({v}), k.c_str());
        }
        for (const char* k : {"last_epoch", "_last_lr"}) CHECK(c["state_dict"].contains(k));
        CHECK(shared >= (plateau ? 10 : 4));
        if (!c["too_many_steps_error"].is_null()) {
            const auto before = opt->param_groups()[0].lr;
            CHECK_THAT(error_of<ValueError>([&] { epochwise->step(); }),
                       Contains(c["too_many_steps_error"].get<std::string>()));
            CHECK(opt->param_groups()[0].lr == before);  // nothing changed
            CHECK_THAT(error_of<ValueError>([&] { epochwise->step(); }),
                       Contains(c["too_many_steps_error"].get<std::string>()));
        }
        ++n;
    }
    CHECK(n == 15);
}

TEST_CASE("schedulers refuse bad arguments with torch's texts, and a state dict of another schedule", "[optim][bad_input]") {
    using namespace optim::lr_scheduler;
    std::vector<Tensor<float>> p{zeros<float>({2}, true)};
    optim::SGD<float> sgd(p, 0.1, 0.9);
    CHECK_THAT(error_of<ValueError>([&] { LinearLR<float>(sgd, 1.5); }),
               Contains("Starting multiplicative factor expected to be between 0 and 1."));
    CHECK_THAT(error_of<ValueError>([&] { LinearLR<float>(sgd, 0.5, -0.1); }),
               Contains("Ending multiplicative factor expected to be between 0 and 1."));
    CHECK_THAT(error_of<ValueError>([&] { ExponentialLR<float>(sgd, NAN); }), Contains("ExponentialLR: gamma must be finite"));
    CHECK_THAT(error_of<ValueError>([&] { MultiStepLR<float>(sgd, {3, -1}); }), Contains("milestones must be >= 0, got -1"));
    CHECK_THAT(error_of<ValueError>([&] { OneCycleLR<float>(sgd, OneCycleLROptions(0.1)); }),
               Contains("You must define either total_steps OR (epochs AND steps_per_epoch)"));
    CHECK_THAT(error_of<ValueError>([&] { OneCycleLR<float>(sgd, OneCycleLROptions(0.1).total_steps(0)); }),
               Contains("Expected positive integer total_steps, but got 0"));
    CHECK_THAT(error_of<ValueError>([&] { OneCycleLR<float>(sgd, OneCycleLROptions(0.1).epochs(2).steps_per_epoch(-3)); }),
               Contains("Expected positive integer steps_per_epoch, but got -3"));
    CHECK_THAT(error_of<ValueError>([&] { OneCycleLR<float>(sgd, OneCycleLROptions(0.1).total_steps(5).pct_start(1.5)); }),
               Contains("Expected float between 0 and 1 pct_start, but got 1.5"));
    CHECK_THAT(error_of<ValueError>([&] { OneCycleLR<float>(sgd, OneCycleLROptions(0.1).total_steps(5).anneal_strategy("exp")); }),
               Contains("anneal_strategy must by one of 'cos' or 'linear', instead got exp"));
    CHECK_THAT(error_of<ValueError>([&] { OneCycleLR<float>(sgd, OneCycleLROptions(std::vector<double>{0.1, 0.2}).total_steps(5)); }),
               Contains("expected 1 values for max_lr, got 2"));
    CHECK_THAT(error_of<ValueError>([&] { ReduceLROnPlateau<float>(sgd, ReduceLROnPlateauOptions().factor(1.0)); }),
               Contains("Factor should be < 1.0."));
    CHECK_THAT(error_of<ValueError>([&] { ReduceLROnPlateau<float>(sgd, ReduceLROnPlateauOptions().mode("mid")); }),
               Contains("mode mid is unknown!"));
    CHECK_THAT(error_of<ValueError>([&] { ReduceLROnPlateau<float>(sgd, ReduceLROnPlateauOptions().threshold_mode("x")); }),
               Contains("threshold mode x is unknown!"));
    CHECK_THAT(error_of<ValueError>([&] { ReduceLROnPlateau<float>(sgd, ReduceLROnPlateauOptions().min_lr({0.1, 0.2})); }),
               Contains("expected 1 min_lrs, got 2"));
    // a refused scheduler left the optimizer as it was
    CHECK(sgd.param_groups()[0].lr == 0.1);
    CHECK(sgd.param_groups()[0].momentum == 0.9);
    // state dicts: round trip into a fresh scheduler, and refusals
    ExponentialLR<float> e1(sgd, 0.5);
    e1.step();
    e1.step();
    const auto sd = e1.state_dict();
    CHECK(sd.at("last_epoch") == std::vector<double>{2});
    CHECK(sd.at("_step_count") == std::vector<double>{3});
    std::vector<Tensor<float>> q{zeros<float>({2}, true)};
    optim::SGD<float> sgd2(q, 0.1);
    ExponentialLR<float> e2(sgd2, 0.5);
    e2.load_state_dict(sd);
    CHECK(sgd2.param_groups()[0].lr == sgd.param_groups()[0].lr);
    e1.step();
    e2.step();
    CHECK(e1.get_last_lr() == e2.get_last_lr());
    ExponentialLR<float> e3(sgd2, 0.9);
    auto bad = sd;
    CHECK_THAT(error_of<ValueError>([&] { e3.load_state_dict(bad); }),
               Contains("ExponentialLR::load_state_dict: the state was saved with gamma [0.5], this scheduler has gamma [0.9]"));
    bad = sd;
    bad["gamma"] = {0.9};
    bad["_last_lr"] = {0.1, 0.2};
    CHECK_THAT(error_of<ValueError>([&] { e3.load_state_dict(bad); }), Contains("'_last_lr' has 2 learning rates"));
    bad["_last_lr"] = {0.1};
    bad["last_epoch"] = {1.5};
    CHECK_THAT(error_of<ValueError>([&] { e3.load_state_dict(bad); }), Contains("'last_epoch' must be a whole number >= -1"));
    bad["last_epoch"] = {1};
    bad["surprise"] = {1};
    CHECK_THAT(error_of<ValueError>([&] { e3.load_state_dict(bad); }), Contains("unknown entry 'surprise'"));
    CHECK(e3.last_epoch() == 0);
}

TEST_CASE("clip_grad_norm_ and clip_grad_value_ match torch", "[optim]") {
    auto fx = fixture::load("clip_grad.json");
    int n = 0;
    auto run = [&](auto zero, const json& c) {
        using T = decltype(zero);
        std::vector<Tensor<T>> params;
        for (const auto& g : c["grads"]) {
            params.push_back(Tensor<T>(xt::xarray<T>(xt::zeros<T>(fixture::array<T>(g).shape())), true));
            params.back().mutable_grad() = fixture::array<T>(g);
        }
        params.push_back(zeros<T>({3}, true));  // no gradient: skipped
        if (c["fn"] == "clip_grad_norm_") {
            const double total = nn::utils::clip_grad_norm_(params, fixture::number(c["max_norm"]), fixture::number(c["norm_type"]));
            const double want = fixture::number(c["total_norm"]);
            if (std::isnan(want))
                CHECK(std::isnan(total));
            else
                CHECK(std::abs(total - want) <= tolerance<T>() * std::max(1.0, std::abs(want)));
        } else {
            nn::utils::clip_grad_value_(params, fixture::number(c["clip_value"]));
        }
        for (std::size_t i = 0; i < c["expected"].size(); ++i)
            CHECK(fixture::worst_rel_error(params[i].grad(), fixture::array<double>(c["expected"][i])) < tolerance<T>());
        CHECK_FALSE(params.back().has_grad());
    };
    for (const auto& c : fx["cases"]) {
        INFO(c["fn"].get<std::string>() << " " << c["dtype"].get<std::string>() << " " << c.value("norm_type", json()).dump());
        if (c["dtype"] == "float32")
            run(0.0f, c);
        else
            run(0.0, c);
        ++n;
    }
    CHECK(n == 24);
    // error_if_nonfinite: torch's text, and no gradient changed
    Tensor<float> p = zeros<float>({2}, true), q = zeros<float>({1}, true);
    p.mutable_grad() = xt::xarray<float>({INFINITY, 1.f});
    q.mutable_grad() = xt::xarray<float>({3.f});
    CHECK_THAT(error_of<ValueError>([&] { nn::utils::clip_grad_norm_(std::vector<Tensor<float>>{q, p}, 1.0, 2.0, true); }),
               Contains(fx["nonfinite_error"].get<std::string>()));
    CHECK(q.grad()(0) == 3.f);
    // no gradients at all: 0, as torch.tensor(0.)
    CHECK(nn::utils::clip_grad_norm_(std::vector<Tensor<float>>{zeros<float>({2}, true)}, 1.0) == 0.0);
    CHECK(nn::utils::clip_grad_norm_(q, 1.0, INFINITY) == 3.0);
    CHECK_THAT(error_of<ValueError>([&] { nn::utils::clip_grad_value_(q, -1.0); }), Contains("clip_value must be >= 0"));
}

namespace {
// Deterministic gradients that depend on the value, so a wrong buffer changes the trajectory.
template <class T> void fake_grads(std::vector<Tensor<T>>& ps, int k) {
    for (auto& p : ps) {
        p.zero_grad(true);
        p.accumulate_grad(xt::xarray<T>(xt::sin(p.value() * T(3)) + T(0.1) * T(k)));
    }
}
template <class T> std::vector<Tensor<T>> leaves(std::uint64_t seed) {
    Generator g(seed);
    return {randn<T>({3, 2}, g, true), randn<T>({4}, g, true)};
}
}  // namespace

TEST_CASE("optimizer state_dict / load_state_dict continue a run bit-identically and refuse misfits", "[optim][bad_input]") {
    auto check_resume = [](auto make) {
        auto a = leaves<float>(5), b = leaves<float>(5);
        auto oa = make(a), ob = make(b);
        for (int k = 0; k < 3; ++k) fake_grads(a, k), oa->step();
        const auto sd = oa->state_dict();
        for (std::size_t i = 0; i < a.size(); ++i) b[i].mutable_value() = a[i].value();
        ob->load_state_dict(sd);
        for (int k = 3; k < 6; ++k) {
            fake_grads(a, k), oa->step();
            fake_grads(b, k), ob->step();
        }
        for (std::size_t i = 0; i < a.size(); ++i) CHECK(same_bits(a[i].value(), b[i].value()));
    };
    check_resume([](std::vector<Tensor<float>>& p) {
        auto o = std::make_unique<optim::Adam<float>>(std::vector<Tensor<float>>{p[0]}, optim::AdamOptions(0.01).amsgrad(true));
        auto g = o->defaults();
        g.params = {p[1]};
        g.lr = 0.1;
        g.weight_decay = 0.5;
        o->add_param_group(g);
        return o;
    });
    check_resume([](std::vector<Tensor<float>>& p) {
        return std::make_unique<optim::RMSprop<float>>(p, optim::RMSpropOptions(0.01).momentum(0.9).centered(true));
    });
    check_resume([](std::vector<Tensor<float>>& p) { return std::make_unique<optim::AdamW<float>>(p); });

    auto p = leaves<float>(1);
    optim::Adam<float> opt(p, optim::AdamOptions(0.01));
    fake_grads(p, 0);
    opt.step();
    const auto good = opt.state_dict();
    REQUIRE(good.state.size() == 2);
    CHECK(good.state.at(0).at("step")() == 1.f);
    CHECK(good.param_groups[0].options.at("betas") == std::vector<double>{0.9, 0.999});
    CHECK(good.param_groups[0].params == std::vector<std::size_t>{0, 1});
    const auto exp_avg = *&opt.state(p[0])->at("exp_avg");
    auto refused = [&](optim::OptimizerStateDict<float> sd, const std::string& text) {
        CHECK_THAT(error_of<Error>([&] { opt.load_state_dict(sd); }), Contains(text));
        CHECK(same_bits(opt.state(p[0])->at("exp_avg"), exp_avg));
        CHECK(opt.param_groups()[0].lr == 0.01);
    };
    auto sd = good;
    sd.param_groups.push_back(sd.param_groups[0]);
    refused(sd, "loaded state dict has a different number of parameter groups");
    sd = good;
    sd.param_groups[0].params.pop_back();
    refused(sd, "loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
    sd = good;
    sd.param_groups[0].options["betas"] = {1.0, 0.999};
    sd.param_groups[0].options["lr"] = {0.5};
    refused(sd, "Adam::load_state_dict: param_groups[0]: Invalid beta parameter at index 0: 1.0");
    sd = good;
    sd.param_groups[0].options.erase("eps");
    refused(sd, "missing hyper-parameter 'eps'");
    sd = good;
    sd.param_groups[0].options["momentum"] = {0.9};
    refused(sd, "unknown hyper-parameter 'momentum' for Adam");
    sd = good;
    sd.state[0]["momentum_buffer"] = xt::zeros<float>({3, 2});
    refused(sd, "unknown state 'momentum_buffer' for Adam");
    sd = good;
    sd.state[1]["exp_avg"] = xt::zeros<float>({3, 2});
    refused(sd, "state of parameter 1: 'exp_avg' has shape [3, 2], expected [4]");
    sd = good;
    sd.state[7] = sd.state[0];
    refused(sd, "state of parameter 7: no param group lists this index");
    sd = good;
    sd.state[0]["step"]() = -1.f;
    refused(sd, "'step' must be a whole number >= 0");
    // an empty state: every parameter starts over, as in torch
    sd = good;
    sd.state.clear();
    opt.load_state_dict(sd);
    CHECK(opt.state(p[0]) == nullptr);
}

TEST_CASE("Module::state_dict and load_state_dict: torch's names, strict and not, nothing changed on error", "[optim][bad_input]") {
    Generator g(3);
    nn::Sequential<float> a(nn::Linear<float>(3, 2, true, g), nn::ReLU<float>(), nn::Linear<float>(2, 1, true, g));
    nn::Sequential<float> b(nn::Linear<float>(3, 2, true, g), nn::ReLU<float>(), nn::Linear<float>(2, 1, true, g));
    auto sd = a.state_dict();
    CHECK(sd.size() == 4);
    REQUIRE(sd.count("0.weight"));
    REQUIRE(sd.count("2.bias"));
    b.load_state_dict(sd);
    for (std::size_t i = 0; i < 4; ++i) CHECK(same_bits(a.parameters()[i].value(), b.parameters()[i].value()));
    const auto before = b.parameters()[0].value();
    auto bad = sd;
    bad.erase("2.bias");
    bad["extra"] = xt::zeros<float>({1});
    bad["0.weight"] = xt::zeros<float>({2, 2});
    const std::string e = error_of<ValueError>([&] { b.load_state_dict(bad); });
    CHECK_THAT(e, StartsWith("Module::load_state_dict: Error(s) in loading state_dict for Sequential:"));
    CHECK_THAT(e, Contains("Missing key(s) in state_dict: \"2.bias\"") && Contains("Unexpected key(s) in state_dict: \"extra\""));
    CHECK_THAT(e, Contains("size mismatch for 0.weight: copying a param with shape [2, 2] from checkpoint, the shape in "
                           "current model is [2, 3]."));
    CHECK(same_bits(b.parameters()[0].value(), before));
    // strict=false ignores missing and unexpected names, never a size mismatch
    bad["0.weight"] = sd["0.weight"] * 2.f;
    b.load_state_dict(bad, false);
    CHECK(same_bits(b.parameters()[0].value(), xt::xarray<float>(sd["0.weight"] * 2.f)));
    bad["0.bias"] = xt::zeros<float>({5});
    CHECK_THAT(error_of<ValueError>([&] { b.load_state_dict(bad, false); }), Contains("size mismatch for 0.bias"));
}

TEST_CASE("a resume with Adam and OneCycleLR from a checkpoint is bit-identical to a straight run", "[optim][checkpoint]") {
    test_util::TempDir dir;
    const std::string path = dir.file("adam.npz");
    // x → Linear(4, 8) → ReLU → Linear(8, 3), cross-entropy, 4 batches an epoch, 3 epochs
    Generator data(9);
    const xt::xarray<float> x = randn<float>({32, 4}, data).value();
    xt::xarray<std::int64_t> y = xt::xarray<std::int64_t>::from_shape({32});
    for (std::size_t i = 0; i < 32; ++i) y(i) = std::int64_t(i % 3);
    struct Run {
        std::shared_ptr<nn::Sequential<float>> model;
        std::unique_ptr<optim::Optimizer<float>> opt;
        std::unique_ptr<optim::lr_scheduler::OneCycleLR<float>> sched;
        explicit Run(bool adam = false) {
            Generator g(7);
            model = std::make_shared<nn::Sequential<float>>(nn::Linear<float>(4, 8, true, g), nn::ReLU<float>(),
                                                            nn::Linear<float>(8, 3, true, g));
            auto params = model->named_parameters();
            // no weight decay on the biases: a second param group
            const std::vector<Tensor<float>> weights{params[0].second, params[2].second};
            if (adam)
                opt = std::make_unique<optim::Adam<float>>(weights, optim::AdamOptions(1e-3).weight_decay(0.01));
            else
                opt = std::make_unique<optim::AdamW<float>>(weights, optim::AdamWOptions(1e-3).amsgrad(true));
            auto g2 = opt->defaults();
            g2.params = {params[1].second, params[3].second};
            g2.weight_decay = 0;
            opt->add_param_group(g2);
            sched = std::make_unique<optim::lr_scheduler::OneCycleLR<float>>(
                *opt, optim::lr_scheduler::OneCycleLROptions(std::vector<double>{0.05, 0.02}).epochs(3).steps_per_epoch(4));
        }
        void epoch(const xt::xarray<float>& x, const xt::xarray<std::int64_t>& y) {
            for (std::size_t b = 0; b < 4; ++b) {
                opt->zero_grad(true);
                auto xb = xt::xarray<float>(xt::view(x, xt::range(b * 8, b * 8 + 8), xt::all()));
                auto yb = xt::xarray<std::int64_t>(xt::view(y, xt::range(b * 8, b * 8 + 8)));
                cross_entropy((*model)(Tensor<float>(xb)), yb).backward();
                nn::utils::clip_grad_norm_(model->parameters(), 0.5);
                opt->step();
                sched->step();
            }
        }
    };
    Run straight;
    for (int e = 0; e < 3; ++e) straight.epoch(x, y);

    Run first;
    first.epoch(x, y);
    train::TrainState st;
    st.epoch = 1;
    train::save_checkpoint(path, *first.model, *first.opt, st, first.sched.get());
    // numpy-readable names for the new state
    bool has_exp_avg = false, has_beta = false, has_base_lrs = false;
    for (const auto& [n, a] : io::load_npz(path)) {
        has_exp_avg = has_exp_avg || n == "optimizer.exp_avg.0.weight";
        has_beta = has_beta || n == "optimizer.param_groups.betas";
        has_base_lrs = has_base_lrs || n == "scheduler.base_lrs";
    }
    CHECK(has_exp_avg);
    CHECK(has_beta);
    CHECK(has_base_lrs);

    Run resumed;  // fresh objects, as a new process would make them
    const train::TrainState back = train::load_checkpoint(path, *resumed.model, *resumed.opt, resumed.sched.get());
    CHECK(back.epoch == 1);
    CHECK(resumed.sched->last_epoch() == 4);
    for (int e = 1; e < 3; ++e) resumed.epoch(x, y);
    const auto p1 = straight.model->parameters(), p2 = resumed.model->parameters();
    for (std::size_t i = 0; i < p1.size(); ++i) CHECK(same_bits(p1[i].value(), p2[i].value()));
    CHECK(straight.sched->get_last_lr() == resumed.sched->get_last_lr());
    CHECK(std::get<0>(straight.opt->param_groups()[1].betas) == std::get<0>(resumed.opt->param_groups()[1].betas));

    // another optimizer or schedule: refused, and nothing changed
    std::vector<Tensor<float>> sgd_params = resumed.model->parameters();
    optim::SGD<float> sgd(sgd_params, 0.1);
    const auto w = p2[0].value();
    CHECK_THAT(error_of<IOError>([&] { train::load_checkpoint(path, *resumed.model, sgd); }),
               Contains("the checkpoint holds the state of AdamW, the optimizer is SGD"));
    Run other;
    optim::lr_scheduler::ExponentialLR<float> expo(*other.opt, 0.9);
    CHECK_THAT(error_of<IOError>([&] { train::load_checkpoint(path, *other.model, *other.opt, &expo); }),
               Contains("the checkpoint holds the state of OneCycleLR, the scheduler is ExponentialLR"));
    Run shorter;
    shorter.sched = std::make_unique<optim::lr_scheduler::OneCycleLR<float>>(
        *shorter.opt, optim::lr_scheduler::OneCycleLROptions(std::vector<double>{0.05, 0.02}).total_steps(10));
    const auto before = shorter.model->parameters()[0].value();
    CHECK_THAT(error_of<IOError>([&] { train::load_checkpoint(path, *shorter.model, *shorter.opt, shorter.sched.get()); }),
               Contains("OneCycleLR::load_state_dict: the state was saved with phase_end_steps [2.5999999999999996, 11.0], "
                        "this scheduler has phase_end_steps [2.0, 9.0]"));
    CHECK(same_bits(shorter.model->parameters()[0].value(), before));
    CHECK(same_bits(p2[0].value(), w));

    // the same with Adam (its weight decay in the gradient), stopped after 2 of 3 epochs
    Run adam_straight(true);
    for (int e = 0; e < 3; ++e) adam_straight.epoch(x, y);
    Run adam_first(true);
    for (int e = 0; e < 2; ++e) adam_first.epoch(x, y);
    st.epoch = 2;
    train::save_checkpoint(path, *adam_first.model, *adam_first.opt, st, adam_first.sched.get());
    Run adam_resumed(true);
    CHECK(train::load_checkpoint(path, *adam_resumed.model, *adam_resumed.opt, adam_resumed.sched.get()).epoch == 2);
    adam_resumed.epoch(x, y);
    const auto a1 = adam_straight.model->parameters(), a2 = adam_resumed.model->parameters();
    for (std::size_t i = 0; i < a1.size(); ++i) CHECK(same_bits(a1[i].value(), a2[i].value()));
    CHECK_FALSE(same_bits(a1[0].value(), p1[0].value()));  // Adam is not AdamW: the test can tell them apart
    // and it can tell a resume that forgot the scheduler (its schedule starts over) from a right one
    Run forgetful(true);
    train::load_checkpoint(path, *forgetful.model, *forgetful.opt);
    forgetful.epoch(x, y);
    CHECK_FALSE(same_bits(forgetful.model->parameters()[0].value(), a1[0].value()));
}
