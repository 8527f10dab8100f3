#pragma once
// Losses with torch.nn.functional's semantics, shapes, defaults and error texts.
#include <cstdint>
#include <string>

#include <xtensor/xarray.hpp>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {

enum class Reduction { None, Mean, Sum };
// "none" | "mean" | "sum" → Reduction; anything else is a ValueError.
Reduction reduction_from_string(const std::string& s);
const char* to_string(Reduction r);

// F.cross_entropy with class-index targets, as ONE tape node.
//   input (C), (N, C) or (N, C, d1, …, dk) logits; target (), (N) or (N, d1, …, dk) class indices;
//   weight (C) or undefined; → () for mean/sum, the target's shape for none.
// loss_n = (1−ε)·(−w[t_n]·logp[n, t_n]) + ε/C·(−Σ_c w[c]·logp[n, c]), exactly as torch composes it;
//   positions with t_n == ignore_index contribute 0, and 'mean' divides both terms by Σ w[t_n] over
//   the non-ignored positions (NaN when none is left; the gradient is then all zeros). Non-finite
//   values propagate as in torch's log_softmax → nll_loss: a row of NaN logp (a NaN or +inf logit,
//   or all −inf) has a NaN gradient even when its target is ignored, and a zero Σ w[t_n] with
//   kept targets (their weights 0) makes the loss and those rows' gradients NaN.
// logp = (x − max) − log Σ exp(x − max) is computed once; the softmax is kept and the backward is
// (softmax·S − target_weighted)·scale with nothing recomputed.
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& input, const xt::xarray<std::int64_t>& target,
                        const Tensor<T>& weight = Tensor<T>(), std::int64_t ignore_index = -100,
                        Reduction reduction = Reduction::Mean, double label_smoothing = 0.0);

// F.cross_entropy with probability targets (target has the input's shape; soft labels).
//   loss_n = −Σ_c w[c]·t[n, c]·logp[n, c], t smoothed to t(1−ε) + ε/C; 'mean' divides by the number of
//   positions (N·d1·…·dk), never by weights. ignore_index must be negative (it is not supported here).
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& input, const Tensor<T>& target, const Tensor<T>& weight = Tensor<T>(),
                        std::int64_t ignore_index = -100, Reduction reduction = Reduction::Mean,
                        double label_smoothing = 0.0);

// F.nll_loss: input holds log-probabilities (any values), shapes as cross_entropy's index form.
//   loss_n = −w[t_n]·input[n, t_n]; 'mean' divides by Σ w[t_n] over non-ignored positions.
template <class T>
Tensor<T> nll_loss(const Tensor<T>& input, const xt::xarray<std::int64_t>& target,
                   const Tensor<T>& weight = Tensor<T>(), std::int64_t ignore_index = -100,
                   Reduction reduction = Reduction::Mean);

// ---- option structs, as libtorch's F::CrossEntropyFuncOptions / F::NLLLossFuncOptions ----
// cross_entropy(x, y, CrossEntropyOptions().weight(w).ignore_index(-100).reduction(Reduction::Sum)
//                                         .label_smoothing(0.1))
// gives exactly the numbers of the positional form with the same values (same code underneath).
// The weight may be float or double; it must match the input's precision when the loss is called
// (ValueError "expected scalar type Float but found Double", torch's words, otherwise).
namespace detail {
struct LossWeight {
    Tensor<float> f;
    Tensor<double> d;
    template <class T> const Tensor<T>& get(const char* fn) const;
};
}  // namespace detail

struct NLLLossOptions {
    NLLLossOptions& weight(const Tensor<float>& w) { weight_.f = w; weight_.d = Tensor<double>(); return *this; }
    NLLLossOptions& weight(const Tensor<double>& w) { weight_.d = w; weight_.f = Tensor<float>(); return *this; }
    NLLLossOptions& ignore_index(std::int64_t v) { ignore_index_ = v; return *this; }
    NLLLossOptions& reduction(Reduction r) { reduction_ = r; return *this; }
    template <class T> const Tensor<T>& weight(const char* fn = "nll_loss") const { return weight_.get<T>(fn); }
    std::int64_t ignore_index() const { return ignore_index_; }
    Reduction reduction() const { return reduction_; }

private:
    detail::LossWeight weight_;
    std::int64_t ignore_index_ = -100;
    Reduction reduction_ = Reduction::Mean;
};

struct CrossEntropyOptions {
    CrossEntropyOptions& weight(const Tensor<float>& w) { weight_.f = w; weight_.d = Tensor<double>(); return *this; }
    CrossEntropyOptions& weight(const Tensor<double>& w) { weight_.d = w; weight_.f = Tensor<float>(); return *this; }
    CrossEntropyOptions& ignore_index(std::int64_t v) { ignore_index_ = v; return *this; }
    CrossEntropyOptions& reduction(Reduction r) { reduction_ = r; return *this; }
    CrossEntropyOptions& label_smoothing(double v) { label_smoothing_ = v; return *this; }
    template <class T> const Tensor<T>& weight(const char* fn = "cross_entropy") const { return weight_.get<T>(fn); }
    std::int64_t ignore_index() const { return ignore_index_; }
    Reduction reduction() const { return reduction_; }
    double label_smoothing() const { return label_smoothing_; }

private:
    detail::LossWeight weight_;
    std::int64_t ignore_index_ = -100;
    Reduction reduction_ = Reduction::Mean;
    double label_smoothing_ = 0.0;
};

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& input, const xt::xarray<std::int64_t>& target, const CrossEntropyOptions& options);
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& input, const Tensor<T>& target, const CrossEntropyOptions& options);
template <class T>
Tensor<T> nll_loss(const Tensor<T>& input, const xt::xarray<std::int64_t>& target, const NLLLossOptions& options);

}  // namespace tapegrad
