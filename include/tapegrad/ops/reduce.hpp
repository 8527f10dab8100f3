#pragma once
// Reductions: sum, mean, max, argmax.
// Each op is defined with its backward beside it in src/ops/reduce.cpp, instantiated for float and double.
#include <cstdint>

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

}  // namespace tapegrad
