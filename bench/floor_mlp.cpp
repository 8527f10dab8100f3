// The physical floor of the benchmark workload (bench/README.md): only the GEMMs of one training
// epoch of the MLP 784-256-128-10 (--hidden 1024,1024: 784-1024-1024-10), as straight cblas_sgemm calls on preallocated buffers — no
// autograd, no activations, no loss, no optimizer, no data gathering. Per batch of B rows:
//   forward        y_l  = x_l · W_lᵀ            (3 GEMMs: layers 1, 2, 3)
//   weight grads   dW_l += g_lᵀ · x_l           (3 GEMMs, accumulating: beta = 1, as a fused step does)
//   input grads    dx_l = g_l · W_l             (2 GEMMs: layers 2 and 3; layer 1's input is data)
// with a Linear layer's row-major layouts: x (B, in), W (out, in), y and g (B, out).
// An epoch is ceil(60000 / B) batches, the last one partial (938 batches of 64, the last of 32).
// Prints one JSON line with the keys of bench_mlp that apply, plus "gflops" (median epoch).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "floor_util.hpp"

namespace {
using floor_util::kTrain;
}  // namespace

int main(int argc, char** argv) {
    int threads = 1, batch = 64, epochs = 5;
    std::vector<int> kDims{784, 256, 128, 10};
    if (const int rc = floor_util::parse(argc, argv, threads, batch, epochs, &kDims); rc >= 0) return rc;
    const int L = int(kDims.size()) - 1;  // layers

    // Buffers, sized for a full batch. Activations a[0] (the input) … a[3] (logits); gradients
    // g[l] of layer l's output; dx[l] of layer l's input (l = 1, 2); weights W and their grads dW.
    std::mt19937 rng(0);
    using floor_util::filled;
    std::vector<std::vector<float>> a(L + 1), g(L + 1), dx(L), W(L + 1), dW(L + 1);
    a[0] = filled(std::size_t(batch) * kDims[0], rng, 1.0f);
    for (int l = 1; l <= L; ++l) {
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
        for (int l = 1; l <= L; ++l) {
            const double mnk = B * kDims[l - 1] * kDims[l];
            flop_per_epoch += 2 * mnk * (l >= 2 ? 3 : 2);
        }
    }

    std::vector<double> secs;
    bench::GemmClock gemm;
    for (int e = 0; e < epochs; ++e) {
        gemm.start();
        const auto t0 = std::chrono::steady_clock::now();
        for (int b = 0; b < nbatches; ++b) {
            const int B = std::min(batch, kTrain - b * batch);
            for (int l = 1; l <= L; ++l) {  // forward: y = x · Wᵀ, (B, out) = (B, in)(in, out)
                const int in = kDims[l - 1], out = kDims[l];
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1.0f, a[l - 1].data(), in,
                            W[l].data(), in, 0.0f, a[l].data(), out);
            }
            for (int l = L; l >= 1; --l) {  // backward, last layer first
                const int in = kDims[l - 1], out = kDims[l];
                // dW += gᵀ · x: (out, in) = (out, B)(B, in). beta = 1, as when an optimizer's step is
                // fused into this GEMM (W += −lr·gᵀx): with beta = 0 OpenBLAS first clears C in a
                // separate pass (a memset of all of dW), which a framework can avoid
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B, 1.0f, g[l].data(), out,
                            a[l - 1].data(), in, 1.0f, dW[l].data(), in);
                // dx = g · W: (B, in) = (B, out)(out, in); not for layer 1 (its input is data)
                if (l >= 2)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1.0f, g[l].data(), out,
                                W[l].data(), in, 0.0f, dx[l - 1].data(), in);
            }
        }
        secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        gemm.stop();
    }

    floor_util::print_json(threads, batch, epochs, secs, nbatches, flop_per_epoch, gemm, &kDims);
    return 0;
}
