// SGD with torch.optim.SGD's exact update order, in place.
#include <cblas.h>

#include <algorithm>
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
            if (has_sparse_grad(p)) {
                sparse_step(g, i);
                continue;
            }
            T* pv = p.mutable_value().data();
            const T* pg = p.grad().data();
            const std::size_t n = p.numel();
            const bool first = !has_buf_[i];
            if (mom != T(0) && first) {
                bufs_[i].resize(p.value().shape());
                has_buf_[i] = true;
            }
            T* pb = mom != T(0) ? bufs_[i].data() : nullptr;
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
    }
}

template <class T> void SGD<T>::sparse_step(ParamGroup<T>& g, std::size_t i) {
    auto& p = g.params[i];
    const auto& rows = sparse_grad_rows(p);
    const auto& vals = sparse_grad_values(p);
    const std::size_t width = rows.empty() ? 0 : vals.size() / rows.size();
    // coalesce: order the entries by row, then sum runs of equal rows
    std::vector<std::size_t> order(rows.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rows[a] < rows[b]; });
    const T lr = T(g.lr), mom = T(g.momentum), damp = T(g.dampening), wd = T(g.weight_decay);
    if (mom != T(0) && !has_buf_[i]) {
        bufs_[i] = xt::zeros<T>(p.value().shape());
        has_buf_[i] = true;
    }
    T* pv = p.mutable_value().data();
    T* pb = mom != T(0) ? bufs_[i].data() : nullptr;
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
