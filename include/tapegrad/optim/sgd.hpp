#pragma once
// torch.optim.SGD, applied in place.
#include <string>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {
namespace optim {

// torch.optim.SGD: with g = ∇ (negated when maximize), in this order
//   g ← g + weight_decay·p;  buf ← g (first step) or momentum·buf + (1 − dampening)·g;
//   g ← g + momentum·buf (nesterov) or buf;  p ← p − lr·g
// A row-sparse gradient (embedding_bag with sparse=true) updates only its rows: duplicates are
// summed, weight decay applies to those rows only, and momentum is lazy — the buffer is dense but
// only present rows are decayed and updated (torch would densify the whole table instead).
// libtorch's torch::optim::SGDOptions: SGDOptions(0.1).momentum(0.9).nesterov(true).
struct SGDOptions {
    SGDOptions(double lr) : lr_(lr) {}  // NOLINT: implicit, as libtorch's
    TAPEGRAD_OPTION(double, lr);
    TAPEGRAD_OPTION(double, momentum) = 0;
    TAPEGRAD_OPTION(double, dampening) = 0;
    TAPEGRAD_OPTION(double, weight_decay) = 0;
    TAPEGRAD_OPTION(bool, nesterov) = false;
    TAPEGRAD_OPTION(bool, maximize) = false;
};

template <class T = float> class SGD : public Optimizer<T> {
public:
    SGD(std::vector<Tensor<T>> params, const SGDOptions& options);
    // torch's checks and texts ("SGD: Invalid learning rate: -0.1", …), plus: lr, momentum,
    // dampening and weight_decay must be finite (torch accepts an infinite lr; its first step turns
    // every parameter into inf or NaN), and a parameter listed twice is a ValueError (torch 1.13
    // warns that it will be one).
    SGD(std::vector<Tensor<T>> params, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
        bool nesterov = false, bool maximize = false);
    // p's momentum buffer (torch's state[p]["momentum_buffer"]), or nullptr before p's first step
    // with a momentum: for checkpoints.
    const xt::xarray<T>* momentum_buffer(const Tensor<T>& p) const;
    // Sets it: p must be one of the optimizer's parameters (ValueError), buf of p's shape (ShapeError).
    void set_momentum_buffer(const Tensor<T>& p, const xt::xarray<T>& buf);
    std::vector<std::string> option_names() const override;
    std::vector<std::string> state_names() const override;

protected:
    void update_param(const ParamGroup<T>& g, Tensor<T>& p) override;
    bool plain_step(const ParamGroup<T>& g, double& lr) const override;  // no momentum, no weight decay
    // The constructor's checks, with `where` as prefix; step() applies them to every group before
    // it moves anything, because param_groups() is writable: a scheduler or the user may have
    // written a NaN or negative lr (torch checks lr only in the constructor).
    void check_hyperparameters(const ParamGroup<T>& g, const std::string& where) const override;

private:
    void sparse_step(const ParamGroup<T>& g, Tensor<T>& p);
};

}  // namespace optim
}  // namespace tapegrad
