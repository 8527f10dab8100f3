#pragma once
// Differentiable ops: PyTorch's names, argument order and semantics (torch / torch.nn.functional).
// Each is defined with its backward beside it in src/ops/*.cpp, instantiated for float and double.
// Dims may be negative (counted from the end). Shape errors throw ShapeError naming the op and
// both shapes; bad dims throw IndexError.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/tensor.hpp"

namespace tapegrad {

namespace detail {
template <class T> struct identity { using type = T; };
}
// A scalar operand of tensor element type T that does not take part in template deduction, so
// `x * 2` and `x + 0.5` work for Tensor<float> and Tensor<double> alike.
template <class T> using Scalar = typename detail::identity<T>::type;

// ---- element-wise, with PyTorch broadcasting (gradients summed back to each input's shape)
template <class T> Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b);
// With a Python-number operand: a + s, s - a, …
template <class T> Tensor<T> add(const Tensor<T>& a, Scalar<T> s);
template <class T> Tensor<T> mul(const Tensor<T>& a, Scalar<T> s);
template <class T> Tensor<T> rsub(const Tensor<T>& a, Scalar<T> s);  // s - a
template <class T> Tensor<T> rdiv(const Tensor<T>& a, Scalar<T> s);  // s / a
template <class T> Tensor<T> neg(const Tensor<T>& a);
template <class T> Tensor<T> pow(const Tensor<T>& a, Scalar<T> exponent);
template <class T> Tensor<T> exp(const Tensor<T>& a);
template <class T> Tensor<T> log(const Tensor<T>& a);
template <class T> Tensor<T> sqrt(const Tensor<T>& a);
template <class T> Tensor<T> abs(const Tensor<T>& a);  // gradient sign(a), 0 at 0 as torch
// Either bound may be absent (not both); gradient 1 inside [min, max], bounds included.
template <class T>
Tensor<T> clamp(const Tensor<T>& a, std::optional<Scalar<T>> min, std::optional<Scalar<T>> max = std::nullopt);

template <class T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return add(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return sub(a, b); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return mul(a, b); }
template <class T> Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return div(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a) { return neg(a); }
template <class T> Tensor<T> operator+(const Tensor<T>& a, Scalar<T> s) { return add(a, s); }
template <class T> Tensor<T> operator+(Scalar<T> s, const Tensor<T>& a) { return add(a, s); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, Scalar<T> s) { return add(a, -s); }
template <class T> Tensor<T> operator-(Scalar<T> s, const Tensor<T>& a) { return rsub(a, s); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, Scalar<T> s) { return mul(a, s); }
template <class T> Tensor<T> operator*(Scalar<T> s, const Tensor<T>& a) { return mul(a, s); }
template <class T> Tensor<T> operator/(const Tensor<T>& a, Scalar<T> s) { return mul(a, T(1) / s); }
template <class T> Tensor<T> operator/(Scalar<T> s, const Tensor<T>& a) { return rdiv(a, s); }

// ---- linear algebra (OpenBLAS)
// torch.matmul: 1-D·1-D dot, 2-D×2-D, 1-D promoted (and squeezed back), batch dims broadcast.
// (…, n, k) × (…, k, m) → (…, n, m)
template <class T> Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b);
// F.linear: x (*, in), weight (out, in), bias (out) or undefined → (*, out); bias added in the GEMM.
template <class T> Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>());

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

// ---- shape
// One size may be -1 (inferred). Always copies into a new contiguous tensor.
template <class T> Tensor<T> reshape(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& shape);
// torch.flatten(a, start_dim, end_dim)
template <class T> Tensor<T> flatten(const Tensor<T>& a, std::ptrdiff_t start_dim = 0, std::ptrdiff_t end_dim = -1);
template <class T> Tensor<T> transpose(const Tensor<T>& a, std::ptrdiff_t dim0, std::ptrdiff_t dim1);
template <class T> Tensor<T> permute(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims);

// ---- activations
template <class T> Tensor<T> relu(const Tensor<T>& a);
template <class T> Tensor<T> sigmoid(const Tensor<T>& a);
template <class T> Tensor<T> tanh(const Tensor<T>& a);
// Stable: the max along dim is subtracted before exp, so no finite input overflows.
template <class T> Tensor<T> softmax(const Tensor<T>& a, std::ptrdiff_t dim);
template <class T> Tensor<T> log_softmax(const Tensor<T>& a, std::ptrdiff_t dim);

// ---- embeddings
enum class EmbeddingBagMode { Sum, Mean, Max };
// "sum" | "mean" | "max"; anything else is a ValueError.
EmbeddingBagMode embedding_bag_mode_from_string(const std::string& s);

// F.embedding_bag (argument order as torch's): the reduction of each bag of rows of weight.
//   input 1-D (n) of indices with offsets (B) (bag i = input[offsets[i] : offsets[i+1]], the last
//   bag running to the end; with include_last_offset offsets has B+1 entries), or input 2-D
//   (B, L) without offsets (B bags of L); weight (num_embeddings, D) → (B, D).
// mean divides by the bag's count of non-padding entries; empty bags give zeros; max takes the
// element-wise maximum (the gradient goes to the entry holding it). per_sample_weights (same
// shape as input) scales each entry, mode sum only. Entries equal to padding_idx are skipped.
// The backward touches only the rows used: with sparse=true it leaves a row-sparse gradient
// (see Tensor::has_sparse_grad) that optim::SGD applies to those rows only.
template <class T>
Tensor<T> embedding_bag(const xt::xarray<std::int64_t>& input, const Tensor<T>& weight,
                        const std::optional<xt::xarray<std::int64_t>>& offsets = std::nullopt,
                        EmbeddingBagMode mode = EmbeddingBagMode::Mean, bool sparse = false,
                        const Tensor<T>& per_sample_weights = Tensor<T>(), bool include_last_offset = false,
                        std::optional<std::int64_t> padding_idx = std::nullopt);

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
