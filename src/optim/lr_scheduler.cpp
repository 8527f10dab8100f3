// torch.optim.lr_scheduler, step for step.
#include "tapegrad/optim/lr_scheduler.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

namespace tapegrad {
namespace optim {
namespace lr_scheduler {

namespace {
std::string num(double x) { return tapegrad::detail::py_float(x); }
std::string nums(const std::vector<double>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + num(v[i]);
    return s + "]";
}
bool valid_lr(double lr) { return std::isfinite(lr) && lr >= 0; }
const double kPi = 3.14159265358979323846;

// The constructors' checks, run before the base constructor records initial_lr in the groups, so a
// refused scheduler leaves the optimizer as it was. They return last_epoch for the base.
int check_last_epoch(const std::string& name, int last_epoch) {
    if (last_epoch < -1) throw ValueError(name + ": last_epoch must be >= -1, got " + std::to_string(last_epoch));
    return last_epoch;
}
void check_gamma(const std::string& name, double gamma) {
    // torch takes any gamma; a NaN, infinite or negative one makes the lr NaN, infinite or < 0
    if (!std::isfinite(gamma) || gamma < 0) throw ValueError(name + ": gamma must be finite and >= 0, got " + num(gamma));
}
int check_step_lr(int step_size, double gamma, int last_epoch) {
    if (step_size <= 0) throw ValueError("StepLR: step_size must be positive, got " + std::to_string(step_size));
    check_gamma("StepLR", gamma);
    return check_last_epoch("StepLR", last_epoch);
}
int check_cosine(int T_max, double eta_min, int last_epoch) {
    if (T_max <= 0) throw ValueError("CosineAnnealingLR: T_max must be positive, got " + std::to_string(T_max));
    // eta_min is where the lr ends up: it must be a learning rate itself
    if (!valid_lr(eta_min)) throw ValueError("CosineAnnealingLR: eta_min must be finite and >= 0, got " + num(eta_min));
    return check_last_epoch("CosineAnnealingLR", last_epoch);
}

// state-dict reading
const std::vector<double>& entry(const SchedulerStateDict& sd, const std::string& key, const std::string& where,
                                 std::size_t size) {
    auto it = sd.find(key);
    if (it == sd.end()) throw ValueError(where + ": missing '" + key + "'");
    if (size && it->second.size() != size)
        throw ValueError(where + ": '" + key + "' has " + std::to_string(it->second.size()) + " values, expected " +
                         std::to_string(size));
    return it->second;
}
int whole(const SchedulerStateDict& sd, const std::string& key, const std::string& where, int min) {
    const double v = entry(sd, key, where, 1)[0];
    if (!(v >= min) || v > INT_MAX || std::floor(v) != v)
        throw ValueError(where + ": '" + key + "' must be a whole number >= " + std::to_string(min) + ", got " + num(v));
    return int(v);
}
void check_lrs(const SchedulerStateDict& sd, const std::string& key, const std::string& where, std::size_t groups) {
    const auto& v = entry(sd, key, where, 0);
    if (v.size() != groups)
        throw ValueError(where + ": '" + key + "' has " + std::to_string(v.size()) + " learning rates for an optimizer with " +
                         std::to_string(groups) + " param groups");
    for (std::size_t i = 0; i < v.size(); ++i)
        if (!valid_lr(v[i]))
            throw ValueError(where + ": '" + key + "'[" + std::to_string(i) + "] is " + num(v[i]) + ": expected a finite lr >= 0");
}
}  // namespace

// ---- Scheduler: state dicts

template <class T> SchedulerStateDict Scheduler<T>::state_dict() const {
    SchedulerStateDict sd = config();
    save_progress(sd);
    return sd;
}

template <class T> void Scheduler<T>::check_state_dict(const SchedulerStateDict& sd) const {
    const std::string where = name_ + "::load_state_dict";
    const SchedulerStateDict cfg = config();
    for (const auto& [k, v] : cfg) {
        const auto& saved = entry(sd, k, where, 0);
        if (saved != v)
            throw ValueError(where + ": the state was saved with " + k + " " + nums(saved) + ", this scheduler has " + k + " " +
                             nums(v));
    }
    auto names = progress_names();
    names.push_back("last_epoch");
    names.push_back("_last_lr");
    for (const auto& [k, v] : sd)
        if (!cfg.count(k) && std::find(names.begin(), names.end(), k) == names.end())
            throw ValueError(where + ": unknown entry '" + k + "' for " + name_);
    check_progress(sd, where);
}

template <class T> void Scheduler<T>::load_state_dict(const SchedulerStateDict& sd) {
    check_state_dict(sd);
    load_progress(sd);
}

template <class T> void Scheduler<T>::save_progress(SchedulerStateDict& sd) const {
    sd["last_epoch"] = {double(last_epoch_)};
    sd["_last_lr"] = last_lr_;
}

template <class T> void Scheduler<T>::check_progress(const SchedulerStateDict& sd, const std::string& where) const {
    whole(sd, "last_epoch", where, -1);
    check_lrs(sd, "_last_lr", where, opt_.param_groups().size());
}

template <class T> void Scheduler<T>::load_progress(const SchedulerStateDict& sd) {
    last_epoch_ = int(sd.at("last_epoch")[0]);
    last_lr_ = sd.at("_last_lr");
    auto& groups = opt_.param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].lr = last_lr_[i];
}

// ---- LRScheduler

template <class T>
LRScheduler<T>::LRScheduler(std::string name, Optimizer<T>& opt, int last_epoch, const std::vector<double>* initial_lrs)
    : Scheduler<T>(std::move(name), opt, last_epoch) {
    check_last_epoch(this->name_, last_epoch);
    auto& groups = this->opt_.param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i) {
        auto& g = groups[i];
        // torch records the starting lr as initial_lr when a schedule begins fresh
        if (last_epoch == -1) g.initial_lr = initial_lrs ? (*initial_lrs)[i] : g.lr;
        base_lrs_.push_back(g.initial_lr);
    }
}

template <class T> void LRScheduler<T>::step() {
    auto& groups = this->opt_.param_groups();
    const std::string& name = this->name_;
    if (groups.size() != base_lrs_.size())
        throw ValueError(name + "::step: the optimizer has " + std::to_string(groups.size()) +
                         " param groups, but the scheduler was made for " + std::to_string(base_lrs_.size()) +
                         ": add param groups before making the scheduler");
    ++step_count_;
    ++this->last_epoch_;
    std::vector<double> lrs;
    try {
        lrs = get_lr();
    } catch (...) {
        --step_count_;
        --this->last_epoch_;
        throw;
    }
    for (std::size_t i = 0; i < lrs.size(); ++i)
        if (!valid_lr(lrs[i])) {
            --step_count_;
            --this->last_epoch_;
            throw ValueError(name + "::step: the new learning rate of param_groups[" + std::to_string(i) + "] is " +
                             num(lrs[i]) + " (from its current lr " + num(groups[i].lr) +
                             "): a learning rate must be finite and >= 0");
        }
    this->last_lr_ = std::move(lrs);
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].lr = this->last_lr_[i];
    after_step();
}

template <class T>
void LRScheduler<T>::load_state(int last_epoch, int step_count, const std::vector<double>& last_lr) {
    auto& groups = this->opt_.param_groups();
    const std::string where = this->name_ + "::load_state: ";
    if (last_lr.size() != groups.size())
        throw ValueError(where + std::to_string(last_lr.size()) + " learning rates for an optimizer with " +
                         std::to_string(groups.size()) + " param groups");
    if (last_epoch < -1) throw ValueError(where + "last_epoch must be >= -1, got " + std::to_string(last_epoch));
    if (step_count < 0) throw ValueError(where + "step_count must be >= 0, got " + std::to_string(step_count));
    for (std::size_t i = 0; i < last_lr.size(); ++i)
        if (!valid_lr(last_lr[i]))
            throw ValueError(where + "learning rate " + std::to_string(i) + " is " + num(last_lr[i]) +
                             ": expected a finite lr >= 0");
    this->last_epoch_ = last_epoch;
    step_count_ = step_count;
    this->last_lr_ = last_lr;
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].lr = last_lr[i];
}

template <class T> void LRScheduler<T>::save_progress(SchedulerStateDict& sd) const {
    Scheduler<T>::save_progress(sd);
    sd["_step_count"] = {double(step_count_)};
    sd["base_lrs"] = base_lrs_;
}

template <class T> void LRScheduler<T>::check_progress(const SchedulerStateDict& sd, const std::string& where) const {
    Scheduler<T>::check_progress(sd, where);
    whole(sd, "_step_count", where, 0);
    check_lrs(sd, "base_lrs", where, this->opt_.param_groups().size());
}

template <class T> void LRScheduler<T>::load_progress(const SchedulerStateDict& sd) {
    Scheduler<T>::load_progress(sd);
    step_count_ = int(sd.at("_step_count")[0]);
    base_lrs_ = sd.at("base_lrs");
}

// ---- StepLR, MultiStepLR, ExponentialLR, LinearLR, CosineAnnealingLR

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

namespace {
int check_multistep(const std::vector<int>& milestones, double gamma, int last_epoch) {
    for (int m : milestones)
        if (m < 0) throw ValueError("MultiStepLR: milestones must be >= 0, got " + std::to_string(m));
    check_gamma("MultiStepLR", gamma);
    return check_last_epoch("MultiStepLR", last_epoch);
}
}  // namespace

template <class T>
MultiStepLR<T>::MultiStepLR(Optimizer<T>& opt, std::vector<int> milestones, double gamma, int last_epoch)
    : LRScheduler<T>("MultiStepLR", opt, check_multistep(milestones, gamma, last_epoch)),
      milestones_(std::move(milestones)), gamma_(gamma) {
    std::sort(milestones_.begin(), milestones_.end());
    this->initial_step();
}

template <class T> std::vector<double> MultiStepLR<T>::get_lr() const {
    // torch keeps a Counter: a milestone given twice multiplies by gamma twice
    const auto hits = std::count(milestones_.begin(), milestones_.end(), this->last_epoch_);
    std::vector<double> out;
    for (auto& g : this->opt_.param_groups()) out.push_back(hits == 0 ? g.lr : g.lr * std::pow(gamma_, double(hits)));
    return out;
}

template <class T> SchedulerStateDict MultiStepLR<T>::config() const {
    return {{"milestones", std::vector<double>(milestones_.begin(), milestones_.end())}, {"gamma", {gamma_}}};
}

namespace {
int check_exponential(double gamma, int last_epoch) {
    check_gamma("ExponentialLR", gamma);
    return check_last_epoch("ExponentialLR", last_epoch);
}
}  // namespace

template <class T>
ExponentialLR<T>::ExponentialLR(Optimizer<T>& opt, double gamma, int last_epoch)
    : LRScheduler<T>("ExponentialLR", opt, check_exponential(gamma, last_epoch)), gamma_(gamma) {
    this->initial_step();
}

template <class T> std::vector<double> ExponentialLR<T>::get_lr() const {
    std::vector<double> out;
    for (auto& g : this->opt_.param_groups()) out.push_back(this->last_epoch_ == 0 ? g.lr : g.lr * gamma_);
    return out;
}

namespace {
int check_linear(double start_factor, double end_factor, int total_iters, int last_epoch) {
    // torch's tests (NaN passes them there; here it does not), and start_factor > 0: torch divides by it
    if (!(start_factor <= 1.0 && start_factor >= 0))
        throw ValueError("LinearLR: Starting multiplicative factor expected to be between 0 and 1. (got " + num(start_factor) + ")");
    if (!(end_factor <= 1.0 && end_factor >= 0))
        throw ValueError("LinearLR: Ending multiplicative factor expected to be between 0 and 1. (got " + num(end_factor) + ")");
    if (start_factor == 0)
        throw ValueError("LinearLR: start_factor must be > 0 (the recursive form divides by it)");
    if (total_iters <= 0) throw ValueError("LinearLR: total_iters must be positive, got " + std::to_string(total_iters));
    return check_last_epoch("LinearLR", last_epoch);
}
}  // namespace

template <class T>
LinearLR<T>::LinearLR(Optimizer<T>& opt, double start_factor, double end_factor, int total_iters, int last_epoch)
    : LRScheduler<T>("LinearLR", opt, check_linear(start_factor, end_factor, total_iters, last_epoch)),
      start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
    this->initial_step();
}

template <class T> std::vector<double> LinearLR<T>::get_lr() const {
    const int e = this->last_epoch_;
    std::vector<double> out;
    for (auto& g : this->opt_.param_groups()) {
        if (e == 0)
            out.push_back(g.lr * start_factor_);
        else if (e > total_iters_)
            out.push_back(g.lr);
        else
            out.push_back(g.lr * (1. + (end_factor_ - start_factor_) /
                                           (total_iters_ * start_factor_ + (e - 1) * (end_factor_ - start_factor_))));
    }
    return out;
}

template <class T>
CosineAnnealingLR<T>::CosineAnnealingLR(Optimizer<T>& opt, int T_max, double eta_min, int last_epoch)
    : LRScheduler<T>("CosineAnnealingLR", opt, check_cosine(T_max, eta_min, last_epoch)), T_max_(T_max), eta_min_(eta_min) {
    this->initial_step();
}

template <class T> std::vector<double> CosineAnnealingLR<T>::get_lr() const {
    const int e = this->last_epoch_;
    const double Tm = T_max_;
    std::vector<double> out;
    const auto& groups = this->opt_.param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const double lr = groups[i].lr, base = this->base_lrs_[i];
        if (e == 0)
            out.push_back(lr);
        else if (this->step_count_ == 1 && e > 0)  // resumed with last_epoch given: closed form
            out.push_back(eta_min_ + (base - eta_min_) * (1 + std::cos(kPi * e / Tm)) / 2);
        else if ((e - 1 - T_max_) % (2 * T_max_) == 0)
            out.push_back(lr + (base - eta_min_) * (1 - std::cos(kPi / Tm)) / 2);
        else
            out.push_back((1 + std::cos(kPi * e / Tm)) / (1 + std::cos(kPi * (e - 1) / Tm)) * (lr - eta_min_) + eta_min_);
    }
    return out;
}

// ---- OneCycleLR

template <class T> struct OneCycleLR<T>::Prepared {
    int total_steps = 0;
    bool cos = true, use_beta1 = false;
    std::vector<Phase> phases;
    std::vector<double> initial, max_lr, min_lr, max_m, base_m;

    static Prepared make(const Optimizer<T>& opt, const OneCycleLROptions& o) {
        const std::string w = "OneCycleLR: ";
        Prepared p;
        if (!o.total_steps() && !o.epochs() && !o.steps_per_epoch())
            throw ValueError(w + "You must define either total_steps OR (epochs AND steps_per_epoch)");
        if (o.total_steps()) {
            if (*o.total_steps() <= 0)
                throw ValueError(w + "Expected positive integer total_steps, but got " + std::to_string(*o.total_steps()));
            p.total_steps = *o.total_steps();
        } else {
            if (!o.epochs() || *o.epochs() <= 0)
                throw ValueError(w + "Expected positive integer epochs, but got " + (o.epochs() ? std::to_string(*o.epochs()) : "None"));
            if (!o.steps_per_epoch() || *o.steps_per_epoch() <= 0)
                throw ValueError(w + "Expected positive integer steps_per_epoch, but got " +
                                 (o.steps_per_epoch() ? std::to_string(*o.steps_per_epoch()) : "None"));
            if (std::int64_t(*o.epochs()) * *o.steps_per_epoch() > INT_MAX)
                throw ValueError(w + "epochs × steps_per_epoch is too large");
            p.total_steps = *o.epochs() * *o.steps_per_epoch();
        }
        const double n = p.total_steps, pct = o.pct_start();
        if (o.three_phase())
            p.phases = {{pct * n - 1, 0, 1, 0, 1}, {2 * pct * n - 2, 1, 0, 1, 0}, {n - 1, 0, 2, 0, 0}};
        else
            p.phases = {{pct * n - 1, 0, 1, 0, 1}, {n - 1, 1, 2, 1, 0}};
        if (!(pct >= 0 && pct <= 1)) throw ValueError(w + "Expected float between 0 and 1 pct_start, but got " + num(pct));
        if (o.anneal_strategy() != "cos" && o.anneal_strategy() != "linear")
            throw ValueError(w + "anneal_strategy must by one of 'cos' or 'linear', instead got " + o.anneal_strategy());
        p.cos = o.anneal_strategy() == "cos";
        const std::size_t groups = opt.param_groups().size();
        std::vector<double> max_lrs = o.max_lr();
        if (max_lrs.size() == 1) max_lrs.assign(groups, max_lrs[0]);
        if (max_lrs.size() != groups)
            throw ValueError(w + "expected " + std::to_string(groups) + " values for max_lr, got " + std::to_string(o.max_lr().size()));
        if (!(std::isfinite(o.div_factor()) && o.div_factor() > 0))
            throw ValueError(w + "div_factor must be finite and > 0, got " + num(o.div_factor()));
        if (!(std::isfinite(o.final_div_factor()) && o.final_div_factor() > 0))
            throw ValueError(w + "final_div_factor must be finite and > 0, got " + num(o.final_div_factor()));
        for (double m : max_lrs) {
            if (!valid_lr(m)) throw ValueError(w + "max_lr must be finite and >= 0, got " + num(m));
            p.max_lr.push_back(m);
            p.initial.push_back(m / o.div_factor());
            p.min_lr.push_back(p.initial.back() / o.final_div_factor());
        }
        if (o.cycle_momentum()) {
            const auto names = opt.option_names();
            const bool has = [&](const char* s) { return std::find(names.begin(), names.end(), s) != names.end(); }("momentum");
            p.use_beta1 = std::find(names.begin(), names.end(), "betas") != names.end();
            if (!has && !p.use_beta1) throw ValueError(w + "optimizer must support momentum with `cycle_momentum` option enabled");
            for (double m : {o.base_momentum(), o.max_momentum()})
                if (!(m >= 0 && std::isfinite(m)) || (p.use_beta1 && !(m < 1)))
                    throw ValueError(w + "base_momentum and max_momentum must be finite and >= 0" +
                                     std::string(p.use_beta1 ? " and < 1 (they become beta1)" : "") + ", got " + num(m));
            p.max_m.assign(groups, o.max_momentum());
            p.base_m.assign(groups, o.base_momentum());
        }
        check_last_epoch("OneCycleLR", o.last_epoch());
        return p;
    }
};

template <class T>
OneCycleLR<T>::OneCycleLR(Optimizer<T>& opt, const OneCycleLROptions& o) : OneCycleLR(opt, o, Prepared::make(opt, o)) {}

template <class T>
OneCycleLR<T>::OneCycleLR(Optimizer<T>& opt, const OneCycleLROptions& o, const Prepared& p)
    : LRScheduler<T>("OneCycleLR", opt, o.last_epoch(), o.last_epoch() == -1 ? &p.initial : nullptr),
      total_steps_(p.total_steps), cos_(p.cos), cycle_momentum_(o.cycle_momentum()), use_beta1_(p.use_beta1),
      phases_(p.phases), initial_lr_(p.initial), max_lr_(p.max_lr), min_lr_(p.min_lr), max_momentum_(p.max_m),
      base_momentum_(p.base_m) {
    if (cycle_momentum_ && o.last_epoch() == -1) {
        auto& groups = this->opt_.param_groups();
        for (std::size_t i = 0; i < groups.size(); ++i) {
            if (use_beta1_)
                std::get<0>(groups[i].betas) = max_momentum_[i];
            else
                groups[i].momentum = max_momentum_[i];
        }
    }
    this->initial_step();
}

template <class T> double OneCycleLR<T>::anneal(double start, double end, double pct) const {
    if (cos_) {
        const double cos_out = std::cos(kPi * pct) + 1;
        return end + (start - end) / 2.0 * cos_out;
    }
    return (end - start) * pct + start;
}

template <class T> std::pair<double, double> OneCycleLR<T>::at(std::size_t i) const {
    const double step_num = this->last_epoch_;
    const double lrs[3] = {initial_lr_[i], max_lr_[i], min_lr_[i]};
    double start_step = 0;
    for (std::size_t k = 0; k < phases_.size(); ++k) {
        const Phase& ph = phases_[k];
        if (step_num <= ph.end_step || k + 1 == phases_.size()) {
            // torch lets step() run once past the schedule (last_epoch == total_steps) and extrapolates
            // there (pct > 1: a linear anneal goes below min_lr, to a negative lr); here that extra step
            // holds the end of the schedule, so a loop that steps the scheduler after each of its
            // total_steps batches ends at min_lr instead of failing on a negative rate
            const double pct = std::min(1.0, (step_num - start_step) / (ph.end_step - start_step));
            const double lr = anneal(lrs[ph.start_lr], lrs[ph.end_lr], pct);
            double m = 0;
            if (cycle_momentum_) {
                const double ms[2] = {max_momentum_[i], base_momentum_[i]};
                m = anneal(ms[ph.start_momentum], ms[ph.end_momentum], pct);
            }
            return {lr, m};
        }
        start_step = ph.end_step;
    }
    return {0, 0};  // not reached: the last phase always matches
}

template <class T> std::vector<double> OneCycleLR<T>::get_lr() const {
    if (this->last_epoch_ > total_steps_)
        throw ValueError("OneCycleLR::step: Tried to step " + std::to_string(this->last_epoch_ + 1) +
                         " times. The specified number of total steps is " + std::to_string(total_steps_));
    std::vector<double> out;
    for (std::size_t i = 0; i < this->opt_.param_groups().size(); ++i) out.push_back(at(i).first);
    return out;
}

template <class T> void OneCycleLR<T>::after_step() {
    if (!cycle_momentum_) return;
    auto& groups = this->opt_.param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const double m = at(i).second;
        if (use_beta1_)
            std::get<0>(groups[i].betas) = m;
        else
            groups[i].momentum = m;
    }
}

template <class T> SchedulerStateDict OneCycleLR<T>::config() const {
    std::vector<double> ends;
    for (const auto& ph : phases_) ends.push_back(ph.end_step);
    SchedulerStateDict c{{"total_steps", {double(total_steps_)}},
                         {"phase_end_steps", ends},
                         {"anneal_cos", {double(cos_)}},
                         {"cycle_momentum", {double(cycle_momentum_)}},
                         {"initial_lr", initial_lr_},
                         {"max_lr", max_lr_},
                         {"min_lr", min_lr_}};
    if (cycle_momentum_) {
        c["use_beta1"] = {double(use_beta1_)};
        c["max_momentum"] = max_momentum_;
        c["base_momentum"] = base_momentum_;
    }
    return c;
}

// ---- ReduceLROnPlateau

namespace {
template <class T> std::vector<double> plateau_min_lrs(const Optimizer<T>& opt, const ReduceLROnPlateauOptions& o) {
    const std::string w = "ReduceLROnPlateau: ";
    if (!(o.factor() < 1.0)) throw ValueError(w + "Factor should be < 1.0. (got " + num(o.factor()) + ")");
    if (!(o.factor() >= 0)) throw ValueError(w + "factor must be >= 0, got " + num(o.factor()));
    if (o.mode() != "min" && o.mode() != "max") throw ValueError(w + "mode " + o.mode() + " is unknown!");
    if (o.threshold_mode() != "rel" && o.threshold_mode() != "abs")
        throw ValueError(w + "threshold mode " + o.threshold_mode() + " is unknown!");
    if (!(std::isfinite(o.threshold()) && o.threshold() >= 0))
        throw ValueError(w + "threshold must be finite and >= 0, got " + num(o.threshold()));
    if (!(std::isfinite(o.eps()) && o.eps() >= 0)) throw ValueError(w + "eps must be finite and >= 0, got " + num(o.eps()));
    if (o.patience() < 0) throw ValueError(w + "patience must be >= 0, got " + std::to_string(o.patience()));
    if (o.cooldown() < 0) throw ValueError(w + "cooldown must be >= 0, got " + std::to_string(o.cooldown()));
    const std::size_t groups = opt.param_groups().size();
    std::vector<double> m = o.min_lr();
    if (m.size() == 1) m.assign(groups, m[0]);
    if (m.size() != groups)
        throw ValueError(w + "expected " + std::to_string(groups) + " min_lrs, got " + std::to_string(o.min_lr().size()));
    for (double x : m)
        if (!valid_lr(x)) throw ValueError(w + "min_lr must be finite and >= 0, got " + num(x));
    return m;
}
}  // namespace

template <class T>
ReduceLROnPlateau<T>::ReduceLROnPlateau(Optimizer<T>& opt, const ReduceLROnPlateauOptions& o)
    : Scheduler<T>("ReduceLROnPlateau", opt, 0), min_lrs_(plateau_min_lrs(opt, o)) {
    max_mode_ = o.mode() == "max";
    abs_mode_ = o.threshold_mode() == "abs";
    factor_ = o.factor();
    threshold_ = o.threshold();
    eps_ = o.eps();
    patience_ = o.patience();
    cooldown_ = o.cooldown();
    mode_worse_ = max_mode_ ? -INFINITY : INFINITY;
    best_ = mode_worse_;
    for (const auto& g : opt.param_groups()) this->last_lr_.push_back(g.lr);
}

template <class T> bool ReduceLROnPlateau<T>::is_better(double a, double best) const {
    if (!max_mode_ && !abs_mode_) return a < best * (1. - threshold_);
    if (!max_mode_ && abs_mode_) return a < best - threshold_;
    if (max_mode_ && !abs_mode_) return a > best * (threshold_ + 1.);
    return a > best + threshold_;
}

template <class T> void ReduceLROnPlateau<T>::step(double current) {
    auto& groups = this->opt_.param_groups();
    if (groups.size() != min_lrs_.size())
        throw ValueError("ReduceLROnPlateau::step: the optimizer has " + std::to_string(groups.size()) +
                         " param groups, but the scheduler was made for " + std::to_string(min_lrs_.size()) +
                         ": add param groups before making the scheduler");
    for (std::size_t i = 0; i < groups.size(); ++i)
        if (!valid_lr(groups[i].lr))
            throw ValueError("ReduceLROnPlateau::step: param_groups[" + std::to_string(i) + "] has lr " + num(groups[i].lr) +
                             ": a learning rate must be finite and >= 0");
    this->last_epoch_ += 1;
    if (is_better(current, best_)) {
        best_ = current;
        num_bad_epochs_ = 0;
    } else {
        num_bad_epochs_ += 1;
    }
    if (cooldown_counter_ > 0) {
        cooldown_counter_ -= 1;
        num_bad_epochs_ = 0;  // ignore any bad epochs in cooldown
    }
    if (num_bad_epochs_ > patience_) {
        for (std::size_t i = 0; i < groups.size(); ++i) {
            const double old_lr = groups[i].lr, reduced = old_lr * factor_;
            const double new_lr = min_lrs_[i] > reduced ? min_lrs_[i] : reduced;  // Python's max(reduced, min_lr)
            if (old_lr - new_lr > eps_) groups[i].lr = new_lr;
        }
        cooldown_counter_ = cooldown_;
        num_bad_epochs_ = 0;
    }
    this->last_lr_.clear();
    for (const auto& g : groups) this->last_lr_.push_back(g.lr);
}

template <class T> SchedulerStateDict ReduceLROnPlateau<T>::config() const {
    return {{"factor", {factor_}},       {"patience", {double(patience_)}}, {"threshold", {threshold_}},
            {"cooldown", {double(cooldown_)}}, {"min_lrs", min_lrs_},          {"eps", {eps_}},
            {"mode_worse", {mode_worse_}},     {"threshold_mode_abs", {double(abs_mode_)}}};
}

template <class T> void ReduceLROnPlateau<T>::save_progress(SchedulerStateDict& sd) const {
    Scheduler<T>::save_progress(sd);
    sd["best"] = {best_};
    sd["num_bad_epochs"] = {double(num_bad_epochs_)};
    sd["cooldown_counter"] = {double(cooldown_counter_)};
}

template <class T> void ReduceLROnPlateau<T>::check_progress(const SchedulerStateDict& sd, const std::string& where) const {
    Scheduler<T>::check_progress(sd, where);
    if (sd.count("last_epoch") && sd.at("last_epoch")[0] < 0) whole(sd, "last_epoch", where, 0);
    const double b = entry(sd, "best", where, 1)[0];
    if (std::isnan(b)) throw ValueError(where + ": 'best' is nan");
    whole(sd, "num_bad_epochs", where, 0);
    whole(sd, "cooldown_counter", where, 0);
}

template <class T> void ReduceLROnPlateau<T>::load_progress(const SchedulerStateDict& sd) {
    Scheduler<T>::load_progress(sd);
    best_ = sd.at("best")[0];
    num_bad_epochs_ = int(sd.at("num_bad_epochs")[0]);
    cooldown_counter_ = int(sd.at("cooldown_counter")[0]);
}

#define TAPEGRAD_INSTANTIATE(T)            \
    template class Scheduler<T>;           \
    template class LRScheduler<T>;         \
    template class StepLR<T>;              \
    template class MultiStepLR<T>;         \
    template class ExponentialLR<T>;       \
    template class LinearLR<T>;            \
    template class CosineAnnealingLR<T>;   \
    template class OneCycleLR<T>;          \
    template class ReduceLROnPlateau<T>;
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace lr_scheduler
}  // namespace optim
}  // namespace tapegrad
