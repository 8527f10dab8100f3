// Adam and AdamW with torch 1.13's single-tensor update order, in place.
#include "tapegrad/optim/adam.hpp"

#include <cmath>
#include <limits>

#include "tapegrad/core/sparse_grad.hpp"

namespace tapegrad {
namespace optim {

namespace {
std::string num(double x) { return tapegrad::detail::py_float(x); }

template <class T> ParamGroup<T> adam_defaults(double lr, betas_t betas, double eps, double wd, bool amsgrad, bool maximize) {
    ParamGroup<T> d;
    d.lr = lr;
    d.betas = betas;
    d.eps = eps;
    d.weight_decay = wd;
    d.amsgrad = amsgrad;
    d.maximize = maximize;
    d.initial_lr = lr;
    return d;
}
// torch.maximum: NaN wins
template <class T> T nan_max(T a, T b) { return a != a || b != b ? std::numeric_limits<T>::quiet_NaN() : (a < b ? b : a); }
// torch's CPU kernels (built for AVX2) fuse a + alpha·b (add with alpha, addcmul) into one FMA, in
// their scalar loops as in their vector ones: std::fma rounds once, as they do, so the trajectories
// agree to the bit (the loops below are written out in torch's order of operations for that reason).
template <class T> struct AdamScalars {
    T b1, b2, one_m_b1, one_m_b2, eps, wd, decay, bc2_sqrt, neg_step;
};

// The update of one parameter, in torch's order of operations (see adam.hpp).
template <class T, bool Maximize, bool Decoupled, bool L2, bool Amsgrad>
void adam_loop(std::size_t n, T* __restrict pv, const T* __restrict pg, T* __restrict m, T* __restrict v,
               T* __restrict vmax, const AdamScalars<T>& s) {
    for (std::size_t k = 0; k < n; ++k) {
        T d = Maximize ? -pg[k] : pg[k];
        T p = pv[k];
        if (Decoupled) p = p * s.decay;            // AdamW: param.mul_(1 - lr * weight_decay), always
        if (L2) d = std::fma(s.wd, p, d);          // Adam: grad.add(param, alpha=weight_decay)
        const T mk = std::fma(s.one_m_b1, d, m[k] * s.b1);      // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        const T vk = std::fma(s.one_m_b2 * d, d, v[k] * s.b2);  // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        m[k] = mk;
        v[k] = vk;
        T denom;
        if (Amsgrad) {
            const T mx = nan_max(vmax[k], vk);
            vmax[k] = mx;
            denom = std::sqrt(mx) / s.bc2_sqrt + s.eps;
        } else {
            denom = std::sqrt(vk) / s.bc2_sqrt + s.eps;
        }
        pv[k] = p + (s.neg_step * mk) / denom;  // param.addcdiv_(exp_avg, denom, value=-step_size)
    }
}
}  // namespace

template <class T>
AdamBase<T>::AdamBase(const std::string& name, bool decoupled, std::vector<Tensor<T>> params, double lr, betas_t betas,
                      double eps, double weight_decay, bool amsgrad, bool maximize)
    : Optimizer<T>(name, adam_defaults<T>(lr, betas, eps, weight_decay, amsgrad, maximize)), decoupled_(decoupled) {
    check_hyperparameters(this->defaults(), name);
    if (params.empty()) throw ValueError(name + ": optimizer got an empty parameter list");
    ParamGroup<T> g = this->defaults();
    g.params = std::move(params);
    this->add_group(std::move(g), name);
}

template <class T> std::vector<std::string> AdamBase<T>::option_names() const {
    return {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"};
}
template <class T> std::vector<std::string> AdamBase<T>::state_names() const {
    return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
}

template <class T> void AdamBase<T>::check_hyperparameters(const ParamGroup<T>& g, const std::string& where) const {
    // torch's tests, in torch's order; NaN fails them as in torch, infinities are refused as well
    if (!(g.lr >= 0) || std::isinf(g.lr)) throw ValueError(where + ": Invalid learning rate: " + num(g.lr));
    if (!(g.eps >= 0) || std::isinf(g.eps)) throw ValueError(where + ": Invalid epsilon value: " + num(g.eps));
    const double b0 = std::get<0>(g.betas), b1 = std::get<1>(g.betas);
    if (!(0 <= b0 && b0 < 1)) throw ValueError(where + ": Invalid beta parameter at index 0: " + num(b0));
    if (!(0 <= b1 && b1 < 1)) throw ValueError(where + ": Invalid beta parameter at index 1: " + num(b1));
    if (!(g.weight_decay >= 0) || std::isinf(g.weight_decay))
        throw ValueError(where + ": Invalid weight_decay value: " + num(g.weight_decay));
}

template <class T> void AdamBase<T>::update() {
    for (std::size_t gi = 0; gi < this->groups_.size(); ++gi) {
        auto& g = this->groups_[gi];
        for (std::size_t pi = 0; pi < g.params.size(); ++pi)
            if (has_sparse_grad(g.params[pi]))
                throw ValueError(this->name() + "::step: param_groups[" + std::to_string(gi) + "] parameter " +
                                 std::to_string(pi) + ": " + this->name() +
                                 " does not support sparse gradients (embedding_bag with sparse=true needs SGD)");
    }
    Optimizer<T>::update();
}

template <class T> void AdamBase<T>::update_param(const ParamGroup<T>& g, Tensor<T>& p) {
    if (has_sparse_grad(p))  // reached here from step_in_backward's hook, which update() does not guard
        throw ValueError(this->name() + "::step: a parameter of shape " + shape_str(p.shape()) + " has a sparse gradient: " +
                         this->name() + " does not support sparse gradients (embedding_bag with sparse=true needs SGD)");
    const double beta1 = std::get<0>(g.betas), beta2 = std::get<1>(g.betas);
    // Python floats in torch, turned into the tensor's type where they meet a tensor
    const T b1 = T(beta1), b2 = T(beta2), one_m_b1 = T(1 - beta1), one_m_b2 = T(1 - beta2), eps = T(g.eps);
    const T wd = T(g.weight_decay), decay = T(1 - g.lr * g.weight_decay);
    auto& st = this->state_for(p);
    const auto& shape = p.value().shape();
    T& step_t = this->step_count(st);
    for (const char* k : {"exp_avg", "exp_avg_sq"})
        if (!st.count(k)) st[k] = xt::xarray<T>(xt::zeros<T>(shape));
    if (g.amsgrad && !st.count("max_exp_avg_sq")) st["max_exp_avg_sq"] = xt::xarray<T>(xt::zeros<T>(shape));
    step_t = step_t + T(1);
    const double step = double(step_t);
    const double bias_correction1 = 1 - std::pow(beta1, step);
    const double bias_correction2 = 1 - std::pow(beta2, step);
    const double step_size = g.lr / bias_correction1;
    const T bc2_sqrt = T(std::sqrt(bias_correction2)), neg_step = T(-step_size);
    T* pv = p.mutable_value().data();
    const T* pg = p.grad().data();
    T* m = st["exp_avg"].data();
    T* v = st["exp_avg_sq"].data();
    T* vmax = g.amsgrad ? st["max_exp_avg_sq"].data() : nullptr;
    const AdamScalars<T> sc{b1, b2, one_m_b1, one_m_b2, eps, wd, decay, bc2_sqrt, neg_step};
    // one branch-free loop per configuration, so the compiler vectorises each
    const int key = (g.maximize ? 1 : 0) | (decoupled_ ? 2 : (g.weight_decay != 0 ? 4 : 0)) | (vmax ? 8 : 0);
    switch (key) {
        case 0: adam_loop<T, false, false, false, false>(p.numel(), pv, pg, m, v, vmax, sc); break;
        case 1: adam_loop<T, true, false, false, false>(p.numel(), pv, pg, m, v, vmax, sc); break;
        case 2: adam_loop<T, false, true, false, false>(p.numel(), pv, pg, m, v, vmax, sc); break;
        case 3: adam_loop<T, true, true, false, false>(p.numel(), pv, pg, m, v, vmax, sc); break;
        case 4: adam_loop<T, false, false, true, false>(p.numel(), pv, pg, m, v, vmax, sc); break;
        case 5: adam_loop<T, true, false, true, false>(p.numel(), pv, pg, m, v, vmax, sc); break;
        case 8: adam_loop<T, false, false, false, true>(p.numel(), pv, pg, m, v, vmax, sc); break;
        case 9: adam_loop<T, true, false, false, true>(p.numel(), pv, pg, m, v, vmax, sc); break;
        case 10: adam_loop<T, false, true, false, true>(p.numel(), pv, pg, m, v, vmax, sc); break;
        case 11: adam_loop<T, true, true, false, true>(p.numel(), pv, pg, m, v, vmax, sc); break;
        case 12: adam_loop<T, false, false, true, true>(p.numel(), pv, pg, m, v, vmax, sc); break;
        default: adam_loop<T, true, false, true, true>(p.numel(), pv, pg, m, v, vmax, sc); break;
    }
}

template <class T>
Adam<T>::Adam(std::vector<Tensor<T>> params, const AdamOptions& o)
    : AdamBase<T>("Adam", false, std::move(params), o.lr(), o.betas(), o.eps(), o.weight_decay(), o.amsgrad(), o.maximize()) {}

template <class T>
AdamW<T>::AdamW(std::vector<Tensor<T>> params, const AdamWOptions& o)
    : AdamBase<T>("AdamW", true, std::move(params), o.lr(), o.betas(), o.eps(), o.weight_decay(), o.amsgrad(), o.maximize()) {}

template class AdamBase<float>;
template class AdamBase<double>;
template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;

}  // namespace optim
}  // namespace tapegrad
