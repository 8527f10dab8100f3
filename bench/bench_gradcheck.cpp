// gradcheck_module on the Fashion-MNIST MLP (784-256-128-10, 235 146 parameters), full mode
// (every parameter element: two forwards each) against fast mode (v^T J u: two forwards per
// tensor).
//
// Then check_graph on the same model's float32 graph (each tape entry's backward alone against
// float64 differences of its forward).
//
//   bench_gradcheck [--batch N] [--threads N] [--skip-full]
// Prints one line per run: mode, seconds, worst error, result. Random inputs (a gradient check
// does not need the data set).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;

int main(int argc, char** argv) {
    CLI::App app{"gradcheck_module on the Fashion-MNIST MLP: full mode vs fast mode"};
    std::size_t batch = 8;
    int threads = 1;
    bool skip_full = false;
    app.add_option("--batch", batch, "samples in the checked batch")->capture_default_str()->check(CLI::Range(1, 4096));
    app.add_option("--threads", threads, "OpenBLAS threads")->capture_default_str()->check(CLI::Range(1, 256));
    app.add_flag("--skip-full", skip_full, "only fast mode (full mode takes minutes)");
    CLI11_PARSE(app, argc, argv);
    set_num_threads(threads);
    Generator g(42);
    auto model = std::make_shared<nn::Sequential<float>>();
    model->push_back(std::make_shared<nn::Linear<float>>(784, 256, true, g));
    model->push_back(std::make_shared<nn::ReLU<float>>());
    model->push_back(std::make_shared<nn::Linear<float>>(256, 128, true, g));
    model->push_back(std::make_shared<nn::ReLU<float>>());
    model->push_back(std::make_shared<nn::Linear<float>>(128, 10, true, g));
    const Tensor<float> x = randn<float>({batch, 784}, g);
    xt::xarray<std::int64_t> y = xt::xarray<std::int64_t>::from_shape({batch});
    for (std::size_t i = 0; i < batch; ++i) y(i) = std::int64_t(i % 10);
    auto loss = [&](const Tensor<double>& out) { return cross_entropy(out, y); };
    std::printf("model: %zu parameters, batch %zu, %d thread(s)\n", model->num_parameters(), batch, threads);
    auto run = [&](const char* what, std::size_t fast_above) {
        const auto r = autograd::gradcheck_module(*model, x, loss, autograd::GradcheckOptions(), fast_above);
        std::printf("%-28s mode %-16s %9.2f s  worst error %.3e  %s\n", what, r.mode.c_str(), r.seconds,
                    r.detail.max_error, r.ok ? "passed" : ("FAILED: " + r.detail.what).c_str());
        std::fflush(stdout);
        return r;
    };
    run("fast mode", 0);
    {
        set_check_graph(true);
        const Tensor<float> l = cross_entropy(model->forward(x), y);
        set_check_graph(false);
        const auto t0 = std::chrono::steady_clock::now();
        const auto r = autograd::check_graph(l);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        double worst = 0;
        for (const auto& e : r.entries) worst = std::max(worst, e.error);
        std::printf("%-28s %zu entries%9s %9.2f s  worst error %.3e  %s\n", "check_graph (float32 graph)",
                    r.entries.size(), "", s, worst, r.ok ? "passed" : "FAILED");
        std::fflush(stdout);
    }
    if (!skip_full) std::cout << run("full mode", std::size_t(-1)).table;
    return 0;
}
