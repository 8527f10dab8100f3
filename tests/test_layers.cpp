// The layers of issue 12 against PyTorch 1.13 (tests/fixtures/layers.json, made by
// tools/gen_layer_fixtures.py): BatchNorm1d/2d over training steps and in eval (running stats,
// num_batches_tracked, momentum=None), LayerNorm, Embedding; module printing as torch's repr;
// num_parameters; nn::init by statistics and bounds (its random stream is tapegrad's); Dropout;
// train/eval propagation; Module::to<double>().
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

#include <tapegrad/tapegrad.hpp>

#include "fixture.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {
template <class T> double tol() { return sizeof(T) == 4 ? 4e-6 : 1e-12; }

template <class T> std::size_t check_batchnorm(const char* dtype) {
    auto fx = fixture::load("layers.json");
    std::size_t n = 0;
    for (const auto& c : fx["batchnorm"]) {
        if (c["dtype"] != dtype) continue;
        const std::string kind = c["kind"];
        INFO(kind << " " << dtype << " momentum " << c["momentum"].dump() << " affine " << c["affine"].dump()
                  << " track " << c["track_running_stats"].dump());
        nn::BatchNormOptions o(c["num_features"].get<std::size_t>());
        o.eps(c["eps"].get<double>()).affine(c["affine"]).track_running_stats(c["track_running_stats"]);
        o.momentum(c["momentum"].is_null() ? std::nullopt : std::optional<double>(c["momentum"].get<double>()));
        std::shared_ptr<nn::BatchNorm<T>> m;
        if (kind == "BatchNorm1d")
            m = std::make_shared<nn::BatchNorm1d<T>>(o);
        else
            m = std::make_shared<nn::BatchNorm2d<T>>(o);
        if (m->options.affine_) {
            m->weight.mutable_value() = fixture::array<T>(c["weight"]);
            m->bias.mutable_value() = fixture::array<T>(c["bias"]);
        } else {
            CHECK(m->parameters().empty());
        }
        std::size_t step = 0;
        for (const auto& st : c["steps"]) {
            INFO("step " << step++);
            if (!st["training"].get<bool>()) m->eval();
            Tensor<T> x(fixture::array<T>(st["x"]), true);
            m->zero_grad();
            Tensor<T> y = (*m)(x);
            y.backward(Tensor<T>(fixture::array<T>(st["grad_out"])));
            CHECK(fixture::worst_rel_error(y.value(), fixture::array<double>(st["y"])) < tol<T>());
            CHECK(fixture::worst_rel_error(x.grad(), fixture::array<double>(st["grad_x"])) < tol<T>());
            if (m->options.affine_) {
                CHECK(fixture::worst_rel_error(m->weight.grad(), fixture::array<double>(st["grad_weight"])) < tol<T>());
                CHECK(fixture::worst_rel_error(m->bias.grad(), fixture::array<double>(st["grad_bias"])) < tol<T>());
            }
            if (m->options.track_running_stats_) {
                CHECK(fixture::worst_rel_error(m->running_mean.value(), fixture::array<double>(st["running_mean"])) < tol<T>());
                CHECK(fixture::worst_rel_error(m->running_var.value(), fixture::array<double>(st["running_var"])) < tol<T>());
                CHECK(m->num_batches_tracked.item() == st["num_batches_tracked"].get<double>());
            } else {
                CHECK(m->named_buffers().empty());
            }
        }
        ++n;
    }
    return n;
}

template <class T> std::size_t check_layernorm_embedding(const char* dtype) {
    auto fx = fixture::load("layers.json");
    std::size_t n = 0;
    for (const auto& c : fx["layernorm"]) {
        if (c["dtype"] != dtype) continue;
        nn::LayerNorm<T> m(nn::LayerNormOptions(c["normalized_shape"].get<std::vector<std::size_t>>())
                               .eps(c["eps"].get<double>())
                               .elementwise_affine(c["elementwise_affine"].get<bool>()));
        if (m.options.elementwise_affine_) {
            m.weight.mutable_value() = fixture::array<T>(c["weight"]);
            m.bias.mutable_value() = fixture::array<T>(c["bias"]);
        }
        Tensor<T> x(fixture::array<T>(c["x"]), true);
        Tensor<T> y = m(x);
        y.backward(Tensor<T>(fixture::array<T>(c["grad_out"])));
        CHECK(fixture::worst_rel_error(y.value(), fixture::array<double>(c["y"])) < tol<T>());
        CHECK(fixture::worst_rel_error(x.grad(), fixture::array<double>(c["grad_x"])) < tol<T>());
        if (m.options.elementwise_affine_) {
            CHECK(fixture::worst_rel_error(m.weight.grad(), fixture::array<double>(c["grad_weight"])) < tol<T>());
            CHECK(fixture::worst_rel_error(m.bias.grad(), fixture::array<double>(c["grad_bias"])) < tol<T>());
        }
        ++n;
    }
    for (const auto& c : fx["embedding"]) {
        if (c["dtype"] != dtype) continue;
        std::optional<std::int64_t> pad;
        if (!c["padding_idx"].is_null()) pad = c["padding_idx"].get<std::int64_t>();
        nn::Embedding<T> m(c["num_embeddings"], c["embedding_dim"], pad);
        if (pad) {
            CHECK(*m.padding_idx == c["padding_idx_stored"].get<std::int64_t>());
            for (std::size_t j = 0; j < m.embedding_dim; ++j)  // drawn with the padding row zeroed
                CHECK(m.weight.value()(std::size_t(*m.padding_idx), j) == T(0));
        }
        m.weight.mutable_value() = fixture::array<T>(c["weight"]);
        Tensor<T> y = m(fixture::int_array(c["index"]));
        y.backward(Tensor<T>(fixture::array<T>(c["grad_out"])));
        CHECK(fixture::worst_rel_error(y.value(), fixture::array<double>(c["y"])) < tol<T>());
        CHECK(fixture::worst_rel_error(m.weight.grad(), fixture::array<double>(c["grad_weight"])) < tol<T>());
        ++n;
    }
    return n;
}

template <class T> double mean_of(const xt::xarray<T>& a) {
    double s = 0;
    for (T v : a) s += v;
    return s / double(a.size());
}
template <class T> double std_of(const xt::xarray<T>& a) {
    const double m = mean_of(a);
    double s = 0;
    for (T v : a) s += (v - m) * (v - m);
    return std::sqrt(s / double(a.size()));
}
template <class T> double absmax(const xt::xarray<T>& a) {
    double m = 0;
    for (T v : a) m = std::max(m, double(std::abs(v)));
    return m;
}
}  // namespace

TEST_CASE("BatchNorm1d/2d: training steps, running stats and eval match torch", "[layers]") {
    CHECK(check_batchnorm<double>("float64") == 6);
    CHECK(check_batchnorm<float>("float32") == 6);
}

TEST_CASE("LayerNorm and Embedding match torch", "[layers]") {
    CHECK(check_layernorm_embedding<double>("float64") == 6);
    CHECK(check_layernorm_embedding<float>("float32") == 6);
}

TEST_CASE("modules print as torch's repr", "[layers]") {
    auto fx = fixture::load("layers.json");
    const json& r = fx["reprs"];
    using namespace nn;
    std::map<std::string, std::shared_ptr<Module<float>>> mods = {
        {"linear", std::make_shared<Linear<float>>(784, 256)},
        {"linear_nobias", std::make_shared<Linear<float>>(3, 2, false)},
        {"relu", std::make_shared<ReLU<float>>()},
        {"identity", std::make_shared<Identity<float>>()},
        {"tanh", std::make_shared<Tanh<float>>()},
        {"sigmoid", std::make_shared<Sigmoid<float>>()},
        {"gelu", std::make_shared<GELU<float>>()},
        {"gelu_tanh", std::make_shared<GELU<float>>("tanh")},
        {"leaky_relu", std::make_shared<LeakyReLU<float>>()},
        {"leaky_relu_0.2", std::make_shared<LeakyReLU<float>>(0.2)},
        {"softmax", std::make_shared<Softmax<float>>(1)},
        {"log_softmax", std::make_shared<LogSoftmax<float>>(-1)},
        {"dropout", std::make_shared<Dropout<float>>()},
        {"dropout_0.25", std::make_shared<Dropout<float>>(0.25)},
        {"dropout_0", std::make_shared<Dropout<float>>(0.0)},
        {"bn1d", std::make_shared<BatchNorm1d<float>>(4)},
        {"bn1d_none", std::make_shared<BatchNorm1d<float>>(
                          BatchNormOptions(4).eps(1e-3).momentum(std::nullopt).affine(false).track_running_stats(false))},
        {"bn2d", std::make_shared<BatchNorm2d<float>>(BatchNormOptions(16).momentum(0.01))},
        {"bn2d_eps", std::make_shared<BatchNorm2d<float>>(BatchNormOptions(3).eps(1e-10))},
        {"layernorm", std::make_shared<LayerNorm<float>>(std::vector<std::size_t>{4})},
        {"layernorm2", std::make_shared<LayerNorm<float>>(LayerNormOptions({3, 4}).eps(1e-6).elementwise_affine(false))},
        {"embedding", std::make_shared<Embedding<float>>(10, 3)},
        {"embedding_pad", std::make_shared<Embedding<float>>(10, 3, -1)},
        {"flatten", std::make_shared<Flatten<float>>()},
        {"sequential", std::make_shared<Sequential<float>>(
                           Linear<float>(784, 256), BatchNorm1d<float>(256), ReLU<float>(), Dropout<float>(0.2),
                           Linear<float>(256, 128), LayerNorm<float>(std::vector<std::size_t>{128}), GELU<float>(),
                           Linear<float>(128, 10), LogSoftmax<float>(1))},
        {"nested", std::make_shared<Sequential<float>>(Sequential<float>(Linear<float>(2, 2), Tanh<float>()), Identity<float>())},
        {"empty", std::make_shared<Sequential<float>>()},
    };
    REQUIRE(mods.size() == r.size());
    for (auto& [name, m] : mods) {
        INFO("module " << name);
        std::ostringstream os;
        os << *m;
        CHECK(os.str() == r[name].get<std::string>());
        CHECK(m->to_string() == r[name].get<std::string>());
    }
}

TEST_CASE("num_parameters counts every parameter once, or only the trainable ones", "[layers]") {
    auto fx = fixture::load("layers.json");
    nn::Sequential<float> m(nn::Linear<float>(784, 256), nn::BatchNorm1d<float>(256), nn::ReLU<float>(),
                            nn::Linear<float>(256, 10, false), nn::LayerNorm<float>(std::vector<std::size_t>{10}),
                            nn::Embedding<float>(7, 3));
    std::static_pointer_cast<nn::Linear<float>>(m[3])->weight.requires_grad_(false);
    CHECK(m.num_parameters() == fx["num_parameters"]["total"].get<std::size_t>());
    CHECK(m.num_parameters(true) == fx["num_parameters"]["trainable"].get<std::size_t>());
    // a parameter shared by two layers counts once
    auto lin = std::make_shared<nn::Linear<float>>(3, 2);
    nn::Sequential<float> shared{lin, lin};
    CHECK(shared.num_parameters() == 8);
}

TEST_CASE("nn::init: gains and fans as torch, bounds and spreads by statistics", "[layers]") {
    auto fx = fixture::load("layers.json");
    for (const auto& g : fx["gains"]) {
        std::optional<double> p;
        if (!g["param"].is_null()) p = g["param"].get<double>();
        CHECK(nn::init::calculate_gain(g["nonlinearity"], p) == Approx(g["gain"].get<double>()).epsilon(1e-15));
    }
    for (const auto& f : fx["fans"]) {
        auto fans = nn::init::calculate_fan_in_and_fan_out(f["shape"].get<Shape>());
        CHECK(fans.fan_in == f["fan_in"].get<std::size_t>());
        CHECK(fans.fan_out == f["fan_out"].get<std::size_t>());
    }
    Generator gen(11);
    Tensor<double> w = zeros<double>({300, 200});  // fan_in 200, fan_out 300
    // kaiming_uniform_(relu, fan_out): U(−b, b), b = √3·√2/√300
    nn::init::kaiming_uniform_(w, 0.0, "fan_out", "relu", gen);
    double b = std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(300.0);
    CHECK(absmax(w.value()) <= b);
    CHECK(absmax(w.value()) > 0.999 * b);
    CHECK(std::abs(mean_of(w.value())) < 0.01 * b);
    CHECK(std_of(w.value()) == Approx(b / std::sqrt(3.0)).epsilon(0.01));
    // the default form (a = 0, fan_in, leaky_relu)
    nn::init::kaiming_uniform_(w, 0.0, gen);
    b = std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(200.0);
    CHECK(absmax(w.value()) <= b);
    CHECK(absmax(w.value()) > 0.999 * b);
    // kaiming_normal_(a = 0.2, fan_in, leaky_relu): std = gain/√200
    nn::init::kaiming_normal_(w, 0.2, "fan_in", "leaky_relu", gen);
    CHECK(std_of(w.value()) == Approx(std::sqrt(2.0 / 1.04) / std::sqrt(200.0)).epsilon(0.01));
    CHECK(std::abs(mean_of(w.value())) < 0.01 * std_of(w.value()));
    // xavier: a = gain·√(6/(fan_in + fan_out))
    nn::init::xavier_uniform_(w, 2.0, gen);
    b = 2.0 * std::sqrt(6.0 / 500.0);
    CHECK(absmax(w.value()) <= b);
    CHECK(absmax(w.value()) > 0.999 * b);
    nn::init::xavier_normal_(w, 1.0, gen);
    CHECK(std_of(w.value()) == Approx(std::sqrt(2.0 / 500.0)).epsilon(0.01));
    nn::init::normal_(w, 2.0, 0.5, gen);
    CHECK(mean_of(w.value()) == Approx(2.0).epsilon(0.005));
    CHECK(std_of(w.value()) == Approx(0.5).epsilon(0.01));
    nn::init::constant_(w, 0.25);
    CHECK(absmax(xt::xarray<double>(w.value() - 0.25)) == 0.0);
    nn::init::ones_(w);
    CHECK(mean_of(w.value()) == 1.0);
    nn::init::zeros_(w);
    CHECK(absmax(w.value()) == 0.0);
    // seeded: the same seed gives the same draw
    Tensor<float> a = zeros<float>({4, 5}), c = zeros<float>({4, 5});
    Generator g1(3), g2(3);
    nn::init::kaiming_normal_(a, 0.0, "fan_in", "leaky_relu", g1);
    nn::init::kaiming_normal_(c, 0.0, "fan_in", "leaky_relu", g2);
    CHECK((a.value() == c.value()));
    // a zero-size dim: nothing to do (torch warns), not an error
    Tensor<float> e = zeros<float>({0, 3});
    CHECK_NOTHROW(nn::init::kaiming_uniform_(e, 0.0, "fan_in"));
    CHECK_THROWS_WITH(nn::init::calculate_gain("leaky_relu", std::nan("")), Contains("not a valid number"));
}

TEST_CASE("Dropout: train drops and scales, eval is the identity, a seeded generator repeats", "[layers]") {
    auto gen = std::make_shared<Generator>(5);
    nn::Dropout<double> d(0.25, gen);
    Tensor<double> x = ones<double>({100, 400});
    Tensor<double> y = d(x);
    std::size_t kept = 0;
    for (double v : y.value()) {
        CHECK((v == 0.0 || v == Approx(1.0 / 0.75).epsilon(1e-15)));
        kept += v != 0.0;
    }
    // Binomial(40000, 0.75): σ of the fraction ≈ 0.0022; 5σ
    CHECK(std::abs(double(kept) / 40000.0 - 0.75) < 0.011);
    CHECK(mean_of(y.value()) == Approx(1.0).epsilon(0.02));  // E[y] = x: the 1/(1−p) scaling
    gen->manual_seed(5);
    CHECK((d(x).value() == y.value()));
    CHECK((d(x).value() != y.value()));  // the stream moves on
    d.eval();
    CHECK(d(x).same(x));
}

TEST_CASE("train()/eval() reach every child, BatchNorm in eval uses the running stats", "[layers]") {
    nn::Sequential<double> m(nn::Linear<double>(3, 4), nn::BatchNorm1d<double>(4), nn::Dropout<double>(0.5),
                             nn::Sequential<double>(nn::GELU<double>(), nn::Dropout<double>(0.1)));
    Generator g(1);
    Tensor<double> x = randn<double>({8, 3}, g);
    m(x);
    m.eval();
    CHECK(!m[1]->is_training());
    CHECK(!std::static_pointer_cast<nn::Sequential<double>>(m[3])->operator[](1)->is_training());
    auto y1 = m(x), y2 = m(x);
    CHECK((y1.value() == y2.value()));  // deterministic: no dropout, running stats
    auto bn = std::static_pointer_cast<nn::BatchNorm1d<double>>(m[1]);
    CHECK(bn->num_batches_tracked.item() == 1.0);
    // the eval output is the affine map with the running statistics
    Tensor<double> h = std::static_pointer_cast<nn::Linear<double>>(m[0])->forward(x);
    const double expect = (h.value()(0, 0) - bn->running_mean.value()(0)) / std::sqrt(bn->running_var.value()(0) + 1e-5);
    CHECK(bn->forward(h).value()(0, 0) == Approx(expect).epsilon(1e-14));
    m.train();
    CHECK(m[1]->is_training());
}

TEST_CASE("BatchNorm: a refused batch changes no statistic", "[layers][bad_input]") {
    nn::BatchNorm1d<float> bn(3);
    bn(randn<float>({4, 3}));
    const auto rm = bn.running_mean.value(), rv = bn.running_var.value();
    CHECK_THROWS_WITH(bn(zeros<float>({1, 3})), Contains("Expected more than 1 value per channel when training"));
    CHECK_THROWS_WITH(bn(zeros<float>({2, 5})), Contains("running_mean should contain 5 elements not 3"));
    CHECK(bn.num_batches_tracked.item() == 1.0f);
    CHECK((bn.running_mean.value() == rm));
    CHECK((bn.running_var.value() == rv));
    // in eval a single sample is fine
    bn.eval();
    CHECK(bn(zeros<float>({1, 3})).shape() == Shape{1, 3});
}

TEST_CASE("Module::to<double>() copies structure, values and flags, gradcheck runs on the copy", "[layers]") {
    Generator g(3);
    nn::Sequential<float> m(nn::Linear<float>(4, 6, true, g), nn::BatchNorm1d<float>(6), nn::GELU<float>("tanh"),
                            nn::Dropout<float>(0.3), nn::LayerNorm<float>(std::vector<std::size_t>{6}),
                            nn::LeakyReLU<float>(0.1), nn::Linear<float>(6, 3, false, g), nn::LogSoftmax<float>(1));
    Tensor<float> x = randn<float>({5, 4}, g);
    m(x);  // running stats move away from 0 / 1
    m(x * 2.0f);
    std::static_pointer_cast<nn::Linear<float>>(m[6])->weight.requires_grad_(false);
    m.eval();
    std::shared_ptr<nn::Module<double>> d = m.to<double>();
    CHECK(d->to_string() == m.to_string());
    CHECK(!d->is_training());
    auto pf = m.named_parameters();
    auto pd = d->named_parameters();
    REQUIRE(pf.size() == pd.size());
    for (std::size_t i = 0; i < pf.size(); ++i) {
        CHECK(pf[i].first == pd[i].first);
        CHECK(pd[i].second.requires_grad() == pf[i].second.requires_grad());
        CHECK(fixture::worst_rel_error(pd[i].second.value(), xt::xarray<double>(pf[i].second.value())) == 0.0);
    }
    auto bf = m.named_buffers();
    auto bd = d->named_buffers();
    REQUIRE(bf.size() == 3);
    REQUIRE(bd.size() == 3);
    for (std::size_t i = 0; i < bf.size(); ++i) {
        CHECK(bf[i].first == bd[i].first);
        CHECK(fixture::worst_rel_error(bd[i].second.value(), xt::xarray<double>(bf[i].second.value())) == 0.0);
    }
    CHECK(bd[2].second.item() == 2.0);  // num_batches_tracked
    // same function, in double precision
    Tensor<double> xd(xt::xarray<double>(x.value()));
    CHECK(fixture::worst_rel_error(m(x).value(), d->forward(xd).value()) < 1e-5);
    // nothing is shared
    pd[0].second.mutable_value()(0, 0) += 1.0;
    CHECK(pf[0].second.value()(0, 0) == float(pd[0].second.value()(0, 0) - 1.0));
    // the point of it: gradcheck through the whole model
    auto r = autograd::gradcheck([d](const std::vector<Tensor<double>>& v) { return d->forward(v[0]); },
                                 std::vector<Tensor<double>>{Tensor<double>(xd.value(), true)});
    INFO(r);
    CHECK(r.ok);
    // and back
    auto f = d->to<float>();
    CHECK(f->to_string() == m.to_string());
    CHECK(f->num_parameters() == m.num_parameters());
    // a module of one's own says what it lacks
    struct Mine : nn::Module<float> {
        std::string repr() const override { return "Mine"; }
    } mine;
    CHECK_THROWS_WITH(mine.to<double>(), Contains("Mine") && Contains("clone_as_double"));
}

TEST_CASE("activation modules compute their functional op", "[layers]") {
    Generator g(4);
    Tensor<double> x = randn<double>({3, 4}, g);
    CHECK((nn::Tanh<double>()(x).value() == tanh(x).value()));
    CHECK((nn::Sigmoid<double>()(x).value() == sigmoid(x).value()));
    CHECK((nn::GELU<double>()(x).value() == gelu(x).value()));
    CHECK((nn::LeakyReLU<double>(0.3)(x).value() == leaky_relu(x, 0.3).value()));
    CHECK((nn::Softmax<double>(0)(x).value() == softmax(x, 0).value()));
    CHECK((nn::LogSoftmax<double>(1)(x).value() == log_softmax(x, 1).value()));
    CHECK(nn::Identity<double>()(x).same(x));
    CHECK_THROWS_AS(nn::GELU<double>("fast"), ValueError);
    CHECK_THROWS_AS(nn::Softmax<double>(2)(x), IndexError);
    nn::Embedding<double> e(4, 2);
    CHECK_THROWS_WITH(e(x), Contains("does not take a single tensor"));
}
