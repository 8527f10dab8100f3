#pragma once
// torch.optim.Adam and torch.optim.AdamW, as torch 1.13's single-tensor (foreach=False) code does
// them, in the same order of operations. With g the gradient (negated when maximize), t the step:
//   Adam:   g ← g + weight_decay·p                       (L2 penalty in the gradient)
//   AdamW:  p ← p·(1 − lr·weight_decay)                  (decoupled decay, before the moments)
//   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  v̂max ← max(v̂max, v) (amsgrad)
//   p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps)       (√v̂max with amsgrad)
// State per parameter: "step" (0-d), "exp_avg", "exp_avg_sq", "max_exp_avg_sq" (amsgrad).
// Row-sparse gradients are refused (torch: "Adam does not support sparse gradients").
#include <string>
#include <tuple>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {
namespace optim {

using betas_t = std::tuple<double, double>;

// libtorch's AdamOptions: AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-8).weight_decay(0).amsgrad(false).
struct AdamOptions {
    AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as libtorch's
    TAPEGRAD_OPTION(double, lr);
    TAPEGRAD_OPTION(betas_t, betas) = betas_t{0.9, 0.999};
    TAPEGRAD_OPTION(double, eps) = 1e-8;
    TAPEGRAD_OPTION(double, weight_decay) = 0;
    TAPEGRAD_OPTION(bool, amsgrad) = false;
    TAPEGRAD_OPTION(bool, maximize) = false;
};

// libtorch's AdamWOptions: as AdamOptions, with weight_decay 1e-2 by default.
struct AdamWOptions {
    AdamWOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as libtorch's
    TAPEGRAD_OPTION(double, lr);
    TAPEGRAD_OPTION(betas_t, betas) = betas_t{0.9, 0.999};
    TAPEGRAD_OPTION(double, eps) = 1e-8;
    TAPEGRAD_OPTION(double, weight_decay) = 1e-2;
    TAPEGRAD_OPTION(bool, amsgrad) = false;
    TAPEGRAD_OPTION(bool, maximize) = false;
};

// Adam and AdamW share everything but where the weight decay goes.
template <class T = float> class AdamBase : public Optimizer<T> {
public:
    std::vector<std::string> option_names() const override;
    std::vector<std::string> state_names() const override;

protected:
    AdamBase(const std::string& name, bool decoupled, std::vector<Tensor<T>> params, double lr, betas_t betas,
             double eps, double weight_decay, bool amsgrad, bool maximize);
    void update() override;  // the sparse-gradient check, then every parameter
    void update_param(const ParamGroup<T>& g, Tensor<T>& p) override;
    // torch's checks and texts ("Invalid learning rate: -1.0", "Invalid epsilon value: …",
    // "Invalid beta parameter at index 0: 1.0", "Invalid weight_decay value: …"), plus: lr, eps and
    // weight_decay must be finite.
    void check_hyperparameters(const ParamGroup<T>& g, const std::string& where) const override;

private:
    bool decoupled_;
};

template <class T = float> class Adam : public AdamBase<T> {
public:
    explicit Adam(std::vector<Tensor<T>> params, const AdamOptions& options = AdamOptions());
};

template <class T = float> class AdamW : public AdamBase<T> {
public:
    explicit AdamW(std::vector<Tensor<T>> params, const AdamWOptions& options = AdamWOptions());
};

}  // namespace optim
}  // namespace tapegrad
