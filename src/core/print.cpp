// Text forms of tensors and arrays.
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {

namespace {
template <class T> void emit(std::ostream& os, const T* d, const Shape& s, std::size_t dim, std::size_t& k, int prec) {
    if (s.empty()) {
        T v = d[k++];
        if (std::isnan(v)) os << "nan";
        else if (std::isinf(v)) os << (v > 0 ? "inf" : "-inf");
        else os << std::fixed << std::setprecision(prec) << v;
        return;
    }
    if (dim == s.size()) {
        T v = d[k++];
        if (std::isnan(v)) os << "nan";
        else if (std::isinf(v)) os << (v > 0 ? "inf" : "-inf");
        else os << std::fixed << std::setprecision(prec) << v;
        return;
    }
    os << '[';
    for (std::size_t i = 0; i < s[dim]; ++i) {
        if (i) os << ", ";
        emit(os, d, s, dim + 1, k, prec);
    }
    os << ']';
}
}  // namespace

template <class T> std::string format_array(const xt::xarray<T>& a, int precision) {
    std::ostringstream os;
    std::size_t k = 0;
    emit(os, a.data(), Shape(a.shape().begin(), a.shape().end()), 0, k, precision);
    return os.str();
}

template <class T> std::ostream& operator<<(std::ostream& os, const Tensor<T>& t) {
    if (!t.defined()) return os << "tensor(undefined)";
    os << "tensor(" << format_array(t.value());
    if (std::is_same<T, double>::value) os << ", dtype=float64";
    if (t.requires_grad()) os << (t.is_leaf() ? ", requires_grad=True" : ", grad_fn=<" + t.grad_fn() + ">");
    return os << ')';
}

template std::string format_array(const xt::xarray<float>&, int);
template std::string format_array(const xt::xarray<double>&, int);
template std::ostream& operator<<(std::ostream&, const Tensor<float>&);
template std::ostream& operator<<(std::ostream&, const Tensor<double>&);

}  // namespace tapegrad
