#pragma once
// dropout, batch_norm, layer_norm (torch.nn.functional), forward and backward.
// Each op is defined with its backward beside it in src/ops/norm.cpp, instantiated for float and double.
#include <vector>

#include "tapegrad/core/random.hpp"
#include "tapegrad/ops/common.hpp"

namespace tapegrad {

// F.dropout(x, p, training): in training, each element is kept with probability 1 − p and scaled
// by 1/(1 − p) (p = 1 gives zeros); otherwise, and for p = 0, x itself is returned. The mask is
// drawn from `gen` (seeded, reproducible) — its stream is tapegrad's, not torch's, so the same
// seed gives a different mask than torch. 0 ≤ p ≤ 1, else ValueError (torch's text).
template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p = 0.5, bool training = true, Generator& gen = default_generator());

// The optional arguments of batch_norm, libtorch's F::BatchNormFuncOptions.
struct BatchNormFuncOptions {
    BatchNormFuncOptions& training(bool v) { training_ = v; return *this; }
    BatchNormFuncOptions& momentum(double v) { momentum_ = v; return *this; }
    BatchNormFuncOptions& eps(double v) { eps_ = v; return *this; }
    bool training_ = false;
    double momentum_ = 0.1;
    double eps_ = 1e-5;
};

// F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps):
//   input (N, C, *); running_mean, running_var, weight, bias (C) or undefined.
// training: normalise with the batch's mean and biased variance over (N, *), and — when the
//   running stats are given — update them in place: r ← (1 − momentum)·r + momentum·stat, the
//   variance unbiased (n/(n−1)), as torch. More than one value per channel is required.
// eval: normalise with running_mean / running_var (both required).
// y = (x − mean)/sqrt(var + eps)·weight + bias. The backward is torch's fused formula:
//   dx = (g − mean(g) − (x − mean)·Σ g(x − mean)/(n·(var + eps)))·weight/sqrt(var + eps) (training),
//   dweight = Σ g·(x − mean)/sqrt(var + eps), dbias = Σ g.
template <class T>
Tensor<T> batch_norm(const Tensor<T>& input, const Tensor<T>& running_mean, const Tensor<T>& running_var,
                     const Tensor<T>& weight = Tensor<T>(), const Tensor<T>& bias = Tensor<T>(),
                     const BatchNormFuncOptions& options = BatchNormFuncOptions());

// F.layer_norm(input, normalized_shape, weight, bias, eps): normalises over the last
// len(normalized_shape) dims, which must equal normalized_shape; weight and bias have that shape
// (or are undefined). Biased variance, y = (x − mean)/sqrt(var + eps)·weight + bias.
template <class T>
Tensor<T> layer_norm(const Tensor<T>& input, const std::vector<std::size_t>& normalized_shape,
                     const Tensor<T>& weight = Tensor<T>(), const Tensor<T>& bias = Tensor<T>(), double eps = 1e-5);

}  // namespace tapegrad
