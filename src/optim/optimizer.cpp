// The optimizer base shared by every optimizer: groups, per-parameter state, the checks before a step.
#include "tapegrad/optim/optimizer.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <unordered_map>
#include <utility>

#include "tapegrad/core/sparse_grad.hpp"
#include <algorithm>

namespace tapegrad {

namespace optim {


namespace {
std::string at(std::size_t g, std::size_t i) {
    return "param_groups[" + std::to_string(g) + "] parameter " + std::to_string(i);
}
// state entries that are not of the parameter's shape
bool is_counter(const std::string& key) { return key == "step"; }

// A group's hyper-parameter by torch's name, and back.
template <class T> std::vector<double> get_option(const ParamGroup<T>& g, const std::string& n) {
    if (n == "lr") return {g.lr};
    if (n == "momentum") return {g.momentum};
    if (n == "dampening") return {g.dampening};
    if (n == "weight_decay") return {g.weight_decay};
    if (n == "nesterov") return {double(g.nesterov)};
    if (n == "maximize") return {double(g.maximize)};
    if (n == "betas") return {std::get<0>(g.betas), std::get<1>(g.betas)};
    if (n == "eps") return {g.eps};
    if (n == "amsgrad") return {double(g.amsgrad)};
    if (n == "alpha") return {g.alpha};
    if (n == "centered") return {double(g.centered)};
    if (n == "initial_lr") return {g.initial_lr};
    throw ValueError("Optimizer: unknown hyper-parameter '" + n + "'");
}
bool is_flag(const std::string& n) { return n == "nesterov" || n == "maximize" || n == "amsgrad" || n == "centered"; }
template <class T> void set_option(ParamGroup<T>& g, const std::string& n, const std::vector<double>& v) {
    if (n == "lr") g.lr = v[0];
    else if (n == "momentum") g.momentum = v[0];
    else if (n == "dampening") g.dampening = v[0];
    else if (n == "weight_decay") g.weight_decay = v[0];
    else if (n == "nesterov") g.nesterov = v[0] != 0;
    else if (n == "maximize") g.maximize = v[0] != 0;
    else if (n == "betas") g.betas = {v[0], v[1]};
    else if (n == "eps") g.eps = v[0];
    else if (n == "amsgrad") g.amsgrad = v[0] != 0;
    else if (n == "alpha") g.alpha = v[0];
    else if (n == "centered") g.centered = v[0] != 0;
    else if (n == "initial_lr") g.initial_lr = v[0];
}
}  // namespace

template <class T>
Optimizer<T>::Optimizer(std::string name, ParamGroup<T> defaults) : name_(std::move(name)), defaults_(std::move(defaults)) {
    defaults_.params.clear();
}

template <class T> struct Optimizer<T>::DirectFor final : detail::DirectStep {
    DirectFor(Optimizer* o, const detail::TensorImpl<T>* p) : opt(o), param(p) {}
    bool lr(double& out) const override {
        const ParamGroup<T>* g = opt->group_of(param);
        return g && opt->plain_step(*g, out);
    }
    Optimizer* opt;
    const detail::TensorImpl<T>* param;
};

template <class T> ParamGroup<T>* Optimizer<T>::group_of(const detail::TensorImpl<T>* p) {
    for (auto& g : groups_)
        for (const auto& q : g.params)
            if (q.impl() == p) return &g;
    return nullptr;
}

template <class T> T& Optimizer<T>::step_count(State& st) {
    auto it = st.find("step");
    if (it == st.end()) {
        xt::xarray<T> zero = xt::xarray<T>::from_shape({});
        zero() = T(0);
        it = st.emplace("step", std::move(zero)).first;
    }
    return it->second();
}

template <class T> bool Optimizer<T>::plain_step(const ParamGroup<T>&, double&) const { return false; }

template <class T> Optimizer<T>::~Optimizer() { unhook(); }

template <class T> void Optimizer<T>::unhook() {
    for (auto& h : hooks_) {
        h.param.remove_post_accumulate_grad_hook(h.id);
        if (h.direct && h.param.impl()->direct_step == h.direct.get()) h.param.impl()->direct_step = nullptr;
    }
    hooks_.clear();
}

template <class T> void Optimizer<T>::step() {
    if (in_backward_)
        throw ValueError(name_ + "::step: the updates run inside backward() (step_in_backward is on), so step() "
                                 "would apply them twice; switch it off with step_in_backward(false) first");
    check_param_groups(name_ + "::step");
    update();
}

template <class T> void Optimizer<T>::update() {
    for (auto& g : groups_)
        for (auto& p : g.params)
            if (p.has_grad()) update_param(g, p);
}

template <class T> void Optimizer<T>::hook(Tensor<T>& p) {
    const std::size_t id = p.register_post_accumulate_grad_hook([this](const Tensor<T>& t) {
        ParamGroup<T>* g = group_of(t.impl());
        if (!g || !t.has_grad()) return;  // taken out of the groups since, or an earlier hook dropped the gradient
        Tensor<T> q = t;
        update_param(*g, q);
        if (!keep_grads_) q.zero_grad(true);
    });
    hooks_.push_back({p, id, keep_grads_ ? nullptr : std::make_unique<DirectFor>(this, p.impl())});
    if (hooks_.back().direct) p.impl()->direct_step = hooks_.back().direct.get();
}

template <class T> void Optimizer<T>::step_in_backward(bool on, bool keep_grads) {
    if (on) check_param_groups(name_ + "::step_in_backward");
    unhook();
    in_backward_ = on;
    keep_grads_ = keep_grads;
    if (on)
        for (auto& g : groups_)
            for (auto& p : g.params) hook(p);
}

template <class T> void Optimizer<T>::zero_grad(bool set_to_none) {
    for (auto& g : groups_)
        for (auto& p : g.params) p.zero_grad(set_to_none);
}

template <class T> void Optimizer<T>::add_param_group(ParamGroup<T> group) {
    const std::string where = name_ + "::add_param_group";
    check_hyperparameters(group, where);
    add_group(std::move(group), where);
}

template <class T> void Optimizer<T>::add_param_group(std::vector<Tensor<T>> params) {
    ParamGroup<T> g = defaults_;
    g.params = std::move(params);
    g.initial_lr = g.lr;
    add_param_group(std::move(g));
}

template <class T> void Optimizer<T>::add_group(ParamGroup<T> group, const std::string& where) {
    const auto& params = group.params;
    std::unordered_map<const detail::TensorImpl<T>*, std::size_t> mine;
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (!params[i].defined()) throw ValueError(where + ": parameter " + std::to_string(i) + " is undefined");
        if (!params[i].is_leaf())
            throw ValueError(where + ": can't optimize a non-leaf Tensor (parameter " + std::to_string(i) + ")");
        auto [it, fresh] = mine.emplace(params[i].impl(), i);
        if (!fresh)
            throw ValueError(where + ": optimizer contains a parameter group with duplicate parameters (parameter " +
                             std::to_string(i) + " is parameter " + std::to_string(it->second) +
                             " again; it would be stepped twice)");
    }
    for (std::size_t g = 0; g < groups_.size(); ++g)
        for (std::size_t j = 0; j < groups_[g].params.size(); ++j) {
            auto it = mine.find(groups_[g].params[j].impl());
            if (it != mine.end())
                throw ValueError(where + ": some parameters appear in more than one parameter group (parameter " +
                                 std::to_string(it->second) + " of the new group is " + at(g, j) + ")");
        }
    groups_.push_back(std::move(group));
    if (in_backward_)
        for (auto& p : groups_.back().params) hook(p);
}

template <class T> void Optimizer<T>::check_param_groups(const std::string& where) const {
    std::unordered_map<const detail::TensorImpl<T>*, std::pair<std::size_t, std::size_t>> seen;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        check_hyperparameters(groups_[g], where + ": param_groups[" + std::to_string(g) + "]");
        const auto& params = groups_[g].params;
        for (std::size_t i = 0; i < params.size(); ++i) {
            const Tensor<T>& p = params[i];
            if (!p.defined()) throw ValueError(where + ": " + at(g, i) + " is undefined");
            if (!p.is_leaf()) throw ValueError(where + ": can't optimize a non-leaf Tensor (" + at(g, i) + ")");
            auto [it, fresh] = seen.emplace(p.impl(), std::make_pair(g, i));
            if (!fresh) {
                const auto [g0, i0] = it->second;
                if (g0 == g)
                    throw ValueError(where + ": optimizer contains a parameter group with duplicate parameters (" +
                                     at(g, i) + " is parameter " + std::to_string(i0) + " again; it would be stepped twice)");
                throw ValueError(where + ": some parameters appear in more than one parameter group (" + at(g, i) +
                                 " is " + at(g0, i0) + ")");
            }
            const Shape shape = p.shape();
            auto st = state_.find(p.impl_ptr());
            if (st != state_.end())
                for (const auto& [key, buf] : st->second)
                    if (!is_counter(key) && Shape(buf.shape().begin(), buf.shape().end()) != shape)
                        throw ShapeError(where + ": " + at(g, i) + " has shape " + shape_str(shape) + ", but its " + key +
                                         " has shape " + shape_str_of(buf.shape()) +
                                         " (the parameter changed shape after the optimizer made state for it)");
            if (has_sparse_grad(p)) {
                const auto& rows = sparse_grad_rows(p);
                const auto& vals = sparse_grad_values(p);
                Shape want{rows.size()};
                want.insert(want.end(), shape.begin() + (shape.empty() ? 0 : 1), shape.end());
                if (shape.empty() || Shape(vals.shape().begin(), vals.shape().end()) != want)
                    throw ShapeError(where + ": " + at(g, i) + " has shape " + shape_str(shape) +
                                     ", but its row-sparse gradient holds values of shape " + shape_str_of(vals.shape()) +
                                     " for " + std::to_string(rows.size()) + " rows");
                for (std::int64_t r : rows)
                    if (r < 0 || std::uint64_t(r) >= shape[0])
                        throw ShapeError(where + ": " + at(g, i) + " has shape " + shape_str(shape) +
                                         ", but its row-sparse gradient has row " + std::to_string(r));
            } else if (p.has_grad()) {
                const auto& gr = p.grad();
                if (Shape(gr.shape().begin(), gr.shape().end()) != shape)
                    throw ShapeError(where + ": " + at(g, i) + " has shape " + shape_str(shape) +
                                     ", but its gradient has shape " + shape_str_of(gr.shape()));
            }
        }
    }
}

template <class T> const typename Optimizer<T>::State* Optimizer<T>::state(const Tensor<T>& p) const {
    if (!p.defined()) return nullptr;
    auto it = state_.find(p.impl_ptr());
    return it == state_.end() ? nullptr : &it->second;
}

template <class T> typename Optimizer<T>::State* Optimizer<T>::find_state(const Tensor<T>& p) {
    auto it = state_.find(p.impl_ptr());
    return it == state_.end() ? nullptr : &it->second;
}

template <class T>
void Optimizer<T>::set_state_buffer(const Tensor<T>& p, const std::string& key, const xt::xarray<T>& buf,
                                    const std::string& where) {
    bool found = false;
    for (const auto& g : groups_)
        for (const auto& q : g.params) found = found || (p.defined() && q.same(p));
    if (!found) throw ValueError(where + ": the tensor is not a parameter of this optimizer");
    const Shape want = is_counter(key) ? Shape{} : p.shape();
    if (Shape(buf.shape().begin(), buf.shape().end()) != want)
        throw ShapeError(where + ": buffer of shape " + shape_str_of(buf.shape()) + " does not match the parameter's shape " +
                         shape_str(want));
    state_for(p)[key] = buf;
}

template <class T> OptimizerStateDict<T> Optimizer<T>::state_dict() const {
    OptimizerStateDict<T> sd;
    std::size_t index = 0;
    for (const auto& g : groups_) {
        typename OptimizerStateDict<T>::Group out;
        for (const auto& n : option_names()) out.options[n] = get_option(g, n);
        out.options["initial_lr"] = {g.initial_lr};
        for (const auto& p : g.params) {
            out.params.push_back(index);
            if (const State* st = state(p))
                if (!st->empty()) sd.state[index] = *st;
            ++index;
        }
        sd.param_groups.push_back(std::move(out));
    }
    return sd;
}

template <class T>
std::vector<ParamGroup<T>> Optimizer<T>::loaded_groups(const OptimizerStateDict<T>& sd, const std::string& where) const {
    if (sd.param_groups.size() != groups_.size())
        throw ValueError(where + ": loaded state dict has a different number of parameter groups (" +
                         std::to_string(sd.param_groups.size()) + ", the optimizer has " + std::to_string(groups_.size()) + ")");
    const auto names = option_names();
    std::vector<ParamGroup<T>> out = groups_;
    std::map<std::size_t, const Tensor<T>*> by_index;  // saved index → this optimizer's parameter
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        const auto& sg = sd.param_groups[g];
        const std::string gw = where + ": param_groups[" + std::to_string(g) + "]";
        if (sg.params.size() != groups_[g].params.size())
            throw ValueError(gw + ": loaded state dict contains a parameter group that doesn't match the size of optimizer's group (" +
                             std::to_string(sg.params.size()) + " parameters, the optimizer's group has " +
                             std::to_string(groups_[g].params.size()) + ")");
        for (std::size_t i = 0; i < sg.params.size(); ++i)
            if (!by_index.emplace(sg.params[i], &groups_[g].params[i]).second)
                throw ValueError(gw + ": parameter index " + std::to_string(sg.params[i]) + " is listed twice");
        for (const auto& n : names) {
            auto it = sg.options.find(n);
            if (it == sg.options.end()) throw ValueError(gw + ": missing hyper-parameter '" + n + "'");
            const std::size_t want = n == "betas" ? 2 : 1;
            if (it->second.size() != want)
                throw ValueError(gw + ": hyper-parameter '" + n + "' has " + std::to_string(it->second.size()) +
                                 " values, expected " + std::to_string(want));
            if (is_flag(n) && it->second[0] != 0 && it->second[0] != 1)
                throw ValueError(gw + ": hyper-parameter '" + n + "' must be 0 or 1 (a bool), got " + detail::py_float(it->second[0]));
            set_option(out[g], n, it->second);
        }
        for (const auto& [n, v] : sg.options) {
            if (n == "initial_lr") {
                if (v.size() != 1 || !std::isfinite(v[0]) || v[0] < 0)
                    throw ValueError(gw + ": 'initial_lr' must be one finite value >= 0");
                out[g].initial_lr = v[0];
            } else if (std::find(names.begin(), names.end(), n) == names.end())
                throw ValueError(gw + ": unknown hyper-parameter '" + n + "' for " + name_);
        }
        check_hyperparameters(out[g], gw);
    }
    const auto known = state_names();
    for (const auto& [index, st] : sd.state) {
        auto it = by_index.find(index);
        const std::string sw = where + ": state of parameter " + std::to_string(index);
        if (it == by_index.end()) throw ValueError(sw + ": no param group lists this index");
        const Shape pshape = it->second->shape();
        for (const auto& [key, buf] : st) {
            if (std::find(known.begin(), known.end(), key) == known.end())
                throw ValueError(sw + ": unknown state '" + key + "' for " + name_);
            const Shape want = is_counter(key) ? Shape{} : pshape;
            if (Shape(buf.shape().begin(), buf.shape().end()) != want)
                throw ShapeError(sw + ": '" + key + "' has shape " + shape_str_of(buf.shape()) + ", expected " + shape_str(want));
            if (is_counter(key)) {
                const double v = double(buf());
                if (!(v >= 0) || std::floor(v) != v)
                    throw ValueError(sw + ": 'step' must be a whole number >= 0, got " + detail::py_float(v));
            }
        }
    }
    return out;
}

template <class T> void Optimizer<T>::check_state_dict(const OptimizerStateDict<T>& sd) const {
    loaded_groups(sd, name_ + "::load_state_dict");
}

template <class T> void Optimizer<T>::load_state_dict(const OptimizerStateDict<T>& sd) {
    std::vector<ParamGroup<T>> groups = loaded_groups(sd, name_ + "::load_state_dict");
    std::map<std::size_t, Tensor<T>> by_index;
    for (std::size_t g = 0; g < groups_.size(); ++g)
        for (std::size_t i = 0; i < groups_[g].params.size(); ++i) by_index[sd.param_groups[g].params[i]] = groups_[g].params[i];
    std::map<std::shared_ptr<detail::TensorImpl<T>>, State> state;
    for (const auto& [index, st] : sd.state) state[by_index.at(index).impl_ptr()] = st;
    // checked: now replace (torch replaces the state wholesale, as here)
    groups_ = std::move(groups);
    state_ = std::move(state);
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace optim
}  // namespace tapegrad
