// cross_entropy (fused: one tape node) and nll_loss.
#include <cmath>
#include <limits>
#include <sstream>

#include "internal.hpp"
#include "tapegrad/ops/loss.hpp"

namespace tapegrad {

Reduction reduction_from_string(const std::string& s) {
    if (s == "mean") return Reduction::Mean;
    if (s == "sum") return Reduction::Sum;
    if (s == "none") return Reduction::None;
    throw ValueError("'" + s + "' is not a valid value for reduction (expected 'none', 'mean' or 'sum')");
}
const char* to_string(Reduction r) { return r == Reduction::Mean ? "mean" : r == Reduction::Sum ? "sum" : "none"; }

namespace {
using detail::Lines;

// Input (C) | (N, C) | (N, C, d…) as lines around the class dim; also the per-position shape.
struct ClassLayout {
    Lines ln;            // outer = N, len = C, inner = Π d
    Shape positions;     // (), (N) or (N, d…): the shape of 'none' losses and of index targets
};

ClassLayout class_layout(const char* fn, const Shape& s) {
    if (s.empty()) throw ShapeError(std::string(fn) + ": input must have at least 1 dimension (C), got a 0-d tensor");
    ClassLayout L;
    if (s.size() == 1) {
        L.ln = Lines{1, s[0], 1};
        return L;
    }
    L.ln = detail::lines_around(s, 1);
    L.positions = s;
    L.positions.erase(L.positions.begin() + 1);
    return L;
}

void check_index_target(const char* fn, const Shape& in, const ClassLayout& L, const Shape& target) {
    if (in.size() == 1) {
        if (!target.empty())
            throw ShapeError(std::string(fn) + ": 0D target tensor expected for an unbatched input of shape " +
                             shape_str(in) + ", got target of shape " + shape_str(target));
        return;
    }
    if (in.size() == 2) {
        if (target.size() != 1)
            throw ShapeError(std::string(fn) + ": 0D or 1D target tensor expected, multi-target not supported (input " +
                             shape_str(in) + ", target " + shape_str(target) + ")");
        if (target[0] != in[0])
            throw ShapeError(std::string(fn) + ": Expected input batch_size (" + std::to_string(in[0]) +
                             ") to match target batch_size (" + std::to_string(target[0]) + ").");
        return;
    }
    if (target.size() >= 1 && target[0] != in[0])
        throw ShapeError(std::string(fn) + ": Expected input batch_size (" + std::to_string(in[0]) +
                         ") to match target batch_size (" + std::to_string(target[0]) + ").");
    if (target != L.positions)
        throw ShapeError(std::string(fn) + ": Expected target size " + shape_str(L.positions) + ", got " +
                         shape_str(target) + " (input " + shape_str(in) + ")");
}

template <class T> void check_weight(const char* fn, const Tensor<T>& weight, std::size_t C) {
    if (weight.defined() && (weight.dim() != 1 || weight.numel() != C))
        throw ShapeError(std::string(fn) + ": weight tensor should be defined either for all " + std::to_string(C) +
                         " classes or no classes but got weight tensor of shape: " + shape_str(weight.shape()));
}

void check_smoothing(double eps) {
    if (!(eps >= 0.0 && eps <= 1.0)) {
        std::ostringstream os;
        os << "cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: " << eps;
        throw ValueError(os.str());
    }
}

// Validates every target and returns the class of each position (-1 where ignored).
std::vector<std::int64_t> checked_targets(const xt::xarray<std::int64_t>& target, std::size_t C, std::int64_t ignore) {
    std::vector<std::int64_t> t(target.begin(), target.end());
    for (auto& v : t) {
        if (v == ignore) {
            v = -1;
            continue;
        }
        if (v < 0 || v >= static_cast<std::int64_t>(C))
            throw IndexError("Target " + std::to_string(v) + " is out of bounds.");
    }
    return t;
}

// The reduction tail every loss shares: per-position losses → the result. 'mean' divides by
// `divisor` (Σ weights of the kept positions, or their count) as torch does: 0/0 is NaN.
template <class T> Tensor<T> reduce_losses(xt::xarray<T>&& per, Reduction reduction, T divisor) {
    if (reduction == Reduction::None) return Tensor<T>(std::move(per));
    T s = 0;
    for (T v : per) s += v;
    return Tensor<T>::scalar(reduction == Reduction::Sum ? s : s / divisor);
}

// The gradient a reduction hands each position's loss, in torch's order: g_n ('none'), g ('sum'),
// g / divisor ('mean'; a zero divisor gives ±inf or NaN there, as torch's).
template <class T> T position_grad(Reduction r, const xt::xarray<T>& g, std::size_t pos, T divisor) {
    if (r == Reduction::None) return g.data()[pos];
    return r == Reduction::Sum ? g.data()[0] : g.data()[0] / divisor;
}

// Whether log_softmax of this row (C values, stride D) is NaN throughout: a NaN or +inf in it, or
// every value −inf. torch's log_softmax backward, g − exp(logp)·Σg, then gives NaN for such a row
// even where g is 0 — an ignored target's row included.
template <class T> bool nan_row(const T* x, std::size_t C, std::size_t D) {
    bool all_neg_inf = C > 0;
    for (std::size_t c = 0; c < C; ++c) {
        const T v = x[c * D];
        if (std::isnan(v) || v == std::numeric_limits<T>::infinity()) return true;
        all_neg_inf &= v == -std::numeric_limits<T>::infinity();
    }
    return all_neg_inf;
}
}  // namespace

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& input, const xt::xarray<std::int64_t>& target, const Tensor<T>& weight,
                        std::int64_t ignore_index, Reduction reduction, double label_smoothing) {
    const Shape in = input.shape();
    const ClassLayout L = class_layout("cross_entropy", in);
    check_index_target("cross_entropy", in, L, shape_of_any(target));
    check_weight("cross_entropy", weight, L.ln.len);
    check_smoothing(label_smoothing);
    const std::vector<std::int64_t> t = checked_targets(target, L.ln.len, ignore_index);

    const std::size_t N = L.ln.outer, C = L.ln.len, D = L.ln.inner;
    const T eps = T(label_smoothing);
    const T* w = weight.defined() ? weight.value().data() : nullptr;
    T wsum = 0;
    for (std::size_t c = 0; c < C; ++c) wsum += w ? w[c] : T(1);
    // One pass per position: the softmax is kept for the backward; logp_c = (x_c − m) − lse is
    // never stored, the loss only needs it at the target (and summed, for smoothing).
    // loss_n = (1−ε)·(−w_t·logp_t) + ε/C·(−Σ_c w_c·logp_c); ignored positions are 0
    xt::xarray<T> prob = xt::xarray<T>::from_shape(in);
    xt::xarray<T> per = xt::zeros<T>(L.positions);
    T total_weight = 0, nll_sum = 0, smooth_sum = 0;
    const T* x = input.value().data();
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t d = 0; d < D; ++d) {
            const std::size_t pos = n * D + d, base = n * C * D + d;
            if (t[pos] < 0) continue;  // ignored: no loss, no softmax needed (the backward checks its NaN)
            T m, lse;
            detail::softmax_row(x + base, C, D, prob.data() + base, m, lse);
            const std::size_t tc = static_cast<std::size_t>(t[pos]);
            const T wt = w ? w[tc] : T(1);
            total_weight += wt;
            T loss = -wt * ((x[base + tc * D] - m) - lse);
            nll_sum += loss;
            if (eps > T(0)) {
                T sx = 0;
                for (std::size_t c = 0; c < C; ++c) sx += (x[base + c * D] - m) * (w ? w[c] : T(1));
                const T smooth = -(sx - lse * wsum);
                smooth_sum += smooth;
                loss = (T(1) - eps) * loss + smooth * (eps / T(C));
            }
            per.data()[pos] = loss;
        }
    // 'sum' and 'mean' combine the two terms after reducing each, as torch: with a zero total
    // weight, 'mean' is (1−ε)·(0/0) + (Σ smooth/0)·ε/C = NaN, where (Σ per)/0 would be inf
    Tensor<T> out;
    if (reduction == Reduction::None) {
        out = Tensor<T>(std::move(per));
    } else {
        const T nll = reduction == Reduction::Mean ? nll_sum / total_weight : nll_sum;
        const T smooth = reduction == Reduction::Mean ? smooth_sum / total_weight : smooth_sum;
        out = Tensor<T>::scalar(eps > T(0) ? (T(1) - eps) * nll + smooth * (eps / T(C)) : nll);
    }
    if (!needs_grad({input, weight})) return out;
    if (weight.defined() && weight.requires_grad())
        throw ValueError("cross_entropy: the gradient with respect to weight is not supported; pass a weight that "
                         "does not require grad (torch does not support it either)");
    // torch composes the loss as log_softmax → nll_loss (+ the smoothing term), and its backward
    // in the same steps; following them keeps its non-finite results:
    //   dlogp_c = [c = t]·a + w_c·b,  a = w_t·(−g_nll)  (g_nll = (1−ε)·g, over Σ w_t for 'mean'),
    //                                b = −g_smooth    (g_smooth = ε/C·g, over Σ w_t for 'mean'),
    //   dx_c = dlogp_c − p_c·Σ_k dlogp_k.
    // A zero 'mean' divisor makes a = w_t·(−inf), NaN for w_t = 0: the row's gradient is NaN, as
    // torch's. Ignored positions get dlogp = 0, so dx = −p·0: 0, or NaN where p is NaN.
    record<T>(out, "cross_entropy", {input},
              [input, x_in = input.value(), prob = std::move(prob), t, weight, N, C, D, eps, total_weight, reduction](
                  const xt::xarray<T>& g, const xt::xarray<T>&) {
                  const T* w = weight.defined() ? weight.value().data() : nullptr;
                  bool acc = false;
                  auto& gx = input.grad_buffer(acc);
                  if (!acc) std::fill(gx.begin(), gx.end(), T(0));
                  T* px = gx.data();
                  const T* p = prob.data();
                  const T* x = x_in.data();
                  const T nll_factor = eps > T(0) ? T(1) - eps : T(1), smooth_factor = T(double(eps) / double(C));
                  std::vector<T> dlogp(C);
                  for (std::size_t n = 0; n < N; ++n)
                      for (std::size_t d = 0; d < D; ++d) {
                          const std::size_t pos = n * D + d, base = n * C * D + d;
                          if (t[pos] < 0) {  // no softmax was computed for this row: only its NaN matters
                              if (nan_row(x + base, C, D))
                                  for (std::size_t c = 0; c < C; ++c)
                                      px[base + c * D] += std::numeric_limits<T>::quiet_NaN();
                              continue;
                          }
                          const std::size_t tc = static_cast<std::size_t>(t[pos]);
                          const T gp = g.data()[reduction == Reduction::None ? pos : 0];
                          T a = reduction == Reduction::Mean ? -((gp * nll_factor) / total_weight) : -(gp * nll_factor);
                          if (w) a = w[tc] * a;
                          T b = 0;
                          if (eps > T(0)) {
                              const T gs = gp * smooth_factor;
                              b = -(reduction == Reduction::Mean ? gs / total_weight : gs);
                          }
                          T sum = 0;
                          for (std::size_t c = 0; c < C; ++c) {
                              T v = eps > T(0) ? (w ? b * w[c] : b) : T(0);
                              if (c == tc) v += a;
                              dlogp[c] = v;
                              sum += v;
                          }
                          for (std::size_t c = 0; c < C; ++c) {
                              const std::size_t k = base + c * D;
                              px[k] += dlogp[c] - p[k] * sum;
                          }
                      }
              });
    TAPEGRAD_REPLAY(out, cross_entropy(in[0], target, detail::to_double(weight), ignore_index, reduction, label_smoothing));
    return out;
}

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& input, const Tensor<T>& target, const Tensor<T>& weight,
                        std::int64_t ignore_index, Reduction reduction, double label_smoothing) {
    const Shape in = input.shape();
    const ClassLayout L = class_layout("cross_entropy", in);
    if (target.shape() != in)
        throw ValueError("cross_entropy: class-index targets must be integers (xt::xarray<std::int64_t>); got a "
                         "floating-point target of shape " + shape_str(target.shape()) + " for input of shape " +
                         shape_str(in) + " (probability targets must have the input's shape)");
    if (ignore_index >= 0)
        throw ValueError("cross_entropy: ignore_index is not supported for floating point target (got ignore_index=" +
                         std::to_string(ignore_index) + "; use a negative value, e.g. the default -100)");
    check_weight("cross_entropy", weight, L.ln.len);
    check_smoothing(label_smoothing);
    if (target.requires_grad())
        throw ValueError("cross_entropy: the gradient with respect to a probability target is not supported; detach() it");
    if (weight.defined() && weight.requires_grad())
        throw ValueError("cross_entropy: the gradient with respect to weight is not supported");

    const std::size_t N = L.ln.outer, C = L.ln.len, D = L.ln.inner;
    const T eps = T(label_smoothing);
    const T* w = weight.defined() ? weight.value().data() : nullptr;
    xt::xarray<T> logp = xt::xarray<T>::from_shape(in), prob = xt::xarray<T>::from_shape(in);
    detail::log_softmax_kernel(input.value().data(), logp.data(), prob.data(), L.ln);
    // smoothed target, weighted: tw_c = w_c·(t_c(1−ε) + ε/C)
    xt::xarray<T> tw = xt::xarray<T>::from_shape(in);
    const T* pt = target.value().data();
    for (std::size_t k = 0; k < tw.size(); ++k) {
        const T tk = eps > T(0) ? pt[k] * (T(1) - eps) + eps / T(C) : pt[k];
        const std::size_t c = (k / D) % C;
        tw.data()[k] = w ? tk * w[c] : tk;
    }
    xt::xarray<T> per = xt::zeros<T>(L.positions);
    const T* lp = logp.data();
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t d = 0; d < D; ++d) {
            T s = 0;
            for (std::size_t c = 0; c < C; ++c) {
                const std::size_t k = (n * C + c) * D + d;
                s += lp[k] * tw.data()[k];
            }
            per.data()[n * D + d] = -s;
        }
    // 'mean' divides by the number of positions: weights never enter this divisor
    const T positions = T(N * D);
    Tensor<T> out = reduce_losses(std::move(per), reduction, positions);
    if (!needs_grad({input})) return out;
    // d loss_n / d x_c = gs·(p_c·Σ_k tw_k − tw_c), gs = g / positions for 'mean' as torch divides
    record<T>(out, "cross_entropy_prob", {input},
              [input, prob = std::move(prob), tw = std::move(tw), N, C, D, positions, reduction](
                  const xt::xarray<T>& g, const xt::xarray<T>&) {
                  bool acc = false;
                  auto& gx = input.grad_buffer(acc);
                  if (!acc) std::fill(gx.begin(), gx.end(), T(0));
                  T* px = gx.data();
                  const T *p = prob.data(), *q = tw.data();
                  for (std::size_t n = 0; n < N; ++n)
                      for (std::size_t d = 0; d < D; ++d) {
                          const std::size_t pos = n * D + d;
                          const T gs = position_grad(reduction, g, pos, positions);
                          T S = 0;
                          for (std::size_t c = 0; c < C; ++c) S += q[(n * C + c) * D + d];
                          for (std::size_t c = 0; c < C; ++c) {
                              const std::size_t k = (n * C + c) * D + d;
                              px[k] += gs * (p[k] * S - q[k]);
                          }
                      }
              });
    TAPEGRAD_REPLAY(out, cross_entropy(in[0], detail::to_double(target), detail::to_double(weight), ignore_index, reduction, label_smoothing));
    return out;
}

template <class T>
Tensor<T> nll_loss(const Tensor<T>& input, const xt::xarray<std::int64_t>& target, const Tensor<T>& weight,
                   std::int64_t ignore_index, Reduction reduction) {
    const Shape in = input.shape();
    const ClassLayout L = class_layout("nll_loss", in);
    check_index_target("nll_loss", in, L, shape_of_any(target));
    check_weight("nll_loss", weight, L.ln.len);
    const std::vector<std::int64_t> t = checked_targets(target, L.ln.len, ignore_index);
    const std::size_t N = L.ln.outer, C = L.ln.len, D = L.ln.inner;
    const T* w = weight.defined() ? weight.value().data() : nullptr;
    const T* x = input.value().data();
    xt::xarray<T> per = xt::zeros<T>(L.positions);
    T total_weight = 0;
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t d = 0; d < D; ++d) {
            const std::size_t pos = n * D + d;
            if (t[pos] < 0) continue;
            const std::size_t tc = static_cast<std::size_t>(t[pos]);
            const T wt = w ? w[tc] : T(1);
            total_weight += wt;
            per.data()[pos] = -wt * x[(n * C + tc) * D + d];
        }
    Tensor<T> out = reduce_losses(std::move(per), reduction, total_weight);
    if (!needs_grad({input, weight})) return out;
    if (weight.defined() && weight.requires_grad())
        throw ValueError("nll_loss: the gradient with respect to weight is not supported");
    // torch's nll_loss backward: w_t·(−g / Σ w_t) for 'mean' (NaN for w_t = 0 when Σ w_t = 0), w_t·(−g) else
    record<T>(out, "nll_loss", {input}, [input, t, weight, N, C, D, total_weight, reduction](const xt::xarray<T>& g, const xt::xarray<T>&) {
        const T* w = weight.defined() ? weight.value().data() : nullptr;
        bool acc = false;
        auto& gx = input.grad_buffer(acc);
        if (!acc) std::fill(gx.begin(), gx.end(), T(0));
        for (std::size_t n = 0; n < N; ++n)
            for (std::size_t d = 0; d < D; ++d) {
                const std::size_t pos = n * D + d;
                if (t[pos] < 0) continue;
                const std::size_t tc = static_cast<std::size_t>(t[pos]);
                const T neg_g = -position_grad(reduction, g, pos, total_weight);
                gx.data()[(n * C + tc) * D + d] += w ? w[tc] * neg_g : neg_g;
            }
    });
    TAPEGRAD_REPLAY(out, nll_loss(in[0], target, detail::to_double(weight), ignore_index, reduction));
    return out;
}

namespace detail {
template <class T> const Tensor<T>& LossWeight::get(const char* fn) const {
    const bool is_float = std::is_same<T, float>::value;
    if (is_float ? d.defined() : f.defined())
        throw ValueError(std::string(fn) + ": expected scalar type " + (is_float ? "Float" : "Double") + " but found " +
                         (is_float ? "Double" : "Float") + " (the options' weight has the other precision than the input)");
    if constexpr (std::is_same<T, float>::value)
        return f;
    else
        return d;
}
template const Tensor<float>& LossWeight::get<float>(const char*) const;
template const Tensor<double>& LossWeight::get<double>(const char*) const;
}  // namespace detail

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& input, const xt::xarray<std::int64_t>& target, const CrossEntropyOptions& o) {
    return cross_entropy(input, target, o.weight<T>(), o.ignore_index(), o.reduction(), o.label_smoothing());
}
template <class T> Tensor<T> cross_entropy(const Tensor<T>& input, const Tensor<T>& target, const CrossEntropyOptions& o) {
    return cross_entropy(input, target, o.weight<T>(), o.ignore_index(), o.reduction(), o.label_smoothing());
}
template <class T> Tensor<T> nll_loss(const Tensor<T>& input, const xt::xarray<std::int64_t>& target, const NLLLossOptions& o) {
    return nll_loss(input, target, o.weight<T>(), o.ignore_index(), o.reduction());
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                  \
    template Tensor<T> cross_entropy(const Tensor<T>&, const xt::xarray<std::int64_t>&, const Tensor<T>&,       \
                                     std::int64_t, Reduction, double);                                          \
    template Tensor<T> cross_entropy(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, std::int64_t,       \
                                     Reduction, double);                                                        \
    template Tensor<T> nll_loss(const Tensor<T>&, const xt::xarray<std::int64_t>&, const Tensor<T>&,            \
                                std::int64_t, Reduction);                                                       \
    template Tensor<T> cross_entropy(const Tensor<T>&, const xt::xarray<std::int64_t>&, const CrossEntropyOptions&); \
    template Tensor<T> cross_entropy(const Tensor<T>&, const Tensor<T>&, const CrossEntropyOptions&);            \
    template Tensor<T> nll_loss(const Tensor<T>&, const xt::xarray<std::int64_t>&, const NLLLossOptions&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
