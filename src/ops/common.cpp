// The helpers every op header declares (ops/common.hpp): dims, broadcasting, and its reverse.
#include <sstream>

#include <xtensor/xreducer.hpp>

#include "tapegrad/ops/common.hpp"

namespace tapegrad {
namespace detail {

std::size_t wrap_dim(const char* op, std::ptrdiff_t dim, std::size_t ndim) {
    // torch treats a 0-d tensor as having one dim for wrapping purposes
    auto n = static_cast<std::ptrdiff_t>(ndim == 0 ? 1 : ndim);
    std::ptrdiff_t k = dim < 0 ? dim + n : dim;
    if (k < 0 || k >= n) {
        std::ostringstream os;
        os << op << ": Dimension out of range (expected to be in range of [" << -n << ", " << n - 1 << "], but got "
           << dim << ")";
        throw IndexError(os.str());
    }
    return static_cast<std::size_t>(k);
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
    const std::size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (std::size_t i = 0; i < n; ++i) {
        // align from the right, as numpy and torch do
        std::size_t da = i + a.size() >= n ? a[i + a.size() - n] : 1;
        std::size_t db = i + b.size() >= n ? b[i + b.size() - n] : 1;
        if (da != db && da != 1 && db != 1) {
            std::ostringstream os;
            os << op << ": The size of tensor a (" << da << ") must match the size of tensor b (" << db
               << ") at non-singleton dimension " << i << " (shapes " << shape_str(a) << " and " << shape_str(b)
               << ")";
            throw ShapeError(os.str());
        }
        out[i] = da == 1 ? db : da;
    }
    return out;
}

template <class T> xt::xarray<T> sum_to(const xt::xarray<T>& g, const Shape& shape) {
    // An empty g (a zero-size batch dim) sums nothing into every element: zeros. xtensor's
    // immediate sum over a zero-length axis leaves its result uninitialised, so it is never asked.
    if (g.size() == 0) return xt::xarray<T>(xt::zeros<T>(shape));
    const std::size_t lead = g.dimension() - shape.size();
    std::vector<std::size_t> axes;
    for (std::size_t i = 0; i < g.dimension(); ++i)
        if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) axes.push_back(i);
    if (axes.empty()) {
        xt::xarray<T> r = g;
        r.reshape(shape);
        return r;
    }
    xt::xarray<T> r = xt::sum(g, axes, xt::evaluation_strategy::immediate);
    r.reshape(shape);
    return r;
}
template xt::xarray<float> sum_to(const xt::xarray<float>&, const Shape&);
template xt::xarray<double> sum_to(const xt::xarray<double>&, const Shape&);

}  // namespace detail

}  // namespace tapegrad
