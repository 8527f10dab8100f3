// data::Prefetcher: the same batches in the same order as the loader alone, epoch after epoch.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;
using Catch::Matchers::Contains;

TEST_CASE("Prefetcher: the loader's batches, in its order, and its generator moved alike", "[prefetch]") {
    const std::size_t N = 103;
    xt::xarray<std::uint8_t> images = xt::xarray<std::uint8_t>::from_shape({N, 2, 3});
    for (std::size_t i = 0; i < images.size(); ++i) images.data()[i] = std::uint8_t((i * 37) % 256);
    xt::xarray<std::int64_t> labels = xt::xarray<std::int64_t>::from_shape({N});
    for (std::size_t i = 0; i < N; ++i) labels(i) = std::int64_t(i);
    data::DataLoader<float, std::uint8_t> plain(images, labels, 10, true, 42), fetched(images, labels, 10, true, 42);
    data::Prefetcher<float, std::uint8_t> pf(fetched);
    xt::xarray<float> xa, xb;
    xt::xarray<std::int64_t> ya, yb;
    for (int epoch = 0; epoch < 3; ++epoch) {
        plain.begin_epoch();
        pf.begin_epoch();
        REQUIRE(plain.num_batches() == 11);
        for (std::size_t b = 0; b < plain.num_batches(); ++b) {
            plain.batch(b, xa, ya);
            pf.next(xb, yb);
            CHECK(bool(xa == xb));
            CHECK(bool(ya == yb));
        }
        CHECK(pf.position() == 11);
        CHECK_THROWS_WITH(pf.next(xb, yb), Contains("have all been handed out"));
        CHECK(plain.generator().state() == fetched.generator().state());
    }
    // an epoch abandoned halfway: the next begin_epoch starts cleanly
    plain.begin_epoch();
    pf.begin_epoch();
    pf.next(xb, yb);
    plain.begin_epoch();
    pf.begin_epoch();
    plain.batch(0, xa, ya);
    pf.next(xb, yb);
    CHECK(bool(xa == xb));
}

TEST_CASE("Prefetcher: next before begin_epoch is refused", "[prefetch]") {
    data::DataLoader<float> loader(xt::xarray<float>::from_shape({4, 2}), xt::xarray<std::int64_t>{0, 1, 0, 1}, 2);
    data::Prefetcher<float> pf(loader);
    xt::xarray<float> x;
    xt::xarray<std::int64_t> y;
    CHECK_THROWS_AS(pf.next(x, y), IndexError);
    CHECK_THROWS_WITH(pf.next(x, y), Contains("call begin_epoch() first"));
}
