// The optimizer base shared by every optimizer: groups, per-parameter state, the checks before a step.
#include "tapegrad/optim/optimizer.hpp"

#include <unordered_map>
#include <utility>

#include "tapegrad/core/sparse_grad.hpp"

namespace tapegrad {
namespace optim {

namespace {
std::string at(std::size_t g, std::size_t i) {
    return "param_groups[" + std::to_string(g) + "] parameter " + std::to_string(i);
}
}  // namespace

template <class T>
Optimizer<T>::Optimizer(std::string name, ParamGroup<T> defaults) : name_(std::move(name)), defaults_(std::move(defaults)) {
    defaults_.params.clear();
}

template <class T> void Optimizer<T>::step() {
    check_param_groups(name_ + "::step");
    update();
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
                    if (Shape(buf.shape().begin(), buf.shape().end()) != shape)
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
    if (Shape(buf.shape().begin(), buf.shape().end()) != p.shape())
        throw ShapeError(where + ": buffer of shape " + shape_str_of(buf.shape()) + " does not match the parameter's shape " +
                         shape_str(p.shape()));
    state_for(p)[key] = buf;
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace optim
}  // namespace tapegrad
