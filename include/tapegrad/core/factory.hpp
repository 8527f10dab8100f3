#pragma once
// Tensor factories, as torch.zeros / ones / full / arange / rand / randn.
#include "tapegrad/core/random.hpp"
#include "tapegrad/core/tensor.hpp"

namespace tapegrad {

template <class T = float> Tensor<T> zeros(const Shape& shape, bool requires_grad = false);
template <class T = float> Tensor<T> ones(const Shape& shape, bool requires_grad = false);
template <class T = float> Tensor<T> full(const Shape& shape, T value, bool requires_grad = false);
// [start, end) in steps of step (step may be negative, not 0), as torch.arange.
template <class T = float> Tensor<T> arange(T start, T end, T step = T(1), bool requires_grad = false);
// Uniform on [0, 1).
template <class T = float> Tensor<T> rand(const Shape& shape, Generator& gen = default_generator(), bool requires_grad = false);
// Standard normal.
template <class T = float> Tensor<T> randn(const Shape& shape, Generator& gen = default_generator(), bool requires_grad = false);

}  // namespace tapegrad
