// Ops: forward values, broadcasting, errors — and the walk that gradchecks every op in src/.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include <tapegrad/tapegrad.hpp>
#include <xtensor/xview.hpp>
#include <tapegrad/ops/loss.hpp>

using namespace tapegrad;
using Catch::Matchers::Contains;
using T64 = Tensor<double>;
using Vec = std::vector<T64>;

TEST_CASE("element-wise forward with broadcasting", "[ops]") {
    Tensor<float> a({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
    Tensor<float> b({10.f, 20.f, 30.f});
    CHECK((a + b).value() == xt::xarray<float>({{11, 22, 33}, {14, 25, 36}}));
    CHECK((a - b).value() == xt::xarray<float>({{-9, -18, -27}, {-6, -15, -24}}));
    CHECK((a * reshape(Tensor<float>({2.f, 3.f}), {2, 1})).value() == xt::xarray<float>({{2, 4, 6}, {12, 15, 18}}));
    CHECK((b / 10.f).value() == xt::xarray<float>({1, 2, 3}));
    CHECK((1.f - b).value() == xt::xarray<float>({-9, -19, -29}));
    CHECK((60.f / b).value() == xt::xarray<float>({6, 3, 2}));
    CHECK((-b).value() == xt::xarray<float>({-10, -20, -30}));
    CHECK((pow(b, 2.f).value() == xt::xarray<float>({100, 400, 900})));
    CHECK((clamp(b, 15.f, 25.f).value() == xt::xarray<float>({15, 20, 25})));
    CHECK((clamp(b, std::nullopt, 12.f).value() == xt::xarray<float>({10, 12, 12})));
    CHECK_THROWS_AS(clamp(b, std::nullopt, std::nullopt), ValueError);
    CHECK((abs(Tensor<float>({-1.f, 2.f})).value() == xt::xarray<float>({1, 2})));
    CHECK((relu(Tensor<float>({-1.f, 2.f})).value() == xt::xarray<float>({0, 2})));
    // 0-d with n-d
    CHECK((Tensor<float>::scalar(2.f) * b).value() == xt::xarray<float>({20, 40, 60}));
}

TEST_CASE("shape errors name the op and both shapes", "[ops]") {
    Tensor<float> a = zeros<float>({2, 3}), b = zeros<float>({2, 4});
    CHECK_THROWS_WITH(a + b, Contains("add") && Contains("[2, 3]") && Contains("[2, 4]"));
    CHECK_THROWS_AS(a * b, ShapeError);
    CHECK_THROWS_WITH(matmul(a, a), Contains("matmul") && Contains("2x3 and 2x3"));
    CHECK_THROWS_WITH(reshape(a, {4, 2}), Contains("reshape") && Contains("[2, 3]"));
    CHECK_THROWS_AS(sum(a, 2), IndexError);
    CHECK_THROWS_WITH(softmax(a, -3), Contains("Dimension out of range"));
    CHECK_THROWS_AS(permute(a, {0, 0}), ValueError);
    CHECK_THROWS_AS(linear(a, zeros<float>({5, 4})), ShapeError);
}

TEST_CASE("matmul: 2-D, batched with broadcast, and 1-D promotion", "[ops]") {
    Tensor<double> a({{1.0, 2.0}, {3.0, 4.0}});
    Tensor<double> v({1.0, 1.0});
    CHECK((matmul(a, a).value() == xt::xarray<double>({{7, 10}, {15, 22}})));
    CHECK((matmul(a, v).value() == xt::xarray<double>({3, 7})));
    CHECK((matmul(v, a).value() == xt::xarray<double>({4, 6})));
    CHECK(matmul(v, v).value()() == 2.0);
    CHECK(matmul(v, v).dim() == 0);
    Tensor<double> batch = arange<double>(0, 12);
    batch = reshape(batch, {3, 2, 2});
    auto c = matmul(batch, a);  // (3,2,2) × (2,2)
    CHECK(c.shape() == Shape{3, 2, 2});
    CHECK((xt::xarray<double>(xt::view(c.value(), 1)) == xt::xarray<double>({{4 + 15, 8 + 20}, {6 + 21, 12 + 28}})));
}

TEST_CASE("reductions, max with indices, shapes ops, softmax", "[ops]") {
    Tensor<double> a({{1.0, 5.0, 3.0}, {4.0, 2.0, 6.0}});
    CHECK(sum(a).item() == 21.0);
    CHECK((sum(a, 0).value() == xt::xarray<double>({5, 7, 9})));
    CHECK(sum(a, -1, true).shape() == Shape{2, 1});
    CHECK((mean(a, 1).value() == xt::xarray<double>({3, 4})));
    CHECK(max(a).item() == 6.0);
    auto m = max(a, 1);
    CHECK((m.values.value() == xt::xarray<double>({5, 6})));
    CHECK((m.indices == xt::xarray<std::int64_t>({1, 2})));
    CHECK((argmax(a, 0) == xt::xarray<std::int64_t>({1, 0, 1})));
    CHECK((transpose(a, 0, 1).value() == xt::xarray<double>({{1, 4}, {5, 2}, {3, 6}})));
    CHECK(reshape(a, {-1}).shape() == Shape{6});
    CHECK(flatten(reshape(a, {1, 2, 3}), 1).shape() == Shape{1, 6});
    auto s = softmax(a, 1);
    for (std::size_t r = 0; r < 2; ++r) CHECK(s.value()(r, 0) + s.value()(r, 1) + s.value()(r, 2) == Approx(1.0));
    // stable: a huge shared offset changes nothing, huge logits don't overflow
    auto big = log_softmax(a + 1e300, 1);
    CHECK(std::isfinite(big.value()(0, 0)));
    auto off = log_softmax(a + 1e8, 1).value(), ref = log_softmax(a, 1).value();
    for (std::size_t i = 0; i < off.size(); ++i) CHECK(off.data()[i] == Approx(ref.data()[i]).epsilon(1e-7));
}

// ---------------------------------------------------------------- the autograd::gradcheck walk

namespace {
struct Case {
    std::function<T64(const Vec&)> fn;
    Vec inputs;
};

T64 rnd(Generator& g, Shape s, double lo = -2, double hi = 2) {
    T64 t = rand<double>(s, g);
    t.mutable_value() = lo + (hi - lo) * t.value();
    return t.requires_grad_();
}
// Values kept away from 0 (kinks of abs/relu) and from each other (ties of max).
T64 spaced(Generator& g, Shape s) {
    T64 t = rand<double>(s, g);
    std::size_t n = t.numel();
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = (double(i) - double(n) / 2 + 0.5) * 0.37;
    for (std::size_t i = n; i-- > 1;) std::swap(v[i], v[g.randint(i + 1)]);
    std::copy(v.begin(), v.end(), t.mutable_value().begin());
    return t.requires_grad_();
}

// op name → cases; every name recorded anywhere in src/ must appear here.
std::map<std::string, std::vector<Case>> all_cases() {
    Generator g(2024);
    std::map<std::string, std::vector<Case>> m;
    auto bin = [&](auto f) {
        return std::vector<Case>{
            {[f](const Vec& x) { return f(x[0], x[1]); }, {rnd(g, {3, 4}), rnd(g, {3, 4}, 0.5, 2)}},
            {[f](const Vec& x) { return f(x[0], x[1]); }, {rnd(g, {2, 3, 4}), rnd(g, {4}, 0.5, 2)}},   // broadcast
            {[f](const Vec& x) { return f(x[0], x[1]); }, {rnd(g, {3, 1}), rnd(g, {1, 4}, 0.5, 2)}},   // both sides
            {[f](const Vec& x) { return f(x[0], x[1]); }, {rnd(g, {}), rnd(g, {2, 3}, 0.5, 2)}},       // 0-d
            {[f](const Vec& x) { return f(f(x[0], x[0]), x[0] * 1.0); }, {rnd(g, {2, 3}, 0.5, 2)}}, // reused node
        };
    };
    m["add"] = bin([](const T64& a, const T64& b) { return a + b; });
    m["sub"] = bin([](const T64& a, const T64& b) { return a - b; });
    m["mul"] = bin([](const T64& a, const T64& b) { return a * b; });
    m["div"] = bin([](const T64& a, const T64& b) { return a / b; });
    auto un = [&](auto f, double lo, double hi) {
        return std::vector<Case>{
            {[f](const Vec& x) { return f(x[0]); }, {rnd(g, {5}, lo, hi)}},
            {[f](const Vec& x) { return f(x[0]); }, {rnd(g, {2, 3, 2}, lo, hi)}},
            {[f](const Vec& x) { return f(x[0]) * f(x[0]); }, {rnd(g, {3}, lo, hi)}},
        };
    };
    m["add_scalar"] = un([](const T64& a) { return a + 3.0; }, -2, 2);
    m["mul_scalar"] = un([](const T64& a) { return a * -1.5; }, -2, 2);
    m["rsub_scalar"] = un([](const T64& a) { return 2.0 - a; }, -2, 2);
    m["rdiv_scalar"] = un([](const T64& a) { return 2.0 / a; }, 0.5, 2);
    m["div_scalar"] = un([](const T64& a) { return a / -1.5; }, -2, 2);
    m["neg"] = un([](const T64& a) { return -a; }, -2, 2);
    m["pow"] = un([](const T64& a) { return pow(a, 2.5); }, 0.5, 2);
    m["exp"] = un([](const T64& a) { return exp(a); }, -2, 2);
    m["log"] = un([](const T64& a) { return log(a); }, 0.5, 3);
    m["sqrt"] = un([](const T64& a) { return sqrt(a); }, 0.5, 3);
    m["sigmoid"] = un([](const T64& a) { return sigmoid(a); }, -4, 4);
    m["tanh"] = un([](const T64& a) { return tanh(a); }, -2, 2);
    m["abs"] = {{[](const Vec& x) { return abs(x[0]); }, {spaced(g, {3, 4})}}};
    m["relu"] = {{[](const Vec& x) { return relu(x[0]); }, {spaced(g, {3, 4})}},
                 {[](const Vec& x) { return relu(x[0]) * x[0]; }, {spaced(g, {5})}}};
    m["clamp"] = {{[](const Vec& x) { return clamp(x[0], -0.5, 0.6); }, {spaced(g, {4, 3})}},
                  {[](const Vec& x) { return clamp(x[0], std::nullopt, 0.2); }, {spaced(g, {6})}}};
    m["matmul"] = {
        {[](const Vec& x) { return matmul(x[0], x[1]); }, {rnd(g, {3, 4}), rnd(g, {4, 2})}},
        {[](const Vec& x) { return matmul(x[0], x[1]); }, {rnd(g, {2, 3, 4}), rnd(g, {4, 2})}},
        {[](const Vec& x) { return matmul(x[0], x[1]); }, {rnd(g, {2, 1, 2, 3}), rnd(g, {3, 3, 2})}},
        {[](const Vec& x) { return matmul(x[0], x[1]); }, {rnd(g, {3}), rnd(g, {3, 2})}},
        {[](const Vec& x) { return matmul(x[0], x[1]); }, {rnd(g, {2, 3}), rnd(g, {3})}},
        {[](const Vec& x) { return matmul(x[0], x[1]); }, {rnd(g, {3}), rnd(g, {3})}},
        {[](const Vec& x) { return matmul(x[0], x[0]); }, {rnd(g, {3, 3})}},
    };
    m["linear"] = {
        {[](const Vec& x) { return linear(x[0], x[1], x[2]); }, {rnd(g, {4, 3}), rnd(g, {2, 3}), rnd(g, {2})}},
        {[](const Vec& x) { return linear(x[0], x[1]); }, {rnd(g, {2, 2, 3}), rnd(g, {5, 3})}},
        {[](const Vec& x) { return linear(x[0], x[1], x[2]); }, {rnd(g, {3}), rnd(g, {2, 3}), rnd(g, {2})}},
    };
    m["sum"] = {{[](const Vec& x) { return sum(x[0]); }, {rnd(g, {2, 3})}}};
    m["sum_dim"] = {{[](const Vec& x) { return sum(x[0], 1); }, {rnd(g, {2, 3, 2})}},
                    {[](const Vec& x) { return sum(x[0], -1, true); }, {rnd(g, {3, 2})}}};
    m["mean"] = {{[](const Vec& x) { return mean(x[0]); }, {rnd(g, {2, 3})}}};
    m["mean_dim"] = {{[](const Vec& x) { return mean(x[0], 0); }, {rnd(g, {4, 3})}},
                     {[](const Vec& x) { return mean(x[0], 1, true); }, {rnd(g, {2, 3, 2})}}};
    m["max"] = {{[](const Vec& x) { return max(x[0]); }, {spaced(g, {3, 4})}}};
    m["max_dim"] = {{[](const Vec& x) { return max(x[0], 1).values; }, {spaced(g, {3, 4})}},
                    {[](const Vec& x) { return max(x[0], 0, true).values; }, {spaced(g, {2, 3, 2})}}};
    m["reshape"] = {{[](const Vec& x) { return reshape(x[0], {3, -1}); }, {rnd(g, {2, 3, 2})}},
                    {[](const Vec& x) { return flatten(x[0], 1); }, {rnd(g, {2, 3, 2})}}};
    m["permute"] = {{[](const Vec& x) { return permute(x[0], {2, 0, 1}); }, {rnd(g, {2, 3, 4})}},
                    {[](const Vec& x) { return transpose(x[0], 0, 1) * 2.0; }, {rnd(g, {2, 3})}}};
    m["softmax"] = {{[](const Vec& x) { return softmax(x[0], 1); }, {rnd(g, {3, 4})}},
                    {[](const Vec& x) { return softmax(x[0], 0); }, {rnd(g, {3, 2, 2})}}};
    m["log_softmax"] = {{[](const Vec& x) { return log_softmax(x[0], 1); }, {rnd(g, {3, 4})}},
                        {[](const Vec& x) { return log_softmax(x[0], -1); }, {rnd(g, {2, 2, 3})}}};
    xt::xarray<std::int64_t> t3 = {0, 2, 1, 2}, t3i = {0, -100, 1, 2};
    T64 w = T64({0.5, 2.0, 1.5});
    m["cross_entropy"] = {
        {[t3](const Vec& x) { return cross_entropy(x[0], t3); }, {rnd(g, {4, 3})}},
        {[t3i, w](const Vec& x) { return cross_entropy(x[0], t3i, w, -100, Reduction::Sum, 0.2); }, {rnd(g, {4, 3})}},
        {[t3, w](const Vec& x) { return cross_entropy(x[0], t3, w, -100, Reduction::None, 0.1); }, {rnd(g, {4, 3})}},
    };
    m["cross_entropy_prob"] = {
        {[](const Vec& x) { return cross_entropy(x[0], softmax(x[1], 1)); }, {rnd(g, {4, 3}), rnd(g, {4, 3}).detach()}},
        {[w](const Vec& x) { return cross_entropy(x[0], softmax(x[1], 1), w, -1, Reduction::None, 0.3); },
         {rnd(g, {2, 3, 2}), rnd(g, {2, 3, 2}).detach()}},
    };
    m["nll_loss"] = {
        {[t3](const Vec& x) { return nll_loss(log_softmax(x[0], 1), t3); }, {rnd(g, {4, 3})}},
        {[t3i, w](const Vec& x) { return nll_loss(x[0], t3i, w, -100, Reduction::None); }, {rnd(g, {4, 3})}},
    };
    const xt::xarray<std::int64_t> eidx = {0, 2, 2, 4, 1}, eoff = {0, 2, 2};
    m["embedding_bag"] = {
        {[eidx, eoff](const Vec& x) { return embedding_bag(eidx, x[0], eoff); }, {rnd(g, {5, 3})}},
        {[eidx, eoff](const Vec& x) { return embedding_bag(eidx, x[0], eoff, EmbeddingBagMode::Sum, false, x[1]); },
         {rnd(g, {5, 3}), rnd(g, {5})}},
        {[](const Vec& x) { return embedding_bag(xt::xarray<std::int64_t>({{0, 1}, {3, 3}}), x[0], std::nullopt, EmbeddingBagMode::Max); },
         {spaced(g, {4, 2})}},
    };
    // ---- issue 12: joins, slicing, indexing, element-wise, reductions, normalisation
    m["cat"] = {{[](const Vec& x) { return cat(x, 1); }, {rnd(g, {2, 3}), rnd(g, {2, 1}), rnd(g, {2, 2})}},
                {[](const Vec& x) { return cat(Vec{x[0], x[0] * 2.0, x[1]}, 0); }, {rnd(g, {1, 2, 3}), rnd(g, {2, 2, 3})}},
                {[](const Vec& x) { return stack(Vec{x[0], x[1]}, 1); }, {rnd(g, {2, 3}), rnd(g, {2, 3})}}};
    m["slice"] = {{[](const Vec& x) { return slice(x[0], 1, 1, std::nullopt, 2); }, {rnd(g, {3, 5})}},
                  {[](const Vec& x) { return narrow(x[0], -1, 1, 2) * narrow(x[0], -1, 0, 2); }, {rnd(g, {2, 2, 3})}}};
    m["index_select"] = {{[](const Vec& x) { return index_select(x[0], 1, xt::xarray<std::int64_t>({2, 0, 2})); }, {rnd(g, {2, 3, 2})}},
                         {[](const Vec& x) { return index_select(x[0], 0, xt::xarray<std::int64_t>({1, 1})); }, {rnd(g, {3})}}};
    m["gather"] = {{[](const Vec& x) { return gather(x[0], 1, xt::xarray<std::int64_t>({{0, 2, 2}, {1, 0, 1}})); }, {rnd(g, {2, 3})}},
                   {[](const Vec& x) { return gather(x[0], 0, xt::xarray<std::int64_t>({{{1, 0}}, {{0, 0}}})); }, {rnd(g, {2, 3, 2})}}};
    const xt::xarray<bool> wc = {{true, false, true}, {false, false, true}};
    m["where"] = {{[wc](const Vec& x) { return where(wc, x[0], x[1]); }, {rnd(g, {2, 3}), rnd(g, {3})}},
                  {[wc](const Vec& x) { return where(wc, x[0], x[1]); }, {rnd(g, {2, 1}), rnd(g, {})}}};
    // spaced values: no ties, where the gradient splits (tested against torch in test_ops2.cpp)
    m["maximum"] = {{[](const Vec& x) { return maximum(x[0], x[1]); }, {spaced(g, {3, 4}), spaced(g, {4})}},
                    {[](const Vec& x) { return maximum(x[0], x[1]); }, {spaced(g, {3, 1}), spaced(g, {1, 2}) * 1.01}}};
    m["minimum"] = {{[](const Vec& x) { return minimum(x[0], x[1]); }, {spaced(g, {3, 4}), spaced(g, {4})}},
                    {[](const Vec& x) { return minimum(x[0], x[1]); }, {spaced(g, {2, 3}), spaced(g, {2, 3}) * 1.01}}};
    m["pow_tensor"] = {{[](const Vec& x) { return pow(x[0], x[1]); }, {rnd(g, {3, 4}, 0.5, 2), rnd(g, {3, 4})}},
                       {[](const Vec& x) { return pow(x[0], x[1]); }, {rnd(g, {2, 3}, 0.5, 2), rnd(g, {3})}},
                       {[](const Vec& x) { return pow(x[0], x[0]); }, {rnd(g, {4}, 0.5, 2)}}};
    m["log1p"] = un([](const T64& a) { return log1p(a); }, -0.5, 2);
    m["square"] = un([](const T64& a) { return square(a); }, -2, 2);
    m["gelu"] = {{[](const Vec& x) { return gelu(x[0]); }, {rnd(g, {3, 4}, -4, 4)}},
                 {[](const Vec& x) { return gelu(x[0], GeluApproximate::Tanh); }, {rnd(g, {3, 4}, -4, 4)}}};
    m["leaky_relu"] = {{[](const Vec& x) { return leaky_relu(x[0], 0.2); }, {spaced(g, {3, 4})}},
                       {[](const Vec& x) { return leaky_relu(x[0]) * x[0]; }, {spaced(g, {5})}}};
    m["min"] = {{[](const Vec& x) { return min(x[0]); }, {spaced(g, {3, 4})}}};
    m["min_dim"] = {{[](const Vec& x) { return min(x[0], 1).values; }, {spaced(g, {3, 4})}},
                    {[](const Vec& x) { return min(x[0], -1, true).values; }, {spaced(g, {2, 3, 2})}}};
    m["sum_dims"] = {{[](const Vec& x) { return sum(x[0], std::vector<std::ptrdiff_t>{0, 2}); }, {rnd(g, {2, 3, 2})}},
                     {[](const Vec& x) { return sum(x[0], std::vector<std::ptrdiff_t>{-1, 0}, true); }, {rnd(g, {3, 2})}}};
    m["mean_dims"] = {{[](const Vec& x) { return mean(x[0], std::vector<std::ptrdiff_t>{1, 2}); }, {rnd(g, {2, 3, 2})}},
                      {[](const Vec& x) { return mean(x[0], std::vector<std::ptrdiff_t>{}, true); }, {rnd(g, {3, 2})}}};
    m["var"] = {{[](const Vec& x) { return var(x[0]); }, {rnd(g, {3, 4})}},
                {[](const Vec& x) { return var(x[0], {0, 2}, false, true); }, {rnd(g, {3, 2, 2})}},
                {[](const Vec& x) { return var(x[0], {1}, Correction(2)); }, {rnd(g, {2, 5})}}};
    m["std"] = {{[](const Vec& x) { return tapegrad::std(x[0]); }, {rnd(g, {3, 4})}},
                {[](const Vec& x) { return tapegrad::std(x[0], {1}, false, true); }, {rnd(g, {3, 4})}},
                {[](const Vec& x) { return tapegrad::std(x[0], {0}, Correction(2)); }, {rnd(g, {5, 2})}}};
    m["batch_norm"] = {
        {[](const Vec& x) { return batch_norm(x[0], T64(), T64(), x[1], x[2], BatchNormFuncOptions().training(true)); },
         {rnd(g, {4, 3}), rnd(g, {3}, 0.5, 2), rnd(g, {3})}},
        {[](const Vec& x) { return batch_norm(x[0], T64(), T64(), x[1], T64(), BatchNormFuncOptions().training(true).eps(0.1)); },
         {rnd(g, {2, 2, 3}), rnd(g, {2}, 0.5, 2)}},
        {[](const Vec& x) { return batch_norm(x[0], T64(), T64(), T64(), T64(), BatchNormFuncOptions().training(true)); },
         {rnd(g, {2, 2, 2, 2})}},
        {[](const Vec& x) {
             return batch_norm(x[0], T64({0.1, -0.2, 0.3}), T64({1.0, 0.5, 2.0}), x[1], x[2]);  // eval
         },
         {rnd(g, {3, 3, 2}), rnd(g, {3}, 0.5, 2), rnd(g, {3})}},
    };
    m["layer_norm"] = {
        {[](const Vec& x) { return layer_norm(x[0], {4}, x[1], x[2]); }, {rnd(g, {3, 4}), rnd(g, {4}, 0.5, 2), rnd(g, {4})}},
        {[](const Vec& x) { return layer_norm(x[0], {2, 3}, x[1], T64(), 0.1); }, {rnd(g, {2, 2, 3}), rnd(g, {2, 3}, 0.5, 2)}},
        {[](const Vec& x) { return layer_norm(x[0], {5}); }, {rnd(g, {2, 5})}},
    };
    m["embedding"] = {{[](const Vec& x) { return embedding(xt::xarray<std::int64_t>({{0, 2}, {2, 3}}), x[0]); }, {rnd(g, {4, 3})}},
                      // padding_idx 2 is not used here: its row is constant by design (no gradient), which
                      // central differences would see; test_ops2.cpp checks it against torch
                      {[](const Vec& x) { return embedding(xt::xarray<std::int64_t>({1, 0, 1}), x[0], 2); }, {rnd(g, {3, 2})}}};
    m["conv2d"] = {
        {[](const Vec& x) { return conv2d(x[0], x[1], x[2]); }, {rnd(g, {2, 2, 4, 5}), rnd(g, {3, 2, 3, 2}), rnd(g, {3})}},
        {[](const Vec& x) { return conv2d(x[0], x[1], T64(), Conv2dFuncOptions().stride({2, 1}).padding({1, 2}).dilation({1, 2})); },
         {rnd(g, {1, 2, 5, 6}), rnd(g, {2, 2, 2, 3})}},
        {[](const Vec& x) { return conv2d(x[0], x[1], x[2], Conv2dFuncOptions().padding("same").groups(2)); },
         {rnd(g, {2, 4, 4, 3}), rnd(g, {4, 2, 2, 2}), rnd(g, {4})}},
        {[](const Vec& x) { return conv2d(x[0], x[1], T64(), Conv2dFuncOptions().groups(3)); },  // depthwise, unbatched, 1×1
         {rnd(g, {3, 3, 4}), rnd(g, {3, 1, 1, 1})}},
        {[](const Vec& x) { return conv2d(x[0], x[1]); }, {rnd(g, {2, 3, 3, 3}), rnd(g, {2, 3, 1, 1})}},  // 1×1 direct path
    };
    m["max_pool2d"] = {
        {[](const Vec& x) { return max_pool2d(x[0], 2); }, {spaced(g, {2, 2, 4, 5})}},
        {[](const Vec& x) { return max_pool2d(x[0], {3, 2}, Size2(2, 1), {1, 1}, {1, 2}, true); }, {spaced(g, {1, 2, 6, 7})}},
        {[](const Vec& x) { return max_pool2d(x[0], 3, Size2(1), 1); }, {spaced(g, {2, 4, 4})}},
    };
    m["avg_pool2d"] = {
        {[](const Vec& x) { return avg_pool2d(x[0], 2); }, {rnd(g, {2, 2, 4, 5})}},
        {[](const Vec& x) { return avg_pool2d(x[0], {3, 3}, Size2(2), 1, true, false); }, {rnd(g, {1, 2, 6, 7})}},
        {[](const Vec& x) { return avg_pool2d(x[0], 3, Size2(2), 1, true, true, 2); }, {rnd(g, {2, 5, 5})}},
    };
    m["adaptive_avg_pool2d"] = {
        {[](const Vec& x) { return adaptive_avg_pool2d(x[0], {3, 2}); }, {rnd(g, {2, 2, 5, 7})}},
        {[](const Vec& x) { return adaptive_avg_pool2d(x[0], {4, 5}); }, {rnd(g, {2, 3, 3})}},
    };
    m["dropout"] = {{[](const Vec& x) {
                        Generator dg(5);  // the same mask on every call, so the function is deterministic
                        return dropout(x[0], 0.4, true, dg);
                    },
                     {rnd(g, {4, 5})}}};
    // ---- issue 14: the element-wise losses, input and target differentiated (not soft_margin_loss's
    // target, which torch does not differentiate; and
    // multilabel_soft_margin_loss's weight); differences kept away from the kinks of l1, smooth_l1
    // and huber (|x − t| in 0.185 ± 0.05, 0.555 ± 0.05, …: spaced inputs, small targets)
    const T64 wl = T64({0.5, 2.0, 1.5}), pwl = T64({3.0, 0.5, 1.2});
    m["binary_cross_entropy"] = {
        {[](const Vec& x) { return binary_cross_entropy(x[0], x[1]); }, {rnd(g, {4, 3}, 0.1, 0.9), rnd(g, {4, 3}, 0, 1)}},
        {[wl](const Vec& x) { return binary_cross_entropy(x[0], x[1], wl, Reduction::None); },
         {rnd(g, {2, 3}, 0.1, 0.9), rnd(g, {2, 3}, 0, 1)}},
        {[](const Vec& x) { return binary_cross_entropy(x[0], x[1], T64(), Reduction::Sum); }, {rnd(g, {5}, 0.1, 0.9), rnd(g, {5}, 0, 1).detach()}},
    };
    m["binary_cross_entropy_with_logits"] = {
        {[](const Vec& x) { return binary_cross_entropy_with_logits(x[0], x[1]); }, {rnd(g, {4, 3}, -3, 3), rnd(g, {4, 3}, 0, 1)}},
        {[wl, pwl](const Vec& x) { return binary_cross_entropy_with_logits(x[0], x[1], wl, Reduction::Sum, pwl); },
         {rnd(g, {4, 3}, -3, 3), rnd(g, {4, 3}, 0, 1)}},
        {[](const Vec& x) { return binary_cross_entropy_with_logits(x[0], x[1], T64(), Reduction::None, T64({2.0, 0.5})); },
         {rnd(g, {2, 3, 2}, -3, 3), rnd(g, {2, 3, 2}, 0, 1)}},
    };
    m["mse_loss"] = {
        {[](const Vec& x) { return mse_loss(x[0], x[1]); }, {rnd(g, {4, 3}), rnd(g, {4, 3})}},
        {[](const Vec& x) { return mse_loss(x[0], x[1], Reduction::None); }, {rnd(g, {4, 3}), rnd(g, {3})}},  // broadcast
        {[](const Vec& x) { return mse_loss(x[0], x[1], Reduction::Sum); }, {rnd(g, {3, 1}), rnd(g, {1, 2})}},
    };
    m["l1_loss"] = {
        {[](const Vec& x) { return l1_loss(x[0], x[1]); }, {spaced(g, {3, 4}), rnd(g, {3, 4}, -0.05, 0.05)}},
        {[](const Vec& x) { return l1_loss(x[0], x[1], Reduction::None); }, {spaced(g, {2, 4}), rnd(g, {4}, -0.05, 0.05)}},
        {[](const Vec& x) { return smooth_l1_loss(x[0], x[1], Reduction::Sum, 0.0); }, {spaced(g, {5}), rnd(g, {5}, -0.05, 0.05)}},
    };
    m["smooth_l1_loss"] = {
        {[](const Vec& x) { return smooth_l1_loss(x[0], x[1]); }, {spaced(g, {3, 4}), rnd(g, {3, 4}, -0.05, 0.05)}},
        {[](const Vec& x) { return smooth_l1_loss(x[0], x[1], Reduction::None, 0.4); }, {spaced(g, {2, 4}), rnd(g, {4}, -0.05, 0.05)}},
        {[](const Vec& x) { return smooth_l1_loss(x[0], x[1], Reduction::Sum, 2.5); }, {spaced(g, {12}), rnd(g, {12}, -0.05, 0.05)}},
    };
    m["huber_loss"] = {
        {[](const Vec& x) { return huber_loss(x[0], x[1]); }, {spaced(g, {3, 4}), rnd(g, {3, 4}, -0.05, 0.05)}},
        {[](const Vec& x) { return huber_loss(x[0], x[1], Reduction::None, 0.4); }, {spaced(g, {2, 4}), rnd(g, {4}, -0.05, 0.05)}},
        {[](const Vec& x) { return huber_loss(x[0], x[1], Reduction::Sum, 2.5); }, {spaced(g, {12}), rnd(g, {12}, -0.05, 0.05)}},
    };
    m["kl_div"] = {
        {[](const Vec& x) { return kl_div(x[0], x[1]); }, {rnd(g, {4, 3}, -3, 0), rnd(g, {4, 3}, 0.1, 1)}},
        {[](const Vec& x) { return kl_div(x[0], x[1], KLDivReduction::BatchMean); }, {rnd(g, {4, 3}, -3, 0), rnd(g, {3}, 0.1, 1)}},
        {[](const Vec& x) { return kl_div(x[0], x[1], Reduction::None, true); }, {rnd(g, {2, 3, 2}, -3, 0), rnd(g, {2, 3, 2}, -3, 0)}},
        {[](const Vec& x) { return kl_div(x[0], x[1], KLDivOptions().reduction(Reduction::Sum).log_target(true)); },
         {rnd(g, {3}, -3, 0), rnd(g, {2, 3}, -3, 0)}},
    };
    m["soft_margin_loss"] = {
        {[](const Vec& x) { return soft_margin_loss(x[0], x[1]); }, {rnd(g, {4, 3}, -3, 3), rnd(g, {4, 3}).detach()}},  // no target gradient, as torch
        {[](const Vec& x) { return soft_margin_loss(x[0], x[1], Reduction::None); }, {rnd(g, {4, 3}, -3, 3), rnd(g, {3}).detach()}},
        {[](const Vec& x) { return soft_margin_loss(x[0], x[1], Reduction::Sum); }, {rnd(g, {5}, -3, 3), rnd(g, {5}).detach()}},
    };
    m["multilabel_soft_margin_loss"] = {
        {[](const Vec& x) { return multilabel_soft_margin_loss(x[0], x[1]); }, {rnd(g, {4, 3}, -3, 3), rnd(g, {4, 3}, 0, 1)}},
        {[](const Vec& x) { return multilabel_soft_margin_loss(x[0], x[1], x[2], Reduction::None); },
         {rnd(g, {2, 3, 2}, -3, 3), rnd(g, {2, 3, 2}, 0, 1), rnd(g, {2}, 0.5, 2)}},
        {[](const Vec& x) { return multilabel_soft_margin_loss(x[0], x[1], x[2], Reduction::Sum); },
         {rnd(g, {4, 3}, -3, 3), rnd(g, {3}, 0, 1), rnd(g, {4, 1}, 0.5, 2)}},
    };
    return m;
}

std::set<std::string> recorded_op_names() {
    std::set<std::string> names;
    const std::regex re(R"(record(<\w+>)?\(\s*\w+\s*,\s*\"([a-z_0-9]+)\")");
    for (auto& e : std::filesystem::recursive_directory_iterator(std::string(TAPEGRAD_SOURCE_DIR) + "/src")) {
        if (e.path().extension() != ".cpp") continue;
        std::ifstream f(e.path());
        std::string text((std::istreambuf_iterator<char>(f)), {});
        for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) names.insert((*it)[2]);
    }
    return names;
}
}  // namespace

TEST_CASE("every op recorded in src/ passes gradcheck on several shapes", "[ops][gradcheck]") {
    const auto cases = all_cases();
    const auto names = recorded_op_names();
    REQUIRE(names.size() >= 30);  // the scan itself works
    for (const auto& n : names) {
        INFO("op '" << n << "' is recorded in src/ but has no gradcheck case in tests/test_ops.cpp");
        CHECK(cases.count(n) == 1);
    }
    for (const auto& [name, list] : cases) {
        for (std::size_t i = 0; i < list.size(); ++i) {
            autograd::GradcheckResult r = autograd::gradcheck(list[i].fn, list[i].inputs);
            INFO("op " << name << " case " << i << "\n" << r);
            CHECK(r.ok);
        }
    }
}
