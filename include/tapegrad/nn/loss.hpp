#pragma once
// torch.nn's loss modules: the functional losses with their options bound.
// (Not nn::Module subclasses: they take two inputs and own no parameters.)
#include <string>

#include "tapegrad/ops/loss.hpp"
#include "tapegrad/ops/losses.hpp"

namespace tapegrad {
namespace nn {

template <class T = float> class CrossEntropyLoss {
public:
    explicit CrossEntropyLoss(Tensor<T> weight = Tensor<T>(), std::int64_t ignore_index = -100,
                              Reduction reduction = Reduction::Mean, double label_smoothing = 0.0)
        : weight(std::move(weight)), ignore_index(ignore_index), reduction(reduction), label_smoothing(label_smoothing) {}
    // libtorch's CrossEntropyLoss(CrossEntropyLossOptions().label_smoothing(0.1)); a weight of the
    // other precision is refused as cross_entropy refuses it.
    explicit CrossEntropyLoss(const CrossEntropyOptions& o)
        : CrossEntropyLoss(o.weight<T>("CrossEntropyLoss"), o.ignore_index(), o.reduction(), o.label_smoothing()) {}
    Tensor<T> operator()(const Tensor<T>& input, const xt::xarray<std::int64_t>& target) const {
        return cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing);
    }
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const {
        return cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing);
    }
    Tensor<T> weight;
    std::int64_t ignore_index;
    Reduction reduction;
    double label_smoothing;
};

template <class T = float> class NLLLoss {
public:
    explicit NLLLoss(const NLLLossOptions& o) : NLLLoss(o.weight<T>("NLLLoss"), o.ignore_index(), o.reduction()) {}
    explicit NLLLoss(Tensor<T> weight = Tensor<T>(), std::int64_t ignore_index = -100,
                     Reduction reduction = Reduction::Mean)
        : weight(std::move(weight)), ignore_index(ignore_index), reduction(reduction) {}
    Tensor<T> operator()(const Tensor<T>& input, const xt::xarray<std::int64_t>& target) const {
        return nll_loss(input, target, weight, ignore_index, reduction);
    }
    Tensor<T> weight;
    std::int64_t ignore_index;
    Reduction reduction;
};

// ---- the element-wise losses (ops/losses.hpp). Constructors take torch's arguments in torch's
// order (without the deprecated size_average/reduce) or libtorch's options; repr() is torch's.
// libtorch's module option names for the structs the functions take:
using BCELossOptions = BinaryCrossEntropyOptions;
using BCEWithLogitsLossOptions = BinaryCrossEntropyWithLogitsOptions;
using KLDivLossOptions = KLDivOptions;
using MultiLabelSoftMarginLossOptions = MultilabelSoftMarginLossOptions;

template <class T = float> class BCELoss {
public:
    explicit BCELoss(Tensor<T> weight = Tensor<T>(), Reduction reduction = Reduction::Mean)
        : weight(std::move(weight)), reduction(reduction) {}
    explicit BCELoss(const BinaryCrossEntropyOptions& o) : BCELoss(o.weight<T>("BCELoss"), o.reduction()) {}
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const {
        return binary_cross_entropy(input, target, weight, reduction);
    }
    std::string repr() const { return "BCELoss()"; }
    Tensor<T> weight;
    Reduction reduction;
};

template <class T = float> class BCEWithLogitsLoss {
public:
    explicit BCEWithLogitsLoss(Tensor<T> weight = Tensor<T>(), Reduction reduction = Reduction::Mean,
                               Tensor<T> pos_weight = Tensor<T>())
        : weight(std::move(weight)), reduction(reduction), pos_weight(std::move(pos_weight)) {}
    explicit BCEWithLogitsLoss(const BinaryCrossEntropyWithLogitsOptions& o)
        : BCEWithLogitsLoss(o.weight<T>("BCEWithLogitsLoss"), o.reduction(), o.pos_weight<T>("BCEWithLogitsLoss")) {}
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const {
        return binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight);
    }
    std::string repr() const { return "BCEWithLogitsLoss()"; }
    Tensor<T> weight;
    Reduction reduction;
    Tensor<T> pos_weight;
};

template <class T = float> class MSELoss {
public:
    explicit MSELoss(Reduction reduction = Reduction::Mean) : reduction(reduction) {}
    explicit MSELoss(const MSELossOptions& o) : reduction(o.reduction()) {}
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const { return mse_loss(input, target, reduction); }
    std::string repr() const { return "MSELoss()"; }
    Reduction reduction;
};

template <class T = float> class L1Loss {
public:
    explicit L1Loss(Reduction reduction = Reduction::Mean) : reduction(reduction) {}
    explicit L1Loss(const L1LossOptions& o) : reduction(o.reduction()) {}
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const { return l1_loss(input, target, reduction); }
    std::string repr() const { return "L1Loss()"; }
    Reduction reduction;
};

template <class T = float> class SmoothL1Loss {
public:
    explicit SmoothL1Loss(Reduction reduction = Reduction::Mean, double beta = 1.0) : reduction(reduction), beta(beta) {}
    explicit SmoothL1Loss(const SmoothL1LossOptions& o) : SmoothL1Loss(o.reduction(), o.beta()) {}
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const {
        return smooth_l1_loss(input, target, reduction, beta);
    }
    std::string repr() const { return "SmoothL1Loss()"; }
    Reduction reduction;
    double beta;
};

template <class T = float> class HuberLoss {
public:
    explicit HuberLoss(Reduction reduction = Reduction::Mean, double delta = 1.0) : reduction(reduction), delta(delta) {}
    explicit HuberLoss(const HuberLossOptions& o) : HuberLoss(o.reduction(), o.delta()) {}
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const {
        return huber_loss(input, target, reduction, delta);
    }
    std::string repr() const { return "HuberLoss()"; }
    Reduction reduction;
    double delta;
};

template <class T = float> class KLDivLoss {
public:
    explicit KLDivLoss(KLDivReduction reduction = KLDivReduction::Mean, bool log_target = false)
        : reduction(reduction), log_target(log_target) {}
    explicit KLDivLoss(const KLDivOptions& o) : KLDivLoss(o.reduction(), o.log_target()) {}
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const {
        return kl_div(input, target, reduction, log_target);
    }
    std::string repr() const { return "KLDivLoss()"; }
    KLDivReduction reduction;
    bool log_target;
};

template <class T = float> class SoftMarginLoss {
public:
    explicit SoftMarginLoss(Reduction reduction = Reduction::Mean) : reduction(reduction) {}
    explicit SoftMarginLoss(const SoftMarginLossOptions& o) : reduction(o.reduction()) {}
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const {
        return soft_margin_loss(input, target, reduction);
    }
    std::string repr() const { return "SoftMarginLoss()"; }
    Reduction reduction;
};

template <class T = float> class MultiLabelSoftMarginLoss {
public:
    explicit MultiLabelSoftMarginLoss(Tensor<T> weight = Tensor<T>(), Reduction reduction = Reduction::Mean)
        : weight(std::move(weight)), reduction(reduction) {}
    explicit MultiLabelSoftMarginLoss(const MultilabelSoftMarginLossOptions& o)
        : MultiLabelSoftMarginLoss(o.weight<T>("MultiLabelSoftMarginLoss"), o.reduction()) {}
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const {
        return multilabel_soft_margin_loss(input, target, weight, reduction);
    }
    std::string repr() const { return "MultiLabelSoftMarginLoss()"; }
    Tensor<T> weight;
    Reduction reduction;
};

}  // namespace nn
}  // namespace tapegrad
