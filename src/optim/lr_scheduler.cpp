// torch.optim.lr_scheduler, step for step.
#include <cmath>
#include <sstream>

#include "tapegrad/optim/lr_scheduler.hpp"

namespace tapegrad {
namespace optim {
namespace lr_scheduler {

template <class T> LRScheduler<T>::LRScheduler(Optimizer<T>& opt, int last_epoch) : opt_(opt), last_epoch_(last_epoch) {
    if (last_epoch < -1) throw ValueError("lr_scheduler: last_epoch must be >= -1, got " + std::to_string(last_epoch));
    for (auto& g : opt_.param_groups()) {
        // torch records the starting lr as initial_lr when a schedule begins fresh
        if (last_epoch == -1) g.initial_lr = g.lr;
        base_lrs_.push_back(g.initial_lr);
    }
}

template <class T> void LRScheduler<T>::step() {
    ++step_count_;
    ++last_epoch_;
    last_lr_ = get_lr();
    auto& groups = opt_.param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].lr = last_lr_[i];
}

template <class T>
void LRScheduler<T>::load_state(int last_epoch, int step_count, const std::vector<double>& last_lr) {
    auto& groups = opt_.param_groups();
    if (last_lr.size() != groups.size())
        throw ValueError("lr_scheduler::load_state: " + std::to_string(last_lr.size()) +
                         " learning rates for an optimizer with " + std::to_string(groups.size()) + " param groups");
    last_epoch_ = last_epoch;
    step_count_ = step_count;
    last_lr_ = last_lr;
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].lr = last_lr[i];
}

template <class T>
StepLR<T>::StepLR(Optimizer<T>& opt, int step_size, double gamma, int last_epoch)
    : LRScheduler<T>(opt, last_epoch), step_size_(step_size), gamma_(gamma) {
    if (step_size <= 0) throw ValueError("StepLR: step_size must be positive, got " + std::to_string(step_size));
    this->initial_step();
}

template <class T> std::vector<double> StepLR<T>::get_lr() const {
    std::vector<double> out;
    for (auto& g : this->opt_.param_groups())
        out.push_back(this->last_epoch_ == 0 || this->last_epoch_ % step_size_ != 0 ? g.lr : g.lr * gamma_);
    return out;
}

template <class T>
CosineAnnealingLR<T>::CosineAnnealingLR(Optimizer<T>& opt, int T_max, double eta_min, int last_epoch)
    : LRScheduler<T>(opt, last_epoch), T_max_(T_max), eta_min_(eta_min) {
    if (T_max <= 0) throw ValueError("CosineAnnealingLR: T_max must be positive, got " + std::to_string(T_max));
    this->initial_step();
}

template <class T> std::vector<double> CosineAnnealingLR<T>::get_lr() const {
    const double pi = 3.14159265358979323846;
    const int e = this->last_epoch_;
    const double Tm = T_max_;
    std::vector<double> out;
    const auto& groups = this->opt_.param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const double lr = groups[i].lr, base = this->base_lrs_[i];
        if (e == 0)
            out.push_back(lr);
        else if (this->step_count_ == 1 && e > 0)  // resumed with last_epoch given: closed form
            out.push_back(eta_min_ + (base - eta_min_) * (1 + std::cos(pi * e / Tm)) / 2);
        else if ((e - 1 - T_max_) % (2 * T_max_) == 0)
            out.push_back(lr + (base - eta_min_) * (1 - std::cos(pi / Tm)) / 2);
        else
            out.push_back((1 + std::cos(pi * e / Tm)) / (1 + std::cos(pi * (e - 1) / Tm)) * (lr - eta_min_) + eta_min_);
    }
    return out;
}

template class LRScheduler<float>;
template class LRScheduler<double>;
template class StepLR<float>;
template class StepLR<double>;
template class CosineAnnealingLR<float>;
template class CosineAnnealingLR<double>;

}  // namespace lr_scheduler
}  // namespace optim
}  // namespace tapegrad
