// dropout, batch_norm, layer_norm — each forward with its backward beside it.
#include "tapegrad/core/format.hpp"
#include <cmath>
#include <sstream>

#include "internal.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/norm.hpp"

namespace tapegrad {
namespace {
std::string num(double v) { return detail::cpp_float(v); }
}  // namespace

// y = x·mask/(1 − p), mask ~ Bernoulli(1 − p); dx = g·mask/(1 − p)
template <class T> Tensor<T> dropout(const Tensor<T>& x, double p, bool training, Generator& gen) {
    if (!(p >= 0 && p <= 1))
        throw ValueError("dropout: dropout probability has to be between 0 and 1, but got " + num(p));
    if (p == 0 || !training || x.numel() == 0) return x;
    // torch: noise = bernoulli(1 − p) / (1 − p) (p = 1: x·0), out = x·noise
    auto noise = std::make_shared<xt::xarray<T>>(xt::xarray<T>::from_shape(x.value().shape()));
    const T scale = p == 1 ? T(0) : T(1) / T(1 - p);
    for (auto& v : *noise) v = p == 1 ? T(0) : (gen.uniform() < 1.0 - p ? scale : T(0));
    xt::xarray<T> r = xt::xarray<T>::from_shape(x.value().shape());
    const T* px = x.value().data();
    for (std::size_t i = 0; i < r.size(); ++i) r.data()[i] = px[i] * noise->data()[i];
    Tensor<T> out(std::move(r));
    if (needs_grad({x}))
        record<T>(out, "dropout", {x}, [x, noise](const xt::xarray<T>& g, const xt::xarray<T>&) {
            bool acc = false;
            auto& buf = x.grad_buffer(acc);
            for (std::size_t i = 0; i < g.size(); ++i) {
                const T v = g.data()[i] * noise->data()[i];
                buf.data()[i] = acc ? buf.data()[i] + v : v;
            }
        });
    TAPEGRAD_REPLAY(out, mul(in[0], Tensor<double>(xt::xarray<double>(*noise))));
    return out;
}

namespace {
// Calls f(k, c) for every element k of an (N, C, inner) tensor in memory order, c its channel;
// for inner = 1 (the (N, C) case) the channel loop is innermost, so it vectorises.
template <class F> inline void each_element(std::size_t N, std::size_t C, std::size_t inner, F f) {
    if (inner == 1) {
        for (std::size_t b = 0; b < N; ++b)
            for (std::size_t c = 0; c < C; ++c) f(b * C + c, c);
        return;
    }
    for (std::size_t b = 0; b < N; ++b)
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t i = 0; i < inner; ++i) f((b * C + c) * inner + i, c);
}
// Per channel c of an (N, C, inner) tensor: out[c] += Σ f(k, c) over its N·inner elements k.
// inner = 1 (the (N, C) case): the channel loop is innermost and vectorises as it is; otherwise
// each (b, c) run of inner contiguous elements is summed in 16 lanes (detail::sum_lanes: one
// vector register of floats).
template <class T, class F> inline void channel_sums(std::size_t N, std::size_t C, std::size_t inner, T* out, F f) {
    if (inner == 1) {
        each_element(N, C, inner, [&](std::size_t k, std::size_t c) { out[c] += f(k, c); });
        return;
    }
    for (std::size_t b = 0; b < N; ++b)
        for (std::size_t c = 0; c < C; ++c) {
            const std::size_t off = (b * C + c) * inner;
            out[c] += detail::sum_lanes<T, 16>(inner, [&](std::size_t i) { return f(off + i, c); });
        }
}
void check_param(const char* what, std::size_t got, std::size_t C) {
    if (got != C)
        throw ShapeError(std::string("batch_norm: ") + what + " should contain " + std::to_string(C) +
                         " elements not " + std::to_string(got));
}
}  // namespace

// input (N, C, *) → same shape; per channel c over (N, *): mean, var (biased)
template <class T>
Tensor<T> batch_norm(const Tensor<T>& input, const Tensor<T>& running_mean, const Tensor<T>& running_var,
                     const Tensor<T>& weight, const Tensor<T>& bias, const BatchNormFuncOptions& opt) {
    const Shape s = input.shape();
    if (s.size() < 2)
        throw ShapeError("batch_norm: expected an input of shape (N, C, *) with at least 2 dims, got " + shape_str(s));
    const std::size_t N = s[0], C = s[1];
    std::size_t inner = 1;
    for (std::size_t d = 2; d < s.size(); ++d) inner *= s[d];
    const std::size_t n = N * inner;  // values per channel
    if (running_mean.defined()) check_param("running_mean", running_mean.numel(), C);
    if (running_var.defined()) check_param("running_var", running_var.numel(), C);
    if (weight.defined()) check_param("weight", weight.numel(), C);
    if (bias.defined()) check_param("bias", bias.numel(), C);
    const bool train = opt.training_;
    if (train && n <= 1)
        throw ValueError("batch_norm: Expected more than 1 value per channel when training, got input size torch.Size(" +
                         shape_str(s) + ")");
    if (!train && !running_mean.defined())
        throw ValueError("batch_norm: running_mean must be defined in evaluation mode");
    if (!train && !running_var.defined())
        throw ValueError("batch_norm: running_var must be defined in evaluation mode");
    if (running_mean.defined() && running_mean.requires_grad())
        throw ValueError("batch_norm: running_mean must not require grad");
    if (running_var.defined() && running_var.requires_grad())
        throw ValueError("batch_norm: running_var must not require grad");
    if (!(opt.eps_ >= 0)) throw ValueError("batch_norm: eps must be non-negative, got " + num(opt.eps_));
    const T* px = input.value().data();
    // per-channel statistics used for normalising
    auto mean = std::make_shared<std::vector<T>>(C), invstd = std::make_shared<std::vector<T>>(C);
    std::vector<T> var_unbiased(C);
    // every loop runs in memory order (b, c, i), each channel's sums in lanes (channel_sums)
    if (train) {
        std::vector<T> sum(C, T(0)), m2(C, T(0));
        channel_sums(N, C, inner, sum.data(), [px](std::size_t k, std::size_t) { return px[k]; });
        for (std::size_t c = 0; c < C; ++c) (*mean)[c] = sum[c] / T(n);
        const T* pm = mean->data();
        channel_sums(N, C, inner, m2.data(), [px, pm](std::size_t k, std::size_t c) {
            const T d = px[k] - pm[c];
            return d * d;
        });
        for (std::size_t c = 0; c < C; ++c) {
            (*invstd)[c] = T(1) / std::sqrt(m2[c] / T(n) + T(opt.eps_));
            var_unbiased[c] = m2[c] / T(n - 1);
        }
    } else {
        for (std::size_t c = 0; c < C; ++c) {
            (*mean)[c] = running_mean.value().data()[c];
            (*invstd)[c] = T(1) / std::sqrt(running_var.value().data()[c] + T(opt.eps_));
        }
    }
    xt::xarray<T> r = xt::xarray<T>::from_shape(input.value().shape());
    {
        const T* pw = weight.defined() ? weight.value().data() : nullptr;
        const T* pbias = bias.defined() ? bias.value().data() : nullptr;
        T* pr = r.data();
        std::vector<T> wv(C, T(1)), bv(C, T(0));
        if (pw) std::copy(pw, pw + C, wv.begin());
        if (pbias) std::copy(pbias, pbias + C, bv.begin());
        const T *pm = mean->data(), *pis = invstd->data(), *pwv = wv.data(), *pbv = bv.data();
        each_element(N, C, inner, [&](std::size_t k, std::size_t c) { pr[k] = (px[k] - pm[c]) * pis[c] * pwv[c] + pbv[c]; });
    }
    // the running statistics change only once the forward has succeeded
    if (train && running_mean.defined()) {
        const T mo = T(opt.momentum_);
        Tensor<T> rm = running_mean;
        auto& v = rm.mutable_value();
        for (std::size_t c = 0; c < C; ++c) v.data()[c] = (T(1) - mo) * v.data()[c] + mo * (*mean)[c];
    }
    if (train && running_var.defined()) {
        const T mo = T(opt.momentum_);
        Tensor<T> rv = running_var;
        auto& v = rv.mutable_value();
        for (std::size_t c = 0; c < C; ++c) v.data()[c] = (T(1) - mo) * v.data()[c] + mo * var_unbiased[c];
    }
    Tensor<T> out(std::move(r));
    if (needs_grad({input, weight, bias}))
        record<T>(out, "batch_norm", {input, weight, bias},
                  [input, weight, bias, mean, invstd, train, N, C, inner, n](const xt::xarray<T>& g, const xt::xarray<T>&) {
                      const T* px = input.value().data();
                      const T* pg = g.data();
                      bool acc_x = false, acc_w = false, acc_b = false;
                      T* gx = input.requires_grad() ? input.grad_buffer(acc_x).data() : nullptr;
                      T* gw = weight.defined() && weight.requires_grad() ? weight.grad_buffer(acc_w).data() : nullptr;
                      T* gb = bias.defined() && bias.requires_grad() ? bias.grad_buffer(acc_b).data() : nullptr;
                      const T* pw = weight.defined() ? weight.value().data() : nullptr;
                      // per channel: Σ g and Σ (x − mean)·g, in memory order
                      std::vector<T> sum(C, T(0)), dot(C, T(0));
                      const T* pm = mean->data();
                      channel_sums(N, C, inner, sum.data(), [pg](std::size_t k, std::size_t) { return pg[k]; });
                      channel_sums(N, C, inner, dot.data(),
                                   [px, pg, pm](std::size_t k, std::size_t c) { return (px[k] - pm[c]) * pg[k]; });
                      if (gx) {
                          // torch's batch_norm_cpu_backward: training, dx = (g − (x − mean)·proj_scale −
                          // grad_mean)·w·invstd with proj_scale = dot·invstd²/n, grad_mean = Σ g/n;
                          // eval, dx = g·invstd·w
                          const T norm = T(1) / T(n);
                          std::vector<T> proj(C), gmean(C), wis(C);
                          for (std::size_t c = 0; c < C; ++c) {
                              const T is = (*invstd)[c], w = pw ? pw[c] : T(1);
                              proj[c] = dot[c] * norm * is * is;
                              gmean[c] = sum[c] * norm;
                              wis[c] = train ? w * is : is * w;
                          }
                          const T *pp = proj.data(), *pgm = gmean.data(), *pwi = wis.data();
                          if (train && acc_x)
                              each_element(N, C, inner, [&](std::size_t k, std::size_t c) {
                                  gx[k] += (pg[k] - (px[k] - pm[c]) * pp[c] - pgm[c]) * pwi[c];
                              });
                          else if (train)
                              each_element(N, C, inner, [&](std::size_t k, std::size_t c) {
                                  gx[k] = (pg[k] - (px[k] - pm[c]) * pp[c] - pgm[c]) * pwi[c];
                              });
                          else if (acc_x)
                              each_element(N, C, inner, [&](std::size_t k, std::size_t c) { gx[k] += pg[k] * pwi[c]; });
                          else
                              each_element(N, C, inner, [&](std::size_t k, std::size_t c) { gx[k] = pg[k] * pwi[c]; });
                      }
                      for (std::size_t c = 0; c < C; ++c) {
                          const T is = (*invstd)[c];
                          if (gw) gw[c] = acc_w ? gw[c] + dot[c] * is : dot[c] * is;
                          if (gb) gb[c] = acc_b ? gb[c] + sum[c] : sum[c];
                      }
                  });
    // replay: training normalises with the batch's statistics and must not touch the running ones
    // again; eval uses the running statistics as they are now (double copies, fixed from here on)
    const bool frozen = !train && is_check_graph_enabled();
    const Tensor<double> rm_d = frozen ? detail::to_double(running_mean) : Tensor<double>(),
                         rv_d = frozen ? detail::to_double(running_var) : Tensor<double>();
    TAPEGRAD_REPLAY(out, batch_norm(in[0], rm_d, rv_d, in[1], in[2], opt));
    return out;
}

// input (*, normalized_shape) → same shape; each of the M rows of D = Π normalized_shape elements
// normalised on its own
template <class T>
Tensor<T> layer_norm(const Tensor<T>& input, const std::vector<std::size_t>& ns, const Tensor<T>& weight,
                     const Tensor<T>& bias, double eps) {
    const Shape s = input.shape();
    const Shape nshape(ns.begin(), ns.end());
    if (ns.empty())
        throw ValueError("layer_norm: Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
                         "least one element, but got normalized_shape = []");
    if (weight.defined() && weight.shape() != nshape)
        throw ShapeError("layer_norm: Expected weight to be of same shape as normalized_shape, but got weight of shape " +
                         shape_str(weight.shape()) + " and normalized_shape = " + shape_str(nshape));
    if (bias.defined() && bias.shape() != nshape)
        throw ShapeError("layer_norm: Expected bias to be of same shape as normalized_shape, but got bias of shape " +
                         shape_str(bias.shape()) + " and normalized_shape = " + shape_str(nshape));
    bool fits = s.size() >= ns.size();
    for (std::size_t i = 0; fits && i < ns.size(); ++i) fits = s[s.size() - ns.size() + i] == ns[i];
    if (!fits) {
        std::ostringstream os;
        os << "layer_norm: Given normalized_shape=" << shape_str(nshape) << ", expected input with shape [*";
        for (auto d : ns) os << ", " << d;
        os << "], but got input of size" << shape_str(s);
        throw ShapeError(os.str());
    }
    if (!(eps >= 0)) throw ValueError("layer_norm: eps must be non-negative, got " + num(eps));
    std::size_t D = 1, M = 1;
    for (auto d : ns) D *= d;
    for (std::size_t i = 0; i + ns.size() < s.size(); ++i) M *= s[i];
    auto mean = std::make_shared<std::vector<T>>(M), rstd = std::make_shared<std::vector<T>>(M);
    const T* px = input.value().data();
    const T* pw = weight.defined() ? weight.value().data() : nullptr;
    const T* pbias = bias.defined() ? bias.value().data() : nullptr;
    xt::xarray<T> r = xt::xarray<T>::from_shape(input.value().shape());
    for (std::size_t m = 0; m < M; ++m) {
        const T* row = px + m * D;
        T sum = 0;
        for (std::size_t j = 0; j < D; ++j) sum += row[j];
        const T mu = sum / T(D);
        T m2 = 0;
        for (std::size_t j = 0; j < D; ++j) m2 += (row[j] - mu) * (row[j] - mu);
        const T rs = T(1) / std::sqrt(m2 / T(D) + T(eps));
        (*mean)[m] = mu;
        (*rstd)[m] = rs;
        for (std::size_t j = 0; j < D; ++j) {
            const T w = pw ? pw[j] : T(1);
            const T b = pbias ? pbias[j] : T(0);
            r.data()[m * D + j] = (row[j] - mu) * rs * w + b;
        }
    }
    Tensor<T> out(std::move(r));
    if (needs_grad({input, weight, bias}))
        record<T>(out, "layer_norm", {input, weight, bias},
                  [input, weight, bias, mean, rstd, M, D](const xt::xarray<T>& g, const xt::xarray<T>&) {
                      const T* px = input.value().data();
                      const T* pg = g.data();
                      const T* pw = weight.defined() ? weight.value().data() : nullptr;
                      bool acc_x = false, acc_w = false, acc_b = false;
                      T* gx = input.requires_grad() ? input.grad_buffer(acc_x).data() : nullptr;
                      T* gw = weight.defined() && weight.requires_grad() ? weight.grad_buffer(acc_w).data() : nullptr;
                      T* gb = bias.defined() && bias.requires_grad() ? bias.grad_buffer(acc_b).data() : nullptr;
                      if (gw && !acc_w) std::fill(gw, gw + D, T(0));
                      if (gb && !acc_b) std::fill(gb, gb + D, T(0));
                      const T scale = T(1) / T(D);
                      for (std::size_t m = 0; m < M; ++m) {
                          const T* row = px + m * D;
                          const T* grow = pg + m * D;
                          const T mu = (*mean)[m], a = (*rstd)[m];
                          if (gx) {
                              // torch's LayerNormBackwardKernel: ds = Σ g·w·x, db = Σ g·w,
                              // dx = a·g·w + b·x + c with b = (db·mean − ds)·a³/D, c = −b·mean − db·a/D
                              T ds = 0, db = 0;
                              for (std::size_t j = 0; j < D; ++j) {
                                  const T gw_ = grow[j] * (pw ? pw[j] : T(1));
                                  ds += gw_ * row[j];
                                  db += gw_;
                              }
                              const T b = (db * mu - ds) * a * a * a * scale;
                              const T c = -b * mu - db * a * scale;
                              for (std::size_t j = 0; j < D; ++j) {
                                  const T v = a * grow[j] * (pw ? pw[j] : T(1)) + b * row[j] + c;
                                  T& dst = gx[m * D + j];
                                  dst = acc_x ? dst + v : v;
                              }
                          }
                          for (std::size_t j = 0; j < D; ++j) {
                              if (gw) gw[j] += grow[j] * (row[j] - mu) * a;
                              if (gb) gb[j] += grow[j];
                          }
                      }
                  });
    TAPEGRAD_REPLAY(out, layer_norm(in[0], ns, in[1], in[2], eps));
    return out;
}

#define TAPEGRAD_INSTANTIATE(T)                                                                               \
    template Tensor<T> dropout(const Tensor<T>&, double, bool, Generator&);                                   \
    template Tensor<T> batch_norm(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, const Tensor<T>&,     \
                                  const Tensor<T>&, const BatchNormFuncOptions&);                             \
    template Tensor<T> layer_norm(const Tensor<T>&, const std::vector<std::size_t>&, const Tensor<T>&,        \
                                  const Tensor<T>&, double);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
