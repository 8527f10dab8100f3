// torch.nn.utils.clip_grad_norm_ and clip_grad_value_.
#include "tapegrad/nn/utils.hpp"

#include <cmath>
#include <limits>

#include "tapegrad/core/sparse_grad.hpp"
#include "tapegrad/core/format.hpp"

namespace tapegrad {
namespace nn {
namespace utils {

namespace {
// torch.norm(x, p) over n values, accumulated in double (torch accumulates float32 in a wider type
// too; the result is rounded to T once, as torch's tensor is)
template <class F> double vector_norm(std::size_t n, F at, double p) {
    if (std::isinf(p)) {
        double r = p > 0 ? 0.0 : std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < n; ++k) {
            const double a = std::abs(at(k));
            if (std::isnan(a)) return a;
            r = p > 0 ? std::max(r, a) : std::min(r, a);
        }
        return r;
    }
    if (p == 0) {
        double c = 0;
        for (std::size_t k = 0; k < n; ++k) c += at(k) != 0;
        return c;
    }
    double s = 0;
    if (p == 1)
        for (std::size_t k = 0; k < n; ++k) s += std::abs(at(k));
    else if (p == 2)
        for (std::size_t k = 0; k < n; ++k) s += at(k) * at(k);
    else
        for (std::size_t k = 0; k < n; ++k) s += std::pow(std::abs(at(k)), p);
    if (p == 1) return s;
    if (p == 2) return std::sqrt(s);
    return std::pow(s, 1.0 / p);
}

template <class T> std::vector<Tensor<T>> with_grads(const std::vector<Tensor<T>>& params, const char* fn) {
    std::vector<Tensor<T>> out;
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& p = params[i];
        if (!p.defined()) throw ValueError(std::string(fn) + ": parameter " + std::to_string(i) + " is undefined");
        if (has_sparse_grad(p))
            throw ValueError(std::string(fn) + ": parameter " + std::to_string(i) +
                             " has a row-sparse gradient (embedding_bag with sparse=true); clipping needs dense gradients");
        if (p.has_grad()) out.push_back(p);
    }
    return out;
}
}  // namespace

template <class T>
double clip_grad_norm_(const std::vector<Tensor<T>>& parameters, double max_norm, double norm_type, bool error_if_nonfinite) {
    const char* fn = "clip_grad_norm_";
    if (std::isnan(max_norm)) throw ValueError(std::string(fn) + ": max_norm is nan");
    if (std::isnan(norm_type)) throw ValueError(std::string(fn) + ": norm_type is nan");
    const auto params = with_grads(parameters, fn);
    if (params.empty()) return 0.0;
    std::vector<double> norms;
    for (const auto& p : params) {
        const T* g = p.grad().data();
        // each tensor's norm is a tensor of T in torch: rounded to T before the norm of norms
        norms.push_back(double(T(vector_norm(p.numel(), [g](std::size_t k) { return double(g[k]); }, norm_type))));
    }
    const T total = T(vector_norm(norms.size(), [&](std::size_t k) { return norms[k]; }, norm_type));
    if (error_if_nonfinite && !std::isfinite(total))
        throw ValueError(std::string(fn) + ": The total norm of order " + tapegrad::detail::py_float(norm_type) +
                         " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error "
                         "and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`");
    // clip_coef = max_norm / (total_norm + 1e-6): a Python number over a tensor is reciprocal() * number
    T coef = (T(1) / (total + T(1e-6))) * T(max_norm);
    if (coef > T(1)) coef = T(1);  // torch.clamp(max=1.0); NaN stays NaN
    for (Tensor<T> p : params) {
        auto& g = p.mutable_grad();
        T* d = g.data();
        for (std::size_t k = 0; k < g.size(); ++k) d[k] = d[k] * coef;
    }
    return double(total);
}

template <class T> double clip_grad_norm_(const Tensor<T>& parameter, double max_norm, double norm_type, bool error_if_nonfinite) {
    return clip_grad_norm_(std::vector<Tensor<T>>{parameter}, max_norm, norm_type, error_if_nonfinite);
}

template <class T> void clip_grad_value_(const std::vector<Tensor<T>>& parameters, double clip_value) {
    const char* fn = "clip_grad_value_";
    if (!(clip_value >= 0)) throw ValueError(std::string(fn) + ": clip_value must be >= 0, got " + tapegrad::detail::py_float(clip_value));
    const T hi = T(clip_value), lo = T(-clip_value);
    for (Tensor<T> p : with_grads(parameters, fn)) {
        auto& g = p.mutable_grad();
        T* d = g.data();
        for (std::size_t k = 0; k < g.size(); ++k) d[k] = d[k] < lo ? lo : (d[k] > hi ? hi : d[k]);
    }
}

template <class T> void clip_grad_value_(const Tensor<T>& parameter, double clip_value) {
    clip_grad_value_(std::vector<Tensor<T>>{parameter}, clip_value);
}

#define TAPEGRAD_INSTANTIATE(T)                                                              \
    template double clip_grad_norm_(const std::vector<Tensor<T>>&, double, double, bool);   \
    template double clip_grad_norm_(const Tensor<T>&, double, double, bool);                \
    template void clip_grad_value_(const std::vector<Tensor<T>>&, double);                  \
    template void clip_grad_value_(const Tensor<T>&, double);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace utils
}  // namespace nn
}  // namespace tapegrad
