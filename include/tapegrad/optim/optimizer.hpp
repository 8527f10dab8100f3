#pragma once
// The optimizer base: parameter groups, per-parameter state and zero_grad, as torch.optim.Optimizer.
// Every optimizer (sgd.hpp, …) derives from it, so schedulers and checkpoints take any of them.
//
// What the base guarantees to every optimizer, before the derived update touches any memory:
//  * state is per parameter and keyed by the parameter's identity (its TensorImpl), not by its
//    position: parameters appended to a group, groups appended to param_groups() (or through
//    add_param_group) and reordered parameters keep or lazily get their own state, as in torch;
//  * step() first checks every group (check_param_groups) and only then updates: an undefined or
//    non-leaf parameter, a parameter listed twice (in one group or across groups), a parameter
//    whose value no longer has the shape of its state or of its gradient, and hyper-parameters that
//    were written after construction with invalid values are errors, and no parameter has moved.
#include <map>
#include <memory>
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
    // One parameter's state, torch's optimizer.state[p]: named buffers of the parameter's shape
    // (SGD: "momentum_buffer"), made by the optimizer on the parameter's first step.
    using State = std::map<std::string, xt::xarray<T>>;

    virtual ~Optimizer() = default;

    // Checks the param groups (see above; errors name the optimizer, "param_groups[g]" and the
    // parameter's index in it), then updates every parameter that has a gradient.
    void step();
    // Zeros every parameter's gradient (or drops it), as torch 1.13's zero_grad(set_to_none=False).
    void zero_grad(bool set_to_none = false);

    // Mutable, as torch's list: step() re-checks whatever was changed here.
    std::vector<ParamGroup<T>>& param_groups() { return groups_; }
    const std::vector<ParamGroup<T>>& param_groups() const { return groups_; }

    // torch's add_param_group: appends a group. Its parameters must be defined leaves, none listed
    // twice in it ("optimizer contains a parameter group with duplicate parameters", which torch
    // 1.13 only warns about) nor already in another group ("some parameters appear in more than one
    // parameter group"); its hyper-parameters are checked as the constructor checks them. All
    // ValueError, and the optimizer is unchanged. New parameters get state on their first step.
    void add_param_group(ParamGroup<T> group);
    // The same with this optimizer's defaults (the constructor's hyper-parameters), as torch fills
    // a group dict that names only "params".
    void add_param_group(std::vector<Tensor<T>> params);
    // The constructor's hyper-parameters (params empty): a starting point for add_param_group.
    const ParamGroup<T>& defaults() const { return defaults_; }

    // p's state, or nullptr before p's first step (or for a tensor this optimizer never stepped).
    const State* state(const Tensor<T>& p) const;
    // The optimizer's name as its messages spell it ("SGD").
    const std::string& name() const { return name_; }

protected:
    Optimizer(std::string name, ParamGroup<T> defaults);
    // The update proper, called by step() once check_param_groups() passed.
    virtual void update() = 0;
    // Throws ValueError (message prefixed by `where`) for hyper-parameters the optimizer cannot
    // use. Called for the constructor's defaults, by add_param_group, and for every group by
    // step(): param_groups() is writable, and so is every group's lr (schedulers, users).
    virtual void check_hyperparameters(const ParamGroup<T>& g, const std::string& where) const = 0;

    // Appends a group after the checks add_param_group describes (messages prefixed by `where`;
    // "parameter i" is the index in this group). For derived constructors.
    void add_group(ParamGroup<T> group, const std::string& where);
    // Everything step() checks, messages prefixed by `where`.
    void check_param_groups(const std::string& where) const;

    // p's state for the update: made (empty) on first use.
    State& state_for(const Tensor<T>& p) { return state_[p.impl_ptr()]; }
    State* find_state(const Tensor<T>& p);
    // Replaces p's state buffer `key`; p must be in a group (ValueError) and buf of p's shape
    // (ShapeError). For checkpoints; `where` prefixes the messages.
    void set_state_buffer(const Tensor<T>& p, const std::string& key, const xt::xarray<T>& buf,
                          const std::string& where);

    std::vector<ParamGroup<T>> groups_;

private:
    std::string name_;
    ParamGroup<T> defaults_;
    // Keyed by the parameter's impl, held alive (as torch's state dict holds its tensors), so a freed
    // parameter's address can never be reused by another tensor that would inherit its state.
    std::map<std::shared_ptr<detail::TensorImpl<T>>, State> state_;
};

}  // namespace optim
}  // namespace tapegrad
