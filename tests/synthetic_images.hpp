#pragma once
// Small synthetic image sets for the training tests (test_training.cpp and the kill tests).
#include <algorithm>

#include "../examples/image_classifier.hpp"

namespace test_data {

// Four classes of 8×8 "images": a bright quadrant per class, plus noise.
inline image_classifier::Data synthetic_images(std::size_t n_train, std::size_t n_test, std::uint64_t seed) {
    tapegrad::Generator g(seed);
    auto make = [&](std::size_t n, xt::xarray<float>& x, xt::xarray<std::int64_t>& y) {
        x = xt::xarray<float>::from_shape({n, 64});
        y = xt::xarray<std::int64_t>::from_shape({n});
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t c = g.randint(4);
            y(i) = std::int64_t(c);
            for (std::size_t r = 0; r < 8; ++r)
                for (std::size_t col = 0; col < 8; ++col) {
                    const bool lit = (r / 4) == c / 2 && (col / 4) == c % 2;
                    x(i, r * 8 + col) = float(std::clamp((lit ? 0.7 : 0.2) + 0.25 * g.normal(), 0.0, 1.0));
                }
        }
    };
    image_classifier::Data d;
    make(n_train, d.train_x, d.train_y);
    make(n_test, d.test_x, d.test_y);
    return d;
}

}  // namespace test_data
