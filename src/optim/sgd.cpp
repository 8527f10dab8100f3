// SGD with torch.optim.SGD's exact update order, in place.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "../ops/blas_size.hpp"
#include "tapegrad/core/sparse_grad.hpp"
#include "tapegrad/optim/sgd.hpp"

namespace tapegrad {
namespace optim {

namespace {
// y += a·x through OpenBLAS (same operation order as the loop: y + a·x per element), in chunks of
// at most INT_MAX elements: BLAS counts are ints, and int(n) for n ≥ 2^31 wraps negative, which
// BLAS takes as "nothing to do" — a parameter above 2^31 elements would silently never move.
inline void axpy(std::size_t n, float a, const float* x, float* y) {
    detail::for_each_blas_chunk(n, [&](std::size_t off, int count) { cblas_saxpy(count, a, x + off, 1, y + off, 1); });
}
inline void axpy(std::size_t n, double a, const double* x, double* y) {
    detail::for_each_blas_chunk(n, [&](std::size_t off, int count) { cblas_daxpy(count, a, x + off, 1, y + off, 1); });
}

const std::string kMomentumBuffer = "momentum_buffer";

std::string num(double x) { return tapegrad::detail::py_float(x); }
}  // namespace

template <class T>
SGD<T>::SGD(std::vector<Tensor<T>> params, const SGDOptions& o)
    : SGD(std::move(params), o.lr(), o.momentum(), o.dampening(), o.weight_decay(), o.nesterov(), o.maximize()) {}

template <class T> std::vector<std::string> SGD<T>::option_names() const {
    return {"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"};
}
template <class T> std::vector<std::string> SGD<T>::state_names() const { return {kMomentumBuffer}; }

template <class T>
SGD<T>::SGD(std::vector<Tensor<T>> params, double lr, double momentum, double dampening, double weight_decay,
            bool nesterov, bool maximize)
    : Optimizer<T>("SGD", [&] {
          ParamGroup<T> d;
          d.lr = lr;
          d.momentum = momentum;
          d.dampening = dampening;
          d.weight_decay = weight_decay;
          d.nesterov = nesterov;
          d.maximize = maximize;
          d.initial_lr = lr;
          return d;
      }()) {
    check_hyperparameters(this->defaults(), "SGD");
    if (params.empty()) throw ValueError("SGD: optimizer got an empty parameter list");
    ParamGroup<T> g = this->defaults();
    g.params = std::move(params);
    this->add_group(std::move(g), "SGD");
}

template <class T> void SGD<T>::check_hyperparameters(const ParamGroup<T>& g, const std::string& where) const {
    // torch's tests are 0 <= lr, 0 <= momentum, 0 <= weight_decay; NaN fails them as it does here,
    // and infinities are refused as well (an infinite lr or decay makes every parameter inf or NaN).
    if (!(g.lr >= 0) || std::isinf(g.lr)) throw ValueError(where + ": Invalid learning rate: " + num(g.lr));
    if (!(g.momentum >= 0) || std::isinf(g.momentum)) throw ValueError(where + ": Invalid momentum value: " + num(g.momentum));
    if (!(g.weight_decay >= 0) || std::isinf(g.weight_decay))
        throw ValueError(where + ": Invalid weight_decay value: " + num(g.weight_decay));
    if (!std::isfinite(g.dampening)) throw ValueError(where + ": Invalid dampening value: " + num(g.dampening));
    if (g.nesterov && (g.momentum <= 0 || g.dampening != 0))
        throw ValueError(where + ": Nesterov momentum requires a momentum and zero dampening");
}

template <class T> const xt::xarray<T>* SGD<T>::momentum_buffer(const Tensor<T>& p) const {
    const auto* st = this->state(p);
    if (!st) return nullptr;
    auto it = st->find(kMomentumBuffer);
    return it == st->end() ? nullptr : &it->second;
}

template <class T> void SGD<T>::set_momentum_buffer(const Tensor<T>& p, const xt::xarray<T>& buf) {
    this->set_state_buffer(p, kMomentumBuffer, buf, "SGD::set_momentum_buffer");
}

// Runs after Optimizer::step's checks: every parameter is a defined leaf listed once, its gradient
// and its momentum buffer (if any) have its shape, and the hyper-parameters are valid.
template <class T> void SGD<T>::update_param(const ParamGroup<T>& g, Tensor<T>& p) {
    const T lr = T(g.lr), mom = T(g.momentum), damp = T(g.dampening), wd = T(g.weight_decay);
    if (has_sparse_grad(p)) {
        sparse_step(g, p);
        return;
    }
    T* pv = p.mutable_value().data();
    const T* pg = p.grad().data();
    const std::size_t n = p.numel();
    T* pb = nullptr;
    bool first = false;
    if (mom != T(0)) {  // the buffer is made on the parameter's first step with a momentum, as torch
        auto& st = this->state_for(p);
        auto it = st.find(kMomentumBuffer);
        first = it == st.end();
        if (first) it = st.emplace(kMomentumBuffer, xt::xarray<T>::from_shape(p.value().shape())).first;
        pb = it->second.data();
    }
    const T sgn = g.maximize ? T(-1) : T(1);
    // One loop per configuration, each free of branches so the compiler vectorises it.
    if (!pb) {
        if (wd == T(0))
            axpy(n, -lr * sgn, pg, pv);  // OpenBLAS's axpy: vectorised, and on its pool when large
        else
            for (std::size_t k = 0; k < n; ++k) pv[k] = pv[k] + (-lr) * (sgn * pg[k] + wd * pv[k]);
    } else if (first) {
        for (std::size_t k = 0; k < n; ++k) {
            const T d = sgn * pg[k] + wd * pv[k];
            pb[k] = d;
            pv[k] = pv[k] + (-lr) * (g.nesterov ? d + mom * d : d);
        }
    } else if (g.nesterov) {
        for (std::size_t k = 0; k < n; ++k) {
            const T d = sgn * pg[k] + wd * pv[k];
            pb[k] = mom * pb[k] + (T(1) - damp) * d;
            pv[k] = pv[k] + (-lr) * (d + mom * pb[k]);
        }
    } else {
        for (std::size_t k = 0; k < n; ++k) {
            const T d = sgn * pg[k] + wd * pv[k];
            pb[k] = mom * pb[k] + (T(1) - damp) * d;
            pv[k] = pv[k] + (-lr) * pb[k];
        }
    }
}

template <class T> bool SGD<T>::plain_step(const ParamGroup<T>& g, double& lr) const {
    if (g.momentum != 0 || g.weight_decay != 0) return false;
    lr = g.maximize ? -g.lr : g.lr;
    return true;
}

template <class T> void SGD<T>::sparse_step(const ParamGroup<T>& g, Tensor<T>& p) {
    const auto& rows = sparse_grad_rows(p);
    const auto& vals = sparse_grad_values(p);
    const std::size_t width = rows.empty() ? 0 : vals.size() / rows.size();
    // coalesce: order the entries by row, then sum runs of equal rows
    std::vector<std::size_t> order(rows.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rows[a] < rows[b]; });
    const T lr = T(g.lr), mom = T(g.momentum), damp = T(g.dampening), wd = T(g.weight_decay);
    T* pb = nullptr;
    if (mom != T(0)) {
        auto& st = this->state_for(p);
        auto it = st.find(kMomentumBuffer);
        if (it == st.end()) it = st.emplace(kMomentumBuffer, xt::xarray<T>(xt::zeros<T>(p.value().shape()))).first;
        pb = it->second.data();
    }
    T* pv = p.mutable_value().data();
    std::vector<T> d(width);
    for (std::size_t a = 0; a < order.size();) {
        const std::int64_t r = rows[order[a]];
        std::fill(d.begin(), d.end(), T(0));
        for (; a < order.size() && rows[order[a]] == r; ++a)
            for (std::size_t j = 0; j < width; ++j) d[j] += vals.data()[order[a] * width + j];
        T* prow = pv + std::size_t(r) * width;
        T* brow = pb ? pb + std::size_t(r) * width : nullptr;
        for (std::size_t j = 0; j < width; ++j) {
            T dj = g.maximize ? -d[j] : d[j];
            if (wd != T(0)) dj = dj + wd * prow[j];
            if (brow) {
                brow[j] = mom * brow[j] + (T(1) - damp) * dj;
                dj = g.nesterov ? dj + mom * brow[j] : brow[j];
            }
            prow[j] = prow[j] + (-lr) * dj;
        }
    }
}

template class SGD<float>;
template class SGD<double>;

}  // namespace optim
}  // namespace tapegrad
