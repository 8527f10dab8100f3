#pragma once
// torch.nn.CrossEntropyLoss and torch.nn.NLLLoss: the functional losses with their options bound.
// (Not nn::Module subclasses: they take two inputs and own no parameters.)
#include "tapegrad/ops/loss.hpp"

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

}  // namespace nn
}  // namespace tapegrad
