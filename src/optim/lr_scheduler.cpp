// torch.optim.lr_scheduler, step for step.
#include <cmath>
#include <sstream>

#include "tapegrad/optim/lr_scheduler.hpp"

namespace tapegrad {
namespace optim {
namespace lr_scheduler {

namespace {
std::string num(double x) {
    std::ostringstream os;
    os << x;
    return os.str();
}
bool valid_lr(double lr) { return std::isfinite(lr) && lr >= 0; }

// The constructors' checks, run before the base constructor records initial_lr in the groups, so a
// refused scheduler leaves the optimizer as it was. They return last_epoch for the base.
int check_step_lr(int step_size, double gamma, int last_epoch) {
    if (step_size <= 0) throw ValueError("StepLR: step_size must be positive, got " + std::to_string(step_size));
    // torch takes any gamma; a NaN, infinite or negative one makes the lr NaN, infinite or < 0
    if (!std::isfinite(gamma) || gamma < 0) throw ValueError("StepLR: gamma must be finite and >= 0, got " + num(gamma));
    if (last_epoch < -1) throw ValueError("StepLR: last_epoch must be >= -1, got " + std::to_string(last_epoch));
    return last_epoch;
}
int check_cosine(int T_max, double eta_min, int last_epoch) {
    if (T_max <= 0) throw ValueError("CosineAnnealingLR: T_max must be positive, got " + std::to_string(T_max));
    // eta_min is where the lr ends up: it must be a learning rate itself
    if (!valid_lr(eta_min)) throw ValueError("CosineAnnealingLR: eta_min must be finite and >= 0, got " + num(eta_min));
    if (last_epoch < -1) throw ValueError("CosineAnnealingLR: last_epoch must be >= -1, got " + std::to_string(last_epoch));
    return last_epoch;
}
}  // namespace

template <class T>
LRScheduler<T>::LRScheduler(std::string name, Optimizer<T>& opt, int last_epoch)
    : name_(std::move(name)), opt_(opt), last_epoch_(last_epoch) {
    if (last_epoch < -1) throw ValueError(name_ + ": last_epoch must be >= -1, got " + std::to_string(last_epoch));
    for (auto& g : opt_.param_groups()) {
        // torch records the starting lr as initial_lr when a schedule begins fresh
        if (last_epoch == -1) g.initial_lr = g.lr;
        base_lrs_.push_back(g.initial_lr);
    }
}

template <class T> void LRScheduler<T>::step() {
    auto& groups = opt_.param_groups();
    if (groups.size() != base_lrs_.size())
        throw ValueError(name_ + "::step: the optimizer has " + std::to_string(groups.size()) +
                         " param groups, but the scheduler was made for " + std::to_string(base_lrs_.size()) +
                         ": add param groups before making the scheduler");
    ++step_count_;
    ++last_epoch_;
    std::vector<double> lrs = get_lr();
    for (std::size_t i = 0; i < lrs.size(); ++i)
        if (!valid_lr(lrs[i])) {
            --step_count_;
            --last_epoch_;
            throw ValueError(name_ + "::step: the new learning rate of param_groups[" + std::to_string(i) + "] is " +
                             num(lrs[i]) + " (from its current lr " + num(groups[i].lr) +
                             "): a learning rate must be finite and >= 0");
        }
    last_lr_ = std::move(lrs);
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].lr = last_lr_[i];
}

template <class T>
void LRScheduler<T>::load_state(int last_epoch, int step_count, const std::vector<double>& last_lr) {
    auto& groups = opt_.param_groups();
    const std::string where = name_ + "::load_state: ";
    if (last_lr.size() != groups.size())
        throw ValueError(where + std::to_string(last_lr.size()) + " learning rates for an optimizer with " +
                         std::to_string(groups.size()) + " param groups");
    if (last_epoch < -1) throw ValueError(where + "last_epoch must be >= -1, got " + std::to_string(last_epoch));
    if (step_count < 0) throw ValueError(where + "step_count must be >= 0, got " + std::to_string(step_count));
    for (std::size_t i = 0; i < last_lr.size(); ++i)
        if (!valid_lr(last_lr[i]))
            throw ValueError(where + "learning rate " + std::to_string(i) + " is " + num(last_lr[i]) +
                             ": expected a finite lr >= 0");
    last_epoch_ = last_epoch;
    step_count_ = step_count;
    last_lr_ = last_lr;
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].lr = last_lr[i];
}

template <class T>
StepLR<T>::StepLR(Optimizer<T>& opt, int step_size, double gamma, int last_epoch)
    : LRScheduler<T>("StepLR", opt, check_step_lr(step_size, gamma, last_epoch)), step_size_(step_size), gamma_(gamma) {
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
    : LRScheduler<T>("CosineAnnealingLR", opt, check_cosine(T_max, eta_min, last_epoch)), T_max_(T_max), eta_min_(eta_min) {
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
