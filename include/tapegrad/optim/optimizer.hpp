#pragma once
// The optimizer base: parameter groups, per-parameter state and zero_grad, as torch.optim.Optimizer.
// Every optimizer (sgd.hpp, adam.hpp, rmsprop.hpp) derives from it, so schedulers and checkpoints
// take any of them.
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
#include <tuple>
#include <vector>

#include "tapegrad/core/format.hpp"
#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace optim {

// One group of parameters sharing hyper-parameters (torch's param_groups entries). It carries the
// hyper-parameters of every optimizer; each optimizer reads (and its state_dict lists) its own:
//   SGD      lr momentum dampening weight_decay nesterov maximize
//   Adam(W)  lr betas eps weight_decay amsgrad maximize
//   RMSprop  lr alpha eps weight_decay momentum centered maximize
// Per-group values (no decay on biases, a smaller lr for an embedding): start from the optimizer's
// defaults() and add_param_group it.
template <class T = float> struct ParamGroup {
    std::vector<Tensor<T>> params;
    double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
    bool nesterov = false, maximize = false;
    std::tuple<double, double> betas{0.9, 0.999};  // Adam, AdamW (OneCycleLR cycles beta1)
    double eps = 1e-8;                              // Adam, AdamW, RMSprop
    bool amsgrad = false;                           // Adam, AdamW
    double alpha = 0.99;                            // RMSprop
    bool centered = false;                          // RMSprop
    double initial_lr = 0;  // set by the first scheduler attached, as torch does
};

// torch's optimizer.state_dict(), in C++:
//   state        parameter index (counting through the groups in order, as torch numbers them) →
//                its state by torch's names: "step" (a 0-d array), "exp_avg", "exp_avg_sq",
//                "max_exp_avg_sq", "momentum_buffer", "square_avg", "grad_avg"
//   param_groups each group's hyper-parameters by torch's names ("lr", "betas" as two values,
//                booleans as 0/1, "initial_lr") and its parameters' indices ("params")
// Every value is a number or a list of numbers, so a checkpoint stores it in .npz as it is.
template <class T = float> struct OptimizerStateDict {
    std::map<std::size_t, std::map<std::string, xt::xarray<T>>> state;
    struct Group {
        std::map<std::string, std::vector<double>> options;
        std::vector<std::size_t> params;
    };
    std::vector<Group> param_groups;
};

template <class T = float> class Optimizer {
public:
    // One parameter's state, torch's optimizer.state[p]: named buffers of the parameter's shape
    // (SGD: "momentum_buffer"; Adam: "exp_avg", …) and, for Adam and RMSprop, "step" (0-d), made by
    // the optimizer on the parameter's first step.
    using State = std::map<std::string, xt::xarray<T>>;

    virtual ~Optimizer();
    Optimizer(const Optimizer&) = delete;  // its hooks point at it
    Optimizer& operator=(const Optimizer&) = delete;

    // Checks the param groups (see above; errors name the optimizer, "param_groups[g]" and the
    // parameter's index in it), then updates every parameter that has a gradient.
    void step();
    // Zeros every parameter's gradient (or drops it), as torch 1.13's zero_grad(set_to_none=False).
    void zero_grad(bool set_to_none = false);

    // The optimizer in backward (torch's post-accumulate-grad-hook pattern), opt-in: while on, each
    // parameter's update runs inside backward(), from a hook on the parameter, as soon as its
    // gradient is complete — while that gradient is still in cache, and with no separate pass over
    // the parameters afterwards — and the gradient is then dropped (keep_grads: kept, for a user
    // who reads it; zero_grad it yourself then, as with step()). step() is refused meanwhile (it
    // would update twice). The updates are step()'s own arithmetic: the same trajectory, bit for
    // bit. The groups are checked when it is switched on (ValueError, as step() checks them); lr
    // changes (schedulers) are read at every update; groups added later are hooked too.
    void step_in_backward(bool on = true, bool keep_grads = false);
    bool steps_in_backward() const { return in_backward_; }

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

    // torch's state_dict(): copies of every parameter's state and every group's hyper-parameters.
    OptimizerStateDict<T> state_dict() const;
    // torch's load_state_dict(): the saved groups' hyper-parameters replace the groups' (params
    // stay), the saved state replaces the state; saved parameter indices map to this optimizer's
    // parameters by position, as torch maps them. ValueError (torch's texts where torch has them:
    // "loaded state dict has a different number of parameter groups", "loaded state dict contains a
    // parameter group that doesn't match the size of optimizer's group") for a dict that does not
    // fit — a missing or unknown hyper-parameter, an invalid value, state for an index no group
    // lists, an unknown state name, a buffer of another shape (ShapeError) — and nothing changed.
    void load_state_dict(const OptimizerStateDict<T>& sd);
    // load_state_dict's checks alone (for checkpoints, which check everything before they change
    // anything).
    void check_state_dict(const OptimizerStateDict<T>& sd) const;
    // The hyper-parameters this optimizer's groups have, by torch's names ("lr", "betas", …; not
    // "initial_lr", which state_dict adds), and the state names its parameters may have.
    virtual std::vector<std::string> option_names() const = 0;
    virtual std::vector<std::string> state_names() const = 0;

protected:
    Optimizer(std::string name, ParamGroup<T> defaults);
    // The update proper, called by step() once check_param_groups() passed: by default
    // update_param for every parameter that has a gradient, group by group.
    virtual void update();
    // One parameter's update with its group's hyper-parameters (step() and step_in_backward).
    virtual void update_param(const ParamGroup<T>& group, Tensor<T>& p) = 0;
    // True, with lr (negated for maximize), when the update of a parameter of group g is a plain
    // step p ← p − lr·grad: then, in step_in_backward without keep_grads, an op whose backward is
    // the parameter's only contribution applies the step itself (linear's weight-gradient GEMM
    // writes −lr·gᵀx straight into W) and no gradient is written. SGD without momentum or
    // weight decay says so; the default is false.
    virtual bool plain_step(const ParamGroup<T>& g, double& lr) const;
    // Throws ValueError (message prefixed by `where`) for hyper-parameters the optimizer cannot
    // use. Called for the constructor's defaults, by add_param_group, and for every group by
    // step(): param_groups() is writable, and so is every group's lr (schedulers, users).
    virtual void check_hyperparameters(const ParamGroup<T>& g, const std::string& where) const = 0;

    // Appends a group after the checks add_param_group describes (messages prefixed by `where`;
    // "parameter i" is the index in this group). For derived constructors.
    void add_group(ParamGroup<T> group, const std::string& where);
    // Everything step() checks, messages prefixed by `where`.
    void check_param_groups(const std::string& where) const;

    // The 0-d "step" of a parameter's state (Adam, RMSprop), made as 0 on first use.
    static T& step_count(State& st);
    // p's state for the update: made (empty) on first use.
    State& state_for(const Tensor<T>& p) { return state_[p.impl_ptr()]; }
    State* find_state(const Tensor<T>& p);
    // Replaces p's state buffer `key`; p must be in a group (ValueError) and buf of p's shape
    // (ShapeError; "step" is 0-d). For checkpoints; `where` prefixes the messages.
    void set_state_buffer(const Tensor<T>& p, const std::string& key, const xt::xarray<T>& buf,
                          const std::string& where);

    std::vector<ParamGroup<T>> groups_;

private:
    // The groups load_state_dict would make (checked), or a throw.
    std::vector<ParamGroup<T>> loaded_groups(const OptimizerStateDict<T>& sd, const std::string& where) const;
    void hook(Tensor<T>& p);
    void unhook();
    // The group that lists p now (param_groups() is writable, so looked up each time), or null.
    ParamGroup<T>* group_of(const detail::TensorImpl<T>* p);
    struct DirectFor;  // a parameter's detail::DirectStep, answered by plain_step of its group
    std::string name_;
    ParamGroup<T> defaults_;
    bool in_backward_ = false, keep_grads_ = false;
    struct Hook {
        Tensor<T> param;
        std::size_t id;                    // its post-accumulate-grad hook
        std::unique_ptr<DirectFor> direct;  // set unless keep_grads
    };
    std::vector<Hook> hooks_;
    // Keyed by the parameter's impl, held alive (as torch's state dict holds its tensors), so a freed
    // parameter's address can never be reused by another tensor that would inherit its state.
    std::map<std::shared_ptr<detail::TensorImpl<T>>, State> state_;
};

// Option structs with chained setters, as libtorch's: `AdamOptions(1e-3).betas({0.9, 0.98})`;
// each name is a setter (returns the struct) and, without argument, a getter.
#define TAPEGRAD_OPTION(type, name)                    \
public:                                                \
    auto& name(const type& v) {                        \
        name##_ = v;                                   \
        return *this;                                  \
    }                                                  \
    const type& name() const { return name##_; }       \
                                                       \
private:                                               \
    type name##_

}  // namespace optim
}  // namespace tapegrad
