// The benchmark workload (bench/README.md) with libtorch's C++ API: Fashion-MNIST (read here from
// the gzip IDX files with zlib — tapegrad is deliberately not linked in), MLP 784-256-128-10
// (--hidden W,W,…: 784-W-…-10; the wide one is --hidden 1024,1024) with
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

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "torch_peer.hpp"

namespace {
struct MLPImpl : torch::nn::Module {
    explicit MLPImpl(const std::vector<std::int64_t>& hidden) {
        std::int64_t in = 784;
        for (std::size_t i = 0; i <= hidden.size(); ++i) {
            const std::int64_t out = i < hidden.size() ? hidden[i] : 10;
            fc.push_back(register_module("fc" + std::to_string(i + 1), torch::nn::Linear(in, out)));
            in = out;
        }
    }
    torch::Tensor forward(torch::Tensor x) {
        for (std::size_t i = 0; i + 1 < fc.size(); ++i) x = torch::relu(fc[i]->forward(x));
        return fc.back()->forward(x);
    }
    std::vector<torch::nn::Linear> fc;
};
TORCH_MODULE(MLP);
}  // namespace

int main(int argc, char** argv) {
    std::vector<std::int64_t> hidden{256, 128};
    return peer::run<MLP>(
        argc, argv, "libtorch on the MLP benchmark workload (see bench/README.md)", 5, [&] { return MLP(hidden); },
        [](std::vector<torch::Tensor> params) {
            return std::make_unique<torch::optim::SGD>(std::move(params), torch::optim::SGDOptions(0.1));
        },
        [&](CLI::App& app) {
            app.add_option("--hidden", hidden, "hidden layer widths, comma-separated")
                ->delimiter(',')
                ->check(CLI::PositiveNumber)
                ->capture_default_str();
        });
}
