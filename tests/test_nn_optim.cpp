// nn::Module, Linear, Sequential and optim::SGD against PyTorch fixtures.
#include <catch2/catch.hpp>

#include <cmath>

#include <tapegrad/tapegrad.hpp>
#include <tapegrad/ops/loss.hpp>

#include "fixture.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;

TEST_CASE("Linear forward and backward match torch", "[nn]") {
    auto fx = fixture::load("linear.json");
    int n = 0;
    for (const auto& c : fx["cases"]) {
        nn::Linear<double> lin(c["in_features"].get<std::size_t>(), c["out_features"].get<std::size_t>(),
                               c["bias"].get<bool>());
        lin.weight.mutable_value() = fixture::array<double>(c["weight"]);
        if (c["bias"].get<bool>()) lin.bias.mutable_value() = fixture::array<double>(c["bias_value"]);
        Tensor<double> x(fixture::array<double>(c["x"]), true);
        auto y = lin(x);
        CHECK(fixture::worst_rel_error(y.value(), fixture::array<double>(c["y"])) < 1e-12);
        y.backward(Tensor<double>(fixture::array<double>(c["grad_out"])));
        CHECK(fixture::worst_rel_error(x.grad(), fixture::array<double>(c["grad_x"])) < 1e-12);
        CHECK(fixture::worst_rel_error(lin.weight.grad(), fixture::array<double>(c["grad_weight"])) < 1e-12);
        if (c["bias"].get<bool>())
            CHECK(fixture::worst_rel_error(lin.bias.grad(), fixture::array<double>(c["grad_bias"])) < 1e-12);
        ++n;
    }
    CHECK(n >= 8);
}

TEST_CASE("Linear initialisation follows torch's bounds", "[nn]") {
    auto fx = fixture::load("linear.json");
    Generator g(3);
    for (const auto& c : fx["init"]) {
        const std::size_t in = c["in_features"], out = c["out_features"];
        nn::Linear<float> lin(in, out, true, g);
        const double wb = c["weight_bound"], bb = c["bias_bound"];
        double wmax = 0, bmax = 0, wsum = 0;
        for (float v : lin.weight.value()) {
            wmax = std::max(wmax, double(std::abs(v)));
            wsum += v;
        }
        for (float v : lin.bias.value()) bmax = std::max(bmax, double(std::abs(v)));
        CHECK(wmax <= wb);
        CHECK(wmax > 0.95 * wb);  // uniform over the whole range, not a narrower one
        CHECK(bmax <= bb);
        CHECK(std::abs(wsum / double(lin.weight.numel())) < 0.05 * wb);
    }
}

TEST_CASE("Module: named_parameters, train/eval, zero_grad, printing", "[nn]") {
    nn::Sequential<float> model(nn::Linear<float>(4, 8), nn::ReLU<float>(), nn::Linear<float>(8, 3, false));
    auto named = model.named_parameters();
    REQUIRE(named.size() == 3);
    CHECK(named[0].first == "0.weight");
    CHECK(named[1].first == "0.bias");
    CHECK(named[2].first == "2.weight");
    CHECK(named[0].second.shape() == Shape{8, 4});
    CHECK(model.parameters().size() == 3);
    CHECK(model.is_training());
    model.eval();
    CHECK(!model.is_training());
    CHECK(!model[0]->is_training());
    model.train();
    CHECK(model[2]->is_training());
    CHECK_THROWS_AS(model[3], IndexError);

    struct Net : nn::Module<float> {
        std::shared_ptr<nn::Linear<float>> fc1, fc2;
        Net() {
            fc1 = register_module("fc1", std::make_shared<nn::Linear<float>>(2, 4));
            fc2 = register_module("fc2", std::make_shared<nn::Linear<float>>(4, 2));
        }
        Tensor<float> forward(const Tensor<float>& x) override { return fc2->forward(relu(fc1->forward(x))); }
        std::string repr() const override { return "Net"; }
    } net;
    auto np = net.named_parameters();
    REQUIRE(np.size() == 4);
    CHECK(np[3].first == "fc2.bias");
    auto loss = sum(net(ones<float>({3, 2})));
    loss.backward();
    CHECK(net.fc1->weight.has_grad());
    net.zero_grad();
    for (float v : net.fc1->weight.grad()) CHECK(v == 0.f);
    CHECK_THAT(model.to_string(), Contains("(0): Linear(in_features=4, out_features=8, bias=True)") &&
                                      Contains("(2): Linear(in_features=8, out_features=3, bias=False)"));
}

TEST_CASE("SGD follows torch.optim.SGD's trajectory to 1e-12", "[optim]") {
    auto fx = fixture::load("sgd.json");
    int n = 0;
    for (const auto& c : fx["cases"]) {
        INFO("case " << c["name"].get<std::string>());
        std::vector<Tensor<double>> params;
        for (const auto& p : c["params"]) params.emplace_back(fixture::array<double>(p), true);
        optim::SGD<double> opt(params, c["lr"], c["momentum"], c["dampening"], c["weight_decay"], c["nesterov"],
                               c["maximize"]);
        for (std::size_t step = 0; step < c["grads"].size(); ++step) {
            for (std::size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = fixture::array<double>(c["grads"][step][i]);
            opt.step();
            for (std::size_t i = 0; i < params.size(); ++i)
                CHECK(fixture::worst_rel_error(params[i].value(), fixture::array<double>(c["expected"][step][i])) < 1e-12);
        }
        ++n;
    }
    CHECK(n >= 12);
}

TEST_CASE("SGD rejects invalid hyper-parameters like torch", "[optim]") {
    std::vector<Tensor<float>> p{zeros<float>({2}, true)};
    CHECK_THROWS_WITH(optim::SGD<float>(p, -0.1), Contains("Invalid learning rate"));
    CHECK_THROWS_WITH(optim::SGD<float>(p, 0.1, -1), Contains("Invalid momentum value"));
    CHECK_THROWS_WITH(optim::SGD<float>(p, 0.1, 0, 0, -1), Contains("Invalid weight_decay value"));
    CHECK_THROWS_WITH(optim::SGD<float>(p, 0.1, 0, 0, 0, true), Contains("Nesterov momentum requires"));
    CHECK_THROWS_WITH(optim::SGD<float>(p, 0.1, 0.9, 0.1, 0, true), Contains("Nesterov momentum requires"));
    CHECK_THROWS_WITH(optim::SGD<float>({}, 0.1), Contains("empty parameter list"));
    // parameters without a gradient are skipped; zero_grad zeros the rest
    optim::SGD<float> opt(p, 0.1);
    opt.step();
    CHECK(p[0].value()(0) == 0.f);
    p[0].mutable_grad() = xt::xarray<float>({1.f, 2.f});
    opt.step();
    CHECK(p[0].value()(1) == Approx(-0.2f));
    opt.zero_grad();
    CHECK(p[0].grad()(1) == 0.f);
}

TEST_CASE("an MLP learns a synthetic 3-class problem to 100% training accuracy", "[nn][optim]") {
    // three well-separated Gaussian blobs in 2-D
    Generator g(11);
    const std::size_t per = 60, N = 3 * per;
    xt::xarray<float> X = xt::xarray<float>::from_shape({N, 2});
    xt::xarray<std::int64_t> y = xt::xarray<std::int64_t>::from_shape({N});
    const float cx[3] = {0.f, 3.f, -3.f}, cy[3] = {3.f, -2.f, -2.f};
    for (std::size_t i = 0; i < N; ++i) {
        std::size_t k = i % 3;
        X(i, 0) = cx[k] + 0.6f * float(g.normal());
        X(i, 1) = cy[k] + 0.6f * float(g.normal());
        y(i) = std::int64_t(k);
    }
    Generator init(5);
    nn::Sequential<float> model(nn::Linear<float>(2, 16, true, init), nn::ReLU<float>(), nn::Linear<float>(16, 3, true, init));
    optim::SGD<float> opt(model.parameters(), 0.1, 0.9);
    Tensor<float> input(X);
    float first = 0, last = 0;
    for (int epoch = 0; epoch < 200; ++epoch) {
        opt.zero_grad();
        auto loss = cross_entropy(model(input), y);
        loss.backward();
        opt.step();
        if (epoch == 0) first = loss.item();
        last = loss.item();
    }
    NoGradGuard ng;
    auto pred = argmax(model(input), 1);
    std::size_t correct = 0;
    for (std::size_t i = 0; i < N; ++i) correct += pred(i) == y(i);
    CHECK(correct == N);
    CHECK(last < 0.1f * first);
}
