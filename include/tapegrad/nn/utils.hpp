#pragma once
// torch.nn.utils: gradient clipping.
#include <vector>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace nn {
namespace utils {

// torch.nn.utils.clip_grad_norm_: the norm of all gradients together (as if concatenated), of
// order norm_type (INFINITY: the largest |g|; any other p: (Σ|g|^p)^(1/p), per tensor and then over
// the tensors' norms, as torch computes it); every gradient is scaled in place by
// min(1, max_norm / (total_norm + 1e-6)). Parameters without a gradient are skipped; with none at
// all the result is 0. Returns the total norm (in T's precision, as torch's tensor holds it).
// error_if_nonfinite: a NaN or infinite total norm is a ValueError with torch's text ("The total norm
// of order 2.0 for gradients from `parameters` is non-finite, so it cannot be clipped. …") and no
// gradient changed. ValueError for a NaN max_norm or norm_type, or a row-sparse gradient.
template <class T>
double clip_grad_norm_(const std::vector<Tensor<T>>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
template <class T>
double clip_grad_norm_(const Tensor<T>& parameter, double max_norm, double norm_type = 2.0, bool error_if_nonfinite = false);

// torch.nn.utils.clip_grad_value_: clamps every gradient into [-clip_value, clip_value] in place
// (NaN stays NaN). ValueError for a NaN or negative clip_value, or a row-sparse gradient.
template <class T> void clip_grad_value_(const std::vector<Tensor<T>>& parameters, double clip_value);
template <class T> void clip_grad_value_(const Tensor<T>& parameter, double clip_value);

}  // namespace utils
}  // namespace nn
}  // namespace tapegrad
