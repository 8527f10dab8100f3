#pragma once
// Learning-rate schedulers with torch.optim.lr_scheduler's semantics (the recursive forms torch
// uses in step(), so the learning rates agree to the last bit with PyTorch's).
//
// Unlike torch, every argument is validated (ValueError naming the scheduler and the argument): a
// schedule can never produce a NaN, infinite or negative learning rate from its own arguments, and
// step() refuses to write one (an lr made so by hand, say) instead of letting training go on with it.
// A scheduler covers the param groups the optimizer had when it was made: step() after
// add_param_group is a ValueError (torch's CosineAnnealingLR silently leaves the new group alone).
#include <string>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {
namespace optim {
namespace lr_scheduler {

template <class T = float> class LRScheduler {
public:
    virtual ~LRScheduler() = default;
    // Advances one epoch and writes the new learning rate into every param group; ValueError, with
    // nothing changed, when a new rate is not finite and >= 0 or the number of groups changed.
    void step();
    std::vector<double> get_last_lr() const { return last_lr_; }
    int last_epoch() const { return last_epoch_; }
    // For checkpoints: what step() counts. Restoring sets the groups' lr from the saved values;
    // last_epoch >= -1, step_count >= 0, one finite lr >= 0 per param group (ValueError otherwise).
    int step_count() const { return step_count_; }
    void load_state(int last_epoch, int step_count, const std::vector<double>& last_lr);
    // "StepLR", …: the prefix of its messages.
    const std::string& name() const { return name_; }

protected:
    LRScheduler(std::string name, Optimizer<T>& opt, int last_epoch);
    void initial_step() { step(); }
    virtual std::vector<double> get_lr() const = 0;
    std::string name_;
    Optimizer<T>& opt_;
    std::vector<double> base_lrs_, last_lr_;
    int last_epoch_ = -1, step_count_ = 0;
};

// lr = base_lr · gamma^⌊epoch / step_size⌋; step_size > 0, gamma finite and >= 0.
template <class T = float> class StepLR : public LRScheduler<T> {
public:
    StepLR(Optimizer<T>& opt, int step_size, double gamma = 0.1, int last_epoch = -1);

protected:
    std::vector<double> get_lr() const override;

private:
    int step_size_;
    double gamma_;
};

// lr follows half a cosine from base_lr down to eta_min over T_max epochs (then back up);
// T_max > 0, eta_min finite and >= 0.
template <class T = float> class CosineAnnealingLR : public LRScheduler<T> {
public:
    CosineAnnealingLR(Optimizer<T>& opt, int T_max, double eta_min = 0.0, int last_epoch = -1);

protected:
    std::vector<double> get_lr() const override;

private:
    int T_max_;
    double eta_min_;
};

}  // namespace lr_scheduler
}  // namespace optim
}  // namespace tapegrad
