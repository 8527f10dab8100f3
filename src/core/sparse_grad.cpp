// Row-sparse gradients (embedding_bag's), kept apart from the dense core.
#include <algorithm>

#include <xtensor/xbuilder.hpp>

#include "tapegrad/core/sparse_grad.hpp"
#include "tapegrad/core/tape.hpp"

namespace tapegrad {
namespace detail {

template <class T>
void scatter_add_rows(xt::xarray<T>& dst, const std::vector<std::int64_t>& rows, const xt::xarray<T>& values) {
    const std::size_t width = rows.empty() ? 0 : values.size() / rows.size();
    T* d = dst.data();
    const T* v = values.data();
    for (std::size_t k = 0; k < rows.size(); ++k) {
        T* row = d + std::size_t(rows[k]) * width;
        for (std::size_t j = 0; j < width; ++j) row[j] += v[k * width + j];
    }
}

template <class T> void densify_sparse_grad(TensorImpl<T>& im) {
    if (!im.sparse) return;
    if (!im.has_grad) {
        im.grad = xt::zeros<T>(im.value.shape());
        im.has_grad = true;
    }
    scatter_add_rows(im.grad, im.sparse->rows, im.sparse->values);
    im.sparse.reset();
}

}  // namespace detail

template <class T> const std::vector<std::int64_t>& sparse_grad_rows(const Tensor<T>& t) {
    if (!has_sparse_grad(t)) throw AutogradError("sparse_grad_rows: the gradient is not sparse");
    return t.impl()->sparse->rows;
}
template <class T> const xt::xarray<T>& sparse_grad_values(const Tensor<T>& t) {
    if (!has_sparse_grad(t)) throw AutogradError("sparse_grad_values: the gradient is not sparse");
    return t.impl()->sparse->values;
}

template <class T>
void accumulate_sparse_grad(const Tensor<T>& t, const std::vector<std::int64_t>& rows, const xt::xarray<T>& values) {
    if (!t.defined()) throw Error("accumulate_sparse_grad: the tensor is undefined (default-constructed)");
    auto& im = *t.impl();
    const std::size_t n0 = im.value.dimension() ? im.value.shape()[0] : 0;
    const std::size_t width = n0 ? im.value.size() / n0 : 0;
    if (values.size() != rows.size() * width)
        throw ShapeError("accumulate_sparse_grad: " + std::to_string(rows.size()) + " rows need " +
                         std::to_string(rows.size() * width) + " values, got " + std::to_string(values.size()));
    for (auto r : rows)
        if (r < 0 || std::size_t(r) >= n0) throw IndexError("accumulate_sparse_grad: row " + std::to_string(r) + " out of range");
    if (im.has_grad || im.node) {  // dense already (or a non-leaf, whose gradients are dense)
        bool acc = false;
        auto& buf = t.grad_buffer(acc);
        if (!acc) std::fill(buf.begin(), buf.end(), T(0));
        detail::scatter_add_rows(buf, rows, values);
        return;
    }
    detail::remember_leaf_grad(t.impl_ptr());
    if (!im.sparse) {
        im.sparse = std::make_shared<detail::SparseGrad<T>>(detail::SparseGrad<T>{rows, values});
        return;
    }
    auto& sp = *im.sparse;
    const std::size_t old = sp.values.size();
    sp.rows.insert(sp.rows.end(), rows.begin(), rows.end());
    xt::xarray<T> joined = xt::xarray<T>::from_shape({sp.rows.size(), width});
    std::copy(sp.values.begin(), sp.values.end(), joined.begin());
    std::copy(values.begin(), values.end(), joined.begin() + std::ptrdiff_t(old));
    sp.values = std::move(joined);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                  \
    template void detail::scatter_add_rows(xt::xarray<T>&, const std::vector<std::int64_t>&, const xt::xarray<T>&); \
    template void detail::densify_sparse_grad(detail::TensorImpl<T>&);                                            \
    template const std::vector<std::int64_t>& sparse_grad_rows(const Tensor<T>&);                                 \
    template const xt::xarray<T>& sparse_grad_values(const Tensor<T>&);                                           \
    template void accumulate_sparse_grad(const Tensor<T>&, const std::vector<std::int64_t>&, const xt::xarray<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
