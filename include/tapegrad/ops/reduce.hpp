#pragma once
// Reductions: sum, mean, max, min, argmax, argmin, var, std.
// Each op is defined with its backward beside it in src/ops/reduce.cpp, instantiated for float and double.
#include <cstdint>
#include <vector>

#include "tapegrad/ops/common.hpp"

namespace tapegrad {

// ---- reductions
template <class T> Tensor<T> sum(const Tensor<T>& a);  // → 0-d
template <class T> Tensor<T> sum(const Tensor<T>& a, std::ptrdiff_t dim, bool keepdim = false);
template <class T> Tensor<T> mean(const Tensor<T>& a);
template <class T> Tensor<T> mean(const Tensor<T>& a, std::ptrdiff_t dim, bool keepdim = false);
// torch.max(a): 0-d maximum; the gradient is shared evenly among tied maxima, as torch does.
template <class T> Tensor<T> max(const Tensor<T>& a);
// torch.max(a, dim, keepdim) → (values, indices); the gradient goes to the index returned
// (the first maximum).
template <class T> struct MaxResult {
    Tensor<T> values;
    xt::xarray<std::int64_t> indices;
};
template <class T> MaxResult<T> max(const Tensor<T>& a, std::ptrdiff_t dim, bool keepdim = false);
// Not differentiable: index of the first maximum along dim.
template <class T> xt::xarray<std::int64_t> argmax(const Tensor<T>& a, std::ptrdiff_t dim, bool keepdim = false);

// Over several dims at once (torch's dim=(0, 2)); an empty list reduces every dim, as torch's
// dim=[]. A repeated dim is a ValueError ("dim 0 appears multiple times in the list of dims").
template <class T> Tensor<T> sum(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, bool keepdim = false);
template <class T> Tensor<T> mean(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, bool keepdim = false);

// torch.min(a) (ties share the gradient evenly) and torch.min(a, dim, keepdim) → (values,
// indices of the first minimum; NaN wins); argmin likewise.
template <class T> using MinResult = MaxResult<T>;
template <class T> Tensor<T> min(const Tensor<T>& a);
template <class T> MinResult<T> min(const Tensor<T>& a, std::ptrdiff_t dim, bool keepdim = false);
template <class T> xt::xarray<std::int64_t> argmin(const Tensor<T>& a, std::ptrdiff_t dim, bool keepdim = false);

// torch.var / torch.std: Σ(x − mean)² / max(0, N − correction) over dims (all when empty),
// correction 1 (unbiased=true, the default) or 0; Correction(c) gives torch's correction=c.
// N − correction ≤ 0 gives inf or nan, as torch (with its warning left out). Under
// `using namespace tapegrad;` call it tapegrad::std(x) (a bare std(x) is ambiguous with namespace
// std, as torch::std is in libtorch).
struct Correction {
    explicit Correction(double c) : value(c) {}
    double value;
};
// Over every dim, unbiased (var(a, {}, false) for the biased form: a bool second argument would
// silently swallow var(a, {0}) as unbiased=false, so there is no such overload).
template <class T> Tensor<T> var(const Tensor<T>& a);
template <class T>
Tensor<T> var(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, bool unbiased = true, bool keepdim = false);
template <class T>
Tensor<T> var(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, Correction correction, bool keepdim = false);
template <class T> Tensor<T> std(const Tensor<T>& a);
template <class T>
Tensor<T> std(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, bool unbiased = true, bool keepdim = false);
template <class T>
Tensor<T> std(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims, Correction correction, bool keepdim = false);

}  // namespace tapegrad
