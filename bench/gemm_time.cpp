/* Where the time goes (bench/README.md, "Inside and outside the GEMMs"): a shim that
 * run_bench.py puts in front of OpenBLAS with LD_PRELOAD. It times every single-precision GEMM
 * call — cblas_sgemm (tapegrad, the floors) and the Fortran sgemm_ (libtorch goes through
 * libblas.so.3) — and passes it on unchanged to the next library that defines it. A benchmark
 * program that finds tapegrad_bench_gemm_seconds (dlsym, bench/gemm_clock.hpp) reads it at
 * every epoch's start and end and prints the seconds of each epoch spent inside GEMM calls.
 * The wall time of a call is measured on the calling thread, so with several OpenBLAS threads it
 * includes their start and their wait at the end. Cost: two clock_gettime per call (~50 ns
 * against 30 µs or more for the GEMMs of these workloads). */
#include <cblas.h>
#include <dlfcn.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace {
std::atomic<long long> gemm_ns{0};

long long now_ns() {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

void* next_definition(const char* name) {
    void* f = dlsym(RTLD_NEXT, name);
    if (!f) {
        std::fprintf(stderr, "gemm_time: no %s after the shim (is the program linked to a BLAS?)\n", name);
        std::abort();
    }
    return f;
}
}  // namespace

extern "C" {

double tapegrad_bench_gemm_seconds() { return double(gemm_ns.load()) * 1e-9; }

using cblas_sgemm_fn = void (*)(CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint,
                               blasint, float, const float*, blasint, const float*, blasint, float, float*, blasint);

void cblas_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n,
                 blasint k, float alpha, const float* a, blasint lda, const float* b, blasint ldb, float beta, float* c,
                 blasint ldc) {
    static cblas_sgemm_fn next;
    if (!next) next = reinterpret_cast<cblas_sgemm_fn>(next_definition("cblas_sgemm"));
    const long long t0 = now_ns();
    next(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    gemm_ns += now_ns() - t0;
}

using sgemm_fn = void (*)(const char*, const char*, const blasint*, const blasint*, const blasint*, const float*,
                         const float*, const blasint*, const float*, const blasint*, const float*, float*,
                         const blasint*);

void sgemm_(const char* ta, const char* tb, const blasint* m, const blasint* n, const blasint* k, const float* alpha,
            const float* a, const blasint* lda, const float* b, const blasint* ldb, const float* beta, float* c,
            const blasint* ldc) {
    static sgemm_fn next;
    if (!next) next = reinterpret_cast<sgemm_fn>(next_definition("sgemm_"));
    const long long t0 = now_ns();
    next(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    gemm_ns += now_ns() - t0;
}
}  // extern "C"
