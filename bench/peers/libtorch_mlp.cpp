// The benchmark workload (bench/README.md) with libtorch's C++ API: Fashion-MNIST (read here from
// the gzip IDX files with zlib — tapegrad is deliberately not linked in), MLP 784-256-128-10 with
// ReLU and torch::nn::Linear's default init, F::cross_entropy (mean), torch::optim::SGD lr 0.1
// without momentum, a fresh torch::randperm from a seeded generator every epoch, the last partial
// batch kept. Prints one JSON line with the same keys as bench_mlp.
//
// Threads (--threads N):
//   --mode default  libtorch's own setting: torch::set_num_threads(N) (its OpenMP pool), and N
//                   OpenBLAS threads (libtorch's float GEMMs go to sgemm_ in the system BLAS,
//                   which on Debian is OpenBLAS; torch::set_num_threads does not size that pool)
//                   -> "system": "libtorch-default"
//   --mode 1omp     torch::set_num_threads(1) (no OpenMP parallel regions) and N OpenBLAS
//                   threads, i.e. the same threading as tapegrad -> "system": "libtorch-1omp"
//   --blas-threads M  diagnostics only: M OpenBLAS threads instead of N.
// --time-limit S stops after the epoch in which the training time passes S seconds ("epochs" then
// says how many ran, "epochs_requested" how many were asked): libtorch-default at 2 threads can
// take tens of seconds per epoch on a 2-core machine (bench/README.md, libgomp spin-waiting).

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "torch_peer.hpp"

namespace {
struct MLPImpl : torch::nn::Module {
    MLPImpl()
        : fc1(register_module("fc1", torch::nn::Linear(784, 256))),
          fc2(register_module("fc2", torch::nn::Linear(256, 128))),
          fc3(register_module("fc3", torch::nn::Linear(128, 10))) {}
    torch::Tensor forward(torch::Tensor x) {
        x = torch::relu(fc1->forward(x));
        x = torch::relu(fc2->forward(x));
        return fc3->forward(x);
    }
    torch::nn::Linear fc1, fc2, fc3;
};
TORCH_MODULE(MLP);
}  // namespace

int main(int argc, char** argv) {
    return peer::run<MLP>(
        argc, argv, "libtorch on the MLP benchmark workload (see bench/README.md)", 5, [] { return MLP(); },
        [](std::vector<torch::Tensor> params) {
            return std::make_unique<torch::optim::SGD>(std::move(params), torch::optim::SGDOptions(0.1));
        });
}
