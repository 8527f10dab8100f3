#pragma once
// Shape ops: reshape, flatten, transpose, permute.
// Each op is defined with its backward beside it in src/ops/shape.cpp, instantiated for float and double.
#include <vector>

#include "tapegrad/ops/common.hpp"

namespace tapegrad {

// ---- shape
// One size may be -1 (inferred). Always copies into a new contiguous tensor.
template <class T> Tensor<T> reshape(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& shape);
// torch.flatten(a, start_dim, end_dim)
template <class T> Tensor<T> flatten(const Tensor<T>& a, std::ptrdiff_t start_dim = 0, std::ptrdiff_t end_dim = -1);
template <class T> Tensor<T> transpose(const Tensor<T>& a, std::ptrdiff_t dim0, std::ptrdiff_t dim1);
template <class T> Tensor<T> permute(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims);

}  // namespace tapegrad
