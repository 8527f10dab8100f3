#pragma once
// Learning-rate schedulers with torch.optim.lr_scheduler's semantics (the recursive forms torch
// uses in step(), so the learning rates agree to the last bit with PyTorch's).
//
// Unlike torch, every argument is validated (ValueError naming the scheduler and the argument): a
// schedule can never produce a NaN, infinite or negative learning rate from its own arguments, and
// step() refuses to write one (an lr made so by hand, say) instead of letting training go on with it;
// a refused step() changes nothing. A scheduler covers the param groups the optimizer had when it
// was made: step() after add_param_group is a ValueError (torch's CosineAnnealingLR silently leaves
// the new group alone).
//
// state_dict() / load_state_dict() hold what torch's hold, by torch's names, as numbers (see
// SchedulerStateDict). The constructor's arguments are in it too ("gamma", "milestones", …); a
// load checks that they are this scheduler's (a resumed run must not silently change its schedule)
// and restores the progress ("last_epoch", "_step_count", "base_lrs", "_last_lr", ReduceLROnPlateau's
// "best", "num_bad_epochs", "cooldown_counter"), writing "_last_lr" into the param groups.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {
namespace optim {
namespace lr_scheduler {

// torch's scheduler.state_dict(): name → a number or a list of numbers (integers and booleans as
// doubles), so a checkpoint stores it in .npz as it is.
using SchedulerStateDict = std::map<std::string, std::vector<double>>;

// What every scheduler has: the optimizer it drives, the last learning rates, and its state dict.
template <class T = float> class Scheduler {
public:
    virtual ~Scheduler() = default;
    std::vector<double> get_last_lr() const { return last_lr_; }
    int last_epoch() const { return last_epoch_; }
    // "StepLR", …: the prefix of its messages.
    const std::string& name() const { return name_; }

    virtual SchedulerStateDict state_dict() const;
    // ValueError for a dict that does not fit (a missing or unknown name, a value out of range, a
    // constructor argument that differs), and nothing changed.
    void load_state_dict(const SchedulerStateDict& sd);
    // load_state_dict's checks alone.
    void check_state_dict(const SchedulerStateDict& sd) const;

protected:
    Scheduler(std::string name, Optimizer<T>& opt, int last_epoch) : name_(std::move(name)), opt_(opt), last_epoch_(last_epoch) {}
    // The constructor's arguments by torch's names, compared by load_state_dict.
    virtual SchedulerStateDict config() const = 0;
    // The progress: read into state_dict(), checked, and restored.
    virtual void save_progress(SchedulerStateDict& sd) const;
    virtual void check_progress(const SchedulerStateDict& sd, const std::string& where) const;
    virtual void load_progress(const SchedulerStateDict& sd);
    // Progress names besides "last_epoch" and "_last_lr".
    virtual std::vector<std::string> progress_names() const { return {}; }

    std::string name_;
    Optimizer<T>& opt_;
    std::vector<double> last_lr_;
    int last_epoch_ = -1;
};

// The epoch-driven schedulers (torch's _LRScheduler): step() once per epoch (or per batch).
template <class T = float> class LRScheduler : public Scheduler<T> {
public:
    // Advances one epoch and writes the new learning rate into every param group; ValueError, with
    // nothing changed, when a new rate is not finite and >= 0 or the number of groups changed.
    void step();
    // For checkpoints: what step() counts. Restoring sets the groups' lr from the saved values;
    // last_epoch >= -1, step_count >= 0, one finite lr >= 0 per param group (ValueError otherwise).
    int step_count() const { return step_count_; }
    void load_state(int last_epoch, int step_count, const std::vector<double>& last_lr);
    const std::vector<double>& base_lrs() const { return base_lrs_; }

protected:
    // initial_lrs: what the groups' initial_lr becomes when the schedule starts fresh (the groups'
    // lr when null; OneCycleLR's max_lr / div_factor).
    LRScheduler(std::string name, Optimizer<T>& opt, int last_epoch, const std::vector<double>* initial_lrs = nullptr);
    void initial_step() { step(); }
    virtual std::vector<double> get_lr() const = 0;
    // After the new lrs are written: OneCycleLR sets the momentum here.
    virtual void after_step() {}
    void save_progress(SchedulerStateDict& sd) const override;
    void check_progress(const SchedulerStateDict& sd, const std::string& where) const override;
    void load_progress(const SchedulerStateDict& sd) override;
    std::vector<std::string> progress_names() const override { return {"_step_count", "base_lrs"}; }
    std::vector<double> base_lrs_;
    int step_count_ = 0;
};

// lr = base_lr · gamma^⌊epoch / step_size⌋; step_size > 0, gamma finite and >= 0.
template <class T = float> class StepLR : public LRScheduler<T> {
public:
    StepLR(Optimizer<T>& opt, int step_size, double gamma = 0.1, int last_epoch = -1);

protected:
    std::vector<double> get_lr() const override;
    SchedulerStateDict config() const override { return {{"step_size", {double(step_size_)}}, {"gamma", {gamma_}}}; }

private:
    int step_size_;
    double gamma_;
};

// lr = base_lr · gamma^(number of milestones ≤ epoch); milestones >= 0 (repeats count twice, as
// torch's Counter), gamma finite and >= 0.
template <class T = float> class MultiStepLR : public LRScheduler<T> {
public:
    MultiStepLR(Optimizer<T>& opt, std::vector<int> milestones, double gamma = 0.1, int last_epoch = -1);

protected:
    std::vector<double> get_lr() const override;
    SchedulerStateDict config() const override;

private:
    std::vector<int> milestones_;  // sorted
    double gamma_;
};

// lr = base_lr · gamma^epoch; gamma finite and >= 0.
template <class T = float> class ExponentialLR : public LRScheduler<T> {
public:
    ExponentialLR(Optimizer<T>& opt, double gamma, int last_epoch = -1);

protected:
    std::vector<double> get_lr() const override;
    SchedulerStateDict config() const override { return {{"gamma", {gamma_}}}; }

private:
    double gamma_;
};

// Warm-up: the lr factor goes linearly from start_factor to end_factor over total_iters epochs, then
// stays. torch's checks: factors in [0, 1] ("Starting multiplicative factor expected to be between
// 0 and 1."), plus start_factor > 0 (torch divides by it) and total_iters > 0.
template <class T = float> class LinearLR : public LRScheduler<T> {
public:
    LinearLR(Optimizer<T>& opt, double start_factor = 1.0 / 3, double end_factor = 1.0, int total_iters = 5,
             int last_epoch = -1);

protected:
    std::vector<double> get_lr() const override;
    SchedulerStateDict config() const override {
        return {{"start_factor", {start_factor_}}, {"end_factor", {end_factor_}}, {"total_iters", {double(total_iters_)}}};
    }

private:
    double start_factor_, end_factor_;
    int total_iters_;
};

// lr follows half a cosine from base_lr down to eta_min over T_max epochs (then back up);
// T_max > 0, eta_min finite and >= 0.
template <class T = float> class CosineAnnealingLR : public LRScheduler<T> {
public:
    CosineAnnealingLR(Optimizer<T>& opt, int T_max, double eta_min = 0.0, int last_epoch = -1);

protected:
    std::vector<double> get_lr() const override;
    SchedulerStateDict config() const override { return {{"T_max", {double(T_max_)}}, {"eta_min", {eta_min_}}}; }

private:
    int T_max_;
    double eta_min_;
};

// OneCycleLR's arguments (torch's names and defaults). max_lr: one value, or one per param group.
struct OneCycleLROptions {
    OneCycleLROptions(double max_lr) : max_lr_{max_lr} {}  // NOLINT: implicit
    OneCycleLROptions(std::vector<double> max_lr) : max_lr_(std::move(max_lr)) {}  // NOLINT: implicit
    TAPEGRAD_OPTION(std::vector<double>, max_lr);
    TAPEGRAD_OPTION(std::optional<int>, total_steps);      // or epochs × steps_per_epoch
    TAPEGRAD_OPTION(std::optional<int>, epochs);
    TAPEGRAD_OPTION(std::optional<int>, steps_per_epoch);
    TAPEGRAD_OPTION(double, pct_start) = 0.3;
    TAPEGRAD_OPTION(std::string, anneal_strategy) = "cos";  // or "linear"
    TAPEGRAD_OPTION(bool, cycle_momentum) = true;
    TAPEGRAD_OPTION(double, base_momentum) = 0.85;
    TAPEGRAD_OPTION(double, max_momentum) = 0.95;
    TAPEGRAD_OPTION(double, div_factor) = 25.0;
    TAPEGRAD_OPTION(double, final_div_factor) = 1e4;
    TAPEGRAD_OPTION(bool, three_phase) = false;
    TAPEGRAD_OPTION(int, last_epoch) = -1;
};

// The 1cycle policy, stepped once per batch: the lr rises from max_lr/div_factor to max_lr over
// pct_start of total_steps, then anneals (cos or linear) to max_lr/(div_factor·final_div_factor)
// (three_phase: back to the start first). With cycle_momentum the momentum (SGD, RMSprop) or beta1
// (Adam, AdamW) moves the other way, between max_momentum and base_momentum. torch's checks and
// texts; stepping past total_steps is "Tried to step 11 times. The specified number of total steps
// is 10" (ValueError, nothing changed). One deliberate difference: the step torch allows after the
// last one (last_epoch == total_steps, the rate nobody trains with) keeps min_lr and the end
// momentum, where torch extrapolates the anneal (with "linear", to a negative lr).
template <class T = float> class OneCycleLR : public LRScheduler<T> {
public:
    OneCycleLR(Optimizer<T>& opt, const OneCycleLROptions& options);
    int total_steps() const { return total_steps_; }

protected:
    std::vector<double> get_lr() const override;
    void after_step() override;
    SchedulerStateDict config() const override;

private:
    struct Phase {
        double end_step;
        int start_lr, end_lr, start_momentum, end_momentum;  // 0 initial_lr, 1 max_lr, 2 min_lr; 0 max_m, 1 base_m
    };
    struct Prepared;
    OneCycleLR(Optimizer<T>& opt, const OneCycleLROptions& options, const Prepared& p);
    double anneal(double start, double end, double pct) const;
    // (lr, momentum) of group i at this->last_epoch_
    std::pair<double, double> at(std::size_t i) const;
    int total_steps_;
    bool cos_, cycle_momentum_, use_beta1_;
    std::vector<Phase> phases_;
    std::vector<double> initial_lr_, max_lr_, min_lr_, max_momentum_, base_momentum_;
};

// ReduceLROnPlateau's arguments (torch's names and defaults). min_lr: one value, or one per group.
struct ReduceLROnPlateauOptions {
    TAPEGRAD_OPTION(std::string, mode) = "min";  // or "max"
    TAPEGRAD_OPTION(double, factor) = 0.1;
    TAPEGRAD_OPTION(int, patience) = 10;
    TAPEGRAD_OPTION(double, threshold) = 1e-4;
    TAPEGRAD_OPTION(std::string, threshold_mode) = "rel";  // or "abs"
    TAPEGRAD_OPTION(int, cooldown) = 0;
    TAPEGRAD_OPTION(std::vector<double>, min_lr) = std::vector<double>{0.0};
    TAPEGRAD_OPTION(double, eps) = 1e-8;
};

// Lowers every group's lr by factor when the metric given to step(metric) has not improved for
// more than patience epochs (then waits cooldown epochs); never below min_lr, and not by less than
// eps. torch's checks and texts ("Factor should be < 1.0.", "mode foo is unknown!", "threshold mode
// foo is unknown!", "expected 2 min_lrs, got 3"), plus: factor >= 0, threshold, eps and min_lr
// finite and >= 0, patience and cooldown >= 0.
template <class T = float> class ReduceLROnPlateau : public Scheduler<T> {
public:
    explicit ReduceLROnPlateau(Optimizer<T>& opt, const ReduceLROnPlateauOptions& options = ReduceLROnPlateauOptions());
    // One epoch's metric (a NaN counts as no improvement, as in torch).
    void step(double metric);
    double best() const { return best_; }
    int num_bad_epochs() const { return num_bad_epochs_; }
    int cooldown_counter() const { return cooldown_counter_; }

protected:
    SchedulerStateDict config() const override;
    void save_progress(SchedulerStateDict& sd) const override;
    void check_progress(const SchedulerStateDict& sd, const std::string& where) const override;
    void load_progress(const SchedulerStateDict& sd) override;
    std::vector<std::string> progress_names() const override { return {"best", "num_bad_epochs", "cooldown_counter"}; }

private:
    bool is_better(double a, double best) const;
    bool max_mode_, abs_mode_;
    double factor_, threshold_, eps_, mode_worse_;
    int patience_, cooldown_;
    std::vector<double> min_lrs_;
    double best_;
    int num_bad_epochs_ = 0, cooldown_counter_ = 0;
};

}  // namespace lr_scheduler
}  // namespace optim
}  // namespace tapegrad
