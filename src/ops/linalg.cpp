// matmul and linear through OpenBLAS.
#include <cblas.h>

#include <numeric>
#include <sstream>

#include <xtensor/xbroadcast.hpp>

#include "blas_size.hpp"
#include "internal.hpp"
#include "tapegrad/ops/linalg.hpp"

namespace tapegrad {
namespace detail {

namespace {
inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha, const float* A,
                      int lda, const float* B, int ldb, float beta, float* C, int ldc) {
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, double alpha, const double* A,
                      int lda, const double* B, int ldb, double beta, double* C, int ldc) {
    cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
}  // namespace

template <class T>
void gemm(const char* op, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
          std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc) {
    // every size is checked before anything is read or written: a wrapped int would make BLAS
    // skip the call (a negative size) or compute a corner of the product (a small one)
    const int m = blas_int(op, "matrix product rows (M)", M);
    const int n = blas_int(op, "matrix product columns (N)", N);
    const int k = blas_int(op, "matrix product inner size (K)", K);
    const int la = blas_int(op, "leading dimension of the left operand", lda);
    const int lb = blas_int(op, "leading dimension of the right operand", ldb);
    const int lc = blas_int(op, "leading dimension of the result", ldc);
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum: C = beta·C (BLAS would reject the leading dimension 0 and leave C as it was)
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = 0; j < N; ++j) {
                T& c = C[i * ldc + j];
                c = beta == T(0) ? T(0) : beta * c;
            }
        return;
    }
    // BLAS requires leading dimensions ≥ 1 even where a matrix has no elements to step over
    blas_gemm(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, A, std::max(la, 1), B,
              std::max(lb, 1), beta, C, std::max(lc, 1));
}
template void gemm<float>(const char*, bool, bool, std::size_t, std::size_t, std::size_t, float, const float*,
                          std::size_t, const float*, std::size_t, float, float*, std::size_t);
template void gemm<double>(const char*, bool, bool, std::size_t, std::size_t, std::size_t, double, const double*,
                           std::size_t, const double*, std::size_t, double, double*, std::size_t);

}  // namespace detail

namespace {

std::size_t prod(const Shape& s, std::size_t from, std::size_t to) {
    std::size_t p = 1;
    for (std::size_t i = from; i < to; ++i) p *= s[i];
    return p;
}

std::string mat_str(std::size_t r, std::size_t c) { return std::to_string(r) + "x" + std::to_string(c); }

// Copies `a` broadcast to `shape` into a contiguous array (no copy when already that shape).
template <class T> xt::xarray<T> broadcast_copy(const xt::xarray<T>& a, const Shape& shape) {
    if (shape_of(a) == shape) return a;
    return xt::xarray<T>(xt::broadcast(a, shape));
}
}  // namespace

// (…, n, k) × (…, k, m) → (…, n, m); 1-D operands promoted as torch.matmul does.
template <class T> Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
    const Shape sa = a.shape(), sb = b.shape();
    if (sa.empty() || sb.empty())
        throw ShapeError("matmul: both arguments to matmul need to be at least 1D, but they are " +
                         std::to_string(sa.size()) + "D and " + std::to_string(sb.size()) + "D (shapes " +
                         shape_str(sa) + " and " + shape_str(sb) + ")");
    // Promote 1-D operands to matrices; the added dim is removed from the result.
    Shape pa = sa.size() == 1 ? Shape{1, sa[0]} : sa;
    Shape pb = sb.size() == 1 ? Shape{sb[0], 1} : sb;
    const std::size_t n = pa[pa.size() - 2], k = pa.back(), k2 = pb[pb.size() - 2], m = pb.back();
    if (k != k2) {
        std::ostringstream os;
        if (sa.size() == 1 && sb.size() == 1)
            os << "matmul: inconsistent tensor size, expected tensor [" << sa[0] << "] and src [" << sb[0]
               << "] to have the same number of elements, but got " << sa[0] << " and " << sb[0]
               << " elements respectively";
        else
            os << "matmul: mat1 and mat2 shapes cannot be multiplied (" << mat_str(n, k) << " and " << mat_str(k2, m)
               << ") (shapes " << shape_str(sa) << " and " << shape_str(sb) << ")";
        throw ShapeError(os.str());
    }
    Shape batch_a(pa.begin(), pa.end() - 2), batch_b(pb.begin(), pb.end() - 2);
    Shape batch = detail::broadcast_shapes("matmul", batch_a, batch_b);
    const std::size_t nb = prod(batch, 0, batch.size());
    Shape fa = batch, fb = batch;
    fa.insert(fa.end(), {n, k});
    fb.insert(fb.end(), {k, m});
    xt::xarray<T> A = broadcast_copy(xt::xarray<T>(xt::reshape_view(a.value(), pa)), fa);
    xt::xarray<T> B = broadcast_copy(xt::xarray<T>(xt::reshape_view(b.value(), pb)), fb);

    Shape full = batch;
    full.insert(full.end(), {n, m});
    xt::xarray<T> C = xt::xarray<T>::from_shape(full);
    for (std::size_t i = 0; i < nb; ++i)
        detail::gemm("matmul", false, false, n, m, k, T(1), A.data() + i * n * k, k, B.data() + i * k * m, m, T(0),
             C.data() + i * n * m, m);
    Shape out_shape = batch;
    if (sa.size() > 1) out_shape.push_back(n);
    if (sb.size() > 1) out_shape.push_back(m);
    C.reshape(out_shape);
    Tensor<T> out(std::move(C));
    if (!needs_grad({a, b})) return out;

    const bool plain = sa.size() == 2 && sb.size() == 2;
    record<T>(out, "matmul", {a, b},
              [a, b, A, B, n, k, m, nb, pa, pb, fa, fb, plain](const xt::xarray<T>& g, const xt::xarray<T>&) {
                  const T* G = g.data();
                  if (plain) {  // accumulate straight into the gradient buffers (beta = 1)
                      bool acc = false;
                      if (a.requires_grad()) {
                          auto& ga = a.grad_buffer(acc);
                          detail::gemm("matmul", false, true, n, k, m, T(1), G, m, B.data(), m, T(acc), ga.data(), k);
                      }
                      if (b.requires_grad()) {
                          auto& gb = b.grad_buffer(acc);
                          detail::gemm("matmul", true, false, k, m, n, T(1), A.data(), k, G, m, T(acc), gb.data(), m);
                      }
                      return;
                  }
                  if (a.requires_grad()) {
                      xt::xarray<T> ga = xt::xarray<T>::from_shape(fa);
                      for (std::size_t i = 0; i < nb; ++i)
                          detail::gemm("matmul", false, true, n, k, m, T(1), G + i * n * m, m, B.data() + i * k * m, m, T(0),
                               ga.data() + i * n * k, k);
                      xt::xarray<T> r = detail::sum_to(ga, pa);
                      r.reshape(a.shape());
                      a.accumulate_grad(r);
                  }
                  if (b.requires_grad()) {
                      xt::xarray<T> gb = xt::xarray<T>::from_shape(fb);
                      for (std::size_t i = 0; i < nb; ++i)
                          detail::gemm("matmul", true, false, k, m, n, T(1), A.data() + i * n * k, k, G + i * n * m, m, T(0),
                               gb.data() + i * k * m, m);
                      xt::xarray<T> r = detail::sum_to(gb, pb);
                      r.reshape(b.shape());
                      b.accumulate_grad(r);
                  }
              });
    TAPEGRAD_REPLAY(out, matmul(in[0], in[1]));
    return out;
}

// y = x·Wᵀ + b over the last dim of x: x (*, in), W (out, in), b (out) → (*, out).
// dx = g·W, dW = gᵀ·x, db = Σ_rows g — each accumulated in place by the GEMM (beta = 1); dx first,
// so that an optimizer's step fused into dW's GEMM (take_direct_step) comes after W's last use.
template <class T> Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias) {
    const Shape sx = x.shape(), sw = w.shape();
    if (sw.size() != 2)
        throw ShapeError("linear: weight must be 2-D (out_features, in_features), got shape " + shape_str(sw));
    if (sx.empty() || sx.back() != sw[1]) {
        std::ostringstream os;
        std::size_t rows = sx.empty() ? 1 : prod(sx, 0, sx.size() - 1);
        os << "linear: mat1 and mat2 shapes cannot be multiplied (" << mat_str(rows, sx.empty() ? 1 : sx.back())
           << " and " << mat_str(sw[1], sw[0]) << ") (input " << shape_str(sx) << ", weight " << shape_str(sw) << ")";
        throw ShapeError(os.str());
    }
    const std::size_t in = sw[1], nout = sw[0], R = prod(sx, 0, sx.size() - 1);
    if (bias.defined() && bias.shape() != Shape{nout})
        throw ShapeError("linear: bias must have shape " + shape_str({nout}) + " to match weight " + shape_str(sw) +
                         ", got " + shape_str(bias.shape()));
    Shape so(sx.begin(), sx.end() - 1);
    so.push_back(nout);
    xt::xarray<T> Y = xt::xarray<T>::from_shape(so);
    T* py = Y.data();
    if (bias.defined()) {
        const T* pb = bias.value().data();
        for (std::size_t r = 0; r < R; ++r) std::copy(pb, pb + nout, py + r * nout);
    }
    detail::gemm("linear", false, true, R, nout, in, T(1), x.value().data(), in, w.value().data(), in, T(bias.defined()), py, nout);
    Tensor<T> out(std::move(Y));
    if (!needs_grad({x, w, bias})) return out;
    record<T>(out, "linear", {x, w, bias}, [x, w, bias, R, in, nout](const xt::xarray<T>& g, const xt::xarray<T>&) {
        const T* G = g.data();
        bool acc = false;
        if (x.requires_grad()) {
            auto& gx = x.grad_buffer(acc);
            detail::gemm("linear", false, false, R, in, nout, T(1), G, nout, w.value().data(), in, T(acc), gx.data(), in);
        }
        double lr = 0;
        if (w.requires_grad()) {
            if (detail::take_direct_step(w, lr)) {  // an optimizer's plain step, fused: W ← W − lr·gᵀx
                Tensor<T> wm = w;
                detail::gemm("linear", true, false, nout, in, R, T(-lr), G, nout, x.value().data(), in, T(1),
                             wm.mutable_value().data(), in);
            } else {
                auto& gw = w.grad_buffer(acc);
                detail::gemm("linear", true, false, nout, in, R, T(1), G, nout, x.value().data(), in, T(acc), gw.data(), in);
            }
        }
        if (bias.defined() && bias.requires_grad()) {
            const bool direct = detail::take_direct_step(bias, lr);
            thread_local std::vector<T> sum;  // the fused step's column sums, reused step after step
            T* pb = nullptr;
            if (direct) {
                sum.assign(nout, T(0));
                pb = sum.data();
            } else {
                auto& gb = bias.grad_buffer(acc);
                pb = gb.data();
                if (!acc) std::fill(pb, pb + nout, T(0));
            }
            for (std::size_t r = 0; r < R; ++r)
                for (std::size_t j = 0; j < nout; ++j) pb[j] += G[r * nout + j];
            if (direct) {
                Tensor<T> bm = bias;
                T* pv = bm.mutable_value().data();
                for (std::size_t j = 0; j < nout; ++j) pv[j] = pv[j] + T(-lr) * pb[j];
            }
        }
    });
    TAPEGRAD_REPLAY(out, linear(in[0], in[1], in[2]));
    return out;
}

template Tensor<float> matmul(const Tensor<float>&, const Tensor<float>&);
template Tensor<double> matmul(const Tensor<double>&, const Tensor<double>&);
template Tensor<float> linear(const Tensor<float>&, const Tensor<float>&, const Tensor<float>&);
template Tensor<double> linear(const Tensor<double>&, const Tensor<double>&, const Tensor<double>&);

}  // namespace tapegrad
