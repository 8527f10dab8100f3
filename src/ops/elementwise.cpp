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

// Gradient of a unary op: g * d(x) element-wise, accumulated into x.
template <class T, class D> void unary_backward(const Tensor<T>& x, const xt::xarray<T>& g, D d) {
    bool acc = false;
    auto& buf = x.grad_buffer(acc);
    const T* pg = g.data();
    const T* px = x.value().data();
    T* pb = buf.data();
    const std::size_t n = g.size();
    if (acc)
        for (std::size_t i = 0; i < n; ++i) pb[i] += pg[i] * d(px[i], i);
    else
        for (std::size_t i = 0; i < n; ++i) pb[i] = pg[i] * d(px[i], i);
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

// y = a / b; dy/da = 1/b, dy/db = -a/b²
template <class T> Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out(zip("div", a.value(), b.value(), [](T x, T y) { return x / y; }));
    if (needs_grad({a, b}))
        record<T>(out, "div", {a, b}, [a, b](const xt::xarray<T>& g, const xt::xarray<T>&) {
            if (a.requires_grad()) accumulate_to(a, xt::xarray<T>(g / b.value()));
            if (b.requires_grad())
                accumulate_to(b, xt::xarray<T>(-g * a.value() / (b.value() * b.value())));
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
            unary_backward(a, g, [s](T, std::size_t) { return s; });
        });
    return out;
}

// y = s - a; dy/da = -1
template <class T> Tensor<T> rsub(const Tensor<T>& a, Scalar<T> s) {
    Tensor<T> out(map(a.value(), [s](T x) { return s - x; }));
    if (needs_grad({a}))
        record<T>(out, "rsub_scalar", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T, std::size_t) { return T(-1); });
        });
    return out;
}

// y = s / a; dy/da = -s/a²
template <class T> Tensor<T> rdiv(const Tensor<T>& a, Scalar<T> s) {
    Tensor<T> out(map(a.value(), [s](T x) { return s / x; }));
    if (needs_grad({a}))
        record<T>(out, "rdiv_scalar", {a}, [a, s](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [s](T x, std::size_t) { return -s / (x * x); });
        });
    return out;
}

// y = -a; dy/da = -1
template <class T> Tensor<T> neg(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return -x; }));
    if (needs_grad({a}))
        record<T>(out, "neg", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T, std::size_t) { return T(-1); });
        });
    return out;
}

// y = a^p; dy/da = p·a^(p-1) (0 where p == 0, as torch)
template <class T> Tensor<T> pow(const Tensor<T>& a, Scalar<T> p) {
    Tensor<T> out(map(a.value(), [p](T x) { return std::pow(x, p); }));
    if (needs_grad({a}))
        record<T>(out, "pow", {a}, [a, p](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [p](T x, std::size_t) { return p == T(0) ? T(0) : p * std::pow(x, p - T(1)); });
        });
    return out;
}

// y = exp(a); dy/da = y
template <class T> Tensor<T> exp(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::exp(x); }));
    if (needs_grad({a}))
        record<T>(out, "exp", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const T* py = y.data();
            unary_backward(a, g, [py](T, std::size_t i) { return py[i]; });
        });
    return out;
}

// y = log(a); dy/da = 1/a
template <class T> Tensor<T> log(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::log(x); }));
    if (needs_grad({a}))
        record<T>(out, "log", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T x, std::size_t) { return T(1) / x; });
        });
    return out;
}

// y = sqrt(a); dy/da = 1/(2y)
template <class T> Tensor<T> sqrt(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::sqrt(x); }));
    if (needs_grad({a}))
        record<T>(out, "sqrt", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const T* py = y.data();
            unary_backward(a, g, [py](T, std::size_t i) { return T(1) / (T(2) * py[i]); });
        });
    return out;
}

// y = |a|; dy/da = sign(a), 0 at 0
template <class T> Tensor<T> abs(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::abs(x); }));
    if (needs_grad({a}))
        record<T>(out, "abs", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T x, std::size_t) { return T((x > 0) - (x < 0)); });
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
            unary_backward(a, g, [l, h](T x, std::size_t) { return T(x >= l && x <= h); });
        });
    return out;
}

// y = max(a, 0); dy/da = 1 where a > 0
template <class T> Tensor<T> relu(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return x > T(0) ? x : T(0); }));
    if (needs_grad({a}))
        record<T>(out, "relu", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const T* py = y.data();
            unary_backward(a, g, [py](T, std::size_t i) { return T(py[i] > T(0)); });
        });
    return out;
}

// y = 1/(1+exp(-a)); dy/da = y(1-y)
template <class T> Tensor<T> sigmoid(const Tensor<T>& a) {
    // split by sign so exp never overflows
    Tensor<T> out(map(a.value(), [](T x) {
        if (x >= 0) return T(1) / (T(1) + std::exp(-x));
        T e = std::exp(x);
        return e / (T(1) + e);
    }));
    if (needs_grad({a}))
        record<T>(out, "sigmoid", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const T* py = y.data();
            unary_backward(a, g, [py](T, std::size_t i) { return py[i] * (T(1) - py[i]); });
        });
    return out;
}

// y = tanh(a); dy/da = 1 - y²
template <class T> Tensor<T> tanh(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::tanh(x); }));
    if (needs_grad({a}))
        record<T>(out, "tanh", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const T* py = y.data();
            unary_backward(a, g, [py](T, std::size_t i) { return T(1) - py[i] * py[i]; });
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
