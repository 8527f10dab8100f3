// What the libtorch peers share: reading Fashion-MNIST's gzip IDX files with zlib (tapegrad is
// deliberately not linked in), memory readings.
#pragma once
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <numeric>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <torch/torch.h>
#include <torch/version.h>

extern "C" void openblas_set_num_threads(int num_threads);
extern "C" int openblas_get_num_threads(void);

#include "../gemm_clock.hpp"
#include "../memory.hpp"

namespace peer {
using bench::peak_rss_mb;
using bench::rss_mb;

// Whole gzip file into memory.
inline std::vector<unsigned char> read_gz(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) throw std::runtime_error("cannot open " + path);
    gzbuffer(f, 1 << 20);
    std::vector<unsigned char> out;
    std::vector<unsigned char> chunk(1 << 20);
    for (;;) {
        const int n = gzread(f, chunk.data(), unsigned(chunk.size()));
        if (n < 0) {
            gzclose(f);
            throw std::runtime_error("gzip error in " + path);
        }
        if (n == 0) break;
        out.insert(out.end(), chunk.begin(), chunk.begin() + n);
    }
    gzclose(f);
    return out;
}

inline std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

// IDX images (magic 0x00000803, N × rows × cols, uint8) -> float32 (N, rows·cols) / 255.
inline torch::Tensor load_images(const std::string& path) {
    const auto raw = read_gz(path);
    if (raw.size() < 16 || be32(raw.data()) != 0x803) throw std::runtime_error("not IDX images: " + path);
    const std::int64_t n = be32(raw.data() + 4), rows = be32(raw.data() + 8), cols = be32(raw.data() + 12);
    if (raw.size() != std::size_t(16 + n * rows * cols)) throw std::runtime_error("truncated: " + path);
    torch::Tensor t = torch::empty({n, rows * cols}, torch::kFloat32);
    float* dst = t.data_ptr<float>();
    const unsigned char* src = raw.data() + 16;
    for (std::int64_t i = 0; i < n * rows * cols; ++i) dst[i] = float(src[i]) / 255.0f;
    return t;
}

// IDX labels (magic 0x00000801, N, uint8) -> int64 (N).
inline torch::Tensor load_labels(const std::string& path) {
    const auto raw = read_gz(path);
    if (raw.size() < 8 || be32(raw.data()) != 0x801) throw std::runtime_error("not IDX labels: " + path);
    const std::int64_t n = be32(raw.data() + 4);
    if (raw.size() != std::size_t(8 + n)) throw std::runtime_error("truncated: " + path);
    torch::Tensor t = torch::empty({n}, torch::kInt64);
    std::int64_t* dst = t.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < n; ++i) dst[i] = raw[8 + i];
    return t;
}

// Test accuracy, batches of 1000, no tape.
template <class Net> double accuracy(Net& model, const torch::Tensor& x, const torch::Tensor& y) {
    torch::NoGradGuard ng;
    std::int64_t correct = 0;
    const std::int64_t n = x.size(0);
    for (std::int64_t s = 0; s < n; s += 1000) {
        const std::int64_t e = std::min(n, s + 1000);
        auto pred = model->forward(x.slice(0, s, e)).argmax(1);
        correct += pred.eq(y.slice(0, s, e)).sum().template item<std::int64_t>();
    }
    return double(correct) / double(n);
}

// The whole program: the flags (libtorch_mlp.cpp's header comment), the data, `epochs` timed
// epochs of shuffled batches through `make_net()`'s model and `make_optimizer`'s optimizer with
// F::cross_entropy, and the JSON line.
template <class Net>
int run(int argc, char** argv, const std::string& title, int default_epochs, const std::function<Net()>& make_net,
        const std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::Tensor>)>& make_optimizer,
        const std::function<void(CLI::App&)>& more_flags = nullptr) {
    namespace F = torch::nn::functional;
    CLI::App app{title};
    int threads = 1, epochs = default_epochs;
    std::int64_t batch = 64;
    std::uint64_t seed = 0;
    std::string mode = "default";
    std::string dir = "/usr/share/datasets/fashion-mnist";
    app.add_option("--threads", threads, "threads (OpenMP and/or OpenBLAS, see --mode)")->capture_default_str();
    app.add_option("--mode,--interop", mode,
                   "default: torch::set_num_threads(N) + N OpenBLAS threads; "
                   "1omp: torch::set_num_threads(1) + N OpenBLAS threads")
        ->check(CLI::IsMember({"default", "1omp"}))
        ->capture_default_str();
    int blas_threads = 0;
    app.add_option("--blas-threads", blas_threads, "override the OpenBLAS thread count (diagnostics; 0: --threads)");
    app.add_option("--batch-size", batch, "batch size")->capture_default_str();
    app.add_option("--epochs", epochs, "epochs")->capture_default_str();
    app.add_option("--seed", seed, "seed")->capture_default_str();
    double time_limit = 0;
    app.add_option("--time-limit", time_limit,
                   "stop after the epoch in which the training time passes this many seconds (0: never)")
        ->capture_default_str();
    app.add_option("--data", dir, "Fashion-MNIST folder")->capture_default_str();
    if (more_flags) more_flags(app);
    CLI11_PARSE(app, argc, argv);
    if (threads < 1 || batch < 1 || epochs < 1) {
        std::fprintf(stderr, "error: --threads, --batch-size and --epochs must be >= 1\n");
        return 2;
    }
    try {
        torch::set_num_threads(mode == "default" ? threads : 1);
        openblas_set_num_threads(blas_threads > 0 ? blas_threads : threads);

        const auto t0 = std::chrono::steady_clock::now();
        torch::Tensor train_x = load_images(dir + "/train-images-idx3-ubyte.gz");
        torch::Tensor train_y = load_labels(dir + "/train-labels-idx1-ubyte.gz");
        torch::Tensor test_x = load_images(dir + "/t10k-images-idx3-ubyte.gz");
        torch::Tensor test_y = load_labels(dir + "/t10k-labels-idx1-ubyte.gz");
        const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

        torch::manual_seed(seed);
        Net model = make_net();
        auto opt_ptr = make_optimizer(model->parameters());
        torch::optim::Optimizer& opt = *opt_ptr;
        at::Generator gen = at::detail::createCPUGenerator(seed + 1);
        const std::int64_t n = train_x.size(0);

        std::vector<double> secs;
        bench::GemmClock gemm;
        double acc1 = 0, acc_last = 0, rss1 = 0, rss_last = 0, last_loss = 0;
        for (int e = 1; e <= epochs; ++e) {
            gemm.start();
            const auto a = std::chrono::steady_clock::now();
            torch::Tensor perm = torch::randperm(n, gen, torch::kInt64);
            for (std::int64_t s = 0; s < n; s += batch) {
                const std::int64_t end = std::min(n, s + batch);
                torch::Tensor idx = perm.slice(0, s, end);
                torch::Tensor xb = train_x.index_select(0, idx);
                torch::Tensor yb = train_y.index_select(0, idx);
                opt.zero_grad();  // libtorch 1.13: zeroes the existing grads in place
                torch::Tensor loss = F::cross_entropy(model->forward(xb), yb);
                loss.backward();
                opt.step();
                if (end == n) last_loss = loss.item<double>();
            }
            secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
            gemm.stop();
            // evaluation is outside the timed epoch, as in the other programs
            if (e == 1) acc1 = accuracy(model, test_x, test_y), rss1 = rss_mb();
            const double trained = std::accumulate(secs.begin(), secs.end(), 0.0);
            const bool stop = e == epochs || (time_limit > 0 && trained > time_limit);
            if (stop) acc_last = e == 1 ? acc1 : accuracy(model, test_x, test_y), rss_last = rss_mb();
            if (stop) break;
        }
        const int requested = epochs;
        epochs = int(secs.size());
        std::vector<double> sorted = secs;
        std::sort(sorted.begin(), sorted.end());
        std::printf("{\"system\": \"libtorch-%s\", \"threads\": %d, \"batch_size\": %lld, \"epochs\": %d, "
                    "\"median_s_per_epoch\": %.4f, \"min_s\": %.4f, \"max_s\": %.4f, \"s_per_epoch\": [",
                    mode.c_str(), threads, (long long)batch, epochs, sorted[sorted.size() / 2], sorted.front(),
                    sorted.back());
        for (std::size_t i = 0; i < secs.size(); ++i) std::printf("%s%.4f", i ? ", " : "", secs[i]);
        std::printf("], \"load_s\": %.4f, \"accuracy_epoch1\": %.4f, \"accuracy_last\": %.4f, \"last_loss\": %.4f, "
                    "\"peak_rss_mb\": %.1f, \"rss_epoch1_mb\": %.1f, \"rss_last_mb\": %.1f, "
                    "\"omp_threads\": %d, \"openblas_threads\": %d, \"epochs_requested\": %d, \"torch\": \"%s\"%s}\n",
                    load_s, acc1, acc_last, last_loss, peak_rss_mb(), rss1, rss_last, at::get_num_threads(),
                    openblas_get_num_threads(), requested, TORCH_VERSION, gemm.json().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    }
    return 0;
}
}  // namespace peer
