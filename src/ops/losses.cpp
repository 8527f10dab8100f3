// The element-wise losses of losses.hpp, each one tape node with its backward right under its
// forward. Every formula is written in the order of operations torch 1.13's CPU kernels (or, for
// the losses torch composes from other ops, its autograd) use, so NaN, ±inf and the clamps come
// out where torch's do, and the rounding differs by an ulp or two at most.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include <xtensor/xbroadcast.hpp>

#include "internal.hpp"
#include "tapegrad/ops/losses.hpp"

namespace tapegrad {

KLDivReduction kl_div_reduction_from_string(const std::string& s) {
    if (s == "batchmean") return KLDivReduction::BatchMean;
    if (s == "mean") return KLDivReduction::Mean;
    if (s == "sum") return KLDivReduction::Sum;
    if (s == "none") return KLDivReduction::None;
    throw ValueError("'" + s + "' is not a valid value for reduction (expected 'none', 'batchmean', 'mean' or 'sum')");
}
const char* to_string(KLDivReduction r) {
    switch (r.kind) {
        case KLDivReduction::None: return "none";
        case KLDivReduction::Sum: return "sum";
        case KLDivReduction::BatchMean: return "batchmean";
        default: return "mean";
    }
}

namespace {
using detail::accumulate_to;

std::string torch_size(const Shape& s) { return "torch.Size(" + shape_str(s) + ")"; }

std::size_t count(const Shape& s) {
    std::size_t n = 1;
    for (std::size_t d : s) n *= d;
    return n;
}

// An operand seen at the loss's shape: the tensor's own data when it has that shape, else a
// broadcast copy; null for an undefined tensor (no weight).
template <class T> struct At {
    xt::xarray<T> copy;
    const T* p = nullptr;
    At(const Tensor<T>& t, const Shape& shape) {
        if (!t.defined()) return;
        if (t.shape() == shape) {
            p = t.value().data();
        } else {
            copy = xt::broadcast(t.value(), shape);
            p = copy.data();
        }
    }
    At(const At&) = delete;  // p may point into copy
};

// An operand torch applies in place (loss.mul_(weight)): it must broadcast to `shape` without
// enlarging it. Messages as torch's TensorIterator words them.
void check_fits(const char* fn, const Shape& shape, const Shape& operand) {
    const Shape b = detail::broadcast_shapes(fn, shape, operand);
    if (b != shape)
        throw ShapeError(std::string(fn) + ": output with shape " + shape_str(shape) +
                         " doesn't match the broadcast shape " + shape_str(b));
}

// torch's check_no_requires_grad for the arguments its derivative formulas leave out.
template <class T> void check_no_grad(const char* fn, const char* arg, const Tensor<T>& t) {
    if (t.defined() && t.requires_grad() && is_grad_enabled())
        throw ValueError(std::string(fn) + ": The function '" + fn + "' is not differentiable with respect to argument '" +
                         arg + "'. This input cannot have requires_grad True.");
}

// Σ of the per-element losses, accumulated in double: torch's float32 sums are pairwise, and a
// plain float32 running sum would drift from them on long inputs.
template <class T> T total(const xt::xarray<T>& a) {
    double s = 0;
    for (T v : a) s += double(v);
    return T(s);
}

// 'none' → the losses; 'sum' → Σ; 'mean' → Σ / n in T (torch's mean: its sum, then div_; 0/0 = NaN).
template <class T> Tensor<T> reduce_loss(xt::xarray<T>&& per, Reduction r) {
    if (r == Reduction::None) return Tensor<T>(std::move(per));
    const T s = total(per);
    return Tensor<T>::scalar(r == Reduction::Sum ? s : s / T(per.size()));
}

// The gradient reaching element i of the unreduced loss: g_i for 'none', the 0-d g otherwise
// (each loss applies its 1/n where torch does).
template <class T> struct Upstream {
    const T* g;
    bool per_element;
    T operator[](std::size_t i) const { return per_element ? g[i] : g[0]; }
};

// d_i = f(i) over `shape`, accumulated into t's gradient (summed back to t's own shape where it
// was broadcast) — when t requires grad.
template <class T, class F> void grad_into(const Tensor<T>& t, const Shape& shape, F f) {
    if (!t.defined() || !t.requires_grad()) return;
    xt::xarray<T> d = xt::xarray<T>::from_shape(shape);
    T* pd = d.data();
    for (std::size_t i = 0, n = d.size(); i < n; ++i) pd[i] = f(i);
    accumulate_to(t, d);
}

// torch 1.13's log_sigmoid and its backward: logσ(x) = min(x, 0) − log1p(exp(−|x|)) (exp never
// overflows: its argument is ≤ 0; logσ(−inf) = −inf); d logσ/dx = 1 − z/(1 + z) for x < 0,
// z/(1 + z) otherwise, z = exp(−|x|).
template <class T> T log_sigmoid(T x) {
    return std::min(x, T(0)) - std::log1p(std::exp(-std::abs(x)));  // a NaN x stays NaN: std::min returns it
}
template <class T> T log_sigmoid_backward(T g, T x) {
    const bool neg = x < T(0);
    const T max_deriv = neg ? T(1) : T(0), sign = neg ? T(1) : T(-1);
    const T z = std::exp(-std::abs(x));
    return (max_deriv - sign * (z / (T(1) + z))) * g;
}

// torch's sign: 0 for ±0 and for NaN.
template <class T> T sgn(T v) { return T((T(0) < v) - (v < T(0))); }

// torch's xlogy(a, b): NaN where b is NaN, 0 where a is 0, a·log b otherwise.
template <class T> T xlogy(T a, T b) {
    if (std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    if (a == T(0)) return T(0);
    return a * std::log(b);
}

// torch's logit without eps: log(x / (1 − x)), +inf at 1.
template <class T> T logit(T x) {
    return x == T(1) ? std::numeric_limits<T>::infinity() : std::log(x / (T(1) - x));
}

// The loss's 1/n under 'mean' as torch's kernels take it: a double scalar cast to T.
template <class T> T mean_norm(Reduction r, std::size_t n, double num = 1.0) {
    return T(r == Reduction::Mean ? num / double(n) : num);
}
}  // namespace

// ---------------------------------------------------------------- binary_cross_entropy
// input, target (*), weight broadcastable to them → () or (*)
// l = −w·(t·max(log x, −100) + (1 − t)·max(log(1 − x), −100));
// dl/dx = w·(x − t)/max((1 − x)·x, 1e-12);  dl/dt = −w·logit(x)
template <class T>
Tensor<T> binary_cross_entropy(const Tensor<T>& input, const Tensor<T>& target, const Tensor<T>& weight,
                               Reduction reduction) {
    const char* fn = "binary_cross_entropy";
    const Shape shape = input.shape();
    if (target.shape() != shape)
        throw ValueError(std::string(fn) + ": Using a target size (" + torch_size(target.shape()) +
                         ") that is different to the input size (" + torch_size(shape) +
                         ") is deprecated. Please ensure they have the same size.");
    if (weight.defined()) {
        const Shape ws = detail::broadcast_shapes(fn, target.shape(), weight.shape());  // torch's weight.expand
        if (ws != shape) check_fits(fn, shape, ws);
    }
    check_no_grad(fn, "weight", weight);
    const T *x = input.value().data(), *t = target.value().data();
    const At<T> w(weight, shape);
    xt::xarray<T> per = xt::xarray<T>::from_shape(shape);
    for (std::size_t i = 0; i < per.size(); ++i) {
        if (!(x[i] >= T(0) && x[i] <= T(1)))
            throw ValueError(std::string(fn) + ": all elements of input should be between 0 and 1");
        // torch clamps each log at −100 so that x = 0 or 1 gives a finite loss
        const T l = (t[i] - T(1)) * std::max(T(std::log1p(-x[i])), T(-100)) - t[i] * std::max(T(std::log(x[i])), T(-100));
        per.data()[i] = w.p ? l * w.p[i] : l;
    }
    Tensor<T> out = reduce_loss(std::move(per), reduction);
    if (!needs_grad({input, target})) return out;
    record<T>(out, "binary_cross_entropy", {input, target, weight},
              [input, target, weight, reduction](const xt::xarray<T>& g, const xt::xarray<T>&) {
                  const Shape shape = input.shape();
                  const T *x = input.value().data(), *t = target.value().data();
                  const At<T> w(weight, shape);
                  const Upstream<T> up{g.data(), reduction == Reduction::None};
                  const T n = T(input.numel());
                  const bool mean = reduction == Reduction::Mean;
                  // the denominator is floored at torch's EPSILON (1e-12 as a float, 9.99999996e-13), not at
                  // the loss's −100 clamp: x = 0 or 1 gives a large finite slope
                  grad_into(input, shape, [&](std::size_t i) {
                      T d = up[i] * (x[i] - t[i]) / std::max((T(1) - x[i]) * x[i], T(1e-12f));
                      if (w.p) d *= w.p[i];
                      return mean ? d / n : d;
                  });
                  // torch differentiates the unclamped loss here: −logit(x), ±inf at x = 0 or 1
                  grad_into(target, shape, [&](std::size_t i) {
                      T d = -logit(x[i]) * up[i];
                      if (w.p) d *= w.p[i];
                      return mean ? d / n : d;
                  });
              });
    TAPEGRAD_REPLAY(out, binary_cross_entropy(in[0], in[1], in[2], reduction));
    return out;
}

// ---------------------------------------------------------------- binary_cross_entropy_with_logits
// input, target (*); weight, pos_weight broadcastable to them → () or (*)
// l = w·((1 − t)·x + lw·(log(exp(−m) + exp(−x − m)) + m)), m = max(−x, 0), lw = (pw − 1)·t + 1;
// dl/dx = w·((pw·t + 1 − t)·σ(x) − pw·t);  dl/dt = w·(logσ(−x) − pw·logσ(x))   [w·(σ(x) − t), −w·x without pw]
template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& input, const Tensor<T>& target, const Tensor<T>& weight,
                                           Reduction reduction, const Tensor<T>& pos_weight) {
    const char* fn = "binary_cross_entropy_with_logits";
    const Shape shape = input.shape();
    if (target.shape() != shape)
        throw ValueError(std::string(fn) + ": Target size (" + torch_size(target.shape()) +
                         ") must be the same as input size (" + torch_size(shape) + ")");
    if (pos_weight.defined()) check_fits(fn, shape, detail::broadcast_shapes(fn, pos_weight.shape(), target.shape()));
    if (weight.defined()) check_fits(fn, shape, weight.shape());
    check_no_grad(fn, "weight", weight);
    check_no_grad(fn, "pos_weight", pos_weight);
    const T *x = input.value().data(), *t = target.value().data();
    const At<T> w(weight, shape), pw(pos_weight, shape);
    xt::xarray<T> per = xt::xarray<T>::from_shape(shape);
    for (std::size_t i = 0; i < per.size(); ++i) {
        // log(1 + exp(−x)) with the larger of the exponents 0 and −x taken out: nothing overflows
        const T m = std::max(-x[i], T(0));  // NaN stays NaN, as torch's clamp_min
        const T lse = std::log(std::exp(-m) + std::exp(-x[i] - m));
        T l;
        if (pw.p) {
            const T lw = (pw.p[i] - T(1)) * t[i] + T(1);
            l = (T(1) - t[i]) * x[i] + lw * (lse + m);
        } else {
            l = (T(1) - t[i]) * x[i] + m + lse;
        }
        per.data()[i] = w.p ? l * w.p[i] : l;
    }
    Tensor<T> out = reduce_loss(std::move(per), reduction);
    if (!needs_grad({input, target})) return out;
    record<T>(out, "binary_cross_entropy_with_logits", {input, target, weight, pos_weight},
              [input, target, weight, pos_weight, reduction](const xt::xarray<T>& g, const xt::xarray<T>&) {
                  const Shape shape = input.shape();
                  const T *x = input.value().data(), *t = target.value().data();
                  const At<T> w(weight, shape), pw(pos_weight, shape);
                  const Upstream<T> up{g.data(), reduction == Reduction::None};
                  const T n = T(input.numel());
                  const bool mean = reduction == Reduction::Mean;
                  grad_into(input, shape, [&](std::size_t i) {
                      const T s = T(1) / (T(1) + std::exp(-x[i]));
                      T d;
                      if (pw.p) {
                          const T pt = pw.p[i] * t[i];
                          d = ((pt + T(1) - t[i]) * s - pt) * up[i];
                      } else {
                          d = (s - t[i]) * up[i];
                      }
                      if (w.p) d *= w.p[i];
                      return mean ? d / n : d;
                  });
                  grad_into(target, shape, [&](std::size_t i) {
                      T d = pw.p ? (log_sigmoid(-x[i]) - log_sigmoid(x[i]) * pw.p[i]) * up[i] : -x[i] * up[i];
                      if (w.p) d *= w.p[i];
                      return mean ? d / n : d;
                  });
              });
    TAPEGRAD_REPLAY(out, binary_cross_entropy_with_logits(in[0], in[1], in[2], reduction, in[3]));
    return out;
}

// ---------------------------------------------------------------- mse_loss
// input, target broadcast together to (*) → () or (*)
// l = (x − t)²;  dl/dx = 2(x − t), dl/dt = 2(t − x)
template <class T> Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction) {
    const Shape shape = detail::broadcast_shapes("mse_loss", input.shape(), target.shape());
    const At<T> x(input, shape), t(target, shape);
    xt::xarray<T> per = xt::xarray<T>::from_shape(shape);
    for (std::size_t i = 0; i < per.size(); ++i) {
        const T d = x.p[i] - t.p[i];
        per.data()[i] = d * d;
    }
    Tensor<T> out = reduce_loss(std::move(per), reduction);
    if (!needs_grad({input, target})) return out;
    record<T>(out, "mse_loss", {input, target}, [input, target, shape, reduction](const xt::xarray<T>& g, const xt::xarray<T>&) {
        const At<T> x(input, shape), t(target, shape);
        const Upstream<T> up{g.data(), reduction == Reduction::None};
        const T norm = mean_norm<T>(reduction, count(shape), 2.0);  // torch: 2/n or 2, then ·(x − t)·g
        grad_into(input, shape, [&](std::size_t i) { return norm * (x.p[i] - t.p[i]) * up[i]; });
        grad_into(target, shape, [&](std::size_t i) { return norm * (t.p[i] - x.p[i]) * up[i]; });
    });
    TAPEGRAD_REPLAY(out, mse_loss(in[0], in[1], reduction));
    return out;
}

// ---------------------------------------------------------------- l1_loss
// input, target broadcast together to (*) → () or (*)
// l = |x − t|;  dl/dx = sign(x − t), dl/dt = −sign(x − t)  (torch: abs's backward, g·sgn; 'mean' passes g/n)
template <class T> Tensor<T> l1_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction) {
    const Shape shape = detail::broadcast_shapes("l1_loss", input.shape(), target.shape());
    const At<T> x(input, shape), t(target, shape);
    xt::xarray<T> per = xt::xarray<T>::from_shape(shape);
    for (std::size_t i = 0; i < per.size(); ++i) per.data()[i] = std::abs(x.p[i] - t.p[i]);
    Tensor<T> out = reduce_loss(std::move(per), reduction);
    if (!needs_grad({input, target})) return out;
    record<T>(out, "l1_loss", {input, target}, [input, target, shape, reduction](const xt::xarray<T>& g, const xt::xarray<T>&) {
        const At<T> x(input, shape), t(target, shape);
        const Upstream<T> up{g.data(), reduction == Reduction::None};
        const std::size_t n = count(shape);
        auto gd = [&](std::size_t i) {
            const T gi = reduction == Reduction::Mean ? up[i] / T(n) : up[i];
            return gi * sgn(x.p[i] - t.p[i]);
        };
        grad_into(input, shape, gd);
        grad_into(target, shape, [&](std::size_t i) { return -gd(i); });
    });
    TAPEGRAD_REPLAY(out, l1_loss(in[0], in[1], reduction));
    return out;
}

// ---------------------------------------------------------------- smooth_l1_loss
// input, target broadcast together to (*) → () or (*); beta ≥ 0
// l = 0.5·d²/β if |d| < β else |d| − 0.5·β  (d = x − t);  dl/dx = −1, d/β, 1 for d ≤ −β, |d| < β, d ≥ β;
// dl/dt the same with x and t swapped. beta = 0 gives l1_loss's values through these formulas, and
// torch's gradient for it: −1 for input and target alike at d = 0 (the d ≤ −β branch) and NaN at
// NaN, where l1_loss's gradient is 0.
template <class T>
Tensor<T> smooth_l1_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction, double beta) {
    if (!(beta >= 0.0)) {
        std::ostringstream os;
        os << "smooth_l1_loss: smooth_l1_loss does not support negative values for beta. Got: " << beta;
        throw ValueError(os.str());
    }
    const Shape shape = detail::broadcast_shapes("smooth_l1_loss", input.shape(), target.shape());
    const At<T> x(input, shape), t(target, shape);
    const T b = T(beta);
    xt::xarray<T> per = xt::xarray<T>::from_shape(shape);
    for (std::size_t i = 0; i < per.size(); ++i) {
        const T z = std::abs(x.p[i] - t.p[i]);
        per.data()[i] = z < b ? T(0.5) * z * z / b : z - T(0.5) * b;
    }
    Tensor<T> out = reduce_loss(std::move(per), reduction);
    if (!needs_grad({input, target})) return out;
    record<T>(out, "smooth_l1_loss", {input, target}, [input, target, shape, reduction, b](const xt::xarray<T>& g, const xt::xarray<T>&) {
        const At<T> x(input, shape), t(target, shape);
        const Upstream<T> up{g.data(), reduction == Reduction::None};
        const T norm = mean_norm<T>(reduction, count(shape));
        // torch's kernel, called with (input, target) for the input and (target, input) for the target
        auto d = [&](T a, T c, T gi) {
            const T v = a - c;
            if (v <= -b) return -norm * gi;
            if (v >= b) return norm * gi;
            return norm * v * gi / b;
        };
        grad_into(input, shape, [&](std::size_t i) { return d(x.p[i], t.p[i], up[i]); });
        grad_into(target, shape, [&](std::size_t i) { return d(t.p[i], x.p[i], up[i]); });
    });
    TAPEGRAD_REPLAY(out, smooth_l1_loss(in[0], in[1], reduction, beta));
    return out;
}

// ---------------------------------------------------------------- huber_loss
// input, target broadcast together to (*) → () or (*); delta > 0
// l = 0.5·d² if |d| < δ else δ·(|d| − 0.5·δ);  dl/dx = −δ, d, δ for d ≤ −δ, |d| < δ, d ≥ δ; dl/dt = −dl/dx
template <class T>
Tensor<T> huber_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction, double delta) {
    if (!(delta > 0.0)) {
        std::ostringstream os;
        os << "huber_loss: huber_loss does not support non-positive values for delta. Got: " << delta;
        throw ValueError(os.str());
    }
    const Shape shape = detail::broadcast_shapes("huber_loss", input.shape(), target.shape());
    const At<T> x(input, shape), t(target, shape);
    const T dl = T(delta);
    xt::xarray<T> per = xt::xarray<T>::from_shape(shape);
    for (std::size_t i = 0; i < per.size(); ++i) {
        const T z = std::abs(x.p[i] - t.p[i]);
        per.data()[i] = z < dl ? T(0.5) * z * z : dl * (z - T(0.5) * dl);
    }
    Tensor<T> out = reduce_loss(std::move(per), reduction);
    if (!needs_grad({input, target})) return out;
    record<T>(out, "huber_loss", {input, target}, [input, target, shape, reduction, dl](const xt::xarray<T>& g, const xt::xarray<T>&) {
        const At<T> x(input, shape), t(target, shape);
        const Upstream<T> up{g.data(), reduction == Reduction::None};
        const T norm = mean_norm<T>(reduction, count(shape));
        auto d = [&](T a, T c, T gi) {
            const T v = a - c;
            if (v <= -dl) return -norm * gi * dl;
            if (v >= dl) return norm * gi * dl;
            return norm * v * gi;
        };
        grad_into(input, shape, [&](std::size_t i) { return d(x.p[i], t.p[i], up[i]); });
        grad_into(target, shape, [&](std::size_t i) { return d(t.p[i], x.p[i], up[i]); });
    });
    TAPEGRAD_REPLAY(out, huber_loss(in[0], in[1], reduction, delta));
    return out;
}

// ---------------------------------------------------------------- kl_div
// input (log-probabilities), target broadcast together to (*) → () or (*)
// l = xlogy(t, t) − t·x;  dl/dx = −t;  dl/dt = xlogy(t ≠ 0, t) + t/t − x   (torch's autograd through xlogy: NaN at t = 0)
// log_target: l = exp(t)·(t − x);  dl/dx = −exp(t);  dl/dt = (t − x)·exp(t) + exp(t)
// 'mean' divides by the number of elements, 'batchmean' by input.size(0) (nothing for a 0-d input).
template <class T>
Tensor<T> kl_div(const Tensor<T>& input, const Tensor<T>& target, KLDivReduction reduction, bool log_target) {
    const Shape shape = detail::broadcast_shapes("kl_div", target.shape(), input.shape());
    const At<T> x(input, shape), t(target, shape);
    xt::xarray<T> per = xt::xarray<T>::from_shape(shape);
    for (std::size_t i = 0; i < per.size(); ++i)
        per.data()[i] = log_target ? std::exp(t.p[i]) * (t.p[i] - x.p[i]) : xlogy(t.p[i], t.p[i]) - t.p[i] * x.p[i];
    // the divisor of the sum: n elements ('mean'), input.size(0) ('batchmean'), 1 ('sum')
    const bool batch = reduction == KLDivReduction::BatchMean && input.dim() != 0;
    const std::size_t divisor = reduction == KLDivReduction::Mean ? per.size() : batch ? input.shape()[0] : 1;
    const bool divide = reduction == KLDivReduction::Mean || batch;
    Tensor<T> out;
    if (reduction == KLDivReduction::None) {
        out = Tensor<T>(std::move(per));
    } else {
        const T s = total(per);
        out = Tensor<T>::scalar(divide ? s / T(divisor) : s);
    }
    if (!needs_grad({input, target})) return out;
    const bool none = reduction == KLDivReduction::None;
    record<T>(out, "kl_div", {input, target}, [input, target, shape, none, divide, divisor, log_target](const xt::xarray<T>& g, const xt::xarray<T>&) {
        const At<T> x(input, shape), t(target, shape);
        const Upstream<T> up{g.data(), none};
        // torch's autograd: the mean's (or batchmean's division's) backward first, g/n on every element
        auto G = [&](std::size_t i) { return divide ? up[i] / T(divisor) : up[i]; };
        if (log_target) {
            grad_into(input, shape, [&](std::size_t i) { return -(G(i) * std::exp(t.p[i])); });
            grad_into(target, shape, [&](std::size_t i) {
                const T e = std::exp(t.p[i]);
                return G(i) * (t.p[i] - x.p[i]) * e + G(i) * e;
            });
        } else {
            grad_into(input, shape, [&](std::size_t i) { return -G(i) * t.p[i]; });
            grad_into(target, shape, [&](std::size_t i) {
                const T gi = G(i), ti = t.p[i];
                return gi * xlogy(T(ti != T(0)), ti) + gi * ti / ti + -gi * x.p[i];
            });
        }
    });
    TAPEGRAD_REPLAY(out, kl_div(in[0], in[1], reduction, log_target));
    return out;
}

// ---------------------------------------------------------------- soft_margin_loss
// input (*), target broadcastable to it → () or (*)
// l = log(1 + exp(−t·x));  dl/dx = −t·z/(1 + z), z = exp(−t·x). torch 1.13 does not differentiate
// the target: one that requires grad is its error "not differentiable with respect to argument 'target'".
template <class T> Tensor<T> soft_margin_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction) {
    const char* fn = "soft_margin_loss";
    const Shape shape = input.shape();
    check_fits(fn, shape, target.shape());
    check_no_grad(fn, "target", target);
    const T* x = input.value().data();
    const At<T> t(target, shape);
    xt::xarray<T> per = xt::xarray<T>::from_shape(shape);
    // torch's plain formula, not log1p/softplus: it overflows to inf where torch's does
    for (std::size_t i = 0; i < per.size(); ++i) per.data()[i] = std::log(std::exp(-x[i] * t.p[i]) + T(1));
    Tensor<T> out = reduce_loss(std::move(per), reduction);
    if (!needs_grad({input})) return out;
    record<T>(out, "soft_margin_loss", {input, target}, [input, target, reduction](const xt::xarray<T>& g, const xt::xarray<T>&) {
        const Shape shape = input.shape();
        const T* x = input.value().data();
        const At<T> t(target, shape);
        const Upstream<T> up{g.data(), reduction == Reduction::None};
        const T neg_norm = -mean_norm<T>(reduction, input.numel());
        // torch's order: (t·z)·(−norm)/(1 + z)·g
        grad_into(input, shape, [&](std::size_t i) {
            const T z = std::exp(-t.p[i] * x[i]);
            return t.p[i] * z * neg_norm / (z + T(1)) * up[i];
        });
    });
    TAPEGRAD_REPLAY(out, soft_margin_loss(in[0], in[1], reduction));
    return out;
}

// ---------------------------------------------------------------- multilabel_soft_margin_loss
// input (C) | (N, C) | (*, C), target and weight broadcast with it → () or input's shape without its last dim
// l_n = (1/C)·Σ_c −w_c·(t_c·logσ(x_c) + (1 − t_c)·logσ(−x_c));
// dl/dx_c = −(w_c/C)·(t_c·logσ'(x_c) − (1 − t_c)·logσ'(−x_c)) = (w_c/C)·(σ(x_c) − t_c);
// dl/dt_c = −(w_c/C)·(logσ(x_c) − logσ(−x_c)) = −(w_c/C)·x_c;  dl/dw_c = (1/C)·(the bracket, negated).
// torch composes it from ops; the backward follows their autograd step by step.
template <class T>
Tensor<T> multilabel_soft_margin_loss(const Tensor<T>& input, const Tensor<T>& target, const Tensor<T>& weight,
                                      Reduction reduction) {
    const char* fn = "multilabel_soft_margin_loss";
    if (input.dim() == 0)
        throw IndexError(std::string(fn) + ": Dimension specified as -1 but tensor has no dimensions");
    Shape shape = detail::broadcast_shapes(fn, target.shape(), input.shape());
    if (weight.defined()) shape = detail::broadcast_shapes(fn, shape, weight.shape());
    // torch sums over dim input.dim() − 1 of the broadcast loss, counted from the front, and divides by C = input.size(−1)
    const std::size_t class_dim = input.dim() - 1, C = input.shape().back();
    const detail::Lines L = detail::lines_around(shape, class_dim);
    Shape rshape = shape;
    rshape.erase(rshape.begin() + std::ptrdiff_t(class_dim));
    const At<T> x(input, shape), t(target, shape), w(weight, shape);
    xt::xarray<T> per = xt::xarray<T>::from_shape(rshape);
    for (std::size_t o = 0; o < L.outer; ++o)
        for (std::size_t in = 0; in < L.inner; ++in) {
            double s = 0;
            for (std::size_t c = 0; c < L.len; ++c) {
                const std::size_t k = (o * L.len + c) * L.inner + in;
                T l = -(t.p[k] * log_sigmoid(x.p[k]) + (T(1) - t.p[k]) * log_sigmoid(-x.p[k]));
                if (w.p) l = l * w.p[k];
                s += double(l);
            }
            per.data()[o * L.inner + in] = T(s) / T(C);
        }
    Tensor<T> out = reduce_loss(std::move(per), reduction);
    if (!needs_grad({input, target, weight})) return out;
    record<T>(out, "multilabel_soft_margin_loss", {input, target, weight},
              [input, target, weight, shape, L, C, reduction](const xt::xarray<T>& g, const xt::xarray<T>&) {
                  const At<T> x(input, shape), t(target, shape), w(weight, shape);
                  const Upstream<T> up{g.data(), reduction == Reduction::None};
                  const std::size_t rows = L.outer * L.inner;
                  // the gradient each element of the loss before the class sum receives: (g / rows) / C
                  // for 'mean', g / C for 'sum', g_n / C for 'none' (mean's, then the division's backward)
                  auto G = [&](std::size_t k) {
                      const std::size_t r = (k / (L.len * L.inner)) * L.inner + k % L.inner;
                      const T gr = reduction == Reduction::Mean ? up[r] / T(rows) : up[r];
                      return gr / T(C);
                  };
                  // ds = −G·w is the gradient of the bracket s = t·logσ(x) + (1 − t)·logσ(−x)
                  auto ds = [&](std::size_t k) { return -(w.p ? G(k) * w.p[k] : G(k)); };
                  grad_into(input, shape, [&](std::size_t k) {
                      const T d = ds(k);
                      return log_sigmoid_backward(d * t.p[k], x.p[k]) + -log_sigmoid_backward(d * (T(1) - t.p[k]), -x.p[k]);
                  });
                  grad_into(target, shape, [&](std::size_t k) {
                      const T d = ds(k);
                      return d * log_sigmoid(x.p[k]) + -(d * log_sigmoid(-x.p[k]));
                  });
                  grad_into(weight, shape, [&](std::size_t k) {
                      const T l = -(t.p[k] * log_sigmoid(x.p[k]) + (T(1) - t.p[k]) * log_sigmoid(-x.p[k]));
                      return G(k) * l;
                  });
              });
    TAPEGRAD_REPLAY(out, multilabel_soft_margin_loss(in[0], in[1], in[2], reduction));
    return out;
}

// ---------------------------------------------------------------- the option-struct forms
template <class T>
Tensor<T> binary_cross_entropy(const Tensor<T>& input, const Tensor<T>& target, const BinaryCrossEntropyOptions& o) {
    return binary_cross_entropy(input, target, o.weight<T>(), o.reduction());
}
template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& input, const Tensor<T>& target,
                                           const BinaryCrossEntropyWithLogitsOptions& o) {
    return binary_cross_entropy_with_logits(input, target, o.weight<T>(), o.reduction(), o.pos_weight<T>());
}
template <class T> Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, const MSELossOptions& o) {
    return mse_loss(input, target, o.reduction());
}
template <class T> Tensor<T> l1_loss(const Tensor<T>& input, const Tensor<T>& target, const L1LossOptions& o) {
    return l1_loss(input, target, o.reduction());
}
template <class T>
Tensor<T> smooth_l1_loss(const Tensor<T>& input, const Tensor<T>& target, const SmoothL1LossOptions& o) {
    return smooth_l1_loss(input, target, o.reduction(), o.beta());
}
template <class T> Tensor<T> huber_loss(const Tensor<T>& input, const Tensor<T>& target, const HuberLossOptions& o) {
    return huber_loss(input, target, o.reduction(), o.delta());
}
template <class T> Tensor<T> kl_div(const Tensor<T>& input, const Tensor<T>& target, const KLDivOptions& o) {
    return kl_div(input, target, o.reduction(), o.log_target());
}
template <class T>
Tensor<T> soft_margin_loss(const Tensor<T>& input, const Tensor<T>& target, const SoftMarginLossOptions& o) {
    return soft_margin_loss(input, target, o.reduction());
}
template <class T>
Tensor<T> multilabel_soft_margin_loss(const Tensor<T>& input, const Tensor<T>& target,
                                      const MultilabelSoftMarginLossOptions& o) {
    return multilabel_soft_margin_loss(input, target, o.weight<T>(), o.reduction());
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                      \
    template Tensor<T> binary_cross_entropy(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, Reduction);       \
    template Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&,       \
                                                        Reduction, const Tensor<T>&);                               \
    template Tensor<T> mse_loss(const Tensor<T>&, const Tensor<T>&, Reduction);                                     \
    template Tensor<T> l1_loss(const Tensor<T>&, const Tensor<T>&, Reduction);                                      \
    template Tensor<T> smooth_l1_loss(const Tensor<T>&, const Tensor<T>&, Reduction, double);                       \
    template Tensor<T> huber_loss(const Tensor<T>&, const Tensor<T>&, Reduction, double);                           \
    template Tensor<T> kl_div(const Tensor<T>&, const Tensor<T>&, KLDivReduction, bool);                            \
    template Tensor<T> soft_margin_loss(const Tensor<T>&, const Tensor<T>&, Reduction);                             \
    template Tensor<T> multilabel_soft_margin_loss(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, Reduction); \
    template Tensor<T> binary_cross_entropy(const Tensor<T>&, const Tensor<T>&, const BinaryCrossEntropyOptions&);  \
    template Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>&, const Tensor<T>&,                         \
                                                        const BinaryCrossEntropyWithLogitsOptions&);                \
    template Tensor<T> mse_loss(const Tensor<T>&, const Tensor<T>&, const MSELossOptions&);                         \
    template Tensor<T> l1_loss(const Tensor<T>&, const Tensor<T>&, const L1LossOptions&);                           \
    template Tensor<T> smooth_l1_loss(const Tensor<T>&, const Tensor<T>&, const SmoothL1LossOptions&);              \
    template Tensor<T> huber_loss(const Tensor<T>&, const Tensor<T>&, const HuberLossOptions&);                     \
    template Tensor<T> kl_div(const Tensor<T>&, const Tensor<T>&, const KLDivOptions&);                             \
    template Tensor<T> soft_margin_loss(const Tensor<T>&, const Tensor<T>&, const SoftMarginLossOptions&);          \
    template Tensor<T> multilabel_soft_margin_loss(const Tensor<T>&, const Tensor<T>&,                              \
                                                   const MultilabelSoftMarginLossOptions&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
