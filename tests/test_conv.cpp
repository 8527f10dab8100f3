// conv2d, max_pool2d, avg_pool2d, adaptive_avg_pool2d and their modules against PyTorch 1.13
// (tests/fixtures/conv.json, made by tools/gen_conv_fixtures.py): values and gradients of input,
// weight and bias in float32 and float64; torch's error texts; torch's reprs; Conv2d's init,
// parameter names and conversions.
#include <catch2/catch.hpp>

#include <cmath>

#include <xtensor/xview.hpp>
#include <xtensor/xmath.hpp>

#include <tapegrad/tapegrad.hpp>

#include "fixture.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {
Size2 size2(const json& j) {
    if (j.is_array()) return Size2(j[0].get<std::size_t>(), j[1].get<std::size_t>());
    return Size2(j.get<std::size_t>());
}

template <class T> Tensor<T> run_op(const json& c, const std::vector<Tensor<T>>& x) {
    const std::string op = c["op"];
    const json& a = c["args"];
    if (op == "conv2d") {
        Conv2dFuncOptions o;
        o.stride(size2(a["stride"])).dilation(size2(a["dilation"])).groups(a["groups"].get<std::size_t>());
        if (a["padding"].is_string())
            o.padding(a["padding"].get<std::string>());
        else
            o.padding(Conv2dPadding(a["padding"][0].get<std::size_t>(), a["padding"][1].get<std::size_t>()));
        return conv2d(x[0], x[1], x.size() > 2 ? x[2] : Tensor<T>(), o);
    }
    if (op == "max_pool2d")
        return max_pool2d(x[0], MaxPool2dOptions(size2(a["kernel"]))
                                    .stride(size2(a["stride"]))
                                    .padding(size2(a["padding"]))
                                    .dilation(size2(a["dilation"]))
                                    .ceil_mode(a["ceil_mode"].get<bool>()));
    if (op == "avg_pool2d") {
        std::optional<std::int64_t> div;
        if (!a["divisor_override"].is_null()) div = a["divisor_override"].get<std::int64_t>();
        return avg_pool2d(x[0], AvgPool2dOptions(size2(a["kernel"]))
                                    .stride(size2(a["stride"]))
                                    .padding(size2(a["padding"]))
                                    .ceil_mode(a["ceil_mode"].get<bool>())
                                    .count_include_pad(a["count_include_pad"].get<bool>())
                                    .divisor_override(div));
    }
    if (op == "adaptive_avg_pool2d") return adaptive_avg_pool2d(x[0], size2(a["output_size"]));
    FAIL("no tapegrad call for fixture op " << op);
    return {};
}

template <class T> std::size_t check_cases(const char* dtype, double tol) {
    auto fx = fixture::load("conv.json");
    std::size_t n = 0;
    double worst = 0;
    for (const auto& c : fx["cases"]) {
        if (c["dtype"] != dtype) continue;
        INFO("op " << c["op"].get<std::string>() << " (" << dtype << ") args " << c["args"].dump() << " input "
                   << c["inputs"][0]["shape"].dump());
        std::vector<Tensor<T>> x;
        for (const auto& in : c["inputs"]) x.emplace_back(fixture::array<T>(in), true);
        Tensor<T> y = run_op<T>(c, x);
        const double e = fixture::worst_rel_error(y.value(), fixture::array<double>(c["out"]));
        CHECK(e < tol);
        worst = std::max(worst, e);
        REQUIRE(y.requires_grad());
        y.backward(Tensor<T>(fixture::array<T>(c["grad_out"])));
        for (std::size_t i = 0; i < x.size(); ++i) {
            INFO("gradient of input " << i);
            REQUIRE(x[i].has_grad());
            const double eg = fixture::worst_rel_error(x[i].grad(), fixture::array<double>(c["grads"][i]));
            CHECK(eg < tol);
            worst = std::max(worst, eg);
        }
        ++n;
    }
    INFO("worst relative error " << worst);
    CHECK(worst < tol);
    return n;
}
}  // namespace

TEST_CASE("conv/pool: values and gradients match torch in float64", "[conv]") {
    CHECK(check_cases<double>("float64", 1e-12) == 39);
}

TEST_CASE("conv/pool: values and gradients match torch in float32", "[conv]") {
    CHECK(check_cases<float>("float32", 4e-6) == 39);
}

TEST_CASE("conv/pool: bad arguments and shapes throw with torch's words", "[conv][bad_input]") {
    auto fx = fixture::load("conv.json");
    std::size_t n = 0;
    for (const auto& e : fx["errors"]) {
        const std::string op = e["op"], msg = e["message"];
        INFO(op << " " << e["args"].dump() << " shapes " << e["shapes"].dump() << "\nexpected: " << msg);
        std::vector<Tensor<float>> x;
        for (const auto& s : e["shapes"]) x.emplace_back(xt::xarray<float>(xt::zeros<float>(s.get<std::vector<std::size_t>>())), true);
        json c = {{"op", op}, {"args", e["args"]}};
        CHECK_THROWS_WITH(run_op<float>(c, x), Contains(msg) && Contains(op));
        CHECK(!x[0].has_grad());
        ++n;
    }
    CHECK(n == 28);
    // the string form of padding is checked when it is given
    CHECK_THROWS_AS(Conv2dFuncOptions().padding("full"), ValueError);
    CHECK_THROWS_WITH(Conv2dPadding(-1), Contains("negative padding is not supported"));
    // a weight that is not 4-D
    CHECK_THROWS_WITH(conv2d(zeros<float>({1, 3, 5, 5}), zeros<float>({2, 3, 3})), Contains("conv2d") && Contains("4-D"));
    CHECK_THROWS_AS(nn::Conv2d<float>(nn::Conv2dOptions(4, 6, 3).groups(4)), ValueError);
    CHECK_THROWS_WITH(nn::Conv2d<float>(nn::Conv2dOptions(3, 6, 3).groups(2)), Contains("in_channels must be divisible by groups"));
    CHECK_THROWS_WITH(nn::Conv2d<float>(nn::Conv2dOptions(3, 6, 3).stride(2).padding("same")),
                      Contains("padding='same' is not supported for strided convolutions"));
}

TEST_CASE("conv/pool modules print as torch's", "[conv]") {
    auto fx = fixture::load("conv.json");
    std::size_t n = 0;
    for (const auto& r : fx["reprs"]) {
        const std::string kind = r["module"];
        const json& a = r["args"];
        auto get = [&](const char* k, const json& def) { return a.contains(k) ? a[k] : def; };
        std::string got;
        if (kind == "Conv2d") {
            nn::Conv2dOptions o(a["in"], a["out"], size2(a["kernel"]));
            o.stride(size2(get("stride", 1))).dilation(size2(get("dilation", 1))).groups(get("groups", 1)).bias(get("bias", true));
            const json p = get("padding", json::array({0, 0}));
            if (p.is_string())
                o.padding(p.get<std::string>());
            else
                o.padding(Conv2dPadding(p[0].get<std::size_t>(), p[1].get<std::size_t>()));
            got = nn::Conv2d<float>(o).repr();
        } else if (kind == "MaxPool2d") {
            MaxPool2dOptions o(size2(a["kernel"]));
            if (a.contains("stride")) o.stride(size2(a["stride"]));
            o.padding(size2(get("padding", 0))).dilation(size2(get("dilation", 1))).ceil_mode(get("ceil_mode", false));
            got = nn::MaxPool2d<float>(o).repr();
        } else if (kind == "AvgPool2d") {
            AvgPool2dOptions o(size2(a["kernel"]));
            if (a.contains("stride")) o.stride(size2(a["stride"]));
            o.padding(size2(get("padding", 0))).ceil_mode(get("ceil_mode", false)).count_include_pad(get("count_include_pad", true));
            if (a.contains("divisor_override")) o.divisor_override(a["divisor_override"].get<std::int64_t>());
            got = nn::AvgPool2d<float>(o).repr();
        } else {
            got = nn::AdaptiveAvgPool2d<float>(size2(a["output_size"])).repr();
        }
        CHECK(got == r["repr"].get<std::string>());
        ++n;
    }
    CHECK(n == 11);
}

TEST_CASE("nn::Conv2d: torch's parameter shapes, names and init bounds, and forward is conv2d", "[conv]") {
    auto fx = fixture::load("conv.json");
    const json& in = fx["init"];
    Generator gen(7);
    nn::Conv2d<double> m(nn::Conv2dOptions(in["in"], in["out"], size2(in["kernel"])).groups(in["groups"]), gen);
    CHECK(m.weight.shape() == in["weight_shape"].get<Shape>());
    CHECK(m.bias.shape() == in["bias_shape"].get<Shape>());
    std::vector<std::string> keys;
    for (const auto& kv : m.state_dict()) keys.push_back(kv.first);
    auto want = in["state_dict_keys"].get<std::vector<std::string>>();
    std::sort(want.begin(), want.end());
    CHECK(keys == want);
    const double wb = in["weight_bound"], bb = in["bias_bound"];
    double wmax = 0, bmax = 0;
    for (double v : m.weight.value()) wmax = std::max(wmax, std::abs(v));
    for (double v : m.bias.value()) bmax = std::max(bmax, std::abs(v));
    CHECK(wmax <= wb);
    CHECK(wmax > 0.5 * wb);  // 90 draws spread over the range
    CHECK(bmax <= bb);
    CHECK(bmax > 0);
    Tensor<double> x = rand<double>({2, 6, 5, 7}, gen);
    Tensor<double> y = m(x);
    CHECK(y.shape() == Shape{2, 4, 3, 3});
    CHECK(y.value() == conv2d(x, m.weight, m.bias, Conv2dFuncOptions().groups(2)).value());
    // the same layer in float32 keeps its options and (rounded) values
    auto f = m.clone_as_float();
    auto* cf = dynamic_cast<nn::Conv2d<float>*>(f.get());
    REQUIRE(cf);
    CHECK(cf->repr() == m.repr());
    CHECK(xt::allclose(xt::xarray<double>(xt::cast<double>(cf->weight.value())), m.weight.value(), 1e-6, 1e-7));
    // no bias
    nn::Conv2d<float> nb(nn::Conv2dOptions(1, 2, {3, 2}).bias(false).padding("same"));
    CHECK(!nb.bias.defined());
    CHECK(nb.named_parameters().size() == 1);
    CHECK(nb(zeros<float>({1, 4, 5})).shape() == Shape{2, 4, 5});  // unbatched, "same"
    // pooling modules convert and keep their options
    nn::MaxPool2d<float> mp(MaxPool2dOptions(2));
    CHECK(mp.clone_as_double()->repr() == mp.repr());
    nn::AdaptiveAvgPool2d<float> ap({2, 3});
    CHECK(ap.clone_as_double()->repr() == "AdaptiveAvgPool2d(output_size=(2, 3))");
    CHECK(ap(zeros<float>({1, 2, 5, 5})).shape() == Shape{1, 2, 2, 3});
}

TEST_CASE("conv2d: the positional and chained forms agree, and batch 0 gives an empty output", "[conv]") {
    Generator gen(3);
    Tensor<float> x = rand<float>({2, 3, 6, 6}, gen), w = rand<float>({4, 3, 3, 3}, gen), b = rand<float>({4}, gen);
    CHECK(conv2d(x, w, b, 2, 1).value() == conv2d(x, w, b, Conv2dFuncOptions().stride(2).padding(1)).value());
    CHECK(conv2d(x, w, b, 1, "same").shape() == Shape{2, 4, 6, 6});
    CHECK(conv2d(zeros<float>({0, 3, 6, 6}), w, b).shape() == Shape{0, 4, 4, 4});
    CHECK(max_pool2d(x, 2).shape() == Shape{2, 3, 3, 3});
    CHECK(max_pool2d(x, 3, 2, 1, 1, true).shape() == Shape{2, 3, 4, 4});  // ceil_mode
    CHECK(avg_pool2d(x, {2, 3}).shape() == Shape{2, 3, 3, 2});
}

// The batch is cut into chunks that do not depend on the thread count, and chunk results are summed in
// one order: 1 and 2 threads give the same bits (batch 64, several chunks, groups, padding, the 2×2
// pooling fast path and the general one), and the values agree with one image at a time (to rounding:
// a GEMM's blocking, and so its sums, depend on its width).
TEST_CASE("conv2d and max_pool2d: the same bits at 1 and 2 threads", "[conv][threads]") {
    const int before = get_num_threads();
    auto run = [](int threads) {
        set_num_threads(threads);
        Generator gen(11);
        Tensor<float> x = rand<float>({64, 8, 14, 14}, gen).requires_grad_();
        Tensor<float> w = rand<float>({16, 4, 3, 3}, gen).requires_grad_(), b = rand<float>({16}, gen).requires_grad_();
        Tensor<float> y = conv2d(x, w, b, Conv2dFuncOptions().padding(1).groups(2));
        Tensor<float> z = sum(max_pool2d(y, 2)) + sum(max_pool2d(y, MaxPool2dOptions(3).stride(2).padding(1)));
        z.backward();
        return std::vector<xt::xarray<float>>{y.value(), x.grad(), w.grad(), b.grad()};
    };
    const auto one = run(1), two = run(2);
    set_num_threads(before);
    REQUIRE(one.size() == two.size());
    for (std::size_t i = 0; i < one.size(); ++i) CHECK(one[i] == two[i]);
    // the chunked forward against each image alone
    Generator gen(11);
    Tensor<float> x = rand<float>({64, 8, 14, 14}, gen), w = rand<float>({16, 4, 3, 3}, gen), b = rand<float>({16}, gen);
    for (std::size_t n : {0, 31, 63}) {
        Tensor<float> xn = Tensor<float>(xt::xarray<float>(xt::view(x.value(), xt::range(n, n + 1))));
        const xt::xarray<float> yn = conv2d(xn, w, b, Conv2dFuncOptions().padding(1).groups(2)).value();
        CHECK(xt::allclose(yn, xt::xarray<float>(xt::view(one[0], xt::range(n, n + 1))), 1e-5, 1e-6));
    }
}
