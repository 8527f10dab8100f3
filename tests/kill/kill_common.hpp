#pragma once
// Shared by tests/test_kill.cpp and its helper process tests/kill/ckpt_writer.cpp.
#include <algorithm>
#include <memory>

#include "../../examples/image_classifier.hpp"

namespace kill_test {

// ~41k double parameters (~330 KB, and as much again of momentum buffers), so that a save takes
// long enough for kills to land inside it.
inline std::shared_ptr<tapegrad::nn::Sequential<double>> make_model() {
    using namespace tapegrad;
    Generator gen(0);
    auto m = std::make_shared<nn::Sequential<double>>();
    m->push_back(std::make_shared<nn::Linear<double>>(160, 200, true, gen));
    m->push_back(std::make_shared<nn::ReLU<double>>());
    m->push_back(std::make_shared<nn::Linear<double>>(200, 40, true, gen));
    return m;
}

// Every parameter and every momentum buffer := v.
inline void fill(tapegrad::nn::Module<double>& model, tapegrad::optim::SGD<double>& opt, double v) {
    auto params = model.parameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
        auto& a = params[i].mutable_value();
        std::fill(a.begin(), a.end(), v);
        opt.set_momentum_buffer(i, a);
    }
}

// Four classes of 8×8 "images": a bright quadrant per class, plus noise (as tests/test_training.cpp).
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

constexpr std::size_t kTrainImages = 6000, kTestImages = 100;  // epochs long enough to be killed mid-run
constexpr int kEpochs = 6;

inline image_classifier::Options train_options() {
    image_classifier::Options o;
    o.epochs = kEpochs;
    o.batch_size = 16;
    o.lr = 0.05;
    o.hidden = {32};
    o.class_names = {"top-left", "top-right", "bottom-left", "bottom-right"};
    o.quiet = true;
    o.threads = 1;
    return o;
}

}  // namespace kill_test
