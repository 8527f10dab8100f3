// softmax and log_softmax over a dim, stable: the max along the dim is subtracted first.
#include <cmath>
#include <limits>
#include <vector>

#include "ops_common.hpp"

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

template <class T> void log_softmax_kernel(const T* x, T* logp, T* prob, Lines ln) {
    for (std::size_t o = 0; o < ln.outer; ++o)
        for (std::size_t i = 0; i < ln.inner; ++i) {
            const T* xs = x + o * ln.len * ln.inner + i;
            T* ls = logp + o * ln.len * ln.inner + i;
            const std::size_t st = ln.inner;
            T m = -std::numeric_limits<T>::infinity();
            bool nan = false;
            for (std::size_t l = 0; l < ln.len; ++l) {
                nan |= std::isnan(xs[l * st]);
                if (xs[l * st] > m) m = xs[l * st];
            }
            if (nan) m = std::numeric_limits<T>::quiet_NaN();
            // every exp argument is ≤ 0, so nothing overflows; the largest term is exp(0) = 1
            T s = 0;
            for (std::size_t l = 0; l < ln.len; ++l) s += std::exp(xs[l * st] - m);
            const T lse = std::log(s);
            for (std::size_t l = 0; l < ln.len; ++l) ls[l * st] = (xs[l * st] - m) - lse;
            if (prob) {
                T* ps = prob + o * ln.len * ln.inner + i;
                for (std::size_t l = 0; l < ln.len; ++l) ps[l * st] = std::exp(ls[l * st]);
            }
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
    return out;
}

template Tensor<float> softmax(const Tensor<float>&, std::ptrdiff_t);
template Tensor<double> softmax(const Tensor<double>&, std::ptrdiff_t);
template Tensor<float> log_softmax(const Tensor<float>&, std::ptrdiff_t);
template Tensor<double> log_softmax(const Tensor<double>&, std::ptrdiff_t);

}  // namespace tapegrad
