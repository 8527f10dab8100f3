#pragma once
// What every op header shares: the Scalar operand type and the broadcasting/dim helpers.
// PyTorch's names, argument order and semantics (torch / torch.nn.functional). Dims may be negative
// (counted from the end). Shape errors throw ShapeError naming the op and both shapes; bad dims
// throw IndexError.
#include <cstddef>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {

namespace detail {
template <class T> struct identity { using type = T; };
}
// A scalar operand of tensor element type T that does not take part in template deduction, so
// `x * 2` and `x + 0.5` work for Tensor<float> and Tensor<double> alike.
template <class T> using Scalar = typename detail::identity<T>::type;

// ---- helpers shared by op implementations
namespace detail {
// Normalises a possibly negative dim; throws IndexError in torch's words, prefixed by op.
std::size_t wrap_dim(const char* op, std::ptrdiff_t dim, std::size_t ndim);
// The broadcast shape of a and b, or ShapeError naming op and both shapes.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
// Sums g down to `shape` (the reverse of broadcasting).
template <class T> xt::xarray<T> sum_to(const xt::xarray<T>& g, const Shape& shape);
}  // namespace detail

}  // namespace tapegrad
