// Shape ops: reshape, flatten, transpose, permute. Each returns a new contiguous tensor.
#include <numeric>
#include <sstream>

#include <xtensor/xmanipulation.hpp>

#include "internal.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {

// Same elements, new shape (one size may be -1); gradient reshaped back
template <class T> Tensor<T> reshape(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& shape) {
    const std::size_t n = a.numel();
    Shape s(shape.size());
    std::ptrdiff_t infer = -1;
    std::size_t known = 1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            if (infer >= 0) throw ValueError("reshape: only one dimension can be inferred");
            infer = static_cast<std::ptrdiff_t>(i);
        } else if (shape[i] < 0) {
            throw ValueError("reshape: invalid shape dimension " + std::to_string(shape[i]));
        } else {
            s[i] = static_cast<std::size_t>(shape[i]);
            if (__builtin_mul_overflow(known, s[i], &known))
                throw ShapeError("reshape: shape has more elements than memory can hold (input shape " +
                                 shape_str(a.shape()) + ")");
        }
    }
    auto fail = [&]() {
        std::ostringstream os;
        os << "reshape: shape '[";
        for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
        os << "]' is invalid for input of size " << n << " (input shape " << shape_str(a.shape()) << ")";
        throw ShapeError(os.str());
    };
    if (infer >= 0) {
        if (known == 0 || n % known) fail();
        s[static_cast<std::size_t>(infer)] = n / known;
    } else if (known != n) {
        fail();
    }
    xt::xarray<T> v = a.value();
    v.reshape(s);
    Tensor<T> out(std::move(v));
    if (needs_grad({a}))
        record<T>(out, "reshape", {a}, [a](const xt::xarray<T>& g, const xt::xarray<T>&) {
            bool acc = false;
            auto& buf = a.grad_buffer(acc);
            T* pb = buf.data();
            const T* pg = g.data();
            for (std::size_t i = 0, m = g.size(); i < m; ++i) pb[i] = acc ? pb[i] + pg[i] : pg[i];
        });
    TAPEGRAD_REPLAY(out, reshape(in[0], shape));
    return out;
}

template <class T> Tensor<T> flatten(const Tensor<T>& a, std::ptrdiff_t start_dim, std::ptrdiff_t end_dim) {
    const Shape s = a.shape();
    if (s.empty()) return reshape(a, {1});
    const std::size_t b = detail::wrap_dim("flatten", start_dim, s.size());
    const std::size_t e = detail::wrap_dim("flatten", end_dim, s.size());
    if (b > e) throw ValueError("flatten: flatten() has invalid args: start_dim cannot come after end_dim");
    std::vector<std::ptrdiff_t> ns;
    for (std::size_t i = 0; i < b; ++i) ns.push_back(static_cast<std::ptrdiff_t>(s[i]));
    std::size_t p = 1;
    for (std::size_t i = b; i <= e; ++i) p *= s[i];
    ns.push_back(static_cast<std::ptrdiff_t>(p));
    for (std::size_t i = e + 1; i < s.size(); ++i) ns.push_back(static_cast<std::ptrdiff_t>(s[i]));
    return reshape(a, ns);
}

// y = aᵀ over (dims[0..]) ; gradient permuted by the inverse permutation
template <class T> Tensor<T> permute(const Tensor<T>& a, const std::vector<std::ptrdiff_t>& dims) {
    const std::size_t nd = a.dim();
    if (dims.size() != nd) {
        std::ostringstream os;
        os << "permute: number of dims don't match in permute (input shape " << shape_str(a.shape()) << " has " << nd
           << " dims, got " << dims.size() << ")";
        throw ShapeError(os.str());
    }
    std::vector<std::size_t> perm(nd), inv(nd);
    std::vector<bool> seen(nd, false);
    for (std::size_t i = 0; i < nd; ++i) {
        perm[i] = detail::wrap_dim("permute", dims[i], nd);
        if (seen[perm[i]]) throw ValueError("permute: repeated dim in permute");
        seen[perm[i]] = true;
        inv[perm[i]] = i;
    }
    Tensor<T> out(xt::xarray<T>(xt::transpose(a.value(), perm)));
    if (needs_grad({a}))
        record<T>(out, "permute", {a}, [a, inv](const xt::xarray<T>& g, const xt::xarray<T>&) {
            a.accumulate_grad(xt::xarray<T>(xt::transpose(g, inv)));
        });
    TAPEGRAD_REPLAY(out, permute(in[0], dims));
    return out;
}

template <class T> Tensor<T> transpose(const Tensor<T>& a, std::ptrdiff_t d0, std::ptrdiff_t d1) {
    const std::size_t nd = a.dim();
    if (nd == 0) {  // torch allows transposing a 0-d tensor with dims 0/-1
        detail::wrap_dim("transpose", d0, nd);
        detail::wrap_dim("transpose", d1, nd);
        return reshape(a, {});
    }
    std::vector<std::ptrdiff_t> dims(nd);
    std::iota(dims.begin(), dims.end(), 0);
    std::swap(dims[detail::wrap_dim("transpose", d0, nd)], dims[detail::wrap_dim("transpose", d1, nd)]);
    return permute(a, dims);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                    \
    template Tensor<T> reshape(const Tensor<T>&, const std::vector<std::ptrdiff_t>&);              \
    template Tensor<T> flatten(const Tensor<T>&, std::ptrdiff_t, std::ptrdiff_t);                  \
    template Tensor<T> transpose(const Tensor<T>&, std::ptrdiff_t, std::ptrdiff_t);                \
    template Tensor<T> permute(const Tensor<T>&, const std::vector<std::ptrdiff_t>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
