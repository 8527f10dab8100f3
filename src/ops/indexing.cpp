// cat, stack, narrow, slice, index_select, gather, where — each forward with its backward beside it.
#include <sstream>

#include <xtensor/xbroadcast.hpp>

#include "internal.hpp"
#include "tapegrad/ops/indexing.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {
namespace {
using detail::Lines;

std::string sizes_str(const Shape& s) {  // torch's [2, 3]
    return shape_str(s);
}

// Copies `len` rows of `inner` elements, i.e. the block (o, [l0, l0+len), :) of src laid out as
// (outer, src_len, inner), into dst laid out as (outer, dst_len, inner) at row d0, for every o.
template <class T>
void copy_block(const T* src, std::size_t src_len, std::size_t l0, T* dst, std::size_t dst_len, std::size_t d0,
                std::size_t len, std::size_t outer, std::size_t inner, std::size_t step = 1, bool add = false) {
    if (step == 1) {  // each (o) block is one contiguous run of len·inner elements
        const std::size_t run = len * inner;
        for (std::size_t o = 0; o < outer; ++o) {
            const T* s = src + (o * src_len + l0) * inner;
            T* d = dst + (o * dst_len + d0) * inner;
            if (add)
                for (std::size_t k = 0; k < run; ++k) d[k] += s[k];
            else
                std::copy(s, s + run, d);
        }
        return;
    }
    for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t l = 0; l < len; ++l) {
            const T* s = src + (o * src_len + l0 + l * step) * inner;
            T* d = dst + (o * dst_len + d0 + l) * inner;
            if (add)
                for (std::size_t i = 0; i < inner; ++i) d[i] += s[i];
            else
                std::copy(s, s + inner, d);
        }
}
}  // namespace

// (…, n_k, …) joined along dim → (…, Σ n_k, …); dx_k = g[…, offset_k : offset_k + n_k, …]
template <class T> Tensor<T> cat(const std::vector<Tensor<T>>& tensors, std::ptrdiff_t dim_) {
    if (tensors.empty()) throw ValueError("cat: torch.cat(): expected a non-empty list of Tensors");
    for (std::size_t k = 0; k < tensors.size(); ++k) {
        if (!tensors[k].defined()) throw ValueError("cat: tensor " + std::to_string(k) + " of the list is undefined");
        if (tensors[k].dim() == 0)
            throw ShapeError("cat: zero-dimensional tensor (at position " + std::to_string(k) +
                             ") cannot be concatenated");
    }
    // torch 1.13 skips 1-D empty tensors (legacy behaviour) when checking and joining
    auto skip = [](const Tensor<T>& t) { return t.dim() == 1 && t.numel() == 0; };
    std::ptrdiff_t ref = -1;
    for (std::size_t k = 0; k < tensors.size(); ++k)
        if (!skip(tensors[k])) {
            ref = std::ptrdiff_t(k);
            break;
        }
    if (ref < 0) {  // all skipped: the result is the empty 1-D tensor
        detail::wrap_dim("cat", dim_, 1);
        Tensor<T> out(xt::xarray<T>::from_shape({0}));
        if (needs_grad(tensors))
            record<T>(out, "cat", tensors, [tensors](const xt::xarray<T>&, const xt::xarray<T>&) {
                for (auto& t : tensors)
                    if (t.requires_grad()) t.accumulate_grad(xt::xarray<T>::from_shape({0}));
            });
        TAPEGRAD_REPLAY(out, cat(in, dim_));
        return out;
    }
    const Shape s0 = tensors[std::size_t(ref)].shape();
    const std::size_t dim = detail::wrap_dim("cat", dim_, s0.size());
    std::size_t total = 0;
    for (std::size_t k = 0; k < tensors.size(); ++k) {
        if (skip(tensors[k])) continue;
        const Shape sk = tensors[k].shape();
        if (sk.size() != s0.size())
            throw ShapeError("cat: Tensors must have same number of dimensions: got " + std::to_string(s0.size()) +
                             " and " + std::to_string(sk.size()));
        for (std::size_t d = 0; d < s0.size(); ++d)
            if (d != dim && sk[d] != s0[d]) {
                std::ostringstream os;
                os << "cat: Sizes of tensors must match except in dimension " << dim << ". Expected size " << s0[d]
                   << " but got size " << sk[d] << " for tensor number " << k << " in the list.";
                throw ShapeError(os.str());
            }
        total += sk[dim];
    }
    Shape so = s0;
    so[dim] = total;
    const Lines ln = detail::lines_around(so, dim);
    xt::xarray<T> r = xt::xarray<T>::from_shape(so);
    std::vector<std::size_t> offsets(tensors.size(), 0);
    std::size_t off = 0;
    for (std::size_t k = 0; k < tensors.size(); ++k) {
        offsets[k] = off;
        if (skip(tensors[k])) continue;
        const std::size_t n = tensors[k].size(std::ptrdiff_t(dim));
        copy_block(tensors[k].value().data(), n, 0, r.data(), total, off, n, ln.outer, ln.inner);
        off += n;
    }
    Tensor<T> out(std::move(r));
    if (needs_grad(tensors))
        record<T>(out, "cat", tensors, [tensors, offsets, dim, ln, total](const xt::xarray<T>& g, const xt::xarray<T>&) {
            for (std::size_t k = 0; k < tensors.size(); ++k) {
                const Tensor<T>& t = tensors[k];
                if (!t.requires_grad()) continue;
                if (t.dim() == 1 && t.numel() == 0) {
                    t.accumulate_grad(xt::xarray<T>::from_shape({0}));
                    continue;
                }
                const std::size_t n = t.size(std::ptrdiff_t(dim));
                bool acc = false;
                auto& buf = t.grad_buffer(acc);
                copy_block(g.data(), total, offsets[k], buf.data(), n, 0, n, ln.outer, ln.inner, 1, acc);
            }
        });
    TAPEGRAD_REPLAY(out, cat(in, dim_));
    return out;
}

// equal shapes s → (…, K, …) with the new dim at `dim`; as cat of each input with a 1 inserted
template <class T> Tensor<T> stack(const std::vector<Tensor<T>>& tensors, std::ptrdiff_t dim_) {
    if (tensors.empty()) throw ValueError("stack: stack expects a non-empty TensorList");
    for (std::size_t k = 0; k < tensors.size(); ++k)
        if (!tensors[k].defined()) throw ValueError("stack: tensor " + std::to_string(k) + " of the list is undefined");
    const Shape s0 = tensors[0].shape();
    const std::size_t dim = detail::wrap_dim("stack", dim_, s0.size() + 1);
    for (std::size_t k = 1; k < tensors.size(); ++k)
        if (tensors[k].shape() != s0)
            throw ShapeError("stack: stack expects each tensor to be equal size, but got " + sizes_str(s0) +
                             " at entry 0 and " + sizes_str(tensors[k].shape()) + " at entry " + std::to_string(k));
    std::vector<std::ptrdiff_t> ns(s0.begin(), s0.end());
    ns.insert(ns.begin() + std::ptrdiff_t(dim), 1);
    std::vector<Tensor<T>> parts;
    parts.reserve(tensors.size());
    for (auto& t : tensors) parts.push_back(reshape(t, ns));
    return cat(parts, std::ptrdiff_t(dim));
}

namespace {
// The strided slice (start, start+step, …, count of them) along dim; gradient scattered back.
template <class T>
Tensor<T> slice_impl(const Tensor<T>& x, std::size_t dim, std::size_t start, std::size_t count, std::size_t step) {
    const Shape s = x.shape();
    Shape so = s;
    so[dim] = count;
    const Lines ln = detail::lines_around(s, dim);
    xt::xarray<T> r = xt::xarray<T>::from_shape(so);
    copy_block(x.value().data(), ln.len, start, r.data(), count, 0, count, ln.outer, ln.inner, step);
    Tensor<T> out(std::move(r));
    if (needs_grad({x}))
        record<T>(out, "slice", {x}, [x, ln, start, count, step](const xt::xarray<T>& g, const xt::xarray<T>&) {
            bool acc = false;
            auto& buf = x.grad_buffer(acc);
            if (!acc) std::fill(buf.begin(), buf.end(), T(0));
            T* pb = buf.data();
            const T* pg = g.data();
            for (std::size_t o = 0; o < ln.outer; ++o)
                for (std::size_t l = 0; l < count; ++l) {
                    T* d = pb + (o * ln.len + start + l * step) * ln.inner;
                    const T* sg = pg + (o * count + l) * ln.inner;
                    for (std::size_t i = 0; i < ln.inner; ++i) d[i] += sg[i];
                }
        });
    TAPEGRAD_REPLAY(out, slice_impl(in[0], dim, start, count, step));
    return out;
}
}  // namespace

template <class T> Tensor<T> narrow(const Tensor<T>& x, std::ptrdiff_t dim_, std::int64_t start, std::int64_t length) {
    if (x.dim() == 0) throw ShapeError("narrow: narrow() cannot be applied to a 0-dim tensor.");
    const std::size_t dim = detail::wrap_dim("narrow", dim_, x.dim());
    const auto n = std::int64_t(x.size(std::ptrdiff_t(dim)));
    // torch 1.13 wraps start like a dim (so its message says "Dimension"), start == n excepted
    if (start != n && (start < -std::max<std::int64_t>(n, 1) || start >= std::max<std::int64_t>(n, 1))) {
        const std::int64_t m = std::max<std::int64_t>(n, 1);
        std::ostringstream os;
        os << "narrow: Dimension out of range (expected to be in range of [" << -m << ", " << m - 1 << "], but got "
           << start << ")";
        throw IndexError(os.str());
    }
    if (start < 0) start += n;
    if (length < 0) throw ValueError("narrow: narrow(): length must be non-negative.");
    if (start > n - length) {
        std::ostringstream os;
        os << "narrow: start (" << start << ") + length (" << length << ") exceeds dimension size (" << n << ").";
        throw IndexError(os.str());
    }
    return slice_impl(x, dim, std::size_t(start), std::size_t(length), 1);
}

template <class T>
Tensor<T> slice(const Tensor<T>& x, std::ptrdiff_t dim_, std::optional<std::int64_t> start_,
                std::optional<std::int64_t> end_, std::int64_t step) {
    if (x.dim() == 0) throw ShapeError("slice: slicing a 0-dim tensor: invalid index of a 0-dim tensor");
    const std::size_t dim = detail::wrap_dim("slice", dim_, x.dim());
    if (step <= 0) throw ValueError("slice: step must be greater than zero (got " + std::to_string(step) + ")");
    const auto n = std::int64_t(x.size(std::ptrdiff_t(dim)));
    auto clampi = [n](std::int64_t v) {
        if (v < 0) v += n;
        return v < 0 ? std::int64_t(0) : (v > n ? n : v);
    };
    const std::int64_t b = start_ ? clampi(*start_) : 0;
    std::int64_t e = end_ ? clampi(*end_) : n;
    if (e < b) e = b;
    const std::int64_t count = (e - b + step - 1) / step;
    return slice_impl(x, dim, std::size_t(b), std::size_t(count), std::size_t(step));
}

// (…, n, …) → (…, k, …) picking rows index[0 … k−1] along dim; dx = index_add of g
template <class T> Tensor<T> index_select(const Tensor<T>& x, std::ptrdiff_t dim_, const xt::xarray<std::int64_t>& index) {
    const std::size_t dim = detail::wrap_dim("index_select", dim_, x.dim());
    if (index.dimension() > 1)
        throw ShapeError("index_select: index_select(): Index is supposed to be a vector (got shape " +
                         shape_str(shape_of_any(index)) + ")");
    const Shape s = x.shape();
    const Lines ln = detail::lines_around(s, dim);
    const std::size_t k = index.size();
    std::vector<std::size_t> rows(k);
    for (std::size_t j = 0; j < k; ++j) {
        const std::int64_t v = index.data()[j];
        if (v < 0 || v >= std::int64_t(ln.len)) {
            // torch's CPU kernel words it differently along dim 0 and along the others
            if (dim == 0)
                throw IndexError("index_select: index out of range in self (index " + std::to_string(v) +
                                 " for dimension 0 with size " + std::to_string(ln.len) + ")");
            throw IndexError("index_select: INDICES element is out of DATA bounds, id=" + std::to_string(v) +
                             " axis_dim=" + std::to_string(ln.len));
        }
        rows[j] = std::size_t(v);
    }
    Shape so = s;
    if (!so.empty()) so[dim] = k;
    else if (index.dimension() == 1) so = {k};
    xt::xarray<T> r = xt::xarray<T>::from_shape(so);
    for (std::size_t o = 0; o < ln.outer; ++o)
        for (std::size_t j = 0; j < k; ++j) {
            const T* src = x.value().data() + (o * ln.len + rows[j]) * ln.inner;
            std::copy(src, src + ln.inner, r.data() + (o * k + j) * ln.inner);
        }
    Tensor<T> out(std::move(r));
    if (needs_grad({x}))
        record<T>(out, "index_select", {x}, [x, ln, rows](const xt::xarray<T>& g, const xt::xarray<T>&) {
            bool acc = false;
            auto& buf = x.grad_buffer(acc);
            if (!acc) std::fill(buf.begin(), buf.end(), T(0));
            const std::size_t k = rows.size();
            for (std::size_t o = 0; o < ln.outer; ++o)
                for (std::size_t j = 0; j < k; ++j) {
                    T* d = buf.data() + (o * ln.len + rows[j]) * ln.inner;
                    const T* sg = g.data() + (o * k + j) * ln.inner;
                    for (std::size_t i = 0; i < ln.inner; ++i) d[i] += sg[i];
                }
        });
    TAPEGRAD_REPLAY(out, index_select(in[0], dim_, index));
    return out;
}

// out (index's shape)[…, j, …] = x[…, index[…, j, …], …] along dim; dx = scatter_add of g
template <class T> Tensor<T> gather(const Tensor<T>& x, std::ptrdiff_t dim_, const xt::xarray<std::int64_t>& index) {
    const std::size_t dim = detail::wrap_dim("gather", dim_, x.dim());
    const Shape s = x.shape(), si = shape_of_any(index);
    if (si.size() != s.size())
        throw ShapeError("gather: Index tensor must have the same number of dimensions as input tensor (index " +
                         shape_str(si) + ", input " + shape_str(s) + ")");
    for (std::size_t d = 0; d < s.size(); ++d)
        if (d != dim && si[d] > s[d]) {
            std::ostringstream os;
            os << "gather: Size does not match at dimension " << d << " expected index " << shape_str(si)
               << " to be smaller than self " << shape_str(s) << " apart from dimension " << dim;
            throw ShapeError(os.str());
        }
    const std::size_t nd = s.size();
    std::vector<std::size_t> xst(nd, 1);
    for (std::size_t d = nd; d-- > 1;) xst[d - 1] = xst[d] * s[d];
    const std::size_t len = nd ? s[dim] : 1;
    // for each output element, the flat position in x it reads
    std::vector<std::size_t> src(index.size());
    std::vector<std::size_t> idx(nd, 0);
    for (std::size_t f = 0; f < index.size(); ++f) {
        const std::int64_t v = index.data()[f];
        if (v < 0 || v >= std::int64_t(len))
            throw IndexError("gather: index " + std::to_string(v) + " is out of bounds for dimension " +
                             std::to_string(dim) + " with size " + std::to_string(len));
        std::size_t off = 0;
        for (std::size_t d = 0; d < nd; ++d) off += (d == dim ? std::size_t(v) : idx[d]) * xst[d];
        src[f] = off;
        for (std::size_t d = nd; d-- > 0;) {
            if (++idx[d] < si[d]) break;
            idx[d] = 0;
        }
    }
    xt::xarray<T> r = xt::xarray<T>::from_shape(si);
    for (std::size_t f = 0; f < src.size(); ++f) r.data()[f] = x.value().data()[src[f]];
    Tensor<T> out(std::move(r));
    if (needs_grad({x}))
        record<T>(out, "gather", {x}, [x, src](const xt::xarray<T>& g, const xt::xarray<T>&) {
            bool acc = false;
            auto& buf = x.grad_buffer(acc);
            if (!acc) std::fill(buf.begin(), buf.end(), T(0));
            for (std::size_t f = 0; f < src.size(); ++f) buf.data()[src[f]] += g.data()[f];
        });
    TAPEGRAD_REPLAY(out, gather(in[0], dim_, index));
    return out;
}

// cond ? a : b over the broadcast shape; da = where(cond, g, 0), db = where(cond, 0, g), summed back
template <class T> Tensor<T> where(xt::xarray<bool> cond, Tensor<T> a, Tensor<T> b) {
    const Shape sc = shape_of_any(cond);
    const Shape sh = detail::broadcast_shapes("where", detail::broadcast_shapes("where", sc, a.shape()), b.shape());
    auto c = std::make_shared<xt::xarray<bool>>(xt::broadcast(cond, sh));
    xt::xarray<T> ab = xt::broadcast(a.value(), sh), bb = xt::broadcast(b.value(), sh);
    xt::xarray<T> r = xt::xarray<T>::from_shape(sh);
    for (std::size_t i = 0; i < r.size(); ++i) r.data()[i] = c->data()[i] ? ab.data()[i] : bb.data()[i];
    Tensor<T> out(std::move(r));
    if (needs_grad({a, b}))
        record<T>(out, "where", {a, b}, [a, b, c](const xt::xarray<T>& g, const xt::xarray<T>&) {
            for (int side = 0; side < 2; ++side) {
                const Tensor<T>& t = side == 0 ? a : b;
                if (!t.requires_grad()) continue;
                xt::xarray<T> d = xt::xarray<T>::from_shape(g.shape());
                for (std::size_t i = 0; i < d.size(); ++i)
                    d.data()[i] = (c->data()[i] == (side == 0)) ? g.data()[i] : T(0);
                detail::accumulate_to(t, d);
            }
        });
    TAPEGRAD_REPLAY(out, where(cond, in[0], in[1]));
    return out;
}

#define TAPEGRAD_INSTANTIATE(T)                                                                          \
    template Tensor<T> cat(const std::vector<Tensor<T>>&, std::ptrdiff_t);                               \
    template Tensor<T> stack(const std::vector<Tensor<T>>&, std::ptrdiff_t);                             \
    template Tensor<T> narrow(const Tensor<T>&, std::ptrdiff_t, std::int64_t, std::int64_t);             \
    template Tensor<T> slice(const Tensor<T>&, std::ptrdiff_t, std::optional<std::int64_t>,              \
                             std::optional<std::int64_t>, std::int64_t);                                 \
    template Tensor<T> index_select(const Tensor<T>&, std::ptrdiff_t, const xt::xarray<std::int64_t>&); \
    template Tensor<T> gather(const Tensor<T>&, std::ptrdiff_t, const xt::xarray<std::int64_t>&);       \
    template Tensor<T> where(xt::xarray<bool>, Tensor<T>, Tensor<T>);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
