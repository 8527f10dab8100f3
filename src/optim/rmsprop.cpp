// RMSprop with torch 1.13's single-tensor update order, in place.
#include "tapegrad/optim/rmsprop.hpp"

#include <cmath>

#include "tapegrad/core/sparse_grad.hpp"

namespace tapegrad {
namespace optim {

namespace {
std::string num(double x) { return tapegrad::detail::py_float(x); }
bool bad(double x) { return !(x >= 0) || std::isinf(x); }  // NaN fails torch's 0 <= x as well
}  // namespace

template <class T>
RMSprop<T>::RMSprop(std::vector<Tensor<T>> params, const RMSpropOptions& o)
    : Optimizer<T>("RMSprop", [&] {
          ParamGroup<T> d;
          d.lr = o.lr();
          d.alpha = o.alpha();
          d.eps = o.eps();
          d.weight_decay = o.weight_decay();
          d.momentum = o.momentum();
          d.centered = o.centered();
          d.maximize = o.maximize();
          d.initial_lr = o.lr();
          return d;
      }()) {
    check_hyperparameters(this->defaults(), "RMSprop");
    if (params.empty()) throw ValueError("RMSprop: optimizer got an empty parameter list");
    ParamGroup<T> g = this->defaults();
    g.params = std::move(params);
    this->add_group(std::move(g), "RMSprop");
}

template <class T> std::vector<std::string> RMSprop<T>::option_names() const {
    return {"lr", "momentum", "alpha", "eps", "centered", "weight_decay", "maximize"};
}
template <class T> std::vector<std::string> RMSprop<T>::state_names() const {
    return {"step", "square_avg", "momentum_buffer", "grad_avg"};
}

template <class T> void RMSprop<T>::check_hyperparameters(const ParamGroup<T>& g, const std::string& where) const {
    if (bad(g.lr)) throw ValueError(where + ": Invalid learning rate: " + num(g.lr));
    if (bad(g.eps)) throw ValueError(where + ": Invalid epsilon value: " + num(g.eps));
    if (bad(g.momentum)) throw ValueError(where + ": Invalid momentum value: " + num(g.momentum));
    if (bad(g.weight_decay)) throw ValueError(where + ": Invalid weight_decay value: " + num(g.weight_decay));
    if (bad(g.alpha)) throw ValueError(where + ": Invalid alpha value: " + num(g.alpha));
}

template <class T> void RMSprop<T>::update() {
    for (std::size_t gi = 0; gi < this->groups_.size(); ++gi)
        for (std::size_t pi = 0; pi < this->groups_[gi].params.size(); ++pi)
            if (has_sparse_grad(this->groups_[gi].params[pi]))
                throw ValueError("RMSprop::step: param_groups[" + std::to_string(gi) + "] parameter " + std::to_string(pi) +
                                 ": RMSprop does not support sparse gradients");
    for (auto& g : this->groups_) {
        const T alpha = T(g.alpha), one_m_alpha = T(1 - g.alpha), eps = T(g.eps), wd = T(g.weight_decay);
        const T mom = T(g.momentum), neg_lr = T(-g.lr);
        for (auto& p : g.params) {
            if (!p.has_grad()) continue;
            auto& st = this->state_for(p);
            const auto& shape = p.value().shape();
            if (!st.count("step")) {
                xt::xarray<T> zero = xt::xarray<T>::from_shape({});
                zero() = T(0);
                st["step"] = zero;
            }
            if (!st.count("square_avg")) st["square_avg"] = xt::xarray<T>(xt::zeros<T>(shape));
            // made when first needed (torch makes them on the first step only, and fails on a later
            // step if momentum or centered were switched on in between)
            if (g.momentum > 0 && !st.count("momentum_buffer")) st["momentum_buffer"] = xt::xarray<T>(xt::zeros<T>(shape));
            if (g.centered && !st.count("grad_avg")) st["grad_avg"] = xt::xarray<T>(xt::zeros<T>(shape));
            st["step"]() += T(1);
            T* pv = p.mutable_value().data();
            const T* pg = p.grad().data();
            T* sq = st["square_avg"].data();
            T* ga = g.centered ? st["grad_avg"].data() : nullptr;
            T* buf = g.momentum > 0 ? st["momentum_buffer"].data() : nullptr;
            const std::size_t n = p.numel();
            for (std::size_t k = 0; k < n; ++k) {
                T d = g.maximize ? -pg[k] : pg[k];
                // add with alpha and addcmul are one FMA in torch's kernels, as here (see adam.cpp)
                if (g.weight_decay != 0) d = std::fma(wd, pv[k], d);
                sq[k] = std::fma(one_m_alpha * d, d, sq[k] * alpha);
                T avg;
                if (ga) {
                    ga[k] = std::fma(one_m_alpha, d, ga[k] * alpha);
                    avg = std::sqrt(std::fma(T(-1) * ga[k], ga[k], sq[k]));  // square_avg.addcmul(grad_avg, grad_avg, value=-1)
                } else {
                    avg = std::sqrt(sq[k]);
                }
                avg = avg + eps;
                if (buf) {
                    buf[k] = buf[k] * mom + (T(1) * d) / avg;  // buf.mul_(momentum).addcdiv_(grad, avg)
                    pv[k] = std::fma(neg_lr, buf[k], pv[k]);  // param.add_(buf, alpha=-lr)
                } else {
                    pv[k] = pv[k] + (neg_lr * d) / avg;
                }
            }
        }
    }
}

template class RMSprop<float>;
template class RMSprop<double>;

}  // namespace optim
}  // namespace tapegrad
