// check_graph: each tape entry's backward against its own replayed forward; the wrong one named.
#include <catch2/catch.hpp>

#include <functional>
#include <sstream>

#include "tapegrad/tapegrad.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;
using D = Tensor<double>;

namespace {

// Graph checking on for one scope.
struct CheckMode {
    CheckMode() { set_check_graph(true); }
    ~CheckMode() { set_check_graph(false); }
};

// A user's custom op y = x², optionally wrong at one element (its derivative doubled there).
template <class T> Tensor<T> my_square(const Tensor<T>& x, bool wrong, bool with_replay = true) {
    Tensor<T> out(xt::xarray<T>(x.value() * x.value()));
    if (needs_grad({x})) {
        record<T>(out, "my_square", {x}, [x, wrong](const xt::xarray<T>& g, const xt::xarray<T>&) {
            xt::xarray<T> d = T(2) * x.value() * g;
            if (wrong) d.data()[1] *= T(2);
            x.accumulate_grad(d);
        });
        if (with_replay && is_check_graph_enabled())
            set_replay(out, [](const std::vector<D>& in) { return mul(in[0], in[0]); });
    }
    return out;
}

// 50 entries; the custom op is entry 35 (0-based), with 15 ordinary ops after it.
template <class T> Tensor<T> deep_graph(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, bool wrong) {
    Tensor<T> h = x;
    for (int i = 0; i < 7; ++i) {  // 7 × 5 = 35 entries
        h = matmul(h, w);
        h = add(h, b);
        h = tanh(h);
        h = mul(h, T(0.9));
        h = add(h, T(0.1));
    }
    h = my_square(h, wrong);  // entry 35
    for (int i = 0; i < 4; ++i) {  // 4 × 3 = 12 entries
        h = sigmoid(h);
        h = mul(h, x);
        h = add(h, T(-0.2));
    }
    h = exp(h);      // 48
    return sum(h);   // 49 (the 50th entry)
}

template <class T> std::vector<Tensor<T>> deep_inputs() {
    Generator gen(7);
    return {randn<T>({4, 3}, gen, true), mul(randn<T>({3, 3}, gen), T(0.5)).detach().requires_grad_(),
            randn<T>({3}, gen, true)};
}

}  // namespace

TEST_CASE("check_graph names the one wrong op deep in a 50-entry graph, and passes its correct twin", "[check_graph]") {
    CheckMode on;
    auto in = deep_inputs<double>();
    SECTION("wrong") {
        D loss = deep_graph(in[0], in[1], in[2], true);
        auto r = autograd::check_graph(loss);
        REQUIRE(r.entries.size() == 50);
        CHECK_FALSE(r.ok);
        CHECK_FALSE(bool(r));
        CHECK(r.failed == 1);
        CHECK(r.checked == 49);
        REQUIRE(r.first_failure);
        const auto& e = r.entries[*r.first_failure];
        CHECK(e.op == "my_square");
        CHECK(e.position == 35);
        CHECK(e.status == "FAILED");
        CHECK(e.input == 0);
        CHECK(e.element == 1);
        CHECK(e.position_in_input == Shape{0, 1});
        CHECK(e.analytical == Approx(2 * e.numerical).epsilon(1e-6));
        CHECK_THAT(r.report, Contains("first failure: 'my_square' (tape entry #"));
        CHECK_THAT(r.report, Contains("entry 36 of 50"));
    }
    SECTION("correct twin") {
        D loss = deep_graph(in[0], in[1], in[2], false);
        auto r = autograd::check_graph(loss);
        CHECK(r.ok);
        CHECK(r.failed == 0);
        CHECK(r.checked == 50);
        CHECK_FALSE(r.first_failure);
        CHECK_THAT(r.report, Contains("every entry's backward agrees with its forward"));
        for (const auto& e : r.entries) CHECK(e.replay_difference <= 1e-12);
    }
}

TEST_CASE("check_graph leaves every gradient as it was and the graph usable", "[check_graph]") {
    CheckMode on;
    auto in = deep_inputs<double>();
    D loss = deep_graph(in[0], in[1], in[2], false);
    in[1].backward(ones<double>({3, 3}));  // a gradient already there on one leaf
    const xt::xarray<double> before = in[1].grad();
    auto r = autograd::check_graph(loss);
    CHECK(r.ok);
    CHECK_FALSE(in[0].has_grad());
    CHECK(in[1].grad() == before);
    loss.backward();
    // the same gradients as a graph never checked
    auto in2 = deep_inputs<double>();
    set_check_graph(false);
    D loss2 = deep_graph(in2[0], in2[1], in2[2], false);
    loss2.backward();
    CHECK(in[0].grad() == in2[0].grad());
    for (std::size_t i = 0; i < before.size(); ++i)
        CHECK(in[1].grad().data()[i] - before.data()[i] == Approx(in2[1].grad().data()[i]).epsilon(1e-12));
    CHECK(in[2].grad() == in2[2].grad());
}

TEST_CASE("check_graph in normal mode: no replays kept, and a clear error", "[check_graph]") {
    set_check_graph(false);
    auto in = deep_inputs<double>();
    D loss = deep_graph(in[0], in[1], in[2], true);
    for (const auto& e : graph_of(loss).entries) CHECK(detail::entry_replay(e.output) == nullptr);
    CHECK_THROWS_WITH(autograd::check_graph(loss), Contains("call set_check_graph(true) before the forward pass"));
    CHECK_FALSE(is_check_graph_enabled());
}

TEST_CASE("check_graph: a custom op without a replay is listed, not failed, and a released graph is refused", "[check_graph]") {
    CheckMode on;
    D x = D({1.0, 2.0, 3.0}, true);
    D loss = sum(my_square(tanh(x), true, /*with_replay=*/false));
    auto r = autograd::check_graph(loss);
    CHECK(r.ok);
    CHECK(r.unchecked == 1);
    CHECK(r.entries[1].status == "no replay");
    CHECK_THAT(r.report, Contains("without a replay"));
    loss.backward();
    CHECK_THROWS_WITH(autograd::check_graph(loss), Contains("released by backward()"));
}

TEST_CASE("check_graph: a kink is reported as a kink, not blamed on the backward", "[check_graph]") {
    CheckMode on;
    D x = D({-1.0, 0.0, 2.0}, true);  // relu at exactly 0
    D loss = sum(mul(relu(x), D({1.0, 3.0, 2.0})));
    auto r = autograd::check_graph(loss);
    CHECK(r.ok);
    CHECK(r.entries[0].op == "relu");
    CHECK(r.entries[0].kinks == 1);
    CHECK_THAT(r.report, Contains("1 at kinks"));
}

TEST_CASE("check_graph: a big input is checked along directions and sampled elements", "[check_graph]") {
    CheckMode on;
    Generator gen(3);
    D x = randn<double>({40, 50}, gen, true);  // 2000 elements > full_elements (1024)
    SECTION("a sign error everywhere") {
        D y = Tensor<double>(xt::xarray<double>(3.0 * x.value()));
        record<double>(y, "neg_scale", {x}, [x](const xt::xarray<double>& g, const xt::xarray<double>&) {
            x.accumulate_grad(xt::xarray<double>(-3.0 * g));
        });
        set_replay(y, [](const std::vector<D>& in) { return mul(in[0], 3.0); });
        auto r = autograd::check_graph(sum(tanh(y)));
        CHECK_FALSE(r.ok);
        REQUIRE(r.first_failure);
        CHECK(r.entries[*r.first_failure].op == "neg_scale");
        CHECK(r.entries[*r.first_failure].mode == "sampled");
    }
    SECTION("correct") {
        auto r = autograd::check_graph(sum(tanh(mul(x, 3.0))));
        CHECK(r.ok);
        CHECK(r.entries[0].mode == "sampled");
        CHECK(r.entries[0].elements_checked == 32 + 2);
    }
}

TEST_CASE("check_graph: every built-in op keeps a replay that reproduces its forward, and its backward agrees",
          "[check_graph]") {
    CheckMode on;
    Generator gen(11);
    auto rn = [&](Shape s) { return randn<double>(s, gen, true); };
    auto pos = [&](Shape s) { return add(abs(randn<double>(s, gen)), 0.5).detach().requires_grad_(); };
    auto prob = [&](Shape s) { return sigmoid(randn<double>(s, gen)).detach().requires_grad_(); };
    const xt::xarray<std::int64_t> cls = {0, 2, 1, 2};
    std::vector<std::pair<std::string, std::function<D()>>> cases = {
        {"elementwise", [&] {
             D a = rn({4, 3}), b = rn({3}), p = pos({4, 3});
             D y = add(sub(mul(a, b), div(b, p)), add(mul(a, 2.0), div(p, 3.0)));
             y = add(y, add(rsub(a, 1.0), rdiv(p, 2.0)));
             y = add(y, add(neg(pow(p, 1.5)), add(exp(mul(a, 0.1)), log(p))));
             y = add(y, add(sqrt(p), add(abs(a), clamp(a, -0.5, 0.5))));
             y = add(y, add(relu(a), add(sigmoid(a), tanh(a))));
             y = add(y, add(maximum(a, b), add(minimum(a, b), pow(p, rn({4, 3})))));
             y = add(y, add(log1p(p), add(square(a), add(gelu(a), add(gelu(a, "tanh"), leaky_relu(a, 0.2))))));
             return sum(y);
         }},
        {"conv and pools", [&] {
             D x = rn({2, 2, 7, 6}), w = rn({4, 1, 3, 2}), b = rn({4});
             D c = conv2d(x, w, b, Conv2dFuncOptions().stride({2, 1}).padding(Conv2dPadding(1, 0)).groups(2));
             D m = max_pool2d(c, MaxPool2dOptions({2, 2}).ceil_mode(true));
             D a = avg_pool2d(c, AvgPool2dOptions({3, 2}).padding({1, 1}).count_include_pad(false));
             D ad = adaptive_avg_pool2d(c, {3, 2});
             return add(add(sum(m), sum(a)), sum(ad));
         }},
        {"linalg, shapes, softmax", [&] {
             D x = rn({3, 4}), w = rn({5, 4}), b = rn({5}), m = rn({4, 2});
             D l = linear(x, w, b);
             D y = matmul(x, m);
             D r = permute(reshape(l, {5, 3}), {1, 0});
             return add(add(sum(mul(softmax(r, 1), r)), sum(log_softmax(l, 0))), sum(y));
         }},
        {"indexing", [&] {
             D a = rn({3, 4}), b = rn({2, 4});
             D c = cat(std::vector<D>{a, b}, 0);
             D s = slice(c, 0, 1, 5, 2);
             D i = index_select(c, 1, xt::xarray<std::int64_t>{3, 0, 3});
             D g = gather(a, 1, xt::xarray<std::int64_t>{{0, 1}, {3, 3}, {2, 0}});
             D wh = where(xt::xarray<bool>{true, false, true, false}, a, rn({3, 4}));
             D st = stack(std::vector<D>{a, a}, 1);
             return add(add(add(sum(mul(s, s)), sum(i)), add(sum(g), sum(wh))), sum(st));
         }},
        {"embeddings", [&] {
             D w = rn({6, 3}), psw = rn({5});
             D e = embedding(xt::xarray<std::int64_t>{{1, 4}, {4, 0}}, w, std::int64_t(0));
             D bag = embedding_bag(xt::xarray<std::int64_t>{1, 2, 4, 4, 5}, w, xt::xarray<std::int64_t>{0, 2},
                                   EmbeddingBagMode::Sum, false, psw);
             D bmax = embedding_bag(xt::xarray<std::int64_t>{1, 2, 4, 5}, w, xt::xarray<std::int64_t>{0, 2},
                                    EmbeddingBagMode::Max);
             return add(add(sum(mul(e, e)), sum(bag)), sum(bmax));
         }},
        {"classification losses", [&] {
             D x = rn({4, 3}), wt = D({1.0, 2.0, 0.5});
             D ce = cross_entropy(x, cls, CrossEntropyOptions().weight(wt).label_smoothing(0.1));
             D cep = cross_entropy(x, softmax(randn<double>({4, 3}, gen), 1), CrossEntropyOptions().label_smoothing(0.2));
             D nll = nll_loss(log_softmax(x, 1), cls, NLLLossOptions().reduction(Reduction::Sum));
             D p = prob({4, 3}), t = sigmoid(randn<double>({4, 3}, gen)).detach();
             D bce = binary_cross_entropy(p, t, BinaryCrossEntropyOptions().weight(D({1.0, 0.5, 2.0})));
             D bcl = binary_cross_entropy_with_logits(
                 x, t, BinaryCrossEntropyWithLogitsOptions().pos_weight(D({2.0, 1.0, 0.5})).reduction(Reduction::Sum));
             D sm = soft_margin_loss(x, D({{1.0, -1.0, 1.0}, {-1.0, 1.0, 1.0}, {1.0, 1.0, -1.0}, {-1.0, -1.0, 1.0}}));
             D ml = multilabel_soft_margin_loss(x, t);
             return add(add(add(ce, cep), add(nll, bce)), add(add(bcl, sm), ml));
         }},
        {"regression losses", [&] {
             D x = rn({3, 4}), t = rn({3, 4});
             D a = add(mse_loss(x, t), l1_loss(x, t, L1LossOptions().reduction(Reduction::Sum)));
             D b = add(smooth_l1_loss(x, t, SmoothL1LossOptions().beta(0.5)), huber_loss(x, t, HuberLossOptions().delta(0.7)));
             D c = add(kl_div(log_softmax(x, 1), softmax(t, 1).detach(), KLDivOptions().reduction(KLDivReduction::BatchMean)),
                       kl_div(x, t, KLDivOptions().log_target(true)));
             return add(add(a, b), c);
         }},
        {"reductions", [&] {
             D a = rn({3, 4, 2});
             D y = add(sum(a), add(sum(sum(a, 1)), sum(mean(a, -1, true))));
             y = add(sum(y), add(mean(a), sum(mean(a, 0))));
             y = add(y, add(max(a), min(a)));
             y = add(y, add(sum(max(a, 1).values), sum(min(a, 2, true).values)));
             y = add(y, add(sum(sum(a, std::vector<std::ptrdiff_t>{0, 2})), sum(mean(a, std::vector<std::ptrdiff_t>{1, 2}, true))));
             y = add(y, add(sum(var(a, std::vector<std::ptrdiff_t>{1})), add(var(a), sum(tapegrad::std(a, std::vector<std::ptrdiff_t>{0, 2}, false, true)))));
             return add(y, tapegrad::std(a));
         }},
        {"normalisation and dropout", [&] {
             D x = rn({4, 3, 2}), w = rn({3}), b = rn({3}), lw = rn({2}), lb = rn({2});
             D rm = zeros<double>({3}), rv = ones<double>({3});
             D bn = batch_norm(x, rm, rv, w, b, BatchNormFuncOptions().training(true));
             D be = batch_norm(x, rm, rv, w, b);  // eval, with the running stats just updated
             D ln = layer_norm(x, {2}, lw, lb);
             Generator dg(5);
             D dr = dropout(x, 0.3, true, dg);
             return add(add(sum(mul(bn, bn)), sum(mul(be, x))), add(sum(mul(ln, ln)), sum(mul(dr, dr))));
         }},
    };
    for (auto& [name, make] : cases) {
        INFO(name);
        D loss = make();
        auto r = autograd::check_graph(loss);
        INFO(r.report);
        CHECK(r.ok);
        CHECK(r.unchecked == 0);
        for (const auto& e : r.entries) {
            INFO(e.op);
            CHECK(e.replay_difference <= 1e-12);
        }
    }
}

TEST_CASE("check_graph on a float32 model: float backward against float64 differences", "[check_graph]") {
    CheckMode on;
    manual_seed(3);
    Generator gen(4);
    auto model = std::make_shared<nn::Sequential<float>>();
    model->push_back(std::make_shared<nn::Linear<float>>(6, 8, true, gen));
    model->push_back(std::make_shared<nn::BatchNorm1d<float>>(8));
    model->push_back(std::make_shared<nn::ReLU<float>>());
    model->push_back(std::make_shared<nn::Dropout<float>>(0.25));
    model->push_back(std::make_shared<nn::Linear<float>>(8, 3, true, gen));
    Tensor<float> x = randn<float>({5, 6}, gen);
    Tensor<float> loss = cross_entropy(model->forward(x), xt::xarray<std::int64_t>{0, 1, 2, 1, 0});
    auto r = autograd::check_graph(loss);
    INFO(r.report);
    CHECK(r.ok);
    CHECK(r.unchecked == 0);
    CHECK_THAT(r.report, Contains("float32 backward against float64 differences"));
    // a wrong op in a float graph is named too
    Tensor<float> bad = sum(my_square(tanh(model->forward(x)), true));
    auto rb = autograd::check_graph(bad);
    REQUIRE(rb.first_failure);
    CHECK(rb.entries[*rb.first_failure].op == "my_square");
}
