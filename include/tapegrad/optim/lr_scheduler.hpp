#pragma once
// Learning-rate schedulers with torch.optim.lr_scheduler's semantics (the recursive forms torch
// uses in step(), so the learning rates agree to the last bit with PyTorch's).
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {
namespace optim {
namespace lr_scheduler {

template <class T = float> class LRScheduler {
public:
    virtual ~LRScheduler() = default;
    // Advances one epoch and writes the new learning rate into every param group.
    void step();
    std::vector<double> get_last_lr() const { return last_lr_; }
    int last_epoch() const { return last_epoch_; }
    // For checkpoints: what step() counts. Restoring sets the groups' lr from the saved values.
    int step_count() const { return step_count_; }
    void load_state(int last_epoch, int step_count, const std::vector<double>& last_lr);

protected:
    explicit LRScheduler(Optimizer<T>& opt, int last_epoch);
    void initial_step() { step(); }
    virtual std::vector<double> get_lr() const = 0;
    Optimizer<T>& opt_;
    std::vector<double> base_lrs_, last_lr_;
    int last_epoch_ = -1, step_count_ = 0;
};

// lr = base_lr · gamma^⌊epoch / step_size⌋
template <class T = float> class StepLR : public LRScheduler<T> {
public:
    StepLR(Optimizer<T>& opt, int step_size, double gamma = 0.1, int last_epoch = -1);

protected:
    std::vector<double> get_lr() const override;

private:
    int step_size_;
    double gamma_;
};

// lr follows half a cosine from base_lr down to eta_min over T_max epochs (then back up).
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
