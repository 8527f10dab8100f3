#pragma once
// Linear algebra on OpenBLAS: matmul and linear.
// Each op is defined with its backward beside it in src/ops/linalg.cpp, instantiated for float and double.
#include "tapegrad/ops/common.hpp"

namespace tapegrad {

// ---- linear algebra (OpenBLAS)
// torch.matmul: 1-D·1-D dot, 2-D×2-D, 1-D promoted (and squeezed back), batch dims broadcast.
// (…, n, k) × (…, k, m) → (…, n, m)
template <class T> Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b);
// F.linear: x (*, in), weight (out, in), bias (out) or undefined → (*, out); bias added in the GEMM.
template <class T> Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>());

}  // namespace tapegrad
