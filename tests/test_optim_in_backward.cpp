// Post-accumulate-grad hooks and the optimizer in backward: same trajectories as step(), hooks
// firing once a leaf's gradient is complete.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;
using Catch::Matchers::Contains;

namespace {

std::shared_ptr<nn::Sequential<float>> mlp(std::uint64_t seed) {
    Generator g(seed);
    auto m = std::make_shared<nn::Sequential<float>>();
    m->push_back(std::make_shared<nn::Linear<float>>(6, 8, true, g));
    m->push_back(std::make_shared<nn::ReLU<float>>());
    m->push_back(std::make_shared<nn::Linear<float>>(8, 5, true, g));
    m->push_back(std::make_shared<nn::Tanh<float>>());
    m->push_back(std::make_shared<nn::Linear<float>>(5, 3, true, g));
    return m;
}

// An identity op that logs when its backward runs.
Tensor<float> logged(const Tensor<float>& x, std::vector<std::string>& log, std::string name) {
    Tensor<float> out(x.value());
    if (needs_grad({x}))
        record<float>(out, "logged", {x}, [x, &log, name](const xt::xarray<float>& g, const xt::xarray<float>&) {
            log.push_back(name);
            x.accumulate_grad(g);
        });
    return out;
}

}  // namespace

TEST_CASE("post-accumulate-grad hook: fires once, when the leaf's gradient is complete", "[hooks]") {
    Generator gen(1);
    Tensor<float> w = randn<float>({3, 3}, gen, true), x = randn<float>({2, 3}, gen);
    std::vector<std::string> log;
    xt::xarray<float> seen;
    const std::size_t id = w.register_post_accumulate_grad_hook([&](const Tensor<float>& t) {
        log.push_back("hook");
        seen = t.grad();
    });
    // w is read twice: by the first matmul and by the last; the hook must wait for the first
    Tensor<float> h = logged(matmul(x, w), log, "early");
    Tensor<float> y = matmul(tanh(h), w);
    Tensor<float> loss = sum(logged(y, log, "late"));
    loss.backward();
    REQUIRE(log == std::vector<std::string>{"late", "early", "hook"});
    CHECK(w.grad() == seen);

    // the same graph without the hook gives the same gradient
    Tensor<float> w2 = w.detach().requires_grad_();
    sum(matmul(tanh(matmul(x, w2)), w2)).backward();
    CHECK(w2.grad() == w.grad());

    // fires before entries that do not read it: the last layer's weight before the first layer runs
    Tensor<float> a = randn<float>({3, 3}, gen, true), b = randn<float>({3, 3}, gen, true);
    log.clear();
    b.register_post_accumulate_grad_hook([&](const Tensor<float>&) { log.push_back("b complete"); });
    sum(matmul(logged(matmul(x, a), log, "first layer"), b)).backward();
    CHECK(log == std::vector<std::string>{"b complete", "first layer"});

    CHECK(w.remove_post_accumulate_grad_hook(id));
    CHECK_FALSE(w.remove_post_accumulate_grad_hook(id));
    log.clear();
    sum(matmul(x, w)).backward();
    CHECK(log.empty());

    // a leaf that is itself the root of backward
    int fired = 0;
    Tensor<float> leaf = Tensor<float>::scalar(2.0f, true);
    leaf.register_post_accumulate_grad_hook([&](const Tensor<float>& t) { fired += int(t.grad()() == 1.0f); });
    leaf.backward();
    CHECK(fired == 1);
}

TEST_CASE("post-accumulate-grad hook: refused on a non-leaf, in torch's words", "[hooks]") {
    Tensor<float> x = Tensor<float>({1.0f, 2.0f}, true);
    Tensor<float> y = mul(x, 2.0f);
    CHECK_THROWS_AS(y.register_post_accumulate_grad_hook([](const Tensor<float>&) {}), AutogradError);
    CHECK_THROWS_WITH(y.register_post_accumulate_grad_hook([](const Tensor<float>&) {}),
                      Contains("post accumulate grad hooks cannot be registered on non-leaf tensors"));
}

// Bit for bit where the update runs from the hook; plain SGD's step is fused into linear's
// weight-gradient GEMM (W ← W − lr·gᵀx, one rounding fewer), so there: to float rounding.
TEST_CASE("step_in_backward: the same trajectory as zero_grad, backward, step", "[hooks]") {
    using Make = std::function<std::unique_ptr<optim::Optimizer<float>>(std::vector<Tensor<float>>)>;
    const std::vector<std::pair<std::string, Make>> optimizers = {
        {"SGD (fused)", [](auto p) { return std::make_unique<optim::SGD<float>>(p, 0.1); }},
        {"SGD maximize (fused)", [](auto p) { return std::make_unique<optim::SGD<float>>(p, optim::SGDOptions(0.1).maximize(true)); }},
        {"SGD momentum nesterov weight_decay",
         [](auto p) {
             return std::make_unique<optim::SGD<float>>(
                 p, optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-2));
         }},
        {"SGD momentum dampening maximize",
         [](auto p) {
             return std::make_unique<optim::SGD<float>>(p, optim::SGDOptions(0.05).momentum(0.8).dampening(0.3).maximize(true));
         }},
        {"Adam", [](auto p) { return std::make_unique<optim::Adam<float>>(p, optim::AdamOptions(1e-2).weight_decay(1e-3)); }},
        {"AdamW amsgrad", [](auto p) { return std::make_unique<optim::AdamW<float>>(p, optim::AdamWOptions(1e-2).amsgrad(true)); }},
        {"RMSprop centered momentum",
         [](auto p) {
             return std::make_unique<optim::RMSprop<float>>(p, optim::RMSpropOptions(1e-2).centered(true).momentum(0.5));
         }},
    };
    Generator data(9);
    std::vector<Tensor<float>> xs;
    std::vector<xt::xarray<std::int64_t>> ys;
    for (int s = 0; s < 6; ++s) {
        xs.push_back(randn<float>({7, 6}, data));
        xt::xarray<std::int64_t> y = xt::xarray<std::int64_t>::from_shape({7});
        for (std::size_t i = 0; i < 7; ++i) y(i) = std::int64_t(data.randint(3));
        ys.push_back(y);
    }
    for (const auto& [name, make] : optimizers) {
        INFO(name);
        auto normal = mlp(4), hooked = mlp(4);
        auto opt_n = make(normal->parameters());
        auto opt_h = make(hooked->parameters());
        opt_h->step_in_backward(true);
        CHECK(opt_h->steps_in_backward());
        for (std::size_t s = 0; s < xs.size(); ++s) {
            opt_n->zero_grad(true);
            cross_entropy((*normal)(xs[s]), ys[s]).backward();
            opt_n->step();
            cross_entropy((*hooked)(xs[s]), ys[s]).backward();  // the updates happen in here
            for (const auto& p : hooked->parameters()) CHECK_FALSE(p.has_grad());  // dropped after the update
        }
        const auto pn = normal->parameters(), ph = hooked->parameters();
        const bool fused = name.find("fused") != std::string::npos;
        double worst = 0;
        for (std::size_t i = 0; i < pn.size(); ++i) {
            if (!fused) CHECK(pn[i].value() == ph[i].value());
            for (std::size_t k = 0; k < pn[i].numel(); ++k) {
                const double a = pn[i].value().data()[k], b = ph[i].value().data()[k];
                worst = std::max(worst, std::abs(a - b) / (1 + std::abs(a)));
            }
        }
        CHECK(worst <= (fused ? 1e-6 : 0.0));
        CHECK_THROWS_WITH(opt_h->step(), Contains("step_in_backward is on"));
        // switched off: step() again
        opt_h->step_in_backward(false);
        opt_h->zero_grad(true);
        opt_n->zero_grad(true);
        cross_entropy((*hooked)(xs[0]), ys[0]).backward();
        cross_entropy((*normal)(xs[0]), ys[0]).backward();
        for (std::size_t i = 0; i < pn.size(); ++i) {  // nothing stepped; both have their gradients
            REQUIRE(ph[i].has_grad());
            if (!fused) CHECK(pn[i].grad() == ph[i].grad());
        }
        opt_h->step();
        opt_n->step();
        if (!fused)
            for (std::size_t i = 0; i < pn.size(); ++i) CHECK(pn[i].value() == ph[i].value());
    }
}

TEST_CASE("step_in_backward: keep_grads leaves the gradients, and a destroyed optimizer leaves no hook", "[hooks]") {
    Generator data(2);
    Tensor<float> x = randn<float>({4, 6}, data);
    const xt::xarray<std::int64_t> y{0, 1, 2, 1};
    auto normal = mlp(5), hooked = mlp(5);
    optim::SGD<float> opt_n(normal->parameters(), 0.1);
    {
        optim::SGD<float> opt_h(hooked->parameters(), 0.1);
        opt_h.step_in_backward(true, /*keep_grads=*/true);
        cross_entropy((*hooked)(x), y).backward();
        cross_entropy((*normal)(x), y).backward();
        const auto pn = normal->parameters(), ph = hooked->parameters();
        for (std::size_t i = 0; i < pn.size(); ++i) {
            REQUIRE(ph[i].has_grad());
            CHECK(ph[i].grad() == pn[i].grad());
        }
        opt_n.step();
        for (std::size_t i = 0; i < pn.size(); ++i) CHECK(pn[i].value() == ph[i].value());
        // a group added later is hooked too
        Tensor<float> extra = Tensor<float>({1.0f, 2.0f}, true);
        opt_h.add_param_group({extra});
        sum(mul(extra, extra)).backward();
        CHECK(extra.value() == xt::xarray<float>{0.8f, 1.6f});
    }
    // plain SGD: linear applies the step itself, so the weight's gradient never exists (and hooks,
    // which fire on a complete gradient, do not fire); with momentum the update runs from the
    // optimizer's hook, after the hooks registered before it saw the complete gradient
    for (const double momentum : {0.0, 0.9}) {
        auto m = mlp(6);
        optim::SGD<float> o(m->parameters(), optim::SGDOptions(0.1).momentum(momentum));
        const Tensor<float> w0 = m->parameters()[0];
        int with_grad = -1;
        Tensor<float>(w0).register_post_accumulate_grad_hook([&](const Tensor<float>& t) { with_grad = t.has_grad(); });
        o.step_in_backward(true);
        const auto before = w0.value();
        cross_entropy((*m)(x), y).backward();
        CHECK(with_grad == (momentum == 0 ? -1 : 1));
        CHECK_FALSE(w0.value() == before);
        CHECK_FALSE(w0.has_grad());
    }
    // opt_h is gone: its hooks with it
    hooked->zero_grad(true);
    const auto before = hooked->parameters()[0].value();
    cross_entropy((*hooked)(x), y).backward();
    CHECK(hooked->parameters()[0].value() == before);
    CHECK(hooked->parameters()[0].has_grad());
}
