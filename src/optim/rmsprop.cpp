// RMSprop with torch 1.13's single-tensor update order, in place.
#include "tapegrad/optim/rmsprop.hpp"

#include <cmath>

#include "tapegrad/core/sparse_grad.hpp"

namespace tapegrad {
namespace optim {

namespace {
std::string num(double x) { return tapegrad::detail::py_float(x); }
bool bad(double x) { return !(x >= 0) || std::isinf(x); }  // NaN fails torch's 0 <= x as well

template <class T> struct RMSpropScalars {
    T alpha, one_m_alpha, eps, wd, mom, neg_lr;
};

// The update of one parameter, in torch's order of operations (see rmsprop.hpp); add with alpha and
// addcmul are one FMA in torch's kernels, as here (see adam.cpp).
template <class T, bool Maximize, bool L2, bool Centered, bool Momentum>
void rmsprop_loop(std::size_t n, T* __restrict pv, const T* __restrict pg, T* __restrict sq, T* __restrict ga,
                  T* __restrict buf, const RMSpropScalars<T>& s) {
    for (std::size_t k = 0; k < n; ++k) {
        T d = Maximize ? -pg[k] : pg[k];
        const T p = pv[k];
        if (L2) d = std::fma(s.wd, p, d);
        const T sk = std::fma(s.one_m_alpha * d, d, sq[k] * s.alpha);  // square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        sq[k] = sk;
        T avg;
        if (Centered) {
            const T gk = std::fma(s.one_m_alpha, d, ga[k] * s.alpha);
            ga[k] = gk;
            avg = std::sqrt(std::fma(T(-1) * gk, gk, sk));  // square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        } else {
            avg = std::sqrt(sk);
        }
        avg = avg + s.eps;
        if (Momentum) {
            const T b = buf[k] * s.mom + (T(1) * d) / avg;  // buf.mul_(momentum).addcdiv_(grad, avg)
            buf[k] = b;
            pv[k] = std::fma(s.neg_lr, b, p);  // param.add_(buf, alpha=-lr)
        } else {
            pv[k] = p + (s.neg_lr * d) / avg;  // param.addcdiv_(grad, avg, value=-lr)
        }
    }
}
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
    Optimizer<T>::update();
}

template <class T> void RMSprop<T>::update_param(const ParamGroup<T>& g, Tensor<T>& p) {
    if (has_sparse_grad(p))  // reached here from step_in_backward's hook, which update() does not guard
        throw ValueError("RMSprop::step: a parameter of shape " + shape_str(p.shape()) +
                         " has a sparse gradient: RMSprop does not support sparse gradients");
    const T alpha = T(g.alpha), one_m_alpha = T(1 - g.alpha), eps = T(g.eps), wd = T(g.weight_decay);
    const T mom = T(g.momentum), neg_lr = T(-g.lr);
    auto& st = this->state_for(p);
    const auto& shape = p.value().shape();
    T& step_t = this->step_count(st);
    if (!st.count("square_avg")) st["square_avg"] = xt::xarray<T>(xt::zeros<T>(shape));
    // made when first needed (torch makes them on the first step only, and fails on a later
    // step if momentum or centered were switched on in between)
    if (g.momentum > 0 && !st.count("momentum_buffer")) st["momentum_buffer"] = xt::xarray<T>(xt::zeros<T>(shape));
    if (g.centered && !st.count("grad_avg")) st["grad_avg"] = xt::xarray<T>(xt::zeros<T>(shape));
    step_t += T(1);
    T* pv = p.mutable_value().data();
    const T* pg = p.grad().data();
    T* sq = st["square_avg"].data();
    T* ga = g.centered ? st["grad_avg"].data() : nullptr;
    T* buf = g.momentum > 0 ? st["momentum_buffer"].data() : nullptr;
    const RMSpropScalars<T> sc{alpha, one_m_alpha, eps, wd, mom, neg_lr};
    // one branch-free loop per configuration, so the compiler vectorises each
    const int key = (g.maximize ? 1 : 0) | (g.weight_decay != 0 ? 2 : 0) | (ga ? 4 : 0) | (buf ? 8 : 0);
    const std::size_t n = p.numel();
    switch (key) {
#define TAPEGRAD_RMSPROP_CASE(K) \
    case K: rmsprop_loop<T, (K & 1) != 0, (K & 2) != 0, (K & 4) != 0, (K & 8) != 0>(n, pv, pg, sq, ga, buf, sc); break;
        TAPEGRAD_RMSPROP_CASE(0) TAPEGRAD_RMSPROP_CASE(1) TAPEGRAD_RMSPROP_CASE(2) TAPEGRAD_RMSPROP_CASE(3)
        TAPEGRAD_RMSPROP_CASE(4) TAPEGRAD_RMSPROP_CASE(5) TAPEGRAD_RMSPROP_CASE(6) TAPEGRAD_RMSPROP_CASE(7)
        TAPEGRAD_RMSPROP_CASE(8) TAPEGRAD_RMSPROP_CASE(9) TAPEGRAD_RMSPROP_CASE(10) TAPEGRAD_RMSPROP_CASE(11)
        TAPEGRAD_RMSPROP_CASE(12) TAPEGRAD_RMSPROP_CASE(13) TAPEGRAD_RMSPROP_CASE(14) TAPEGRAD_RMSPROP_CASE(15)
#undef TAPEGRAD_RMSPROP_CASE
    }
}

template class RMSprop<float>;
template class RMSprop<double>;

}  // namespace optim
}  // namespace tapegrad
