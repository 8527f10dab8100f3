// What floor_mlp and floor_cnn share: their three flags, random operands, and the JSON line.
#pragma once

#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gemm_clock.hpp"
#include "memory.hpp"

namespace floor_util {
using bench::peak_rss_mb;
constexpr int kTrain = 60000;  // images per epoch


inline int usage(const char* argv0) {
    std::fprintf(stderr, "usage: %s [--threads N] [--batch-size N] [--epochs N] [--hidden W,W,... (MLP only)]\n",
                 argv0);
    return 2;
}

inline bool parse_int(const char* s, int& out) {
    char* end = nullptr;
    const long v = std::strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 1 || v > 1000000) return false;
    out = int(v);
    return true;
}

// "1024,1024" → dims = {dims.front(), 1024, 1024, 10}; false on anything else.
inline bool parse_hidden(const char* s, std::vector<int>& dims) {
    std::vector<int> widths;
    const std::string text(s);
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        int w = 0;
        if (!parse_int(text.substr(start, comma - start).c_str(), w)) return false;
        widths.push_back(w);
        start = comma + 1;
    }
    const int in = dims.front(), out = dims.back();
    dims.assign(1, in);
    dims.insert(dims.end(), widths.begin(), widths.end());
    dims.push_back(out);
    return true;
}

// --threads, --batch-size, --epochs (and --hidden when mlp_dims is given); -1 to go on, else the exit code. Sets OpenBLAS's threads.
inline int parse(int argc, char** argv, int& threads, int& batch, int& epochs, std::vector<int>* mlp_dims = nullptr) {
    for (int i = 1; i < argc; ++i) {
        if (mlp_dims && !std::strcmp(argv[i], "--hidden")) {
            if (i + 1 >= argc || !parse_hidden(argv[i + 1], *mlp_dims)) return usage(argv[0]);
            ++i;
            continue;
        }
        int* target = nullptr;
        if (!std::strcmp(argv[i], "--threads")) target = &threads;
        else if (!std::strcmp(argv[i], "--batch-size")) target = &batch;
        else if (!std::strcmp(argv[i], "--epochs")) target = &epochs;
        else if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) return usage(argv[0]), 0;
        if (!target || i + 1 >= argc || !parse_int(argv[i + 1], *target)) return usage(argv[0]);
        ++i;
    }
    openblas_set_num_threads(threads);
    return -1;
}

inline std::vector<float> filled(std::size_t n, std::mt19937& rng, float scale) {
    std::uniform_real_distribution<float> d(-scale, scale);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

inline void print_json(int threads, int batch, int epochs, const std::vector<double>& secs, int nbatches,
                       double flop_per_epoch, const bench::GemmClock& gemm,
                       const std::vector<int>* mlp_dims = nullptr) {
    std::vector<double> sorted = secs;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    std::printf("{\"system\": \"floor\", \"threads\": %d, \"batch_size\": %d, \"epochs\": %d, "
                "\"median_s_per_epoch\": %.4f, \"min_s\": %.4f, \"max_s\": %.4f, \"s_per_epoch\": [",
                threads, batch, epochs, median, sorted.front(), sorted.back());
    for (std::size_t i = 0; i < secs.size(); ++i) std::printf("%s%.4f", i ? ", " : "", secs[i]);
    if (mlp_dims) {
        std::printf("], \"hidden\": [");
        for (std::size_t i = 1; i + 1 < mlp_dims->size(); ++i) std::printf("%s%d", i > 1 ? ", " : "", (*mlp_dims)[i]);
    }
    std::printf("], \"batches_per_epoch\": %d, \"gflop_per_epoch\": %.3f, \"gflops\": %.2f, \"peak_rss_mb\": %.1f, "
                "\"openblas\": \"%s\", \"openblas_core\": \"%s\"%s}\n",
                nbatches, flop_per_epoch / 1e9, flop_per_epoch / median / 1e9, peak_rss_mb(), openblas_get_config(),
                openblas_get_corename(), gemm.json().c_str());
}
}  // namespace floor_util
