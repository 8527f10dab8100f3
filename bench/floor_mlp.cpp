// The physical floor of the benchmark workload (bench/README.md): only the GEMMs of one training
// epoch of the MLP 784-256-128-10, as straight cblas_sgemm calls on preallocated buffers — no
// autograd, no activations, no loss, no optimizer, no data gathering. Per batch of B rows:
//   forward        y_l  = x_l · W_lᵀ            (3 GEMMs: layers 1, 2, 3)
//   weight grads   dW_l = g_lᵀ · x_l            (3 GEMMs)
//   input grads    dx_l = g_l · W_l             (2 GEMMs: layers 2 and 3; layer 1's input is data)
// with a Linear layer's row-major layouts: x (B, in), W (out, in), y and g (B, out).
// An epoch is ceil(60000 / B) batches, the last one partial (938 batches of 64, the last of 32).
// Prints one JSON line with the keys of bench_mlp that apply, plus "gflops" (median epoch).
#include <sys/resource.h>

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {
using clock_type = std::chrono::steady_clock;

constexpr int kTrain = 60000;
constexpr int kDims[4] = {784, 256, 128, 10};

double peak_rss_mb() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}

int usage(const char* argv0) {
    std::fprintf(stderr, "usage: %s [--threads N] [--batch-size N] [--epochs N]\n", argv0);
    return 2;
}

bool parse_int(const char* s, int& out) {
    char* end = nullptr;
    const long v = std::strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 1 || v > 1000000) return false;
    out = int(v);
    return true;
}

std::vector<float> filled(std::size_t n, std::mt19937& rng, float scale) {
    std::uniform_real_distribution<float> d(-scale, scale);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}
}  // namespace

int main(int argc, char** argv) {
    int threads = 1, batch = 64, epochs = 5;
    for (int i = 1; i < argc; ++i) {
        int* target = nullptr;
        if (!std::strcmp(argv[i], "--threads")) target = &threads;
        else if (!std::strcmp(argv[i], "--batch-size")) target = &batch;
        else if (!std::strcmp(argv[i], "--epochs")) target = &epochs;
        else if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) return usage(argv[0]), 0;
        if (!target || i + 1 >= argc || !parse_int(argv[i + 1], *target)) return usage(argv[0]);
        ++i;
    }
    openblas_set_num_threads(threads);

    // Buffers, sized for a full batch. Activations a[0] (the input) … a[3] (logits); gradients
    // g[l] of layer l's output; dx[l] of layer l's input (l = 1, 2); weights W and their grads dW.
    std::mt19937 rng(0);
    std::vector<float> a[4], g[4], dx[3], W[4], dW[4];
    a[0] = filled(std::size_t(batch) * kDims[0], rng, 1.0f);
    for (int l = 1; l <= 3; ++l) {
        const int in = kDims[l - 1], out = kDims[l];
        a[l].assign(std::size_t(batch) * out, 0.0f);
        g[l] = filled(std::size_t(batch) * out, rng, 0.01f);
        W[l] = filled(std::size_t(out) * in, rng, 1.0f / float(in));
        dW[l].assign(std::size_t(out) * in, 0.0f);
        if (l >= 2) dx[l - 1].assign(std::size_t(batch) * in, 0.0f);
    }

    const int nbatches = (kTrain + batch - 1) / batch;
    double flop_per_epoch = 0;
    for (int b = 0; b < nbatches; ++b) {
        const double B = std::min(batch, kTrain - b * batch);
        for (int l = 1; l <= 3; ++l) {
            const double mnk = B * kDims[l - 1] * kDims[l];
            flop_per_epoch += 2 * mnk * (l >= 2 ? 3 : 2);
        }
    }

    std::vector<double> secs;
    for (int e = 0; e < epochs; ++e) {
        const auto t0 = clock_type::now();
        for (int b = 0; b < nbatches; ++b) {
            const int B = std::min(batch, kTrain - b * batch);
            for (int l = 1; l <= 3; ++l) {  // forward: y = x · Wᵀ, (B, out) = (B, in)(in, out)
                const int in = kDims[l - 1], out = kDims[l];
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1.0f, a[l - 1].data(), in,
                            W[l].data(), in, 0.0f, a[l].data(), out);
            }
            for (int l = 3; l >= 1; --l) {  // backward, last layer first
                const int in = kDims[l - 1], out = kDims[l];
                // dW = gᵀ · x: (out, in) = (out, B)(B, in)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B, 1.0f, g[l].data(), out,
                            a[l - 1].data(), in, 0.0f, dW[l].data(), in);
                // dx = g · W: (B, in) = (B, out)(out, in); not for layer 1 (its input is data)
                if (l >= 2)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1.0f, g[l].data(), out,
                                W[l].data(), in, 0.0f, dx[l - 1].data(), in);
            }
        }
        secs.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
    }

    std::vector<double> sorted = secs;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    std::printf("{\"system\": \"floor\", \"threads\": %d, \"batch_size\": %d, \"epochs\": %d, "
                "\"median_s_per_epoch\": %.4f, \"min_s\": %.4f, \"max_s\": %.4f, \"s_per_epoch\": [",
                threads, batch, epochs, median, sorted.front(), sorted.back());
    for (std::size_t i = 0; i < secs.size(); ++i) std::printf("%s%.4f", i ? ", " : "", secs[i]);
    std::printf("], \"batches_per_epoch\": %d, \"gflop_per_epoch\": %.3f, \"gflops\": %.2f, \"peak_rss_mb\": %.1f, "
                "\"openblas\": \"%s\", \"openblas_core\": \"%s\"}\n",
                nbatches, flop_per_epoch / 1e9, flop_per_epoch / median / 1e9, peak_rss_mb(), openblas_get_config(),
                openblas_get_corename());
    return 0;
}
