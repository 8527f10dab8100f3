#pragma once
// Row-sparse gradients: what embedding_bag(sparse=true) leaves on its weight, so that an
// optimizer step touches only the rows a batch used (optim::SGD applies them row by row).
// A leaf holds one while nothing dense has been accumulated into it; the first dense
// contribution, or the first read of grad(), makes it dense. Only embedding_bag and the
// optimizers need this file: the rest of the core sees a tensor's gradient as dense.
#include <cstdint>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {

namespace detail {
// Row ids (duplicates allowed) and one row of values each, (nnz, …row shape).
template <class T> struct SparseGrad {
    std::vector<std::int64_t> rows;
    xt::xarray<T> values;
};
// dst[rows[k], …] += values[k, …] for every k; dst's first dim indexes rows.
template <class T>
void scatter_add_rows(xt::xarray<T>& dst, const std::vector<std::int64_t>& rows, const xt::xarray<T>& values);
// Turns the impl's sparse gradient into its dense gradient (added to a dense one if present).
template <class T> void densify_sparse_grad(TensorImpl<T>& impl);
}  // namespace detail

// The gradient is row-sparse (only rows touched by embedding_bag(sparse=true) so far).
template <class T> bool has_sparse_grad(const Tensor<T>& t) { return t.impl() && t.impl()->sparse; }
// Its rows, and their values (nnz, row…): row k of the values belongs to rows[k].
// AutogradError when the gradient is not sparse.
template <class T> const std::vector<std::int64_t>& sparse_grad_rows(const Tensor<T>& t);
template <class T> const xt::xarray<T>& sparse_grad_values(const Tensor<T>& t);
// Adds values[k] to row rows[k] of t's gradient, keeping it sparse when it is (a leaf with no dense
// gradient yet); values is (rows.size(), …row shape).
template <class T>
void accumulate_sparse_grad(const Tensor<T>& t, const std::vector<std::int64_t>& rows, const xt::xarray<T>& values);

}  // namespace tapegrad
