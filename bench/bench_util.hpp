// What bench_mlp and bench_cnn share: the flags, the data, the timed training loop (the workload of
// bench/README.md around whatever model and optimizer the program builds), memory readings and
// the one JSON line they print.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <cstdio>
#include <fstream>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>
#include <tapegrad/core/threads.hpp>
#include <tapegrad/data/dataloader.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/ops/loss.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/tapegrad.hpp>

#include "gemm_clock.hpp"
#include "memory.hpp"

namespace bench {
// Test accuracy, batches of 250 (activations of 1000-image batches pass glibc's 32 MB mmap limit and
// are faulted in afresh every time), no tape.
inline double accuracy(tapegrad::nn::Module<float>& model, const tapegrad::data::MnistBytes& test) {
    tapegrad::NoGradGuard ng;
    tapegrad::data::DataLoader<float, std::uint8_t> loader(test.images, test.labels, 250);
    loader.begin_epoch();
    xt::xarray<float> xb;
    xt::xarray<std::int64_t> yb;
    std::size_t correct = 0;
    for (std::size_t b = 0; b < loader.num_batches(); ++b) {
        loader.batch(b, xb, yb);
        auto pred = tapegrad::argmax(model(tapegrad::Tensor<float>(xb)), 1);
        for (std::size_t i = 0; i < yb.size(); ++i) correct += pred(i) == yb(i);
    }
    return double(correct) / double(test.labels.size());
}

struct Run {
    int threads = 1, epochs = 0;
    std::size_t batch = 0;
    std::vector<std::size_t> hidden;  // the MLP's hidden widths (empty for the CNN)
    std::vector<double> secs;  // every epoch, in order
    GemmClock gemm;            // and the seconds of each inside GEMM calls (under the shim)
    double load_s = 0, acc1 = 0, acc_last = 0, last_loss = 0, rss1 = 0, rss_last = 0;
};

inline void print_json(const char* system, const Run& r) {
    std::vector<double> sorted = r.secs;
    std::sort(sorted.begin(), sorted.end());
    std::printf("{\"system\": \"%s\", \"threads\": %d, \"batch_size\": %zu, \"epochs\": %d, "
                "\"median_s_per_epoch\": %.4f, \"min_s\": %.4f, \"max_s\": %.4f, \"s_per_epoch\": [",
                system, r.threads, r.batch, r.epochs, sorted[sorted.size() / 2], sorted.front(), sorted.back());
    for (std::size_t i = 0; i < r.secs.size(); ++i) std::printf("%s%.4f", i ? ", " : "", r.secs[i]);
    if (!r.hidden.empty()) {
        std::printf("], \"hidden\": [");
        for (std::size_t i = 0; i < r.hidden.size(); ++i) std::printf("%s%zu", i ? ", " : "", r.hidden[i]);
    }
    std::printf("], \"load_s\": %.4f, \"accuracy_epoch1\": %.4f, \"accuracy_last\": %.4f, \"last_loss\": %.4f, "
                "\"peak_rss_mb\": %.1f, \"rss_epoch1_mb\": %.1f, \"rss_last_mb\": %.1f%s}\n",
                r.load_s, r.acc1, r.acc_last, r.last_loss, peak_rss_mb(), r.rss1, r.rss_last, r.gemm.json().c_str());
}

struct Flags {
    int threads = 1, epochs = 5;
    std::size_t batch = 64;
    std::uint64_t seed = 0;
    std::string dir = "/usr/share/datasets/fashion-mnist";
    std::vector<std::size_t> hidden{256, 128};  // bench_mlp's hidden layer widths
    bool prefetch = false;                      // gather the next batch on a worker thread
    void add_to(CLI::App& app) {
        app.add_option("--threads", threads, "OpenBLAS threads")->capture_default_str()->check(CLI::PositiveNumber);
        app.add_option("--batch-size", batch, "batch size")->capture_default_str()->check(CLI::PositiveNumber);
        app.add_option("--epochs", epochs, "epochs")->capture_default_str()->check(CLI::PositiveNumber);
        app.add_option("--seed", seed, "seed: the initialization's; the shuffle's is seed + 1")->capture_default_str();
        app.add_option("--data", dir, "Fashion-MNIST folder")->capture_default_str();
    }
};

// Both splits; pixels stay bytes (as torchvision keeps them) and batches are converted to
// float32 / 255 as they are gathered.
struct Data {
    tapegrad::data::MnistBytes train, test;
    double load_s = 0;
};
inline Data load(const Flags& f) {
    const auto t0 = std::chrono::steady_clock::now();
    Data d{tapegrad::data::load_mnist_bytes(f.dir, true), tapegrad::data::load_mnist_bytes(f.dir, false), 0};
    d.load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return d;
}

// The timed epochs: a seeded shuffle, every batch gathered straight into the input tensor's
// storage, zero_grad, forward, cross_entropy, backward, step (or no step: with step_in_backward
// the updates run inside backward). Test accuracy after the first and
// the last epoch, outside the timed region (as in the peers).
inline Run train(tapegrad::nn::Module<float>& model, tapegrad::optim::Optimizer<float>& opt, Data& d, const Flags& f) {
    using namespace tapegrad;
    data::DataLoader<float, std::uint8_t> loader(std::move(d.train.images), std::move(d.train.labels), f.batch, true,
                                                 f.seed + 1);  // moved in, not copied
    Tensor<float> xin(xt::xarray<float>::from_shape({0}));
    xt::xarray<std::int64_t> yb;
    Run r;
    r.threads = f.threads, r.epochs = f.epochs, r.batch = f.batch, r.load_s = d.load_s;
    std::unique_ptr<data::Prefetcher<float, std::uint8_t>> pf;
    if (f.prefetch) pf = std::make_unique<data::Prefetcher<float, std::uint8_t>>(loader);
    for (int e = 1; e <= f.epochs; ++e) {
        r.gemm.start();
        const auto a = std::chrono::steady_clock::now();
        if (pf)
            pf->begin_epoch();
        else
            loader.begin_epoch();
        for (std::size_t b = 0; b < loader.num_batches(); ++b) {
            if (pf)
                pf->next(xin.mutable_value(), yb);  // batch b; the worker starts on b + 1
            else
                loader.batch(b, xin.mutable_value(), yb);
            opt.zero_grad(true);
            Tensor<float> loss = cross_entropy(model(xin), yb);
            loss.backward();
            if (!opt.steps_in_backward()) opt.step();  // else the updates ran inside backward()
            if (b + 1 == loader.num_batches()) r.last_loss = loss.item();
        }
        r.secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
        r.gemm.stop();
        if (e == 1) r.acc1 = accuracy(model, d.test), r.rss1 = rss_mb();
        if (e == f.epochs) r.acc_last = accuracy(model, d.test), r.rss_last = rss_mb();
    }
    return r;
}
}  // namespace bench
