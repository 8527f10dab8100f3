// The GEMM-only floor of the CNN benchmark workload (bench/README.md): the GEMMs that lowering the
// CNN's convolutions to im2col and its Linear layers to matrix products needs in one training
// epoch, as straight cblas_sgemm calls on preallocated buffers with the batch folded into each
// GEMM — no im2col itself, no activations, pooling, loss or optimizer. Per batch of B images:
//   conv1 1→32, 3×3 on 28×28   forward Y(32, 784B) = W(32, 9)·cols(9, 784B)
//                              weight  dW(32, 9) = G(32, 784B)·colsᵀ          (no input grad: data)
//   conv2 32→64, 3×3 on 14×14  forward Y(64, 196B) = W(64, 288)·cols(288, 196B)
//                              weight  dW(64, 288) = G(64, 196B)·colsᵀ
//                              input   dcols(288, 196B) = Wᵀ·G
//   fc1 3136→128, fc2 128→10   as floor_mlp: y = x·Wᵀ, dW = gᵀ·x, dx = g·W
// An epoch is ceil(60000 / B) batches, the last one partial. Prints one JSON line with the keys of
// bench_cnn that apply, plus "gflops" (median epoch).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "floor_util.hpp"

namespace {
// One GEMM of a batch: C(M, N) = op(A)·op(B), row-major; M, N or K is multiplied by the batch size
// where its flag is set.
struct Gemm {
    bool ta, tb;
    int m, n, k;
    bool m_b, n_b, k_b;
};
}  // namespace

int main(int argc, char** argv) {
    int threads = 1, batch = 64, epochs = 3;
    if (const int rc = floor_util::parse(argc, argv, threads, batch, epochs); rc >= 0) return rc;

    const Gemm gemms[] = {
        {false, false, 32, 784, 9, false, true, false},     // conv1 forward
        {false, true, 32, 9, 784, false, false, true},      // conv1 weight grad
        {false, false, 64, 196, 288, false, true, false},   // conv2 forward
        {false, true, 64, 288, 196, false, false, true},    // conv2 weight grad
        {true, false, 288, 196, 64, false, true, false},    // conv2 input grad (columns)
        {false, true, 1, 128, 3136, true, false, false},    // fc1 forward
        {true, false, 128, 3136, 1, false, false, true},    // fc1 weight grad
        {false, false, 1, 3136, 128, true, false, false},   // fc1 input grad
        {false, true, 1, 10, 128, true, false, false},      // fc2 forward
        {true, false, 10, 128, 1, false, false, true},      // fc2 weight grad
        {false, false, 1, 128, 10, true, false, false},     // fc2 input grad
    };
    // operands for the largest (full) batch, random; one A, B and C per GEMM
    std::mt19937 rng(0);
    std::vector<std::vector<float>> A, B, C;
    for (const Gemm& g : gemms) {
        const std::size_t m = std::size_t(g.m) * (g.m_b ? batch : 1), n = std::size_t(g.n) * (g.n_b ? batch : 1),
                          k = std::size_t(g.k) * (g.k_b ? batch : 1);
        A.push_back(floor_util::filled(m * k, rng, 1.0f));
        B.push_back(floor_util::filled(k * n, rng, 0.01f));
        C.emplace_back(m * n, 0.0f);
    }

    const int nbatches = (floor_util::kTrain + batch - 1) / batch;
    double flop_per_epoch = 0;
    for (int b = 0; b < nbatches; ++b) {
        const double Bn = std::min(batch, floor_util::kTrain - b * batch);
        for (const Gemm& g : gemms)
            flop_per_epoch += 2.0 * g.m * (g.m_b ? Bn : 1) * g.n * (g.n_b ? Bn : 1) * g.k * (g.k_b ? Bn : 1);
    }

    std::vector<double> secs;
    bench::GemmClock gemm;
    for (int e = 0; e < epochs; ++e) {
        gemm.start();
        const auto t0 = std::chrono::steady_clock::now();
        for (int b = 0; b < nbatches; ++b) {
            const int Bn = std::min(batch, floor_util::kTrain - b * batch);
            for (std::size_t i = 0; i < sizeof gemms / sizeof gemms[0]; ++i) {
                const Gemm& g = gemms[i];
                const int m = g.m * (g.m_b ? Bn : 1), n = g.n * (g.n_b ? Bn : 1), k = g.k * (g.k_b ? Bn : 1);
                cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, m, n, k,
                            1.0f, A[i].data(), g.ta ? m : k, B[i].data(), g.tb ? k : n, 0.0f, C[i].data(), n);
            }
        }
        secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        gemm.stop();
    }
    floor_util::print_json(threads, batch, epochs, secs, nbatches, flop_per_epoch, gemm);
    return 0;
}
