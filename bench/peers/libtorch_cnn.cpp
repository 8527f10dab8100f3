// The CNN benchmark workload (bench/README.md) with libtorch's C++ API: Fashion-MNIST in [0, 1] as
// libtorch_mlp reads it, conv 1→32 (3×3, pad 1), ReLU, max-pool 2, conv 32→64 (3×3, pad 1), ReLU,
// max-pool 2, Linear 3136→128, ReLU, Linear 128→10 with libtorch's default init, F::cross_entropy
// (mean), torch::optim::SGD lr 0.05 momentum 0.9, batch 64, a fresh seeded torch::randperm every
// epoch. Convolutions go to oneDNN (aten::mkldnn_convolution) in Debian's libtorch 1.13, the Linear
// layers to the system BLAS (OpenBLAS). The same flags and JSON keys as libtorch_mlp (--mode,
// --time-limit, --blas-threads: see there); 3 epochs by default.
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "torch_peer.hpp"

namespace {
struct CNNImpl : torch::nn::Module {
    CNNImpl()
        : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3).padding(1)))),
          conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)))),
          fc1(register_module("fc1", torch::nn::Linear(3136, 128))),
          fc2(register_module("fc2", torch::nn::Linear(128, 10))) {}
    torch::Tensor forward(torch::Tensor x) {
        x = x.view({-1, 1, 28, 28});
        x = torch::max_pool2d(torch::relu(conv1->forward(x)), 2);
        x = torch::max_pool2d(torch::relu(conv2->forward(x)), 2);
        x = torch::relu(fc1->forward(x.flatten(1)));
        return fc2->forward(x);
    }
    torch::nn::Conv2d conv1, conv2;
    torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(CNN);
}  // namespace

int main(int argc, char** argv) {
    return peer::run<CNN>(
        argc, argv, "libtorch on the CNN benchmark workload (see bench/README.md)", 3, [] { return CNN(); },
        [](std::vector<torch::Tensor> params) {
            return std::make_unique<torch::optim::SGD>(std::move(params), torch::optim::SGDOptions(0.05).momentum(0.9));
        });
}
