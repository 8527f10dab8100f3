#pragma once
// Joining, slicing and indexing: cat, stack, narrow, slice, index_select, gather, where.
// Each op is defined with its backward beside it in src/ops/indexing.cpp, instantiated for float and double.
// Index tensors are xt::xarray<std::int64_t> (torch's LongTensor); conditions xt::xarray<bool>.
#include <cstdint>
#include <optional>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tapegrad/ops/common.hpp"

namespace tapegrad {

// torch.cat(tensors, dim): sizes must match except along dim. As torch 1.13, 1-D empty tensors
// (shape [0]) are skipped whatever the others' shapes. Gradient: each input's slice of g.
template <class T> Tensor<T> cat(const std::vector<Tensor<T>>& tensors, std::ptrdiff_t dim = 0);
// torch.stack(tensors, dim): equal shapes, joined along a new dim (dim in [−(n+1), n]).
template <class T> Tensor<T> stack(const std::vector<Tensor<T>>& tensors, std::ptrdiff_t dim = 0);
// torch.narrow(x, dim, start, length): elements start … start+length−1 along dim (start in
// [−n, n], negative counted from the end).
template <class T> Tensor<T> narrow(const Tensor<T>& x, std::ptrdiff_t dim, std::int64_t start, std::int64_t length);
// x[..., start:end:step, ...] along dim with Python's rules: absent bounds mean the ends, negative
// ones count from the end, out-of-range ones are clamped; step must be positive.
template <class T>
Tensor<T> slice(const Tensor<T>& x, std::ptrdiff_t dim, std::optional<std::int64_t> start = std::nullopt,
                std::optional<std::int64_t> end = std::nullopt, std::int64_t step = 1);
// torch.index_select(x, dim, index): index 1-D (or 0-d); the result has index.numel() entries
// along dim. Gradient: index_add (repeated indices accumulate).
template <class T> Tensor<T> index_select(const Tensor<T>& x, std::ptrdiff_t dim, const xt::xarray<std::int64_t>& index);
// torch.gather(x, dim, index): out[i][j][k] = x[i][index[i][j][k]][k] (dim = 1); index has x's
// number of dims and sizes ≤ x's apart from dim; the result has index's shape. Gradient: scatter_add.
template <class T> Tensor<T> gather(const Tensor<T>& x, std::ptrdiff_t dim, const xt::xarray<std::int64_t>& index);
// torch.where(cond, a, b), all three broadcast together; a gets g where cond, b where not.
// Taken by value so that this overload, not xt::where (found through the xarray argument), is
// the one called.
template <class T> Tensor<T> where(xt::xarray<bool> cond, Tensor<T> a, Tensor<T> b);

}  // namespace tapegrad
