// Reductions: sum, mean, max — over everything or over one dim with keepdim.
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

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
    TAPEGRAD_REPLAY(out, sum(in[0]));
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
    TAPEGRAD_REPLAY(out, sum(in[0], dim_, keepdim));
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
    TAPEGRAD_REPLAY(out, mean(in[0]));
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
    TAPEGRAD_REPLAY(out, mean(in[0], dim_, keepdim));
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
    TAPEGRAD_REPLAY(out, max(in[0]));
    return out;
}

namespace {
// Index of the first extreme of each (outer, inner) line: x replaces the best so far when
// better(x, best); a nan wins, as in torch (std::greater: argmax/max, std::less: argmin/min).
template <class T, class Better>
xt::xarray<std::int64_t> extreme_index(const xt::xarray<T>& v, Lines sp, const Shape& rshape, Better better) {
    xt::xarray<std::int64_t> idx = xt::xarray<std::int64_t>::from_shape(rshape);
    const T* pa = v.data();
    for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t i = 0; i < sp.inner; ++i) {
            std::size_t best = 0;
            T bv = pa[o * sp.len * sp.inner + i];
            for (std::size_t l = 1; l < sp.len && !std::isnan(bv); ++l) {
                T x = pa[(o * sp.len + l) * sp.inner + i];
                if (better(x, bv) || std::isnan(x)) {
                    bv = x;
                    best = l;
                }
            }
            idx.data()[o * sp.inner + i] = static_cast<std::int64_t>(best);
        }
    return idx;
}

template <class T, class Better>
xt::xarray<std::int64_t> arg_extreme(const char* fn, const Tensor<T>& a, std::ptrdiff_t dim_, bool keepdim, Better better) {
    const Shape s = a.shape();
    const std::size_t dim = detail::wrap_dim(fn, dim_, s.size());
    if (!s.empty() && s[dim] == 0)
        throw ValueError(std::string(fn) + ": Expected reduction dim " + std::to_string(dim) + " to have non-zero size");
    return extreme_index(a.value(), detail::lines_around(s, dim), reduced_shape(s, dim, keepdim), better);
}

// max / min over dim → (values, indices); the gradient goes to the index returned
template <class T, class Better>
MaxResult<T> extreme(const char* fn, const char* op, const Tensor<T>& a, std::ptrdiff_t dim_, bool keepdim, Better better) {
    const Shape s = a.shape();
    const std::size_t dim = detail::wrap_dim(fn, dim_, s.size());
    if (!s.empty() && s[dim] == 0)
        throw ValueError(std::string(fn) + ": Expected reduction dim " + std::to_string(dim) + " to have non-zero size");
    const Lines sp = detail::lines_around(s, dim);
    const Shape rs = reduced_shape(s, dim, keepdim);
    xt::xarray<std::int64_t> idx = extreme_index(a.value(), sp, rs, better);
    xt::xarray<T> vals = xt::xarray<T>::from_shape(rs);
    const T* pa = a.value().data();
    for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t i = 0; i < sp.inner; ++i)
            vals.data()[o * sp.inner + i] =
                pa[(o * sp.len + static_cast<std::size_t>(idx.data()[o * sp.inner + i])) * sp.inner + i];
    Tensor<T> out(std::move(vals));
    if (needs_grad({a}))
        record<T>(out, op, {a}, [a, sp, idx](const xt::xarray<T>& g, const xt::xarray<T>&) {
            bool acc = false;
            auto& buf = a.grad_buffer(acc);
            if (!acc) std::fill(buf.begin(), buf.end(), T(0));
            for (std::size_t o = 0; o < sp.outer; ++o)
                for (std::size_t i = 0; i < sp.inner; ++i) {
                    std::size_t l = static_cast<std::size_t>(idx.data()[o * sp.inner + i]);
                    buf.data()[(o * sp.len + l) * sp.inner + i] += g.data()[o * sp.inner + i];
                }
        });
    TAPEGRAD_REPLAY(out, std::string(op) == "max_dim" ? max(in[0], dim_, keepdim).values : min(in[0], dim_, keepdim).values);
    return {out, idx};
}
}  // namespace

template <class T> xt::xarray<std::int64_t> argmax(const Tensor<T>& a, std::ptrdiff_t dim, bool keepdim) {
    return arg_extreme("argmax", a, dim, keepdim, std::greater<T>());
}
template <class T> xt::xarray<std::int64_t> argmin(const Tensor<T>& a, std::ptrdiff_t dim, bool keepdim) {
    return arg_extreme("argmin", a, dim, keepdim, std::less<T>());
}
template <class T> MaxResult<T> max(const Tensor<T>& a, std::ptrdiff_t dim, bool keepdim) {
    return extreme("max", "max_dim", a, dim, keepdim, std::greater<T>());
}
template <class T> MaxResult<T> min(const Tensor<T>& a, std::ptrdiff_t dim, bool keepdim) {
    return extreme("min", "min_dim", a, dim, keepdim, std::less<T>());
}

namespace {
// A reduction over several dims: for each input element, the flat index of its output element.
struct DimsMap {
    std::vector<std::size_t> to_out;  // input flat index → output flat index
    Shape out_shape;                  // with or without the reduced dims, per keepdim
    std::size_t out_numel = 1;
    std::size_t count = 1;  // elements reduced into each output (N)
};
DimsMap dims_map(const char* op, const Shape& s, const std::vector<std::ptrdiff_t>& dims, bool keepdim) {
    std::vector<bool> red(s.size(), dims.empty());  // no dims: every dim, as torch's dim=[]
    for (auto d : dims) {
        const std::size_t k = detail::wrap_dim(op, d, s.size());
        if (!s.empty() && red[k])
            throw ValueError(std::string(op) + ": dim " + std::to_string(k) + " appears multiple times in the list of dims");
        if (!s.empty()) red[k] = true;
    }
    DimsMap m;
    Shape keep(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        keep[i] = red[i] ? 1 : s[i];
        if (red[i])
            m.count *= s[i];
        else
            m.out_numel *= s[i];
        if (keepdim || !red[i]) m.out_shape.push_back(keep[i]);
    }
    // output strides, 0 along reduced dims
    std::vector<std::size_t> ost(s.size(), 0);
    std::size_t st = 1;
    for (std::size_t i = s.size(); i-- > 0;) {
        ost[i] = red[i] ? 0 : st;
        st *= keep[i];
    }
    std::size_t n = 1;
    for (auto d : s) n *= d;
    m.to_out.resize(n);
    std::vector<std::size_t> idx(s.size(), 0);
    std::size_t off = 0;
    for (std::size_t f = 0; f < n; ++f) {
        m.to_out[f] = off;
        for (std::size_t i = s.size(); i-- > 0;) {  // odometer increment
            ++idx[i];
            off += ost[i];
            if (idx[i] < s[i]) break;
            off -= ost[i] * idx[i];
            idx[i] = 0;
        }
    }
    return m;
}
template <class T> xt::xarray<T> sum_over(const xt::xarray<T>& v, const DimsMap& m) {
    xt::xarray<T> r = xt::zeros<T>(m.out_shape);
    const T* pv = v.data();
    T* pr = r.data();
    for (std::size_t f = 0; f < m.to_out.size(); ++f) pr[m.to_out[f]] += pv[f];
    return r;
}
// dx[f] = d(g[out(f)], f), accumulated into x
template <class T, class D> void scatter_back(const Tensor<T>& x, const xt::xarray<T>& g, const DimsMap& m, D d) {
    bool acc = false;
    auto& buf = x.grad_buffer(acc);
    T* pb = buf.data();
    const T* pg = g.data();
    for (std::size_t f = 0; f < m.to_out.size(); ++f) {
        const T v = d(pg[m.to_out[f]], f);
        pb[f] = acc ? pb[f] + v : v;
    }
}
}  // namespace

// Σ over several dims (all when dims is empty); gradient broadcast back
template <class T> Tensor<T> sum(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, bool keepdim) {
    auto m = std::make_shared<DimsMap>(dims_map("sum", a.shape(), dims, keepdim));
    Tensor<T> out(sum_over(a.value(), *m));
    if (needs_grad({a}))
        record<T>(out, "sum_dims", {a}, [a, m](const xt::xarray<T>& g, const xt::xarray<T>&) {
            scatter_back(a, g, *m, [](T gi, std::size_t) { return gi; });
        });
    TAPEGRAD_REPLAY(out, sum(in[0], dims, keepdim));
    return out;
}

// Σ / N over several dims; gradient g / N
template <class T> Tensor<T> mean(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, bool keepdim) {
    auto m = std::make_shared<DimsMap>(dims_map("mean", a.shape(), dims, keepdim));
    xt::xarray<T> r = sum_over(a.value(), *m);
    const T n = T(m->count);
    for (auto& v : r) v /= n;
    Tensor<T> out(std::move(r));
    if (needs_grad({a}))
        record<T>(out, "mean_dims", {a}, [a, m, n](const xt::xarray<T>& g, const xt::xarray<T>&) {
            scatter_back(a, g, *m, [n](T gi, std::size_t) { return gi / n; });
        });
    TAPEGRAD_REPLAY(out, mean(in[0], dims, keepdim));
    return out;
}

namespace {
// var = Σ (x − mean)² / max(0, N − correction) over the dims; the per-element deviations are kept
// for the backward.
template <class T>
xt::xarray<T> var_forward(const char* op, const Tensor<T>& a, const DimsMap& m, double correction, xt::xarray<T>& dev) {
    if (!(correction >= 0) && !std::isnan(correction)) {}
    xt::xarray<T> mu = sum_over(a.value(), m);
    for (auto& v : mu) v /= T(m.count);
    dev = xt::xarray<T>::from_shape(a.value().shape());
    const T* pa = a.value().data();
    T* pd = dev.data();
    xt::xarray<T> r = xt::zeros<T>(m.out_shape);
    T* pr = r.data();
    for (std::size_t f = 0; f < m.to_out.size(); ++f) {
        pd[f] = pa[f] - mu.data()[m.to_out[f]];
        pr[m.to_out[f]] += pd[f] * pd[f];
    }
    const T div = T(std::max(0.0, double(m.count) - correction));
    for (auto& v : r) v /= div;  // N − correction ≤ 0 gives inf, or nan for 0/0, as torch
    (void)op;
    return r;
}
}  // namespace

// var over dims with correction (1 = Bessel's, unbiased); dx = g·2(x − mean)/(N − correction)
template <class T>
Tensor<T> var(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, Correction correction, bool keepdim) {
    auto m = std::make_shared<DimsMap>(dims_map("var", a.shape(), dims, keepdim));
    auto dev = std::make_shared<xt::xarray<T>>();
    Tensor<T> out(var_forward("var", a, *m, correction.value, *dev));
    if (needs_grad({a}))
        record<T>(out, "var", {a}, [a, m, dev, correction](const xt::xarray<T>& g, const xt::xarray<T>&) {
            const T scale = T(2.0 / (double(m->count) - correction.value));  // torch: 2 / (N − correction)
            const T* pd = dev->data();
            scatter_back(a, g, *m, [scale, pd](T gi, std::size_t f) { return scale * gi * pd[f]; });
        });
    TAPEGRAD_REPLAY(out, var(in[0], dims, correction, keepdim));
    return out;
}
template <class T> Tensor<T> var(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, bool unbiased, bool keepdim) {
    return var(a, dims, Correction(unbiased ? 1.0 : 0.0), keepdim);
}
template <class T> Tensor<T> var(const Tensor<T>& a) { return var(a, {}, true, false); }

// std = sqrt(var); dx = var's backward of g / (2·std), 0 where std == 0 (torch's std_backward)
template <class T>
Tensor<T> std(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, Correction correction, bool keepdim) {
    auto m = std::make_shared<DimsMap>(dims_map("std", a.shape(), dims, keepdim));
    auto dev = std::make_shared<xt::xarray<T>>();
    xt::xarray<T> r = var_forward("std", a, *m, correction.value, *dev);
    for (auto& v : r) v = std::sqrt(v);
    Tensor<T> out(std::move(r));
    if (needs_grad({a}))
        record<T>(out, "std", {a}, [a, m, dev, correction](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const T scale = T(2.0 / (double(m->count) - correction.value));
            const T *pd = dev->data(), *py = y.data(), *pg = g.data();
            bool acc = false;
            auto& buf = a.grad_buffer(acc);
            T* pb = buf.data();
            for (std::size_t f = 0; f < m->to_out.size(); ++f) {
                const std::size_t o = m->to_out[f];
                const T gv = py[o] == T(0) ? T(0) : pg[o] / (py[o] * T(2));
                const T v = scale * gv * pd[f];
                pb[f] = acc ? pb[f] + v : v;
            }
        });
    TAPEGRAD_REPLAY(out, std(in[0], dims, correction, keepdim));
    return out;
}
template <class T> Tensor<T> std(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, bool unbiased, bool keepdim) {
    return std(a, dims, Correction(unbiased ? 1.0 : 0.0), keepdim);
}
template <class T> Tensor<T> std(const Tensor<T>& a) { return std(a, {}, true, false); }

// min over everything; ties share the gradient evenly (torch's evenly_distribute_backward)
template <class T> Tensor<T> min(const Tensor<T>& a) {
    if (a.numel() == 0)
        throw ValueError("min: min(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction "
                         "dim with the 'dim' argument.");
    T m = std::numeric_limits<T>::infinity();
    bool nan = false;
    for (T x : a.value()) {
        if (std::isnan(x)) nan = true;
        if (x < m) m = x;
    }
    if (nan) m = std::numeric_limits<T>::quiet_NaN();
    Tensor<T> out = Tensor<T>::scalar(m);
    if (needs_grad({a}))
        record<T>(out, "min", {a}, [a, m](const xt::xarray<T>& g, const xt::xarray<T>&) {
            auto hit = [m](T x) { return x == m || (std::isnan(m) && std::isnan(x)); };
            std::size_t ties = 0;
            for (T x : a.value()) ties += hit(x);
            xt::xarray<T> d = xt::zeros<T>(a.value().shape());
            const T share = *g.data() / T(ties);
            auto it = d.begin();
            for (T x : a.value()) {
                if (hit(x)) *it = share;
                ++it;
            }
            a.accumulate_grad(d);
        });
    TAPEGRAD_REPLAY(out, min(in[0]));
    return out;
}


#define TAPEGRAD_INSTANTIATE(T)                                                              \
    template Tensor<T> sum(const Tensor<T>&);                                                \
    template Tensor<T> sum(const Tensor<T>&, std::ptrdiff_t, bool);                          \
    template Tensor<T> mean(const Tensor<T>&);                                               \
    template Tensor<T> mean(const Tensor<T>&, std::ptrdiff_t, bool);                         \
    template Tensor<T> max(const Tensor<T>&);                                                \
    template MaxResult<T> max(const Tensor<T>&, std::ptrdiff_t, bool);                       \
    template xt::xarray<std::int64_t> argmax(const Tensor<T>&, std::ptrdiff_t, bool);         \
    template Tensor<T> sum(const Tensor<T>&, const std::vector<std::ptrdiff_t>&, bool);      \
    template Tensor<T> mean(const Tensor<T>&, const std::vector<std::ptrdiff_t>&, bool);     \
    template Tensor<T> var(const Tensor<T>&, const std::vector<std::ptrdiff_t>&, Correction, bool); \
    template Tensor<T> var(const Tensor<T>&, const std::vector<std::ptrdiff_t>&, bool, bool); \
    template Tensor<T> var(const Tensor<T>&);                                                \
    template Tensor<T> std(const Tensor<T>&, const std::vector<std::ptrdiff_t>&, Correction, bool); \
    template Tensor<T> std(const Tensor<T>&, const std::vector<std::ptrdiff_t>&, bool, bool); \
    template Tensor<T> std(const Tensor<T>&);                                                \
    template Tensor<T> min(const Tensor<T>&);                                                \
    template MaxResult<T> min(const Tensor<T>&, std::ptrdiff_t, bool);                       \
    template xt::xarray<std::int64_t> argmin(const Tensor<T>&, std::ptrdiff_t, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
