// embedding_bag and nn::EmbeddingBag against PyTorch; sparse gradients and sparse SGD.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

#include "fixture.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;

TEST_CASE("embedding_bag matches torch: modes, offsets, empty bags, per-sample weights, padding", "[embedding]") {
    auto fx = fixture::load("embedding_bag.json");
    int n = 0;
    for (const auto& c : fx["cases"]) {
        INFO("case " << n << " mode " << c["mode"]);
        Tensor<double> w(fixture::array<double>(c["weight"]), true);
        Tensor<double> psw;
        if (!c["per_sample_weights"].is_null()) psw = Tensor<double>(fixture::array<double>(c["per_sample_weights"]), true);
        std::optional<xt::xarray<std::int64_t>> off;
        if (!c["offsets"].is_null()) off = fixture::int_array(c["offsets"]);
        std::optional<std::int64_t> pad;
        if (!c["padding_idx"].is_null()) pad = c["padding_idx"].get<std::int64_t>();
        for (bool sparse : {false, true}) {
            w.zero_grad(true);
            if (psw.defined()) psw.zero_grad(true);
            auto out = embedding_bag(fixture::int_array(c["input"]), w, off, embedding_bag_mode_from_string(c["mode"]),
                                     sparse, psw, c["include_last_offset"].get<bool>(), pad);
            CHECK(fixture::worst_rel_error(out.value(), fixture::array<double>(c["out"])) < 1e-12);
            out.backward(Tensor<double>(fixture::array<double>(c["grad_out"])));
            CHECK(has_sparse_grad(w) == sparse);
            CHECK(fixture::worst_rel_error(w.grad(), fixture::array<double>(c["grad_weight"])) < 1e-12);
            if (psw.defined())
                CHECK(fixture::worst_rel_error(psw.grad(), fixture::array<double>(c["grad_per_sample_weights"])) < 1e-12);
        }
        ++n;
    }
    CHECK(n >= 10);
}

TEST_CASE("embedding_bag passes gradcheck on a small table in every mode", "[embedding][gradcheck]") {
    Generator g(3);
    Tensor<double> w = randn<double>({6, 3}, g, true);
    xt::xarray<std::int64_t> idx = {0, 2, 2, 5, 1, 3, 4};
    xt::xarray<std::int64_t> off = {0, 3, 3, 5};
    for (auto mode : {EmbeddingBagMode::Mean, EmbeddingBagMode::Sum, EmbeddingBagMode::Max}) {
        auto r = autograd::gradcheck([&](const std::vector<Tensor<double>>& x) { return embedding_bag(idx, x[0], off, mode); },
                           std::vector<Tensor<double>>{w});
        INFO(r);
        CHECK(r.ok);
    }
    Tensor<double> psw = randn<double>({7}, g, true);
    auto r = autograd::gradcheck([&](const std::vector<Tensor<double>>& x) {
        return embedding_bag(idx, x[0], off, EmbeddingBagMode::Sum, false, x[1]);
    }, std::vector<Tensor<double>>{w, psw});
    INFO(r);
    CHECK(r.ok);
}

TEST_CASE("embedding_bag errors", "[embedding]") {
    Tensor<float> w = zeros<float>({5, 2}, true);
    xt::xarray<std::int64_t> idx = {0, 1, 7};
    CHECK_THROWS_WITH(embedding_bag(idx, w, xt::xarray<std::int64_t>({0})), Contains("index out of range in self"));
    CHECK_THROWS_AS(embedding_bag(idx, w, xt::xarray<std::int64_t>({0})), IndexError);
    xt::xarray<std::int64_t> ok = {0, 1, 2};
    CHECK_THROWS_WITH(embedding_bag(ok, w, xt::xarray<std::int64_t>({1})), Contains("offsets[0] has to be 0"));
    CHECK_THROWS_WITH(embedding_bag(ok, w, xt::xarray<std::int64_t>({0, 2, 1})), Contains("non-decreasing"));
    CHECK_THROWS_WITH(embedding_bag(ok, w), Contains("offsets has to be a 1D Tensor"));
    CHECK_THROWS_WITH(embedding_bag(ok, w, xt::xarray<std::int64_t>({0}), EmbeddingBagMode::Mean, false,
                                    Tensor<float>({1.f, 1.f, 1.f})),
                      Contains("only supported for mode='sum'"));
    CHECK_THROWS_AS(embedding_bag_mode_from_string("avg"), ValueError);
    CHECK_THROWS_AS(embedding_bag(ok, zeros<float>({5}), xt::xarray<std::int64_t>({0})), ShapeError);
    nn::EmbeddingBag<float> bag(5, 2);
    CHECK_THROWS_WITH(bag.forward(Tensor<float>({1.f})), Contains("does not take a single tensor"));
}

TEST_CASE("sparse SGD updates only the rows in the batch, like dense SGD on those rows", "[embedding][optim]") {
    Generator g(5);
    const xt::xarray<std::int64_t> idx = {1, 3, 3, 7};
    const xt::xarray<std::int64_t> off = {0, 2};
    for (double wd : {0.0, 0.01}) {
        for (double mom : {0.0, 0.9}) {
            INFO("weight_decay " << wd << " momentum " << mom);
            nn::EmbeddingBag<double> sp(10, 4, EmbeddingBagMode::Mean, true, std::nullopt, g);
            nn::EmbeddingBag<double> de(10, 4, EmbeddingBagMode::Mean, false, std::nullopt, g);
            de.weight.mutable_value() = sp.weight.value();
            const auto before = sp.weight.value();
            optim::SGD<double> os(sp.parameters(), 0.5, mom, 0, wd), od(de.parameters(), 0.5, mom, 0, wd);
            for (int step = 0; step < 3; ++step) {
                os.zero_grad(true);
                od.zero_grad(true);
                sum(pow(sp.forward(idx, off), 2.0)).backward();
                sum(pow(de.forward(idx, off), 2.0)).backward();
                REQUIRE(has_sparse_grad(sp.weight));
                REQUIRE(!has_sparse_grad(de.weight));
                os.step();
                od.step();
            }
            for (std::size_t r = 0; r < 10; ++r)
                for (std::size_t j = 0; j < 4; ++j) {
                    const bool used = r == 1 || r == 3 || r == 7;
                    if (!used) CHECK(sp.weight.value()(r, j) == before(r, j));  // untouched rows stay put
                    // rows in every batch: identical to the dense update (momentum/decay act alike there)
                    if (used) CHECK(sp.weight.value()(r, j) == Approx(de.weight.value()(r, j)).epsilon(1e-12));
                }
        }
    }
}

TEST_CASE("a sparse gradient accumulates, densifies on read, and zero_grad drops it", "[embedding]") {
    Tensor<double> w = ones<double>({4, 2}, true);
    xt::xarray<std::int64_t> idx = {1, 1};
    xt::xarray<std::int64_t> off = {0};
    sum(embedding_bag(idx, w, off, EmbeddingBagMode::Sum, true)).backward();
    sum(embedding_bag(idx, w, off, EmbeddingBagMode::Sum, true)).backward();
    REQUIRE(has_sparse_grad(w));
    CHECK(sparse_grad_rows(w).size() == 4);
    CHECK(w.grad()(1, 0) == 4.0);
    CHECK(w.grad()(0, 0) == 0.0);
    CHECK(!has_sparse_grad(w));
    w.zero_grad(true);
    CHECK(!w.has_grad());
    nn::EmbeddingBag<float> bag(100, 8, EmbeddingBagMode::Sum, false, 0);
    CHECK(bag.weight.value()(0, 3) == 0.f);  // padding row zeroed
    CHECK(bag.repr() == "EmbeddingBag(100, 8, mode='sum')");
}
