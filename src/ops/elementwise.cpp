// Element-wise ops with PyTorch broadcasting; each forward with its backward beside it.
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

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

// out[i] = f(g[i], a[i], b[i]) with a and b broadcast to g's shape `sh` (the broadcast shape).
template <class T, class F>
xt::xarray<T> zip3(const xt::xarray<T>& g, const xt::xarray<T>& a, const xt::xarray<T>& b, const Shape& sh, F f) {
    xt::xarray<T> out = xt::xarray<T>::from_shape(sh);
    const bool same = shapes_equal(a, g) && shapes_equal(b, g);
    xt::xarray<T> ab, bb;
    if (!same) {
        ab = xt::broadcast(a, sh);
        bb = xt::broadcast(b, sh);
    }
    const T *pg = g.data(), *pa = same ? a.data() : ab.data(), *pb = same ? b.data() : bb.data();
    T* po = out.data();
    for (std::size_t i = 0, n = out.size(); i < n; ++i) po[i] = f(pg[i], pa[i], pb[i]);
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
    TAPEGRAD_REPLAY(out, add(in[0], in[1]));
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
    TAPEGRAD_REPLAY(out, sub(in[0], in[1]));
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
    TAPEGRAD_REPLAY(out, mul(in[0], in[1]));
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
    TAPEGRAD_REPLAY(out, div(in[0], in[1]));
    return out;
}

// y = a + s; dy/da = 1
template <class T> Tensor<T> add(const Tensor<T>& a, Scalar<T> s) {
    Tensor<T> out(map(a.value(), [s](T x) { return x + s; }));
    if (needs_grad({a}))
        record<T>(out, "add_scalar", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) { a.accumulate_grad(g); });
    TAPEGRAD_REPLAY(out, add(in[0], double(s)));
    return out;
}

// y = a * s; dy/da = s
template <class T> Tensor<T> mul(const Tensor<T>& a, Scalar<T> s) {
    Tensor<T> out(map(a.value(), [s](T x) { return x * s; }));
    if (needs_grad({a}))
        record<T>(out, "mul_scalar", {a}, [a, s](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [s](T gi, T, std::size_t) { return gi * s; });
        });
    TAPEGRAD_REPLAY(out, mul(in[0], double(s)));
    return out;
}

// y = a / s, a true division (a · (1/s) overflows for a tiny s: 1/1e-310 is inf); dy/da = 1/s
template <class T> Tensor<T> div(const Tensor<T>& a, Scalar<T> s) {
    Tensor<T> out(map(a.value(), [s](T x) { return x / s; }));
    if (needs_grad({a}))
        record<T>(out, "div_scalar", {a}, [a, s](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [s](T gi, T, std::size_t) { return gi / s; });
        });
    TAPEGRAD_REPLAY(out, div(in[0], double(s)));
    return out;
}

// y = s - a; dy/da = -1
template <class T> Tensor<T> rsub(const Tensor<T>& a, Scalar<T> s) {
    Tensor<T> out(map(a.value(), [s](T x) { return s - x; }));
    if (needs_grad({a}))
        record<T>(out, "rsub_scalar", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T gi, T, std::size_t) { return -gi; });
        });
    TAPEGRAD_REPLAY(out, rsub(in[0], double(s)));
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
    TAPEGRAD_REPLAY(out, rdiv(in[0], double(s)));
    return out;
}

// y = -a; dy/da = -1
template <class T> Tensor<T> neg(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return -x; }));
    if (needs_grad({a}))
        record<T>(out, "neg", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T gi, T, std::size_t) { return -gi; });
        });
    TAPEGRAD_REPLAY(out, neg(in[0]));
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
    TAPEGRAD_REPLAY(out, pow(in[0], double(p)));
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
    TAPEGRAD_REPLAY(out, exp(in[0]));
    return out;
}

// y = log(a); dy/da = g / a
template <class T> Tensor<T> log(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::log(x); }));
    if (needs_grad({a}))
        record<T>(out, "log", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T gi, T x, std::size_t) { return gi / x; });
        });
    TAPEGRAD_REPLAY(out, log(in[0]));
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
    TAPEGRAD_REPLAY(out, sqrt(in[0]));
    return out;
}

// y = |a|; dy/da = g·sgn(a): 0 at ±0 and at NaN (torch's sgn), so g·0
template <class T> Tensor<T> abs(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::abs(x); }));
    if (needs_grad({a}))
        record<T>(out, "abs", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T gi, T x, std::size_t) { return gi * T((x > 0) - (x < 0)); });
        });
    TAPEGRAD_REPLAY(out, abs(in[0]));
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
    TAPEGRAD_REPLAY(out, clamp(in[0], lo ? std::optional<double>(double(*lo)) : std::nullopt, hi ? std::optional<double>(double(*hi)) : std::nullopt));
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
    TAPEGRAD_REPLAY(out, relu(in[0]));
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
    TAPEGRAD_REPLAY(out, sigmoid(in[0]));
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
    TAPEGRAD_REPLAY(out, tanh(in[0]));
    return out;
}

// y = max(a, b), NaN propagated; ties split the gradient in half, as torch's
// at::where(a == b, g / 2, g).masked_fill_(a < b, 0) (and the mirror for b)
template <class T> Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out(zip("maximum", a.value(), b.value(), [](T x, T y) {
        return std::isnan(x) || std::isnan(y) ? std::numeric_limits<T>::quiet_NaN() : (x > y ? x : y);
    }));
    if (needs_grad({a, b}))
        record<T>(out, "maximum", {a, b}, [a, b](const xt::xarray<T>& g, const xt::xarray<T>&) {
            const Shape sh = shape_of(g);
            if (a.requires_grad())
                accumulate_to(a, zip3(g, a.value(), b.value(), sh, [](T gi, T x, T y) {
                    return x < y ? T(0) : (x == y ? gi / T(2) : gi);
                }));
            if (b.requires_grad())
                accumulate_to(b, zip3(g, a.value(), b.value(), sh, [](T gi, T x, T y) {
                    return x > y ? T(0) : (x == y ? gi / T(2) : gi);
                }));
        });
    TAPEGRAD_REPLAY(out, maximum(in[0], in[1]));
    return out;
}

// y = min(a, b), NaN propagated; ties split the gradient in half, as maximum
template <class T> Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out(zip("minimum", a.value(), b.value(), [](T x, T y) {
        return std::isnan(x) || std::isnan(y) ? std::numeric_limits<T>::quiet_NaN() : (x < y ? x : y);
    }));
    if (needs_grad({a, b}))
        record<T>(out, "minimum", {a, b}, [a, b](const xt::xarray<T>& g, const xt::xarray<T>&) {
            const Shape sh = shape_of(g);
            if (a.requires_grad())
                accumulate_to(a, zip3(g, a.value(), b.value(), sh, [](T gi, T x, T y) {
                    return x > y ? T(0) : (x == y ? gi / T(2) : gi);
                }));
            if (b.requires_grad())
                accumulate_to(b, zip3(g, a.value(), b.value(), sh, [](T gi, T x, T y) {
                    return x < y ? T(0) : (x == y ? gi / T(2) : gi);
                }));
        });
    TAPEGRAD_REPLAY(out, minimum(in[0], in[1]));
    return out;
}

// y = a^b element-wise with broadcasting (torch.pow(Tensor, Tensor));
// dy/da = where(b == 0, 0, g·(b·a^(b−1))); dy/db = g·where(a == 0 and b >= 0, 0, y·log(a)),
// torch's pow_backward_self / pow_backward_exponent (so 0^b contributes no exponent gradient)
template <class T> Tensor<T> pow(const Tensor<T>& a, const Tensor<T>& b) {
    Tensor<T> out(zip("pow", a.value(), b.value(), [](T x, T p) { return std::pow(x, p); }));
    if (needs_grad({a, b}))
        record<T>(out, "pow_tensor", {a, b}, [a, b](const xt::xarray<T>& g, const xt::xarray<T>& y) {
            const Shape sh = shape_of(g);
            if (a.requires_grad())
                accumulate_to(a, zip3(g, a.value(), b.value(), sh, [](T gi, T x, T p) {
                    return p == T(0) ? T(0) : gi * (p * std::pow(x, p - T(1)));
                }));
            if (b.requires_grad()) {
                xt::xarray<T> ab = zip3(y, a.value(), b.value(), sh, [](T yi, T x, T p) {
                    return x == T(0) && p >= T(0) ? T(0) : yi * std::log(x);
                });
                const T* pg = g.data();
                T* pd = ab.data();
                for (std::size_t i = 0, n = ab.size(); i < n; ++i) pd[i] = pg[i] * pd[i];
                accumulate_to(b, ab);
            }
        });
    TAPEGRAD_REPLAY(out, pow(in[0], in[1]));
    return out;
}

// y = log(1 + a), accurate near 0; dy/da = g / (a + 1)
template <class T> Tensor<T> log1p(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return std::log1p(x); }));
    if (needs_grad({a}))
        record<T>(out, "log1p", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T gi, T x, std::size_t) { return gi / (x + T(1)); });
        });
    TAPEGRAD_REPLAY(out, log1p(in[0]));
    return out;
}

// y = a·a (torch.square is pow(a, 2)); dy/da = g·(2·a)
template <class T> Tensor<T> square(const Tensor<T>& a) {
    Tensor<T> out(map(a.value(), [](T x) { return x * x; }));
    if (needs_grad({a}))
        record<T>(out, "square", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [](T gi, T x, std::size_t) { return gi * (T(2) * x); });
        });
    TAPEGRAD_REPLAY(out, square(in[0]));
    return out;
}

GeluApproximate gelu_approximate_from_string(const std::string& s) {
    if (s == "none") return GeluApproximate::None;
    if (s == "tanh") return GeluApproximate::Tanh;
    throw ValueError("gelu: approximate argument must be either none or tanh. (got '" + s + "')");
}
const char* to_string(GeluApproximate a) { return a == GeluApproximate::None ? "none" : "tanh"; }

// none: y = x·Φ(x) = x·½(1 + erf(x/√2)); dy/dx = Φ(x) + x·φ(x)
// tanh: y = ½x(1 + tanh(√(2/π)(x + 0.044715x³))); the derivative as torch's GeluBackward kernel
template <class T> Tensor<T> gelu(const Tensor<T>& a, GeluApproximate approximate) {
    constexpr T kBeta = T(M_SQRT2 * M_2_SQRTPI * 0.5), kKappa = T(0.044715);
    constexpr T kAlpha = T(M_SQRT1_2), kPdf = T(M_2_SQRTPI * M_SQRT1_2 * 0.5);
    const bool tanh_form = approximate == GeluApproximate::Tanh;
    Tensor<T> out(map(a.value(), [tanh_form](T x) {
        if (tanh_form) {
            const T inner = kBeta * (x + kKappa * x * x * x);
            return T(0.5) * x * (T(1) + std::tanh(inner));
        }
        return x * T(0.5) * (T(1) + std::erf(x * kAlpha));
    }));
    if (needs_grad({a}))
        record<T>(out, "gelu", {a}, [a, tanh_form](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [tanh_form](T gi, T x, std::size_t) {
                if (tanh_form) {
                    const T x_sq = x * x, x_cube = x_sq * x;
                    const T inner = kBeta * (x + kKappa * x_cube), th = std::tanh(inner);
                    const T left = T(0.5) * x, right = T(1) + th;
                    const T left_d = T(0.5) * right, right_d = T(1) - th * th;
                    const T inner_d = kBeta * (T(1) + T(3) * kKappa * x_sq);
                    return gi * (left_d + left * right_d * inner_d);
                }
                const T cdf = T(0.5) * (T(1) + std::erf(x * kAlpha));
                const T pdf = std::exp(T(-0.5) * x * x) * kPdf;
                return gi * (cdf + x * pdf);
            });
        });
    TAPEGRAD_REPLAY(out, gelu(in[0], approximate));
    return out;
}
template <class T> Tensor<T> gelu(const Tensor<T>& a, const std::string& approximate) {
    return gelu(a, gelu_approximate_from_string(approximate));
}

// y = a where a > 0, else a·negative_slope; dy/da likewise (g·slope at 0, as torch)
template <class T> Tensor<T> leaky_relu(const Tensor<T>& a, Scalar<T> slope) {
    Tensor<T> out(map(a.value(), [slope](T x) { return x > T(0) ? x : x * slope; }));
    if (needs_grad({a}))
        record<T>(out, "leaky_relu", {a}, [a, slope](const xt::xarray<T>& g, const xt::xarray<T>&) {
            unary_backward(a, g, [slope](T gi, T x, std::size_t) { return x > T(0) ? gi : gi * slope; });
        });
    TAPEGRAD_REPLAY(out, leaky_relu(in[0], double(slope)));
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
    template Tensor<T> tanh(const Tensor<T>&);                                          \
    template Tensor<T> maximum(const Tensor<T>&, const Tensor<T>&);                     \
    template Tensor<T> minimum(const Tensor<T>&, const Tensor<T>&);                     \
    template Tensor<T> pow(const Tensor<T>&, const Tensor<T>&);                         \
    template Tensor<T> log1p(const Tensor<T>&);                                         \
    template Tensor<T> square(const Tensor<T>&);                                        \
    template Tensor<T> gelu(const Tensor<T>&, GeluApproximate);                         \
    template Tensor<T> gelu(const Tensor<T>&, const std::string&);                      \
    template Tensor<T> leaky_relu(const Tensor<T>&, Scalar<T>);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
