// Reductions: sum, mean, max — over everything or over one dim with keepdim.
#include <cmath>
#include <limits>

#include "internal.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tapegrad {
namespace {

using detail::Lines;
Shape reduced_shape(const Shape& s, std::size_t dim, bool keepdim) {
    if (s.empty()) return s;
    Shape r = s;
    if (keepdim)
        r[dim] = 1;
    else
        r.erase(r.begin() + static_cast<std::ptrdiff_t>(dim));
    return r;
}
// Gradient of sum over dim, divided: every element along dim receives g / divisor (torch's mean
// backward divides; g · (1/n) would round differently).
template <class T> void spread_back(const Tensor<T>& a, const xt::xarray<T>& g, Lines sp, T divisor) {
    bool acc = false;
    auto& buf = a.grad_buffer(acc);
    T* pb = buf.data();
    const T* pg = g.data();
    for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t l = 0; l < sp.len; ++l)
            for (std::size_t i = 0; i < sp.inner; ++i) {
                T v = divisor == T(1) ? pg[o * sp.inner + i] : pg[o * sp.inner + i] / divisor;
                T& dst = pb[(o * sp.len + l) * sp.inner + i];
                dst = acc ? dst + v : v;
            }
}
}  // namespace

// Σ a → 0-d; gradient 1 everywhere
template <class T> Tensor<T> sum(const Tensor<T>& a) {
    T s = 0;
    for (T x : a.value()) s += x;
    Tensor<T> out = Tensor<T>::scalar(s);
    if (needs_grad({a}))
        record<T>(out, "sum", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            spread_back(a, g, Lines{1, a.numel(), 1}, T(1));
        });
    return out;
}

// Σ over dim; gradient broadcast back along dim
template <class T> Tensor<T> sum(const Tensor<T>& a, std::ptrdiff_t dim_, bool keepdim) {
    const Shape s = a.shape();
    const std::size_t dim = detail::wrap_dim("sum", dim_, s.size());
    const Lines sp = detail::lines_around(s, dim);
    xt::xarray<T> r = xt::zeros<T>(reduced_shape(s, dim, keepdim));
    const T* pa = a.value().data();
    T* pr = r.data();
    for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t l = 0; l < sp.len; ++l)
            for (std::size_t i = 0; i < sp.inner; ++i) pr[o * sp.inner + i] += pa[(o * sp.len + l) * sp.inner + i];
    Tensor<T> out(std::move(r));
    if (needs_grad({a}))
        record<T>(out, "sum_dim", {a}, [a, sp](const xt::xarray<T>& g, const xt::xarray<T>&) {
            spread_back(a, g, sp, T(1));
        });
    return out;
}

// Σ a / n; gradient g / n everywhere (an empty tensor gives nan, as torch)
template <class T> Tensor<T> mean(const Tensor<T>& a) {
    const std::size_t n = a.numel();
    T s = 0;
    for (T x : a.value()) s += x;
    Tensor<T> out = Tensor<T>::scalar(n ? s / T(n) : std::numeric_limits<T>::quiet_NaN());
    if (needs_grad({a}))
        record<T>(out, "mean", {a}, [a, n](const xt::xarray<T>& g, const xt::xarray<T>&) {
            spread_back(a, g, Lines{1, n, 1}, T(n));
        });
    return out;
}

template <class T> Tensor<T> mean(const Tensor<T>& a, std::ptrdiff_t dim_, bool keepdim) {
    const Shape s = a.shape();
    const std::size_t dim = detail::wrap_dim("mean", dim_, s.size());
    const Lines sp = detail::lines_around(s, dim);
    xt::xarray<T> r = xt::zeros<T>(reduced_shape(s, dim, keepdim));
    const T* pa = a.value().data();
    T* pr = r.data();
    for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t l = 0; l < sp.len; ++l)
            for (std::size_t i = 0; i < sp.inner; ++i) pr[o * sp.inner + i] += pa[(o * sp.len + l) * sp.inner + i];
    // sum / n as torch (0 / 0 = nan over an empty dim)
    const T n = T(sp.len);
    for (auto& v : r) v /= n;
    Tensor<T> out(std::move(r));
    if (needs_grad({a}))
        record<T>(out, "mean_dim", {a}, [a, sp, n](const xt::xarray<T>& g, const xt::xarray<T>&) {
            spread_back(a, g, sp, n);
        });
    return out;
}

// max over everything; ties share the gradient evenly (torch's evenly_distribute_backward)
template <class T> Tensor<T> max(const Tensor<T>& a) {
    if (a.numel() == 0)
        throw ValueError("max: Expected reduction dim to be specified for input.numel() == 0. Specify the reduction "
                         "dim with the 'dim' argument.");
    T m = -std::numeric_limits<T>::infinity();
    bool nan = false;
    for (T x : a.value()) {
        if (std::isnan(x)) nan = true;
        if (x > m) m = x;
    }
    if (nan) m = std::numeric_limits<T>::quiet_NaN();  // torch propagates nan
    Tensor<T> out = Tensor<T>::scalar(m);
    if (needs_grad({a}))
        record<T>(out, "max", {a}, [a, m](const xt::xarray<T>& g, const xt::xarray<T>&) {
            std::size_t ties = 0;
            for (T x : a.value()) ties += (x == m || (std::isnan(m) && std::isnan(x)));
            xt::xarray<T> d = xt::zeros<T>(a.value().shape());
            const T share = *g.data() / T(ties);
            auto it = d.begin();
            for (T x : a.value()) {
                if (x == m || (std::isnan(m) && std::isnan(x))) *it = share;
                ++it;
            }
            a.accumulate_grad(d);
        });
    return out;
}

namespace {
// Index of the first maximum (a nan wins, as in torch) of each (outer, inner) line.
template <class T> xt::xarray<std::int64_t> argmax_impl(const xt::xarray<T>& v, Lines sp, const Shape& rshape) {
    xt::xarray<std::int64_t> idx = xt::xarray<std::int64_t>::from_shape(rshape);
    const T* pa = v.data();
    for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t i = 0; i < sp.inner; ++i) {
            std::size_t best = 0;
            T bv = pa[o * sp.len * sp.inner + i];
            for (std::size_t l = 1; l < sp.len && !std::isnan(bv); ++l) {
                T x = pa[(o * sp.len + l) * sp.inner + i];
                if (x > bv || std::isnan(x)) {
                    bv = x;
                    best = l;
                }
            }
            idx.data()[o * sp.inner + i] = static_cast<std::int64_t>(best);
        }
    return idx;
}
}  // namespace

template <class T> xt::xarray<std::int64_t> argmax(const Tensor<T>& a, std::ptrdiff_t dim_, bool keepdim) {
    const Shape s = a.shape();
    const std::size_t dim = detail::wrap_dim("argmax", dim_, s.size());
    if (!s.empty() && s[dim] == 0)
        throw ValueError("argmax: Expected reduction dim " + std::to_string(dim) + " to have non-zero size");
    return argmax_impl(a.value(), detail::lines_around(s, dim), reduced_shape(s, dim, keepdim));
}

// max over dim → (values, indices); the gradient goes to the index returned
template <class T> MaxResult<T> max(const Tensor<T>& a, std::ptrdiff_t dim_, bool keepdim) {
    const Shape s = a.shape();
    const std::size_t dim = detail::wrap_dim("max", dim_, s.size());
    if (!s.empty() && s[dim] == 0)
        throw ValueError("max: Expected reduction dim " + std::to_string(dim) + " to have non-zero size");
    const Lines sp = detail::lines_around(s, dim);
    const Shape rs = reduced_shape(s, dim, keepdim);
    xt::xarray<std::int64_t> idx = argmax_impl(a.value(), sp, rs);
    xt::xarray<T> vals = xt::xarray<T>::from_shape(rs);
    const T* pa = a.value().data();
    for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t i = 0; i < sp.inner; ++i)
            vals.data()[o * sp.inner + i] =
                pa[(o * sp.len + static_cast<std::size_t>(idx.data()[o * sp.inner + i])) * sp.inner + i];
    Tensor<T> out(std::move(vals));
    if (needs_grad({a}))
        record<T>(out, "max_dim", {a}, [a, sp, idx](const xt::xarray<T>& g, const xt::xarray<T>&) {
            bool acc = false;
            auto& buf = a.grad_buffer(acc);
            if (!acc) std::fill(buf.begin(), buf.end(), T(0));
            for (std::size_t o = 0; o < sp.outer; ++o)
                for (std::size_t i = 0; i < sp.inner; ++i) {
                    std::size_t l = static_cast<std::size_t>(idx.data()[o * sp.inner + i]);
                    buf.data()[(o * sp.len + l) * sp.inner + i] += g.data()[o * sp.inner + i];
                }
        });
    return {out, idx};
}

#define TAPEGRAD_INSTANTIATE(T)                                                              \
    template Tensor<T> sum(const Tensor<T>&);                                                \
    template Tensor<T> sum(const Tensor<T>&, std::ptrdiff_t, bool);                          \
    template Tensor<T> mean(const Tensor<T>&);                                               \
    template Tensor<T> mean(const Tensor<T>&, std::ptrdiff_t, bool);                         \
    template Tensor<T> max(const Tensor<T>&);                                                \
    template MaxResult<T> max(const Tensor<T>&, std::ptrdiff_t, bool);                       \
    template xt::xarray<std::int64_t> argmax(const Tensor<T>&, std::ptrdiff_t, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
