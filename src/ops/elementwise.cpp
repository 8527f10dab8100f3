// Element-wise ops with PyTorch broadcasting; each forward with its backward beside it.
#include <cmath>
#include <sstream>

#include <xtensor/xarray.hpp>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include "internal.hpp"
#include "tapegrad/ops/elementwise.hpp"

namespace tapegrad {
namespace {
using detail::accumulate_to;
using detail::shapes_equal;

// out[i] = f(a[i], b[i]) over the broadcast shape; the common same-shape and scalar cases
// run as plain loops.
template <class T, class F> xt::xarray<T> zip(const char* op, const xt::xarray<T>& a, const xt::xarray<T>& b, F f) {
    if (shapes_equal(a, b)) {
        xt::xarray<T> out = xt::xarray<T>::from_shape(a.shape());
        const T *pa = a.data(), *pb = b.data();
        T* po = out.data();
        for (std::size_t i = 0, n = a.size(); i < n; ++i) po[i] = f(pa[i], pb[i]);
        return out;
    }
    Shape sh = detail::broadcast_shapes(op, shape_of(a), shape_of(b));
    xt::xarray<T> out = xt::xarray<T>::from_shape(sh);
    if (b.size() == 1 && b.dimension() <= a.dimension()) {
        const T s = *b.data();
        const T* pa = a.data();
        T* po = out.data();
        for (std::size_t i = 0, n = a.size(); i < n; ++i) po[i] = f(pa[i], s);
        return out;
    }
    xt::xarray<T> ab = xt::broadcast(a, sh);
    xt::xarray<T> bb = xt::broadcast(b, sh);
    const T *pa = ab.data(), *pb = bb.data();
    T* po = out.data();
    for (std::size_t i = 0, n = out.size(); i < n; ++i) po[i] = f(pa[i], pb[i]);
    return out;
}

template <class T, class F> xt::xarray<T> map(const xt::xarray<T>& a, F f) {
    xt::xarray<T> out = xt::xarray<T>::from_shape(a.shape());
    const T* pa = a.data();
    T* po = out.data();
    for (std::size_t i = 0, n = a.size(); i < n; ++i) po[i] = f(pa[i]);
    return out;
}

// Gradient of a unary op: dx[i] = d(g[i], x[i], i), accumulated into x. Each d spells its
// formula in torch's order (g / x, not g · (1/x): the reciprocal of a tiny x overflows where the
// quotient does not), and selects rather than multiplies where torch does (where(cond, g, 0)
// leaves 0 for an infinite g; g · 0 would be NaN).
template <class T, class D> void unary_backward(const Tensor<T>& x, const xt::xarray<T>& g, D d) {
    bool acc = false;
    auto& buf = x.grad_buffer(acc);
    const T* pg = g.data();
    const T* px = x.value().data();
    T* pb = buf.data();
    const std::size_t n = g.size();
    if (acc)
        for (std::size_t i = 0; i < n; ++i) pb[i] += d(pg[i], px[i], i);
    else
        for (std::size_t i = 0; i < n; ++i) pb[i] = d(pg[i], px[i], i);
}

// x^p as torch's pow(Tensor, Scalar) computes it: 0 → 1, 1 → x, and the kernels it dispatches
// to for 0.5 (sqrt: sqrt(-inf) is NaN where std::pow gives inf), -0.5 (1/sqrt), -1 (1/x),
// 2 (x·x), 3 (x·x·x) and -2 (1/(x·x)); std::pow otherwise.
template <class T> T torch_pow(T x, T p) {
    if (p == T(0)) return T(1);
    if (p == T(1)) return x;
    if (p == T(0.5)) return std::sqrt(x);
    if (p == T(-0.5)) return T(1) / std::sqrt(x);
    if (p == T(-1)) return T(1) / x;
    if (p == T(2)) return x * x;
    if (p == T(3)) return x * x * x;
    if (p == T(-2)) return T(1) / (x * x);
    return std::pow(x, p);
}
}  // namespace

// y = a + b; dy/da = 1, dy/db = 1 (each summed back to its own shape)
template <class T> Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out(zip("add", a.value(), b.value(), [](T x, T y) { return x + y; }));
    if (needs_grad({a, b}))
        record<T>(out, "add", {a, b}, [a, b](const xt::xarray<T>& g, const xt::xarray<T>&) {
            if (a.requires_grad()) accumulate_to(a, g);
            if (b.requires_grad()) accumulate_to(b, g);
        });
    return out;
}

// y = a - b; dy/da = 1, dy/db = -1
template <class T> Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out(zip("sub", a.value(), b.value(), [](T x, T y) { return x - y; }));
    if (needs_grad({a, b}))
        record<T>(out, "sub", {a, b}, [a, b](const xt::xarray<T>& g, const xt::xarray<T>&) {
            if (a.requires_grad()) accumulate_to(a, g);
            if (b.requires_grad()) accumulate_to(b, xt::xarray<T>(-g));
        });
    return out;
}

// y = a * b; dy/da = b, dy/db = a
template <class T> Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out(zip("mul", a.value(), b.value(), [](T x, T y) { return x * y; }));
    if (needs_grad({a, b}))
        record<T>(out, "mul", {a, b}, [a, b](const xt::xarray<T>& g, const xt::xarray<T>&) {
            if (a.requires_grad()) accumulate_to(a, xt::xarray<T>(g * b.value()));
            if (b.requires_grad()) accumulate_to(b, xt::xarray<T>(g * a.value()));
        });
    return out;
}

// y = a / b; dy/da = 1/b, dy/db = -a/b², computed as torch does: g / b and −g·((a / b) / b)
// (b·b underflows to 0 for a tiny b, where (a / b) / b is still right)
template <class T> Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out(zip("div", a.value(), b.value(), [](T x, T y) { return x / y; }));
    if (needs_grad({a, b}))
        record<T>(out, "div", {a, b}, [a, b](const xt::xarray<T>& g, const xt::xarray<T>&) {
            if (a.requires_grad()) accumulate_to(a, xt::xarray<T>(g / b.value()));
            if (b.requires_grad()) accumulate_to(b, xt::xarray<T>(-g * ((a.value() / b.value()) / b.value())));
        });
    return out;
}

// y = a + s; dy/da = 1
template <class T> Tensor<T> add(const Tensor<T>& a, Scalar<T> s) {
    Tensor<T> out(map(a.value(), [s](T x) { return x + s; }));
    if (needs_grad({a}))
        record<T>(out, "add_scalar", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) { a.accumulate_grad(g); });
    return out;
}

// y = a * s; dy/da = s
template <class T> Tensor<T> mul(const Tensor<T>& a, Scalar<T> s) {
    Tensor<T> out(map(a.value(), [s](T x) { return x * s; }));
    if (needs_grad({a}))
        record<T>(out, "mul_scalar", {a}, [a, s](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [s](T gi, T, std::size_t) { return gi * s; });
        });
    return out;
}

// y = a / s, a true division (a · (1/s) overflows for a tiny s: 1/1e-310 is inf); dy/da = 1/s
template <class T> Tensor<T> div(const Tensor<T>& a, Scalar<T> s) {
    Tensor<T> out(map(a.value(), [s](T x) { return x / s; }));
    if (needs_grad({a}))
        record<T>(out, "div_scalar", {a}, [a, s](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [s](T gi, T, std::size_t) { return gi / s; });
        });
    return out;
}

// y = s - a; dy/da = -1
template <class T> Tensor<T> rsub(const Tensor<T>& a, Scalar<T> s) {
    Tensor<T> out(map(a.value(), [s](T x) { return s - x; }));
    if (needs_grad({a}))
        record<T>(out, "rsub_scalar", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T gi, T, std::size_t) { return -gi; });
        });
    return out;
}

// y = s / a, as torch's Tensor.__rtruediv__ computes it: reciprocal(a) · s; dy/da = −s/a², in
// torch's order: −(g·s)·(r·r) with r = 1/a
template <class T> Tensor<T> rdiv(const Tensor<T>& a, Scalar<T> s) {
    Tensor<T> out(map(a.value(), [s](T x) { return (T(1) / x) * s; }));
    if (needs_grad({a}))
        record<T>(out, "rdiv_scalar", {a}, [a, s](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [s](T gi, T x, std::size_t) {
                const T r = T(1) / x;
                return -(gi * s) * (r * r);
            });
        });
    return out;
}

// y = -a; dy/da = -1
template <class T> Tensor<T> neg(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return -x; }));
    if (needs_grad({a}))
        record<T>(out, "neg", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T gi, T, std::size_t) { return -gi; });
        });
    return out;
}

// y = a^p; dy/da = g·(p·a^(p-1)), both powers as torch computes them; exactly 0 where p == 0
// (torch returns zeros there, whatever g and a are)
template <class T> Tensor<T> pow(const Tensor<T>& a, Scalar<T> p) {
    Tensor<T> out(map(a.value(), [p](T x) { return torch_pow(x, p); }));
    if (needs_grad({a}))
        record<T>(out, "pow", {a}, [a, p](const xt::xarray<T>& g, const xt::xarray<T>&) {
            const T pm1 = T(double(p) - 1.0);  // torch: exponent.toDouble() - 1
            unary_backward(a, g, [p, pm1](T gi, T x, std::size_t) {
                return p == T(0) ? T(0) : gi * (p * torch_pow(x, pm1));
            });
        });
    return out;
}

// y = exp(a); dy/da = y
template <class T> Tensor<T> exp(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::exp(x); }));
    if (needs_grad({a}))
        record<T>(out, "exp", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const T* py = y.data();
            unary_backward(a, g, [py](T gi, T, std::size_t i) { return gi * py[i]; });
        });
    return out;
}

// y = log(a); dy/da = g / a
template <class T> Tensor<T> log(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::log(x); }));
    if (needs_grad({a}))
        record<T>(out, "log", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T gi, T x, std::size_t) { return gi / x; });
        });
    return out;
}

// y = sqrt(a); dy/da = g / (2y)
template <class T> Tensor<T> sqrt(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::sqrt(x); }));
    if (needs_grad({a}))
        record<T>(out, "sqrt", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const T* py = y.data();
            unary_backward(a, g, [py](T gi, T, std::size_t i) { return gi / (T(2) * py[i]); });
        });
    return out;
}

// y = |a|; dy/da = g·sgn(a): 0 at ±0 and at NaN (torch's sgn), so g·0
template <class T> Tensor<T> abs(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::abs(x); }));
    if (needs_grad({a}))
        record<T>(out, "abs", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T gi, T x, std::size_t) { return gi * T((x > 0) - (x < 0)); });
        });
    return out;
}

// y = min(max(a, lo), hi); dy/da = 1 where lo <= a <= hi
template <class T> Tensor<T> clamp(const Tensor<T>& a, std::optional<Scalar<T>> lo, std::optional<Scalar<T>> hi) {
    if (!lo && !hi) throw ValueError("clamp: At least one of 'min' or 'max' must not be None");
    const T l = lo ? *lo : -std::numeric_limits<T>::infinity();
    const T h = hi ? *hi : std::numeric_limits<T>::infinity();
    // torch applies min(max(x, lo), hi): when lo > hi every element becomes hi
    Tensor<T> out(map(a.value(), [l, h](T x) { return std::isnan(x) ? x : std::min(std::max(x, l), h); }));
    if (needs_grad({a}))
        record<T>(out, "clamp", {a}, [a, l, h](const xt::xarray<T>& g, const xt::xarray<T>&) {
            // torch's clamp_backward: where(min <= x <= max, g, 0); NaN is outside
            unary_backward(a, g, [l, h](T gi, T x, std::size_t) { return x >= l && x <= h ? gi : T(0); });
        });
    return out;
}

// y = max(a, 0), NaN propagated (torch's clamp_min: relu(NaN) is NaN); dy/da = 0 where y <= 0,
// else g (torch's threshold_backward: a NaN passes its gradient through)
template <class T> Tensor<T> relu(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return x < T(0) ? T(0) : x; }));
    if (needs_grad({a}))
        record<T>(out, "relu", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const T* py = y.data();
            unary_backward(a, g, [py](T gi, T, std::size_t i) { return py[i] <= T(0) ? T(0) : gi; });
        });
    return out;
}

// y = 1/(1+exp(-a)) exactly as torch: exp(-a) overflowing to inf gives 0 (never NaN);
// dy/da = g·(1-y)·y
template <class T> Tensor<T> sigmoid(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return T(1) / (T(1) + std::exp(-x)); }));
    if (needs_grad({a}))
        record<T>(out, "sigmoid", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const T* py = y.data();
            unary_backward(a, g, [py](T gi, T, std::size_t i) { return gi * (T(1) - py[i]) * py[i]; });
        });
    return out;
}

// y = tanh(a); dy/da = g·(1 - y²)
template <class T> Tensor<T> tanh(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::tanh(x); }));
    if (needs_grad({a}))
        record<T>(out, "tanh", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const T* py = y.data();
            unary_backward(a, g, [py](T gi, T, std::size_t i) { return gi * (T(1) - py[i] * py[i]); });
        });
    return out;
}

#define TAPEGRAD_INSTANTIATE(T)                                                         \
    template Tensor<T> add(const Tensor<T>&, const Tensor<T>&);                         \
    template Tensor<T> sub(const Tensor<T>&, const Tensor<T>&);                         \
    template Tensor<T> mul(const Tensor<T>&, const Tensor<T>&);                         \
    template Tensor<T> div(const Tensor<T>&, const Tensor<T>&);                         \
    template Tensor<T> add(const Tensor<T>&, Scalar<T>);                                        \
    template Tensor<T> mul(const Tensor<T>&, Scalar<T>);                                        \
    template Tensor<T> div(const Tensor<T>&, Scalar<T>);                                        \
    template Tensor<T> rsub(const Tensor<T>&, Scalar<T>);                                       \
    template Tensor<T> rdiv(const Tensor<T>&, Scalar<T>);                                       \
    template Tensor<T> neg(const Tensor<T>&);                                           \
    template Tensor<T> pow(const Tensor<T>&, Scalar<T>);                                        \
    template Tensor<T> exp(const Tensor<T>&);                                           \
    template Tensor<T> log(const Tensor<T>&);                                           \
    template Tensor<T> sqrt(const Tensor<T>&);                                          \
    template Tensor<T> abs(const Tensor<T>&);                                           \
    template Tensor<T> clamp(const Tensor<T>&, std::optional<Scalar<T>>, std::optional<Scalar<T>>);     \
    template Tensor<T> relu(const Tensor<T>&);                                          \
    template Tensor<T> sigmoid(const Tensor<T>&);                                       \
    template Tensor<T> tanh(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
