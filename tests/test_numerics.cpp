// Every op against PyTorch 1.13 on non-finite and extreme values (NaN, ±inf, ±0, ±tiny, denormals,
// ±huge) in float32 and float64, and on tensors with a zero-size dim: values, indices and
// gradients (tests/fixtures/numerics.json, written by tools/gen_fixtures.py). Then sizes past
// BLAS's int, and gradcheck on aliased outputs and NaN Jacobians.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <tapegrad/ops/loss.hpp>
#include <tapegrad/tapegrad.hpp>

#include "fixture.hpp"
#include "ops/blas_size.hpp"  // private: the BLAS size helpers (tests see src/)
#include "ops/internal.hpp"   // private: detail::gemm

using namespace tapegrad;
using nlohmann::json;

namespace {

template <class T> std::optional<Scalar<T>> opt_number(const json& j) {
    if (j.is_null()) return std::nullopt;
    return T(fixture::number(j));
}

// Runs the case's op on x; writes the integer result (max indices, argmax) into idx.
template <class T>
Tensor<T> apply(const json& c, const std::vector<Tensor<T>>& x, xt::xarray<std::int64_t>& idx, bool& has_idx) {
    const std::string op = c["op"];
    const json& a = c["args"];
    const json& ints = c["int_inputs"];
    auto scalar = [&]() { return T(fixture::number(a["scalar"])); };
    auto dim = [&]() { return a["dim"].get<std::ptrdiff_t>(); };
    auto opt_tensor = [&](std::size_t i) { return x.size() > i ? x[i] : Tensor<T>(); };
    auto red = [&]() { return reduction_from_string(a["reduction"]); };
    static const std::map<std::string, std::function<Tensor<T>(const Tensor<T>&)>> unary = {
        {"neg", [](const Tensor<T>& t) { return -t; }},
        {"exp", [](const Tensor<T>& t) { return exp(t); }},
        {"log", [](const Tensor<T>& t) { return log(t); }},
        {"sqrt", [](const Tensor<T>& t) { return sqrt(t); }},
        {"abs", [](const Tensor<T>& t) { return abs(t); }},
        {"relu", [](const Tensor<T>& t) { return relu(t); }},
        {"sigmoid", [](const Tensor<T>& t) { return sigmoid(t); }},
        {"tanh", [](const Tensor<T>& t) { return tanh(t); }},
    };
    if (unary.count(op)) return unary.at(op)(x[0]);
    if (op == "add") return x[0] + x[1];
    if (op == "sub") return x[0] - x[1];
    if (op == "mul") return x[0] * x[1];
    if (op == "div") return x[0] / x[1];
    if (op == "add_scalar") return x[0] + scalar();
    if (op == "sub_scalar") return x[0] - scalar();
    if (op == "mul_scalar") return x[0] * scalar();
    if (op == "div_scalar") return x[0] / scalar();
    if (op == "rsub_scalar") return scalar() - x[0];
    if (op == "rdiv_scalar") return scalar() / x[0];
    if (op == "pow") return pow(x[0], T(fixture::number(a["exponent"])));
    if (op == "clamp") return clamp(x[0], opt_number<T>(a["min"]), opt_number<T>(a["max"]));
    if (op == "sum") return sum(x[0]);
    if (op == "mean") return mean(x[0]);
    if (op == "max") return max(x[0]);
    if (op == "sum_dim") return sum(x[0], dim());
    if (op == "mean_dim") return mean(x[0], dim());
    if (op == "max_dim") {
        auto r = max(x[0], dim());
        idx = r.indices;
        has_idx = true;
        return r.values;
    }
    if (op == "argmax") {
        idx = argmax(x[0], dim());
        has_idx = true;
        return Tensor<T>();
    }
    if (op == "softmax") return softmax(x[0], dim());
    if (op == "log_softmax") return log_softmax(x[0], dim());
    if (op == "matmul") return matmul(x[0], x[1]);
    if (op == "linear") return linear(x[0], x[1], opt_tensor(2));
    if (op == "reshape") return reshape(x[0], a["shape"].get<std::vector<std::ptrdiff_t>>());
    if (op == "flatten") return flatten(x[0], a["start"].get<std::ptrdiff_t>(), a["end"].get<std::ptrdiff_t>());
    if (op == "transpose") {
        auto d = a["dims"].get<std::vector<std::ptrdiff_t>>();
        return transpose(x[0], d[0], d[1]);
    }
    if (op == "permute") return permute(x[0], a["dims"].get<std::vector<std::ptrdiff_t>>());
    if (op == "cross_entropy")
        return cross_entropy(x[0], fixture::int_array(ints["target"]), opt_tensor(1), a["ignore_index"].get<std::int64_t>(),
                             red(), a["label_smoothing"].get<double>());
    if (op == "cross_entropy_prob")
        return cross_entropy(x[0], x[1], Tensor<T>(), -100, red(), a["label_smoothing"].get<double>());
    if (op == "nll_loss")
        return nll_loss(x[0], fixture::int_array(ints["target"]), opt_tensor(1), a["ignore_index"].get<std::int64_t>(),
                        red());
    if (op == "embedding_bag") {
        std::optional<xt::xarray<std::int64_t>> off;
        if (ints.contains("offsets")) off = fixture::int_array(ints["offsets"]);
        return embedding_bag(fixture::int_array(ints["input"]), x[0], off, embedding_bag_mode_from_string(a["mode"]));
    }
    throw std::runtime_error("test_numerics: no runner for op '" + op + "'");
}

struct Tol {
    double rtol, atol;
};
// Element-wise ops are compared to a few ulps; ops that sum (reductions, softmax, products,
// losses) may round differently by the order of their sums, relative to their O(1) terms.
template <class T> Tol tolerance(const std::string& op) {
    static const std::set<std::string> summing = {"sum", "mean", "sum_dim", "mean_dim", "softmax", "log_softmax",
                                                  "matmul", "linear", "cross_entropy", "cross_entropy_prob",
                                                  "nll_loss", "embedding_bag"};
    const bool f32 = std::is_same<T, float>::value;
    if (summing.count(op)) return f32 ? Tol{1e-5, 1e-6} : Tol{1e-12, 1e-14};
    return f32 ? Tol{2e-6, 0} : Tol{1e-14, 0};
}

std::string num_str(double v) {
    std::ostringstream os;
    os.precision(17);
    os << v;
    return os.str();
}

// "" when `got` matches torch's `want`: same shape, NaN where torch has NaN, the same infinities,
// finite values within atol + rtol·|want|.
template <class T> std::string compare(const xt::xarray<T>& got, const json& want_j, Tol tol) {
    const xt::xarray<double> want = fixture::array<double>(want_j);
    const Shape gs(got.shape().begin(), got.shape().end()), ws(want.shape().begin(), want.shape().end());
    if (gs != ws) return "shape " + shape_str(gs) + ", torch " + shape_str(ws);
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double g = double(got.data()[i]), w = want.data()[i];
        bool ok;
        if (std::isnan(w) || std::isnan(g))
            ok = std::isnan(w) && std::isnan(g);
        else if (std::isinf(w) || std::isinf(g))
            ok = g == w;
        else
            ok = std::abs(g - w) <= tol.atol + tol.rtol * std::abs(w);
        if (!ok) return "element " + std::to_string(i) + ": " + num_str(g) + ", torch " + num_str(w);
    }
    return "";
}

std::string describe(const json& c) {
    std::ostringstream os;
    os << c["op"].get<std::string>() << " " << c["dtype"].get<std::string>() << " " << c["args"].dump();
    for (const auto& in : c["inputs"]) os << " " << shape_str(in["shape"].get<Shape>());
    return os.str();
}

struct Tally {
    std::size_t cases = 0, values = 0, gradients = 0;
    std::vector<std::string> failures;
};

// Runs one case in precision T: forward, backward with the case's upstream gradient (ones when
// absent), then compares the output, the indices and every input's gradient with torch's.
template <class T> void run_case(const json& c, Tally& tally) {
    std::vector<Tensor<T>> x;
    for (std::size_t i = 0; i < c["inputs"].size(); ++i)
        x.emplace_back(fixture::array<T>(c["inputs"][i]), c["requires_grad"][i].get<bool>());
    const Tol tol = tolerance<T>(c["op"]);
    auto fail = [&](const std::string& what, const std::string& why) {
        tally.failures.push_back(describe(c) + ": " + what + " " + why);
    };
    ++tally.cases;
    xt::xarray<std::int64_t> idx;
    bool has_idx = false;
    Tensor<T> out;
    try {
        out = apply<T>(c, x, idx, has_idx);
    } catch (const std::exception& e) {
        fail("forward", std::string("threw: ") + e.what());
        return;
    }
    if (!c["out"].is_null()) {
        tally.values += out.numel();
        std::string why = compare(out.value(), c["out"], tol);
        if (!why.empty()) fail("value", why);
    }
    if (!c["indices"].is_null()) {
        const auto want = fixture::int_array(c["indices"]);
        if (!has_idx || Shape(idx.shape().begin(), idx.shape().end()) != Shape(want.shape().begin(), want.shape().end()) ||
            !std::equal(idx.begin(), idx.end(), want.begin()))
            fail("indices", "differ from torch's");
    }
    if (!out.defined() || !out.requires_grad()) return;
    try {
        Tensor<T> gout = c["gout"].is_null() ? Tensor<T>(xt::xarray<T>(xt::ones<T>(out.value().shape())))
                                             : Tensor<T>(fixture::array<T>(c["gout"]));
        out.backward(gout);
    } catch (const std::exception& e) {
        fail("backward", std::string("threw: ") + e.what());
        return;
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (c["grads"][i].is_null()) continue;
        xt::xarray<T> g = x[i].has_grad() ? x[i].grad() : xt::xarray<T>(xt::zeros<T>(x[i].value().shape()));
        tally.gradients += g.size();
        std::string why = compare(g, c["grads"][i], tol);
        if (!why.empty()) fail("gradient of input " + std::to_string(i), why);
    }
}

Tally run_group(const std::string& group) {
    const json fx = fixture::load("numerics.json");
    Tally t;
    for (const auto& c : fx["cases"]) {
        if (c["group"] != group) continue;
        if (c["dtype"] == "float64")
            run_case<double>(c, t);
        else
            run_case<float>(c, t);
    }
    return t;
}

void report(const Tally& t) {
    std::ostringstream os;
    for (std::size_t i = 0; i < t.failures.size() && i < 400; ++i) os << t.failures[i] << "\n";
    INFO(t.failures.size() << " of " << t.cases << " cases differ from torch:\n" << os.str());
    CHECK(t.failures.empty());
}

}  // namespace

TEST_CASE("every op matches torch on tensors with a zero-size dim, forward and backward", "[numerics][empty]") {
    const Tally t = run_group("empty");
    CHECK(t.cases >= 150);
    report(t);
}

// ---------------------------------------------------------------- empty batch dims, by hand
// The two examples, checked directly: the gradient of a broadcast operand of an empty
// batch is exactly zero (not whatever memory the reduction left), and an empty-batch matmul
// backwards without crashing.

TEST_CASE("empty batch: broadcast gradients are zeros, empty-batch matmul backwards", "[numerics][empty]") {
    for (int rep = 0; rep < 20; ++rep) {  // fresh allocations each time: garbage would show up
        Tensor<double> a(xt::xarray<double>::from_shape({0, 3}), true);
        Tensor<double> b(xt::xarray<double>({1.0, 2.0, 3.0}), true);
        sum(a + b).backward();
        REQUIRE(b.grad().shape() == std::vector<std::size_t>{3});
        CHECK(b.grad() == xt::xarray<double>({0.0, 0.0, 0.0}));
        CHECK(a.grad().size() == 0);

        Tensor<float> c(xt::xarray<float>::from_shape({0, 1, 4}), true);
        Tensor<float> d(xt::xarray<float>({{5.f, 6.f, 7.f, 8.f}}), true);
        mul(c, d).backward(Tensor<float>(xt::xarray<float>::from_shape({0, 1, 4})));
        CHECK(d.grad() == xt::xarray<float>({{0.f, 0.f, 0.f, 0.f}}));
    }
    Tensor<float> x(xt::xarray<float>::from_shape({0, 3, 4}), true), w(xt::xarray<float>(xt::ones<float>({4, 5})), true);
    Tensor<float> y = matmul(x, w);
    CHECK(y.shape() == Shape{0, 3, 5});
    sum(y).backward();
    CHECK(w.grad() == xt::xarray<float>(xt::zeros<float>({4, 5})));
    // k = 0: a product over an empty inner dim is zeros
    Tensor<double> p(xt::xarray<double>::from_shape({3, 0}), true), q(xt::xarray<double>::from_shape({0, 4}), true);
    CHECK(matmul(p, q).value() == xt::xarray<double>(xt::zeros<double>({3, 4})));
    CHECK(linear(p, Tensor<double>(xt::xarray<double>::from_shape({2, 0}))).value() ==
          xt::xarray<double>(xt::zeros<double>({3, 2})));
}

TEST_CASE("every op matches torch on NaN, ±inf, ±0, tiny, denormal and huge values, float32 and float64",
          "[numerics]") {
    const Tally t = run_group("special");
    CHECK(t.cases >= 400);
    report(t);
    WARN("numerics: " << t.cases << " op × input cases, " << t.values << " values and " << t.gradients
                      << " gradient entries compared with torch");
}

// ---------------------------------------------------------------- BLAS sizes

TEST_CASE("BLAS sizes: element-wise calls go in chunks below INT_MAX", "[numerics][blas]") {
    using Chunks = std::vector<std::pair<std::size_t, int>>;
    auto chunks = [](std::size_t n, std::size_t limit = detail::kBlasIntMax) {
        Chunks c;
        detail::for_each_blas_chunk(n, [&](std::size_t off, int count) { c.emplace_back(off, count); }, limit);
        return c;
    };
    CHECK(chunks(10, 4) == Chunks{{0, 4}, {4, 4}, {8, 2}});
    CHECK(chunks(8, 4) == Chunks{{0, 4}, {4, 4}});
    CHECK(chunks(0).empty());
    CHECK(chunks(7) == Chunks{{0, 7}});
    const std::size_t imax = detail::kBlasIntMax;
    CHECK(chunks(imax) == Chunks{{0, INT_MAX}});
    CHECK(chunks(imax + 1) == Chunks{{0, INT_MAX}, {imax, 1}});
    // what SGD's axpy sees for a parameter of 5·10⁹ elements (int(n) would be 705032704: a
    // corner of the parameter updated; for 2^31 it is negative and BLAS does nothing)
    const std::size_t big = 5'000'000'000ULL;
    const Chunks c = chunks(big);
    REQUIRE(c.size() == 3);
    std::size_t next = 0;
    for (const auto& [off, count] : c) {
        CHECK(off == next);
        CHECK(count > 0);
        next += std::size_t(count);
    }
    CHECK(next == big);
    CHECK(detail::blas_int("axpy", "n", imax) == INT_MAX);
    CHECK_THROWS_AS(detail::blas_int("axpy", "n", imax + 1), ShapeError);
}

TEST_CASE("BLAS sizes: GEMM refuses a dimension above INT_MAX with a ShapeError naming the op", "[numerics][blas]") {
    using Catch::Matchers::Contains;
    const std::size_t over = std::size_t(INT_MAX) + 1;  // 2^31
    float a[1] = {1.f}, b[1] = {1.f}, c[1] = {7.f};
    // checked before BLAS touches memory: these 1-element buffers are never read
    CHECK_THROWS_MATCHES(detail::gemm<float>("matmul", false, false, over, 1, 1, 1.f, a, 1, b, 1, 0.f, c, 1), ShapeError,
                         Catch::Matchers::Message("matmul: matrix product rows (M) = 2147483648 is larger than BLAS can "
                                                  "take (at most 2^31 - 1 = 2147483647)"));
    CHECK_THROWS_WITH(detail::gemm<float>("linear", false, true, 1, 1, over, 1.f, a, over, b, over, 0.f, c, 1),
                      Contains("linear: matrix product inner size (K) = 2147483648"));
    CHECK_THROWS_WITH(detail::gemm<float>("matmul", false, false, 1, std::size_t(1) << 40, 1, 1.f, a, 1, b, 1, 0.f, c, 1),
                      Contains("matmul: matrix product columns (N) = 1099511627776"));
    double da[1] = {1}, db[1] = {1}, dc[1] = {7};
    CHECK_THROWS_WITH(detail::gemm<double>("linear", true, false, 1, 1, 1, 1.0, da, over, db, 1, 0.0, dc, 1),
                      Contains("linear: leading dimension of the left operand = 2147483648"));
    CHECK(c[0] == 7.f);
    CHECK(dc[0] == 7.0);
    // k = 0: C = beta·C, so zeros for beta = 0 even where C held garbage (NaN here)
    float z[4] = {NAN, NAN, NAN, NAN};
    detail::gemm<float>("matmul", false, false, 2, 2, 0, 1.f, nullptr, 0, nullptr, 2, 0.f, z, 2);
    CHECK((z[0] == 0.f && z[1] == 0.f && z[2] == 0.f && z[3] == 0.f));
    float keep[2] = {3.f, 4.f};
    detail::gemm<float>("linear", false, true, 1, 2, 0, 1.f, nullptr, 0, nullptr, 0, 1.f, keep, 2);
    CHECK((keep[0] == 3.f && keep[1] == 4.f));
}

// ---------------------------------------------------------------- gradcheck: aliases and NaN

namespace {
using Vec = std::vector<Tensor<double>>;
// y = x with a backward that writes NaN (an analytical Jacobian holding NaN)
Tensor<double> nan_backward(const Tensor<double>& x) {
    Tensor<double> out(x.value());
    if (needs_grad({x}))
        record<double>(out, "nan_backward_test", {x}, [x](const xt::xarray<double>& g, const xt::xarray<double>&) {
            x.accumulate_grad(xt::xarray<double>(g * std::numeric_limits<double>::quiet_NaN()));
        });
    return out;
}
}  // namespace

TEST_CASE("gradcheck passes functions that return an input unchanged", "[gradcheck][numerics]") {
    Tensor<double> x({1.0, -2.0, 3.0}, true), y({0.5, 4.0}, true);
    auto id = autograd::gradcheck([](const Vec& v) { return v[0]; }, Vec{x});
    INFO(id);
    CHECK(id.ok);
    CHECK(id.checked == 9);
    auto among = autograd::gradcheck([](const Vec& v) { return Vec{v[0] * 2.0, v[1], v[0]}; }, Vec{x, y});
    INFO(among);
    CHECK(among.ok);
    CHECK(among.checked == (3 * 3 + 3 * 2) * 2 + (2 * 3 + 2 * 2));
    // an input that does not require grad returned as is: its Jacobian is not checked, the rest is
    Tensor<double> c({7.0, 8.0});
    auto fixed = autograd::gradcheck([](const Vec& v) { return Vec{v[1], v[0] * v[0]}; }, Vec{x, c});
    INFO(fixed);
    CHECK(fixed.ok);
    // view-like returns: reshape, flatten, transpose, permute of an input
    Tensor<double> m({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, true);
    auto views = autograd::gradcheck(
        [](const Vec& v) { return Vec{reshape(v[0], {3, 2}), flatten(v[0]), transpose(v[0], 0, 1), permute(v[0], {1, 0})}; },
        Vec{m});
    INFO(views);
    CHECK(views.ok);
    CHECK(!x.has_grad());  // the caller's tensors are left alone
}

TEST_CASE("gradcheck: NaN in either Jacobian is a mismatch reported as NaN", "[gradcheck][numerics]") {
    // numerical NaN (log of a negative number at x − eps), analytical finite
    Tensor<double> x({1e-7, 1.0}, true);
    auto r = autograd::gradcheck([](const Vec& v) { return log(v[0]); }, Vec{x});
    INFO(r);
    CHECK_FALSE(r.ok);
    CHECK(r.mismatches == 1);
    CHECK(std::isnan(r.max_error));
    CHECK(std::isnan(r.numerical));
    CHECK_THAT(r.report.substr(r.report.find("Jacobian entries out of tolerance")), Catch::Matchers::Contains("worst error nan"));
    CHECK(r.report.find("worst error 0") == std::string::npos);
    // analytical NaN, numerical finite
    Tensor<double> z({1.0, 2.0}, true);
    auto a = autograd::gradcheck([](const Vec& v) { return nan_backward(v[0]); }, Vec{z});
    INFO(a);
    CHECK_FALSE(a.ok);
    CHECK(a.mismatches == 4);  // g·NaN is NaN in every entry, the zeros of the one-hot seed included
    CHECK(std::isnan(a.analytical));
    CHECK(std::isnan(a.max_error));
}

// ---------------------------------------------------------------- the thread pool

TEST_CASE("parallel_for: the parts cover 0..n once, errors come back, nested calls run serially", "[numerics][threads]") {
    const int before = get_num_threads();
    for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        for (std::size_t n : {0, 1, 2, 5, 64}) {
            std::vector<int> hits(n, 0);
            std::atomic<int> calls{0}, empty{0};  // (Catch's CHECK is not for other threads)
            detail::parallel_for(n, [&](std::size_t b, std::size_t e) {
                ++calls;
                if (b >= e) ++empty;
                for (std::size_t i = b; i < e; ++i) ++hits[i];
            });
            CHECK(empty.load() == 0);
            CHECK(std::count(hits.begin(), hits.end(), 1) == std::ptrdiff_t(n));
            CHECK(calls.load() == int(std::min<std::size_t>(n, std::size_t(threads))));
        }
        // an exception in any part, the first part or another, reaches the caller; the pool still works
        for (std::size_t bad : {0, 63}) {
            CHECK_THROWS_WITH(detail::parallel_for(64, [&](std::size_t b, std::size_t e) {
                                  if (bad >= b && bad < e) throw ValueError("part failed");
                              }),
                              "part failed");
        }
        std::atomic<int> inner_calls{0}, whole{0};
        detail::parallel_for(4, [&](std::size_t, std::size_t) {
            detail::parallel_for(8, [&](std::size_t b, std::size_t e) {
                ++inner_calls;
                if (b == 0 && e == 8) ++whole;
            });
        });
        CHECK(inner_calls.load() == std::min(threads, 4));
        CHECK(whole.load() == inner_calls.load());
    }
    set_num_threads(before);
}
