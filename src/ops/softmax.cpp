// softmax and log_softmax over a dim, stable: the max along the dim is subtracted first.
#include <cmath>
#include <limits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "internal.hpp"
#include "tapegrad/ops/softmax.hpp"

namespace tapegrad {
namespace detail {

Lines lines_around(const Shape& s, std::size_t dim) {
    Lines r;
    if (s.empty()) return r;
    for (std::size_t i = 0; i < dim; ++i) r.outer *= s[i];
    r.len = s[dim];
    for (std::size_t i = dim + 1; i < s.size(); ++i) r.inner *= s[i];
    return r;
}

namespace {
// Contiguous row: max, then e = exp(x − m) written to e_out and summed, all in SIMD batches.
template <class T> void softmax_contiguous(const T* x, std::size_t C, T* e_out, T& m, T& s) {
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    const std::size_t body = C - C % W;
    m = -std::numeric_limits<T>::infinity();
    if (body) {
        B bm = B::load_unaligned(x);
        for (std::size_t c = W; c < body; c += W) bm = xsimd::max(bm, B::load_unaligned(x + c));
        alignas(64) T lanes[W];
        bm.store_aligned(lanes);
        for (std::size_t k = 0; k < W; ++k) m = lanes[k] > m ? lanes[k] : m;
    }
    for (std::size_t c = body; c < C; ++c) m = x[c] > m ? x[c] : m;
    // Rows holding NaN or ±inf take the scalar path, where IEEE rules make NaN poison the row and
    // inf − inf give NaN as torch does (xsimd's exp converts its argument to an integer exponent,
    // which is undefined for NaN and ±inf).
    bool finite = true;
    for (std::size_t c = 0; c < C; ++c) finite &= std::isfinite(x[c]);
    s = 0;
    if (!finite) {
        for (std::size_t c = 0; c < C; ++c) {
            e_out[c] = std::exp(x[c] - m);
            s += e_out[c];
        }
        return;
    }
    // Every argument is ≤ 0; below −1000 exp is exactly 0 in float and double alike (double underflows below −745), and clamping there keeps
    // xsimd's integer exponent in range for logits such as −9e19.
    const B bmax(m), floor_arg(T(-1000));
    B acc(T(0));
    for (std::size_t c = 0; c < body; c += W) {
        B e = xsimd::exp(xsimd::max(B::load_unaligned(x + c) - bmax, floor_arg));
        e.store_unaligned(e_out + c);
        acc += e;
    }
    s = xsimd::hadd(acc);
    for (std::size_t c = body; c < C; ++c) {
        e_out[c] = std::exp(x[c] - m);
        s += e_out[c];
    }
}
template <class T> std::vector<T>& scratch(std::size_t n) {
    thread_local std::vector<T> buf;
    if (buf.size() < n) buf.resize(n);
    return buf;
}
}  // namespace

template <class T> void softmax_row(const T* x, std::size_t C, std::size_t stride, T* p, T& m, T& lse) {
    T s = 0;
    if (stride == 1 && p) {
        softmax_contiguous(x, C, p, m, s);
    } else {
        auto& buf = scratch<T>(2 * C);
        T* xs = buf.data();
        T* e = buf.data() + C;
        const T* src = x;
        if (stride != 1) {
            for (std::size_t c = 0; c < C; ++c) xs[c] = x[c * stride];
            src = xs;
        }
        softmax_contiguous(src, C, e, m, s);
        if (p)
            for (std::size_t c = 0; c < C; ++c) p[c * stride] = e[c];
    }
    lse = std::log(s);
    if (p) {
        const T inv = T(1) / s;
        for (std::size_t c = 0; c < C; ++c) p[c * stride] *= inv;
    }
}
template void softmax_row(const float*, std::size_t, std::size_t, float*, float&, float&);
template void softmax_row(const double*, std::size_t, std::size_t, double*, double&, double&);

template <class T> void log_softmax_kernel(const T* x, T* logp, T* prob, Lines ln) {
    for (std::size_t o = 0; o < ln.outer; ++o)
        for (std::size_t i = 0; i < ln.inner; ++i) {
            const std::size_t base = o * ln.len * ln.inner + i, st = ln.inner;
            T m, lse;
            softmax_row(x + base, ln.len, st, prob ? prob + base : nullptr, m, lse);
            if (logp)
                for (std::size_t l = 0; l < ln.len; ++l) logp[base + l * st] = (x[base + l * st] - m) - lse;
        }
}
template void log_softmax_kernel(const float*, float*, float*, Lines);
template void log_softmax_kernel(const double*, double*, double*, Lines);

}  // namespace detail

namespace {
using detail::Lines;
}

// y = exp(x − max) / Σ exp(x − max); dx = y ⊙ (g − Σ_dim g⊙y)
template <class T> Tensor<T> softmax(const Tensor<T>& a, std::ptrdiff_t dim_) {
    const Shape s = a.shape();
    const Lines ln = detail::lines_around(s, detail::wrap_dim("softmax", dim_, s.size()));
    xt::xarray<T> logp = xt::xarray<T>::from_shape(s), p = xt::xarray<T>::from_shape(s);
    detail::log_softmax_kernel(a.value().data(), logp.data(), p.data(), ln);
    Tensor<T> out(std::move(p));
    if (needs_grad({a}))
        record<T>(out, "softmax", {a}, [a, ln](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            bool acc = false;
            auto& buf = a.grad_buffer(acc);
            const T *pg = g.data(), *py = y.data();
            T* pb = buf.data();
            for (std::size_t o = 0; o < ln.outer; ++o)
                for (std::size_t i = 0; i < ln.inner; ++i) {
                    const std::size_t base = o * ln.len * ln.inner + i;
                    T dot = 0;
                    for (std::size_t l = 0; l < ln.len; ++l) dot += pg[base + l * ln.inner] * py[base + l * ln.inner];
                    for (std::size_t l = 0; l < ln.len; ++l) {
                        const std::size_t k = base + l * ln.inner;
                        T v = py[k] * (pg[k] - dot);
                        pb[k] = acc ? pb[k] + v : v;
                    }
                }
        });
    TAPEGRAD_REPLAY(out, softmax(in[0], dim_));
    return out;
}

// y = (x − max) − log Σ exp(x − max); dx = g − exp(y) ⊙ Σ_dim g
template <class T> Tensor<T> log_softmax(const Tensor<T>& a, std::ptrdiff_t dim_) {
    const Shape s = a.shape();
    const Lines ln = detail::lines_around(s, detail::wrap_dim("log_softmax", dim_, s.size()));
    xt::xarray<T> logp = xt::xarray<T>::from_shape(s);
    detail::log_softmax_kernel<T>(a.value().data(), logp.data(), nullptr, ln);
    Tensor<T> out(std::move(logp));
    if (needs_grad({a}))
        record<T>(out, "log_softmax", {a}, [a, ln](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            bool acc = false;
            auto& buf = a.grad_buffer(acc);
            const T *pg = g.data(), *py = y.data();
            T* pb = buf.data();
            for (std::size_t o = 0; o < ln.outer; ++o)
                for (std::size_t i = 0; i < ln.inner; ++i) {
                    const std::size_t base = o * ln.len * ln.inner + i;
                    T gs = 0;
                    for (std::size_t l = 0; l < ln.len; ++l) gs += pg[base + l * ln.inner];
                    for (std::size_t l = 0; l < ln.len; ++l) {
                        const std::size_t k = base + l * ln.inner;
                        T v = pg[k] - std::exp(py[k]) * gs;
                        pb[k] = acc ? pb[k] + v : v;
                    }
                }
        });
    TAPEGRAD_REPLAY(out, log_softmax(in[0], dim_));
    return out;
}

template Tensor<float> softmax(const Tensor<float>&, std::ptrdiff_t);
template Tensor<double> softmax(const Tensor<double>&, std::ptrdiff_t);
template Tensor<float> log_softmax(const Tensor<float>&, std::ptrdiff_t);
template Tensor<double> log_softmax(const Tensor<double>&, std::ptrdiff_t);

}  // namespace tapegrad
