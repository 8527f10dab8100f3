#pragma once
// The optimizer base: parameter groups and zero_grad, as torch.optim.Optimizer. Every optimizer
// (sgd.hpp, …) derives from it, so schedulers and checkpoints take any of them.
#include <string>
#include <vector>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace optim {

// One group of parameters sharing hyper-parameters (torch's param_groups entries).
template <class T = float> struct ParamGroup {
    std::vector<Tensor<T>> params;
    double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
    bool nesterov = false, maximize = false;
    double initial_lr = 0;  // set by the first scheduler attached, as torch does
};

template <class T = float> class Optimizer {
public:
    virtual ~Optimizer() = default;
    virtual void step() = 0;
    // Zeros every parameter's gradient (or drops it), as torch 1.13's zero_grad(set_to_none=False).
    void zero_grad(bool set_to_none = false);
    std::vector<ParamGroup<T>>& param_groups() { return groups_; }
    const std::vector<ParamGroup<T>>& param_groups() const { return groups_; }

protected:
    std::vector<ParamGroup<T>> groups_;
};

}  // namespace optim
}  // namespace tapegrad
