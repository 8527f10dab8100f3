#pragma once
// Shared by tests/test_kill.cpp and its helper process tests/kill/ckpt_writer.cpp.
#include <algorithm>
#include <memory>

#include <tapegrad/tapegrad.hpp>

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
        opt.set_momentum_buffer(params[i], a);
    }
}

// The training runs the kill test interrupts: train_fashion_mnist on synthetic images, with
// epochs long enough to be killed mid-run.
constexpr std::size_t kTrainImages = 6000, kTestImages = 100;
constexpr int kEpochs = 6;

}  // namespace kill_test
