#pragma once
// Private helpers shared by the op implementations (not installed).
#include <algorithm>
#include <functional>

#include <xtensor/xarray.hpp>

#include "tapegrad/ops/common.hpp"
#include "tapegrad/core/tape.hpp"

namespace tapegrad {
namespace detail {

template <class A, class B> bool shapes_equal(const A& a, const B& b) {
    return a.dimension() == b.dimension() && std::equal(a.shape().begin(), a.shape().end(), b.shape().begin());
}

template <class T> Shape shape_of(const xt::xarray<T>& a) { return Shape(a.shape().begin(), a.shape().end()); }
template <class A> Shape shape_of_any(const A& a) { return Shape(a.shape().begin(), a.shape().end()); }

// Row-major C = alpha·op(A)·op(B) + beta·C through OpenBLAS (src/ops/linalg.cpp); op(A) is M×K,
// op(B) is K×N. Any of M, N, K may be 0 (K = 0 gives beta·C, zeros when beta is 0, as torch's
// empty products). A size or leading dimension above INT_MAX, which BLAS's int cannot hold, is a
// ShapeError naming `op` and the dimension.
template <class T>
void gemm(const char* op, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
          std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc);

// f(begin, end) over a split of [0, n) into at most get_num_threads() contiguous parts, run on
// tapegrad's pool with the calling thread taking the first part; returns when all are done and
// rethrows the first exception a part threw. GEMMs inside a part are single-threaded. Serial when
// one thread is set, inside another parallel_for, or while another thread's job holds the pool.
// Callers cut their work into pieces that do not depend on the thread count, so results do not.
void parallel_for(std::size_t n, const std::function<void(std::size_t, std::size_t)>& f);

// Accumulates g into x's gradient, summing broadcast dims back to x's shape first.
template <class T> void accumulate_to(const Tensor<T>& x, const xt::xarray<T>& g) {
    if (shapes_equal(g, x.value()))
        x.accumulate_grad(g);
    else
        x.accumulate_grad(sum_to(g, x.shape()));
}

}  // namespace detail
using detail::shape_of;
using detail::shape_of_any;
}  // namespace tapegrad

namespace tapegrad {
namespace detail {
// A tensor seen as (outer, len, inner) around one dim: element (o, l, i) is at (o·len + l)·inner + i.
struct Lines {
    std::size_t outer = 1, len = 1, inner = 1;
};
Lines lines_around(const Shape& s, std::size_t dim);

// One softmax row of length C read with stride `stride`: returns its max m and lse = log Σ exp(x − m),
// and writes exp(x − m)/Σ into p (same stride) when p is not null. One exp per element (SIMD).
template <class T> void softmax_row(const T* x, std::size_t C, std::size_t stride, T* p, T& m, T& lse);

// Stable log-softmax along the middle axis of (outer, len, inner): logp = (x − max) − log Σ exp(x − max).
// Either output may be null; prob receives the softmax, computed in the same pass.
template <class T> void log_softmax_kernel(const T* x, T* logp, T* prob, Lines ln);

// Σ f(k) for k < n in L interleaved partial sums, added up at the end in neighbouring pairs
// (L = 8: ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))): one fixed order, so results are
// reproducible, and the compiler keeps the lanes in a vector register instead of waiting on each
// add as a single running sum does. conv2d's bias gradient (8 lanes), batch_norm's channel sums (16).
template <class T, std::size_t L = 8, class F> T sum_lanes(std::size_t n, F f) {
    static_assert(L > 0 && (L & (L - 1)) == 0, "sum_lanes: the number of lanes is a power of 2");
    T acc[L] = {};
    std::size_t k = 0;
    for (; k + L <= n; k += L)
        for (std::size_t j = 0; j < L; ++j) acc[j] += f(k + j);
    for (std::size_t j = 0; k < n; ++k, ++j) acc[j] += f(k);
    for (std::size_t w = L / 2; w > 0; w /= 2)
        for (std::size_t j = 0; j < w; ++j) acc[j] = acc[2 * j] + acc[2 * j + 1];
    return acc[0];
}
}  // namespace detail
}  // namespace tapegrad
