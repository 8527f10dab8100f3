// The CNN benchmark workload (bench/README.md) with tapegrad: Fashion-MNIST as in bench_mlp, the
// CNN conv 1→32 (3×3, pad 1), ReLU, max-pool 2, conv 32→64 (3×3, pad 1), ReLU, max-pool 2, Linear
// 3136→128, ReLU, Linear 128→10 (issue 13's network without BatchNorm and Dropout), PyTorch's
// default init, cross_entropy, SGD lr 0.05 momentum 0.9, batch 64, inputs in [0, 1]. The same
// flags and JSON keys as bench_mlp.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
    CLI::App app{"tapegrad on the CNN benchmark workload (see bench/README.md)"};
    bench::Flags flags;
    flags.epochs = 3;
    flags.add_to(app);
    CLI11_PARSE(app, argc, argv);
    try {
        set_num_threads(flags.threads);
        bench::Data data = bench::load(flags);

        Generator gen(flags.seed);
        nn::Sequential<float> model(nn::Unflatten<float>(1, {1, 28, 28}),  // (B, 784) → (B, 1, 28, 28)
                                    nn::Conv2d<float>(nn::Conv2dOptions(1, 32, 3).padding(1), gen), nn::ReLU<float>(),
                                    nn::MaxPool2d<float>(MaxPool2dOptions(2)),
                                    nn::Conv2d<float>(nn::Conv2dOptions(32, 64, 3).padding(1), gen), nn::ReLU<float>(),
                                    nn::MaxPool2d<float>(MaxPool2dOptions(2)), nn::Flatten<float>(),
                                    nn::Linear<float>(3136, 128, true, gen), nn::ReLU<float>(),
                                    nn::Linear<float>(128, 10, true, gen));
        optim::SGD<float> opt(model.parameters(), optim::SGDOptions(0.05).momentum(0.9));

        bench::print_json("tapegrad", bench::train(model, opt, data, flags));
    } catch (const Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    }
    return 0;
}
