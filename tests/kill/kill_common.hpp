#pragma once
// Shared by tests/test_kill.cpp and its helper process tests/kill/ckpt_writer.cpp.
#include <algorithm>
#include <memory>

#include "../../examples/image_classifier.hpp"
#include "../synthetic_images.hpp"

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

using test_data::synthetic_images;

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
