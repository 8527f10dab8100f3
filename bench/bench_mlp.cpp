// The benchmark workload (bench/README.md) with tapegrad: Fashion-MNIST, MLP 784-256-128-10
// (--hidden 1024,1024 for the wide one), cross_entropy, plain SGD lr 0.1 (--step-in-backward: its
// update inside backward, from the parameters' hooks), batch 64, seeded shuffle per epoch, 5 epochs. Prints one JSON
// object: seconds per epoch (median, min, max, all), data loading seconds, test accuracy after
// epochs 1 and last, peak RSS and RSS after the first and the last epoch.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
    CLI::App app{"tapegrad on the MLP benchmark workload (see bench/README.md)"};
    bench::Flags flags;
    flags.add_to(app);
    app.add_option("--hidden", flags.hidden, "hidden layer widths, comma-separated")
        ->delimiter(',')
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_flag("--prefetch", flags.prefetch, "gather the next batch on a worker thread while this one computes");
    bool in_backward = false;
    app.add_flag("--step-in-backward", in_backward,
                 "SGD's update runs inside backward, from each parameter's post-accumulate-grad hook");
    CLI11_PARSE(app, argc, argv);
    try {
        set_num_threads(flags.threads);
        bench::Data data = bench::load(flags);

        Generator gen(flags.seed);
        nn::Sequential<float> model;  // 784 → hidden… → 10, ReLU between
        std::size_t in = 784;
        for (std::size_t h : flags.hidden) {
            model.push_back(std::make_shared<nn::Linear<float>>(in, h, true, gen));
            model.push_back(std::make_shared<nn::ReLU<float>>());
            in = h;
        }
        model.push_back(std::make_shared<nn::Linear<float>>(in, 10, true, gen));
        optim::SGD<float> opt(model.parameters(), 0.1);
        if (in_backward) opt.step_in_backward(true);

        bench::Run run = bench::train(model, opt, data, flags);
        run.hidden = flags.hidden;
        bench::print_json(in_backward ? "tapegrad-step-in-backward" : "tapegrad", run);
    } catch (const Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    }
    return 0;
}
