#pragma once
// softmax and log_softmax.
// Each op is defined with its backward beside it in src/ops/softmax.cpp, instantiated for float and double.
#include "tapegrad/ops/common.hpp"

namespace tapegrad {

// Stable: the max along dim is subtracted before exp, so no finite input overflows.
template <class T> Tensor<T> softmax(const Tensor<T>& a, std::ptrdiff_t dim);
template <class T> Tensor<T> log_softmax(const Tensor<T>& a, std::ptrdiff_t dim);

}  // namespace tapegrad
