// The ops of issue 12 (joins, slicing, indexing, where, maximum/minimum, pow with a tensor
// exponent, log1p, square, gelu, leaky_relu, min, multi-dim sum/mean, var/std, batch_norm,
// layer_norm, embedding, dropout) against PyTorch 1.13: values and gradients in float32 and
// float64 (tests/fixtures/ops2.json, tools/gen_layer_fixtures.py), and torch's error texts.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>

#include <tapegrad/tapegrad.hpp>

#include "fixture.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {
std::optional<std::int64_t> opt_int(const json& j) {
    if (j.is_null()) return std::nullopt;
    return j.get<std::int64_t>();
}
std::vector<std::ptrdiff_t> dims_of(const json& j) { return j.get<std::vector<std::ptrdiff_t>>(); }
xt::xarray<bool> bool_array(const json& j) {
    std::vector<std::size_t> shape = j.at("shape").get<std::vector<std::size_t>>();
    xt::xarray<bool> a = xt::xarray<bool>::from_shape(shape);
    for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = j.at("data")[i].get<bool>();
    return a;
}

// op name → how tapegrad computes it from the fixture's inputs and arguments
template <class T> Tensor<T> run_op(const json& c, const std::vector<Tensor<T>>& x) {
    const std::string op = c["op"];
    const json& a = c["args"];
    if (op == "cat") return cat(x, a["dim"].get<std::ptrdiff_t>());
    if (op == "stack") return stack(x, a["dim"].get<std::ptrdiff_t>());
    if (op == "narrow") return narrow(x[0], a["dim"].get<std::ptrdiff_t>(), a["start"].get<std::int64_t>(), a["length"].get<std::int64_t>());
    if (op == "slice")
        return slice(x[0], a["dim"].get<std::ptrdiff_t>(), opt_int(a["start"]), opt_int(a["end"]), a["step"].get<std::int64_t>());
    if (op == "index_select") return index_select(x[0], a["dim"].get<std::ptrdiff_t>(), fixture::int_array(c["ints"]["index"]));
    if (op == "gather") return gather(x[0], a["dim"].get<std::ptrdiff_t>(), fixture::int_array(c["ints"]["index"]));
    if (op == "where") return where(bool_array(c["bools"]["cond"]), x[0], x[1]);
    if (op == "maximum") return maximum(x[0], x[1]);
    if (op == "minimum") return minimum(x[0], x[1]);
    if (op == "log1p") return log1p(x[0]);
    if (op == "square") return square(x[0]);
    if (op == "pow_tensor") return pow(x[0], x[1]);
    if (op == "gelu") return gelu(x[0], a["approximate"].get<std::string>());
    if (op == "leaky_relu") return leaky_relu(x[0], T(a["negative_slope"].get<double>()));
    if (op == "min") return min(x[0]);
    if (op == "min_dim") return min(x[0], a["dim"].get<std::ptrdiff_t>(), a["keepdim"].get<bool>()).values;
    if (op == "sum_dims") return sum(x[0], dims_of(a["dims"]), a["keepdim"].get<bool>());
    if (op == "mean_dims") return mean(x[0], dims_of(a["dims"]), a["keepdim"].get<bool>());
    if (op == "var" || op == "std") {
        const double corr = a["correction"].get<double>();
        const bool keep = a["keepdim"].get<bool>();
        if (a["dims"].is_null()) {
            REQUIRE(corr == 1.0);
            return op == "var" ? var(x[0]) : tapegrad::std(x[0]);  // the full-reduction overloads
        }
        if (corr == 0 || corr == 1)  // the unbiased-flag overloads
            return op == "var" ? var(x[0], dims_of(a["dims"]), corr == 1, keep) : tapegrad::std(x[0], dims_of(a["dims"]), corr == 1, keep);
        return op == "var" ? var(x[0], dims_of(a["dims"]), Correction(corr), keep)
                           : tapegrad::std(x[0], dims_of(a["dims"]), Correction(corr), keep);
    }
    if (op == "batch_norm") {
        Tensor<T> rm(fixture::array<T>(a["running_mean_in"])), rv(fixture::array<T>(a["running_var_in"]));
        const bool affine = a["affine"].get<bool>();
        auto opt = BatchNormFuncOptions().training(a["training"]).momentum(a["momentum"]).eps(a["eps"]);
        Tensor<T> y = batch_norm(x[0], rm, rv, affine ? x[1] : Tensor<T>(), affine ? x[2] : Tensor<T>(), opt);
        CHECK(fixture::worst_rel_error(rm.value(), fixture::array<double>(a["running_mean_out"])) < (sizeof(T) == 4 ? 1e-6 : 1e-14));
        CHECK(fixture::worst_rel_error(rv.value(), fixture::array<double>(a["running_var_out"])) < (sizeof(T) == 4 ? 1e-6 : 1e-14));
        return y;
    }
    if (op == "layer_norm") {
        const bool affine = a["affine"].get<bool>();
        return layer_norm(x[0], a["normalized_shape"].get<std::vector<std::size_t>>(), affine ? x[1] : Tensor<T>(),
                          affine ? x[2] : Tensor<T>(), a["eps"].get<double>());
    }
    if (op == "embedding") return embedding(fixture::int_array(c["ints"]["index"]), x[0], opt_int(a["padding_idx"]));
    if (op == "dropout") {
        Generator g(0);
        return dropout(x[0], a["p"].get<double>(), a["training"].get<bool>(), g);
    }
    FAIL("no tapegrad call for fixture op " << op);
    return {};
}

template <class T> std::size_t check_cases(const char* dtype, double tol) {
    auto fx = fixture::load("ops2.json");
    std::size_t n = 0;
    for (const auto& c : fx["cases"]) {
        if (c["dtype"] != dtype) continue;
        INFO("op " << c["op"].get<std::string>() << " (" << dtype << ") args " << c["args"].dump().substr(0, 200));
        std::vector<Tensor<T>> x;
        for (std::size_t i = 0; i < c["inputs"].size(); ++i)
            x.emplace_back(fixture::array<T>(c["inputs"][i]), c["requires_grad"][i].get<bool>());
        Tensor<T> y = run_op<T>(c, x);
        CHECK(fixture::worst_rel_error(y.value(), fixture::array<double>(c["out"])) < tol);
        if (y.requires_grad()) {
            y.backward(Tensor<T>(fixture::array<T>(c["grad_out"])));
            for (std::size_t i = 0; i < x.size(); ++i) {
                INFO("gradient of input " << i);
                if (c["grads"][i].is_null()) {
                    CHECK(!x[i].has_grad());
                    continue;
                }
                REQUIRE(x[i].has_grad());
                CHECK(fixture::worst_rel_error(x[i].grad(), fixture::array<double>(c["grads"][i])) < tol);
            }
        } else {
            for (const auto& g : c["grads"]) CHECK(g.is_null());
        }
        ++n;
    }
    return n;
}
}  // namespace

TEST_CASE("ops2: values and gradients match torch in float64", "[ops]") {
    CHECK(check_cases<double>("float64", 1e-12) >= 70);
}

TEST_CASE("ops2: values and gradients match torch in float32", "[ops]") {
    CHECK(check_cases<float>("float32", 2e-6) >= 70);
}

TEST_CASE("ops2: bad dims and shapes throw with torch's words", "[ops][bad_input]") {
    using F = Tensor<float>;
    auto z = [](Shape s) { return zeros<float>(s); };
    using I = xt::xarray<std::int64_t>;
    std::map<std::string, std::function<void()>> calls = {
        {"cat_sizes", [&] { cat<float>({z({2, 3}), z({3, 3})}, 1); }},
        {"cat_ndim", [&] { cat<float>({z({2, 3}), z({3})}, 0); }},
        {"cat_empty_list", [&] { cat<float>({}, 0); }},
        {"cat_zero_dim", [&] { cat<float>({z({}), z({})}, 0); }},
        {"cat_dim", [&] { cat<float>({z({2, 3}), z({2, 3})}, 2); }},
        {"stack_sizes", [&] { stack<float>({z({2, 3}), z({2, 4})}); }},
        {"stack_empty", [&] { stack<float>({}); }},
        {"narrow_start", [&] { narrow(z({2, 3}), 1, 4, 1); }},
        {"narrow_length", [&] { narrow(z({2, 3}), 1, 2, 2); }},
        {"narrow_0d", [&] { narrow(z({}), 0, 0, 1); }},
        {"slice_step", [&] { slice(z({4}), 0, std::nullopt, std::nullopt, -1); }},
        {"index_select_range", [&] { index_select(z({2, 3}), 1, I{0, 3}); }},
        {"index_select_vector", [&] { index_select(z({2, 3}), 1, I(xt::zeros<std::int64_t>({1, 1}))); }},
        {"gather_ndim", [&] { gather(z({2, 3}), 1, I{0, 1}); }},
        {"gather_range", [&] { I idx = xt::zeros<std::int64_t>({2, 1}); idx(1, 0) = 3; gather(z({2, 3}), 1, idx); }},
        {"gather_size", [&] { gather(z({2, 2}), 0, I(xt::zeros<std::int64_t>({1, 3}))); }},
        {"where_shape", [&] { where(xt::xarray<bool>{true, false}, z({3}), z({3})); }},
        {"maximum_shape", [&] { maximum(z({2}), z({3})); }},
        {"sum_repeat", [&] { sum(z({2, 3}), std::vector<std::ptrdiff_t>{0, 0}); }},
        {"var_dim", [&] { var(z({2, 3}), {2}); }},
        {"min_empty", [&] { min(z({0})); }},
        {"gelu_approximate", [&] { gelu(z({2}), "fast"); }},
        {"dropout_p", [&] { dropout(z({2}), 1.5); }},
        {"dropout_module_p", [&] { nn::Dropout<float>(-0.1); }},
        {"batch_norm_one_value", [&] { batch_norm(z({1, 3}), z({3}), ones<float>({3}), F(), F(), BatchNormFuncOptions().training(true)); }},
        {"batch_norm_running_size", [&] { batch_norm(z({2, 3}), z({4}), ones<float>({4}), F(), F(), BatchNormFuncOptions().training(true)); }},
        {"batch_norm_eval_no_stats", [&] { batch_norm(z({4, 3}), F(), F()); }},
        {"batch_norm_weight_size", [&] { batch_norm(z({2, 3}), z({3}), ones<float>({3}), ones<float>({2})); }},
        {"batchnorm1d_dims", [&] { nn::BatchNorm1d<float>(3)(z({2, 3, 2, 2})); }},
        {"batchnorm2d_dims", [&] { nn::BatchNorm2d<float>(3)(z({2, 3, 2})); }},
        {"layer_norm_shape", [&] { layer_norm(z({2, 3}), {4}); }},
        {"layer_norm_weight", [&] { layer_norm(z({2, 3}), {3}, ones<float>({2})); }},
        {"embedding_index", [&] { embedding(I{0, 5}, z({4, 2})); }},
        {"embedding_padding", [&] { nn::Embedding<float>(4, 2, 4); }},
        {"kaiming_1d", [&] { F t = z({3}); nn::init::kaiming_uniform_(t); }},
        {"kaiming_mode", [&] { F t = z({2, 3}); nn::init::kaiming_normal_(t, 0.0, "fan_avg"); }},
        {"xavier_1d", [&] { F t = z({3}); nn::init::xavier_uniform_(t); }},
        {"gain_unsupported", [&] { nn::init::calculate_gain("softplus"); }},
        {"normal_std", [&] { F t = z({2}); nn::init::normal_(t, 0.0, -1.0); }},
    };
    auto fx = fixture::load("ops2.json");
    std::size_t n = 0;
    for (const auto& e : fx["errors"]) {
        const std::string name = e["name"], msg = e["message"];
        INFO("bad call " << name << ": torch says \"" << msg << "\"");
        REQUIRE(calls.count(name) == 1);
        CHECK_THROWS_AS(calls[name](), Error);
        CHECK_THROWS_WITH(calls[name](), Contains(msg));
        ++n;
    }
    CHECK(n == calls.size());
}

TEST_CASE("ops2: a failed call leaves its inputs as they were", "[ops][bad_input]") {
    // batch_norm refuses before touching the running statistics
    Tensor<double> rm({0.5, 0.25, 1.0}), rv({1.0, 2.0, 3.0});
    const auto m0 = rm.value(), v0 = rv.value();
    CHECK_THROWS_AS(batch_norm(zeros<double>({1, 3}), rm, rv, Tensor<double>(), Tensor<double>(), BatchNormFuncOptions().training(true)),
                    ValueError);
    CHECK_THROWS_AS(batch_norm(zeros<double>({2, 3}), rm, rv, ones<double>({4}), Tensor<double>(), BatchNormFuncOptions().training(true)),
                    ShapeError);
    CHECK((rm.value() == m0));
    CHECK((rv.value() == v0));
    CHECK(rm.version() == 0);
    // eval mode needs both running statistics
    CHECK_THROWS_WITH(batch_norm(zeros<double>({2, 3}), rm, Tensor<double>()),
                      Contains("running_var must be defined in evaluation mode"));
}

TEST_CASE("ops2: dropout keeps 1 − p of the elements, scales them by 1/(1 − p), reproducibly", "[ops]") {
    Generator g(7);
    Tensor<double> x = ones<double>({200, 500}, true);
    const double p = 0.3;
    Tensor<double> y = dropout(x, p, true, g);
    std::size_t kept = 0;
    for (double v : y.value()) {
        CHECK((v == 0.0 || v == Approx(1.0 / 0.7).epsilon(1e-15)));
        kept += v != 0.0;
    }
    const double n = 200 * 500, frac = double(kept) / n;
    // Binomial(n, 0.7): σ of the fraction ≈ 0.00145; 5σ
    CHECK(std::abs(frac - 0.7) < 0.0073);
    sum(y).backward();
    // the gradient is the mask, scaled the same way
    for (std::size_t i = 0; i < y.numel(); ++i) CHECK(x.grad().data()[i] == y.value().data()[i]);
    // same seed, same mask; another seed, another mask
    Generator g1(7), g2(8);
    CHECK((dropout(x, p, true, g1).value() == y.value()));
    CHECK((dropout(x, p, true, g2).value() != y.value()));
    // eval and p = 0 return the input itself
    CHECK(dropout(x, p, false, g).same(x));
    CHECK(dropout(x, 0.0, true, g).same(x));
    // p = 1 zeroes everything (no division by zero)
    for (double v : dropout(x, 1.0, true, g).value()) CHECK(v == 0.0);
}

TEST_CASE("ops2: cat, stack, slice and gather shapes", "[ops]") {
    Tensor<float> a = arange<float>(0, 6);
    a = reshape(a, {2, 3});
    CHECK((cat<float>({a, a}, 0).shape() == Shape{4, 3}));
    CHECK((stack<float>({a, a, a}, 2).shape() == Shape{2, 3, 3}));
    CHECK((slice(a, 1, 1).value() == xt::xarray<float>({{1, 2}, {4, 5}})));
    CHECK((slice(a, 1, std::nullopt, std::nullopt, 2).value() == xt::xarray<float>({{0, 2}, {3, 5}})));
    CHECK((narrow(a, 0, 1, 1).value() == xt::xarray<float>({{3, 4, 5}})));
    xt::xarray<std::int64_t> gi = xt::zeros<std::int64_t>({2, 1});
    gi(0, 0) = 2;
    xt::xarray<float> gv = xt::zeros<float>({2, 1});
    gv(0, 0) = 2;
    gv(1, 0) = 3;
    CHECK((gather(a, 1, gi).value() == gv));
    CHECK((index_select(a, 0, xt::xarray<std::int64_t>({1, 1})).value() == xt::xarray<float>({{3, 4, 5}, {3, 4, 5}})));
    auto m = min(a, 1);
    CHECK((m.values.value() == xt::xarray<float>({0, 3})));
    CHECK((m.indices == xt::xarray<std::int64_t>({0, 0})));
    CHECK((argmin(a, 0) == xt::xarray<std::int64_t>({0, 0, 0})));
}
