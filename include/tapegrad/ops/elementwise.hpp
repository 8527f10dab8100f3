#pragma once
// Element-wise ops and activations, with PyTorch broadcasting.
// Each op is defined with its backward beside it in src/ops/elementwise.cpp, instantiated for float and double.
#include <optional>
#include <string>

#include "tapegrad/ops/common.hpp"

namespace tapegrad {

// ---- element-wise, with PyTorch broadcasting (gradients summed back to each input's shape)
template <class T> Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b);
// With a Python-number operand: a + s, s - a, …
template <class T> Tensor<T> add(const Tensor<T>& a, Scalar<T> s);
template <class T> Tensor<T> mul(const Tensor<T>& a, Scalar<T> s);
template <class T> Tensor<T> div(const Tensor<T>& a, Scalar<T> s);   // a / s, a true division
template <class T> Tensor<T> rsub(const Tensor<T>& a, Scalar<T> s);  // s - a
template <class T> Tensor<T> rdiv(const Tensor<T>& a, Scalar<T> s);  // s / a, as torch: (1/a)·s
template <class T> Tensor<T> neg(const Tensor<T>& a);
template <class T> Tensor<T> pow(const Tensor<T>& a, Scalar<T> exponent);
template <class T> Tensor<T> exp(const Tensor<T>& a);
template <class T> Tensor<T> log(const Tensor<T>& a);
template <class T> Tensor<T> sqrt(const Tensor<T>& a);
template <class T> Tensor<T> abs(const Tensor<T>& a);  // gradient sign(a), 0 at 0 as torch
// Either bound may be absent (not both); gradient 1 inside [min, max], bounds included.
template <class T>
Tensor<T> clamp(const Tensor<T>& a, std::optional<Scalar<T>> min, std::optional<Scalar<T>> max = std::nullopt);

// torch.maximum / torch.minimum (broadcasting, NaN propagated); on ties each input gets half
// the gradient, as torch.
template <class T> Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b);
// torch.pow(Tensor, Tensor): a tensor exponent, broadcasting; no exponent gradient where a == 0
// and b >= 0 (torch's pow_backward_exponent), no base gradient where b == 0.
template <class T> Tensor<T> pow(const Tensor<T>& a, const Tensor<T>& exponent);
template <class T> Tensor<T> log1p(const Tensor<T>& a);
template <class T> Tensor<T> square(const Tensor<T>& a);

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
template <class T> Tensor<T> operator/(const Tensor<T>& a, Scalar<T> s) { return div(a, s); }
template <class T> Tensor<T> operator/(Scalar<T> s, const Tensor<T>& a) { return rdiv(a, s); }

// ---- activations
template <class T> Tensor<T> relu(const Tensor<T>& a);
template <class T> Tensor<T> sigmoid(const Tensor<T>& a);
template <class T> Tensor<T> tanh(const Tensor<T>& a);
// F.gelu(x, approximate='none' | 'tanh'): x·Φ(x), or its tanh approximation.
enum class GeluApproximate { None, Tanh };
// "none" | "tanh"; anything else is a ValueError (torch's text).
GeluApproximate gelu_approximate_from_string(const std::string& s);
const char* to_string(GeluApproximate a);
template <class T> Tensor<T> gelu(const Tensor<T>& a, GeluApproximate approximate = GeluApproximate::None);
template <class T> Tensor<T> gelu(const Tensor<T>& a, const std::string& approximate);
// F.leaky_relu(x, negative_slope=0.01)
template <class T> Tensor<T> leaky_relu(const Tensor<T>& a, Scalar<T> negative_slope = 0.01);

}  // namespace tapegrad
