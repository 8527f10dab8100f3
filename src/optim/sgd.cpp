// SGD with torch.optim.SGD's exact update order, in place.
#include <sstream>

#include "tapegrad/optim/sgd.hpp"

namespace tapegrad {
namespace optim {

template <class T> void Optimizer<T>::zero_grad(bool set_to_none) {
    for (auto& g : groups_)
        for (auto& p : g.params) p.zero_grad(set_to_none);
}

namespace {
std::string num(double x) {
    std::ostringstream os;
    os << x;
    return os.str();
}
}  // namespace

template <class T>
SGD<T>::SGD(std::vector<Tensor<T>> params, double lr, double momentum, double dampening, double weight_decay,
            bool nesterov, bool maximize) {
    if (!(lr >= 0)) throw ValueError("SGD: Invalid learning rate: " + num(lr));
    if (!(momentum >= 0)) throw ValueError("SGD: Invalid momentum value: " + num(momentum));
    if (!(weight_decay >= 0)) throw ValueError("SGD: Invalid weight_decay value: " + num(weight_decay));
    if (nesterov && (momentum <= 0 || dampening != 0))
        throw ValueError("SGD: Nesterov momentum requires a momentum and zero dampening");
    if (params.empty()) throw ValueError("SGD: optimizer got an empty parameter list");
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (!params[i].defined()) throw ValueError("SGD: parameter " + std::to_string(i) + " is undefined");
        if (!params[i].is_leaf()) throw ValueError("SGD: can't optimize a non-leaf Tensor (parameter " + std::to_string(i) + ")");
    }
    ParamGroup<T> g;
    g.params = std::move(params);
    g.lr = lr;
    g.momentum = momentum;
    g.dampening = dampening;
    g.weight_decay = weight_decay;
    g.nesterov = nesterov;
    g.maximize = maximize;
    g.initial_lr = lr;
    bufs_.resize(g.params.size());
    has_buf_.assign(g.params.size(), false);
    this->groups_.push_back(std::move(g));
}

template <class T> void SGD<T>::set_momentum_buffer(std::size_t i, const xt::xarray<T>& buf) {
    const auto& params = this->groups_.at(0).params;
    if (i >= params.size()) throw IndexError("SGD::set_momentum_buffer: no parameter " + std::to_string(i));
    if (buf.size() != params[i].numel())
        throw ShapeError("SGD::set_momentum_buffer: buffer of shape " + shape_str_of(buf.shape()) +
                         " does not match parameter " + std::to_string(i) + " of shape " + shape_str(params[i].shape()));
    bufs_[i] = buf;
    bufs_[i].reshape(params[i].value().shape());
    has_buf_[i] = true;
}

template <class T> void SGD<T>::step() {
    for (auto& g : this->groups_) {
        const T lr = T(g.lr), mom = T(g.momentum), damp = T(g.dampening), wd = T(g.weight_decay);
        for (std::size_t i = 0; i < g.params.size(); ++i) {
            auto& p = g.params[i];
            if (!p.has_grad()) continue;
            T* pv = p.mutable_value().data();
            const T* pg = p.grad().data();
            const std::size_t n = p.numel();
            const bool first = !has_buf_[i];
            if (mom != T(0) && first) {
                bufs_[i].resize(p.value().shape());
                has_buf_[i] = true;
            }
            T* pb = mom != T(0) ? bufs_[i].data() : nullptr;
            for (std::size_t k = 0; k < n; ++k) {
                T d = g.maximize ? -pg[k] : pg[k];
                if (wd != T(0)) d = d + wd * pv[k];
                if (pb) {
                    pb[k] = first ? d : mom * pb[k] + (T(1) - damp) * d;
                    d = g.nesterov ? d + mom * pb[k] : pb[k];
                }
                pv[k] = pv[k] + (-lr) * d;
            }
        }
    }
}

template class Optimizer<float>;
template class Optimizer<double>;
template class SGD<float>;
template class SGD<double>;

}  // namespace optim
}  // namespace tapegrad
