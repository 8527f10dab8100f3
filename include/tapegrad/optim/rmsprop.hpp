#pragma once
// torch.optim.RMSprop, as torch 1.13's single-tensor (foreach=False) code does it. With g the
// gradient (negated when maximize):
//   g ← g + weight_decay·p;  v ← α·v + (1 − α)·g²
//   centered: ḡ ← α·ḡ + (1 − α)·g;  avg = √(v − ḡ²) + eps   (otherwise avg = √v + eps)
//   momentum > 0: b ← momentum·b + g/avg;  p ← p − lr·b      (otherwise p ← p − lr·g/avg)
// State per parameter: "step" (0-d), "square_avg", "momentum_buffer" (momentum > 0), "grad_avg"
// (centered). Row-sparse gradients are refused, as torch refuses them.
#include <string>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {
namespace optim {

// libtorch's RMSpropOptions: RMSpropOptions(1e-2).alpha(0.99).eps(1e-8).weight_decay(0).momentum(0).centered(false).
struct RMSpropOptions {
    RMSpropOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: implicit, as libtorch's
    TAPEGRAD_OPTION(double, lr);
    TAPEGRAD_OPTION(double, alpha) = 0.99;
    TAPEGRAD_OPTION(double, eps) = 1e-8;
    TAPEGRAD_OPTION(double, weight_decay) = 0;
    TAPEGRAD_OPTION(double, momentum) = 0;
    TAPEGRAD_OPTION(bool, centered) = false;
    TAPEGRAD_OPTION(bool, maximize) = false;
};

template <class T = float> class RMSprop : public Optimizer<T> {
public:
    explicit RMSprop(std::vector<Tensor<T>> params, const RMSpropOptions& options = RMSpropOptions());
    std::vector<std::string> option_names() const override;
    std::vector<std::string> state_names() const override;

protected:
    void update() override;  // the sparse-gradient check, then every parameter
    void update_param(const ParamGroup<T>& g, Tensor<T>& p) override;
    // torch's checks and texts ("Invalid learning rate: …", "Invalid epsilon value: …", "Invalid
    // momentum value: …", "Invalid weight_decay value: …", "Invalid alpha value: …"), plus: each
    // must be finite.
    void check_hyperparameters(const ParamGroup<T>& g, const std::string& where) const override;
};

}  // namespace optim
}  // namespace tapegrad
