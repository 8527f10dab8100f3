#pragma once
// The element-wise losses of torch.nn.functional (PyTorch 1.13's names, argument order, defaults,
// shapes, broadcasting, reductions and error texts), each ONE tape node, float and double:
//   binary_cross_entropy, binary_cross_entropy_with_logits, mse_loss, l1_loss, smooth_l1_loss,
//   huber_loss, kl_div, soft_margin_loss, multilabel_soft_margin_loss.
// Each takes its optional arguments positionally (torch's order, without the deprecated
// size_average/reduce) or as an option struct with chained setters, libtorch's
// F::<Name>FuncOptions spelt as this library spells CrossEntropyOptions (no "Func").
// Reductions are torch's: 'none' keeps the loss per element (per sample for
// multilabel_soft_margin_loss), 'sum' adds them, 'mean' divides that sum by their number (NaN
// for an empty input, as torch's mean of nothing); kl_div also has 'batchmean'.
// Errors: ShapeError for shapes, ValueError for values and options, with torch's words after
// the function's name. The gradient flows to the input always and to the target where torch
// 1.13 differentiates it (every loss here but soft_margin_loss); a target, weight or pos_weight
// torch does not differentiate is refused when it requires grad, with torch's words ("The function
// '…' is not differentiable with respect to argument 'weight'…"); multilabel_soft_margin_loss's
// weight is differentiated, as torch does.
#include <string>

#include "tapegrad/ops/loss.hpp"

namespace tapegrad {

// kl_div's reduction: torch's four strings. A Reduction converts to it, so kl_div(x, t,
// Reduction::Sum) reads as every other loss; KLDivReduction::BatchMean is the fourth value.
struct KLDivReduction {
    enum Kind { None, Mean, Sum, BatchMean };
    KLDivReduction(Kind k = Mean) : kind(k) {}
    KLDivReduction(Reduction r) : kind(r == Reduction::None ? None : r == Reduction::Sum ? Sum : Mean) {}
    bool operator==(KLDivReduction o) const { return kind == o.kind; }
    bool operator!=(KLDivReduction o) const { return kind != o.kind; }
    Kind kind;
};
// "none" | "batchmean" | "sum" | "mean" → KLDivReduction; anything else is a ValueError.
KLDivReduction kl_div_reduction_from_string(const std::string& s);
const char* to_string(KLDivReduction r);

// ---- the losses. Shapes: input (*) means any shape, 0-d and empty included.

// F.binary_cross_entropy(input, target, weight, reduction): input (*) probabilities in [0, 1],
//   target (*) the same shape (ValueError otherwise, torch's text), weight broadcastable to it.
// l = −w·(t·max(log x, −100) + (1 − t)·max(log(1 − x), −100)), torch's clamp keeping log 0 finite.
// dl/dx = w·(x − t) / max((1 − x)·x, 1e-12);  dl/dt = −w·logit(x) = −w·log(x / (1 − x)) (unclamped, as torch).
// An input outside [0, 1] (NaN included) is torch's error "all elements of input should be between 0 and 1".
template <class T>
Tensor<T> binary_cross_entropy(const Tensor<T>& input, const Tensor<T>& target, const Tensor<T>& weight = Tensor<T>(),
                               Reduction reduction = Reduction::Mean);

// F.binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight): input (*) logits,
//   target (*) the same shape, weight and pos_weight broadcastable to it (pos_weight (C) weighs
//   the positive term of each class along the last dim).
// l = w·((1 − t)·x + lw·(log(exp(−m) + exp(−x − m)) + m)),  m = max(−x, 0),  lw = 1 + (pw − 1)·t:
//   log(1 + exp(−x)) = softplus(−x) with the larger exponent taken out, so no exp overflows.
// dl/dx = w·((pw·t + 1 − t)·σ(x) − pw·t);  dl/dt = w·(logσ(−x) − pw·logσ(x))  (without pos_weight:
//   w·(σ(x) − t) and −w·x).
template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& input, const Tensor<T>& target,
                                           const Tensor<T>& weight = Tensor<T>(), Reduction reduction = Reduction::Mean,
                                           const Tensor<T>& pos_weight = Tensor<T>());

// F.mse_loss(input, target, reduction): input and target broadcast together (torch warns when
//   their shapes differ; so does nothing here), the loss has the broadcast shape.
// l = (x − t)²;  dl/dx = 2(x − t), dl/dt = −2(x − t).
template <class T>
Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::Mean);

// F.l1_loss(input, target, reduction): broadcast as mse_loss.
// l = |x − t|;  dl/dx = sign(x − t) (0 at 0), dl/dt = −sign(x − t).
template <class T>
Tensor<T> l1_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::Mean);

// F.smooth_l1_loss(input, target, reduction, beta = 1): broadcast as mse_loss; beta ≥ 0
//   (ValueError, torch's text). beta = 0 gives l1_loss's values; its gradient at x = t is then
//   torch's −1 (input and target alike), not l1_loss's 0.
// l = 0.5·d²/β if |d| < β, |d| − 0.5·β else (d = x − t);  dl/dx = d/β inside, sign(d) outside; dl/dt = −dl/dx.
template <class T>
Tensor<T> smooth_l1_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::Mean,
                         double beta = 1.0);

// F.huber_loss(input, target, reduction, delta = 1): broadcast as mse_loss; delta > 0.
// l = 0.5·d² if |d| < δ, δ·(|d| − 0.5·δ) else;  dl/dx = d inside, δ·sign(d) outside; dl/dt = −dl/dx.
template <class T>
Tensor<T> huber_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::Mean,
                     double delta = 1.0);

// F.kl_div(input, target, reduction, log_target = false): input holds log-probabilities; input
//   and target broadcast together. 'batchmean' divides the sum by input.size(0) (the sum itself
//   for a 0-d input), 'mean' by the number of elements.
// l = xlogy(t, t) − t·x (0 where t = 0, NaN where t is NaN);  dl/dx = −t;  dl/dt = log t + t/t − x
//   (NaN at t = 0, as torch's autograd of xlogy gives).
// log_target: l = exp(t)·(t − x);  dl/dx = −exp(t);  dl/dt = exp(t)·(t − x) + exp(t).
template <class T>
Tensor<T> kl_div(const Tensor<T>& input, const Tensor<T>& target, KLDivReduction reduction = KLDivReduction::Mean,
                 bool log_target = false);

// F.soft_margin_loss(input, target, reduction): target broadcastable to input's shape.
// l = log(1 + exp(−t·x)), torch's plain formula (it overflows to inf where −t·x > ~88 in float32);
// dl/dx = −t·z/(1 + z), z = exp(−t·x). The target is not differentiated (torch 1.13 refuses one
// that requires grad, and so does this).
template <class T>
Tensor<T> soft_margin_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::Mean);

// F.multilabel_soft_margin_loss(input, target, weight, reduction): input (C) or (N, C) (any
//   dims: the last is the class dim C), target and weight broadcast with it; 'none' gives
//   input's shape without its last dim.
// l_n = (1/C)·Σ_c −w_c·(t_c·logσ(x_c) + (1 − t_c)·logσ(−x_c));
// dl/dx_c = (w_c/C)·(σ(x_c) − t_c);  dl/dt_c = −(w_c/C)·x_c;  dl/dw_c = (1/C)·(per-class term).
template <class T>
Tensor<T> multilabel_soft_margin_loss(const Tensor<T>& input, const Tensor<T>& target,
                                      const Tensor<T>& weight = Tensor<T>(), Reduction reduction = Reduction::Mean);

// ---- option structs (libtorch's F::…FuncOptions); each call gives exactly the numbers of the
// positional form with the same values. A weight may be float or double and must match the
// input's precision when the loss is called (ValueError "expected scalar type Float but found
// Double" otherwise), as CrossEntropyOptions'.

struct BinaryCrossEntropyOptions {
    BinaryCrossEntropyOptions& weight(const Tensor<float>& w) { weight_.f = w; weight_.d = Tensor<double>(); return *this; }
    BinaryCrossEntropyOptions& weight(const Tensor<double>& w) { weight_.d = w; weight_.f = Tensor<float>(); return *this; }
    BinaryCrossEntropyOptions& reduction(Reduction r) { reduction_ = r; return *this; }
    template <class T> const Tensor<T>& weight(const char* fn = "binary_cross_entropy") const { return weight_.get<T>(fn); }
    Reduction reduction() const { return reduction_; }

private:
    detail::LossWeight weight_;
    Reduction reduction_ = Reduction::Mean;
};

struct BinaryCrossEntropyWithLogitsOptions {
    BinaryCrossEntropyWithLogitsOptions& weight(const Tensor<float>& w) { weight_.f = w; weight_.d = Tensor<double>(); return *this; }
    BinaryCrossEntropyWithLogitsOptions& weight(const Tensor<double>& w) { weight_.d = w; weight_.f = Tensor<float>(); return *this; }
    BinaryCrossEntropyWithLogitsOptions& pos_weight(const Tensor<float>& w) { pos_weight_.f = w; pos_weight_.d = Tensor<double>(); return *this; }
    BinaryCrossEntropyWithLogitsOptions& pos_weight(const Tensor<double>& w) { pos_weight_.d = w; pos_weight_.f = Tensor<float>(); return *this; }
    BinaryCrossEntropyWithLogitsOptions& reduction(Reduction r) { reduction_ = r; return *this; }
    template <class T> const Tensor<T>& weight(const char* fn = "binary_cross_entropy_with_logits") const { return weight_.get<T>(fn); }
    template <class T> const Tensor<T>& pos_weight(const char* fn = "binary_cross_entropy_with_logits") const { return pos_weight_.get<T>(fn); }
    Reduction reduction() const { return reduction_; }

private:
    detail::LossWeight weight_, pos_weight_;
    Reduction reduction_ = Reduction::Mean;
};

// The losses whose only option is the reduction (libtorch: MSELossOptions(torch::kSum)).
struct MSELossOptions {
    explicit MSELossOptions(Reduction r = Reduction::Mean) : reduction_(r) {}
    MSELossOptions& reduction(Reduction r) { reduction_ = r; return *this; }
    Reduction reduction() const { return reduction_; }

private:
    Reduction reduction_;
};
struct L1LossOptions {
    explicit L1LossOptions(Reduction r = Reduction::Mean) : reduction_(r) {}
    L1LossOptions& reduction(Reduction r) { reduction_ = r; return *this; }
    Reduction reduction() const { return reduction_; }

private:
    Reduction reduction_;
};
struct SoftMarginLossOptions {
    explicit SoftMarginLossOptions(Reduction r = Reduction::Mean) : reduction_(r) {}
    SoftMarginLossOptions& reduction(Reduction r) { reduction_ = r; return *this; }
    Reduction reduction() const { return reduction_; }

private:
    Reduction reduction_;
};

struct SmoothL1LossOptions {
    SmoothL1LossOptions& reduction(Reduction r) { reduction_ = r; return *this; }
    SmoothL1LossOptions& beta(double v) { beta_ = v; return *this; }
    Reduction reduction() const { return reduction_; }
    double beta() const { return beta_; }

private:
    Reduction reduction_ = Reduction::Mean;
    double beta_ = 1.0;
};

struct HuberLossOptions {
    HuberLossOptions& reduction(Reduction r) { reduction_ = r; return *this; }
    HuberLossOptions& delta(double v) { delta_ = v; return *this; }
    Reduction reduction() const { return reduction_; }
    double delta() const { return delta_; }

private:
    Reduction reduction_ = Reduction::Mean;
    double delta_ = 1.0;
};

struct KLDivOptions {
    KLDivOptions& reduction(KLDivReduction r) { reduction_ = r; return *this; }
    KLDivOptions& log_target(bool v) { log_target_ = v; return *this; }
    KLDivReduction reduction() const { return reduction_; }
    bool log_target() const { return log_target_; }

private:
    KLDivReduction reduction_ = KLDivReduction::Mean;
    bool log_target_ = false;
};

struct MultilabelSoftMarginLossOptions {
    MultilabelSoftMarginLossOptions& weight(const Tensor<float>& w) { weight_.f = w; weight_.d = Tensor<double>(); return *this; }
    MultilabelSoftMarginLossOptions& weight(const Tensor<double>& w) { weight_.d = w; weight_.f = Tensor<float>(); return *this; }
    MultilabelSoftMarginLossOptions& reduction(Reduction r) { reduction_ = r; return *this; }
    template <class T> const Tensor<T>& weight(const char* fn = "multilabel_soft_margin_loss") const { return weight_.get<T>(fn); }
    Reduction reduction() const { return reduction_; }

private:
    detail::LossWeight weight_;
    Reduction reduction_ = Reduction::Mean;
};

template <class T>
Tensor<T> binary_cross_entropy(const Tensor<T>& input, const Tensor<T>& target, const BinaryCrossEntropyOptions& options);
template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& input, const Tensor<T>& target,
                                           const BinaryCrossEntropyWithLogitsOptions& options);
template <class T> Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, const MSELossOptions& options);
template <class T> Tensor<T> l1_loss(const Tensor<T>& input, const Tensor<T>& target, const L1LossOptions& options);
template <class T>
Tensor<T> smooth_l1_loss(const Tensor<T>& input, const Tensor<T>& target, const SmoothL1LossOptions& options);
template <class T> Tensor<T> huber_loss(const Tensor<T>& input, const Tensor<T>& target, const HuberLossOptions& options);
template <class T> Tensor<T> kl_div(const Tensor<T>& input, const Tensor<T>& target, const KLDivOptions& options);
template <class T>
Tensor<T> soft_margin_loss(const Tensor<T>& input, const Tensor<T>& target, const SoftMarginLossOptions& options);
template <class T>
Tensor<T> multilabel_soft_margin_loss(const Tensor<T>& input, const Tensor<T>& target,
                                      const MultilabelSoftMarginLossOptions& options);

}  // namespace tapegrad
