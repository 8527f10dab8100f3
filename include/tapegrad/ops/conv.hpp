#pragma once
// conv2d, max_pool2d, avg_pool2d, adaptive_avg_pool2d (torch.nn.functional), forward and backward.
// Each op is defined with its backward beside it in src/ops/conv.cpp, instantiated for float and
// double. Inputs are (N, C, H, W) or unbatched (C, H, W), as torch accepts; the output has the
// same batchedness. Bad arguments and shapes throw ShapeError/ValueError in torch's words.
#include <cstddef>
#include <optional>
#include <string>

#include "tapegrad/ops/common.hpp"

namespace tapegrad {

// A pair (h, w) given as one number (both) or two, as torch's int-or-tuple arguments
// (libtorch's ExpandingArray<2>): `3`, `{3, 5}`. `scalar` remembers the one-number form, which
// torch's pool reprs print as a number.
struct Size2 {
    Size2(std::size_t v) : h(v), w(v), scalar(true) {}  // NOLINT: implicit, as torch's int argument
    Size2(std::size_t h_, std::size_t w_) : h(h_), w(w_), scalar(false) {}
    bool operator==(const Size2& o) const { return h == o.h && w == o.w; }
    bool operator!=(const Size2& o) const { return !(*this == o); }
    std::size_t h, w;
    bool scalar;
};

// conv2d's padding: numbers (h, w), or torch's strings "same" (output size = input size; stride 1
// only; an odd total padding puts the extra row/column at the bottom/right, as torch does) and
// "valid" (no padding). Any other string is ValueError "Invalid padding string: 'x'".
struct Conv2dPadding {
    Conv2dPadding(std::size_t v) : size(v) {}  // NOLINT
    Conv2dPadding(int v);  // NOLINT: so a literal 0 is a number, not a null string; < 0 is ValueError
    Conv2dPadding(std::size_t h, std::size_t w) : size(h, w) {}
    Conv2dPadding(const char* s) : Conv2dPadding(std::string(s)) {}  // NOLINT
    Conv2dPadding(const std::string& s);                            // NOLINT
    enum Mode { Explicit, Same, Valid };
    Mode mode = Explicit;
    Size2 size{0};
};

// The optional arguments of conv2d, libtorch's F::Conv2dFuncOptions.
struct Conv2dFuncOptions {
    Conv2dFuncOptions& stride(Size2 v) { stride_ = v; return *this; }
    Conv2dFuncOptions& padding(Conv2dPadding v) { padding_ = v; return *this; }
    Conv2dFuncOptions& dilation(Size2 v) { dilation_ = v; return *this; }
    Conv2dFuncOptions& groups(std::size_t v) { groups_ = v; return *this; }
    Size2 stride_{1};
    Conv2dPadding padding_{0};
    Size2 dilation_{1};
    std::size_t groups_ = 1;
};

// F.conv2d(input, weight, bias, stride, padding, dilation, groups): input (N, C, H, W) or
// (C, H, W); weight (O, C/groups, kH, kW); bias (O) or undefined → (N, O, Ho, Wo) with
// Ho = (H + pad_top + pad_bottom − dilation·(kH − 1) − 1)/stride + 1. Lowered to im2col + BLAS GEMM
// per image and group; the backward gives dinput = col2im(Wᵀ·g), dweight = Σ_images g·colsᵀ,
// dbias = Σ g.
template <class T>
Tensor<T> conv2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>(),
                 const Conv2dFuncOptions& options = Conv2dFuncOptions());
// Positional form, as torch's argument order.
template <class T>
Tensor<T> conv2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias, Size2 stride,
                 Conv2dPadding padding = 0, Size2 dilation = 1, std::size_t groups = 1);

// Options of max_pool2d / nn::MaxPool2d (libtorch's MaxPool2dOptions). stride unset = kernel_size.
struct MaxPool2dOptions {
    MaxPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size) {}  // NOLINT
    MaxPool2dOptions& stride(Size2 v) { stride_ = v; return *this; }
    MaxPool2dOptions& padding(Size2 v) { padding_ = v; return *this; }
    MaxPool2dOptions& dilation(Size2 v) { dilation_ = v; return *this; }
    MaxPool2dOptions& ceil_mode(bool v) { ceil_mode_ = v; return *this; }
    Size2 kernel_size_;
    std::optional<Size2> stride_;
    Size2 padding_{0};
    Size2 dilation_{1};
    bool ceil_mode_ = false;
};
using MaxPool2dFuncOptions = MaxPool2dOptions;

// F.max_pool2d: the max over each (dilated) window; padding counts as −inf. The gradient goes to
// the arg-max as torch picks it: the first maximum in row-major scan order, except that a NaN
// always takes over (so the last NaN of a window wins, and the output is NaN). Output size as
// torch's pooling_output_shape (ceil_mode: a last window must start inside the input or the left
// padding). padding ≤ kernel/2.
template <class T> Tensor<T> max_pool2d(const Tensor<T>& input, const MaxPool2dOptions& options);
template <class T>
Tensor<T> max_pool2d(const Tensor<T>& input, Size2 kernel_size, std::optional<Size2> stride = std::nullopt,
                     Size2 padding = 0, Size2 dilation = 1, bool ceil_mode = false);

// Options of avg_pool2d / nn::AvgPool2d (libtorch's AvgPool2dOptions). stride unset = kernel_size.
struct AvgPool2dOptions {
    AvgPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size) {}  // NOLINT
    AvgPool2dOptions& stride(Size2 v) { stride_ = v; return *this; }
    AvgPool2dOptions& padding(Size2 v) { padding_ = v; return *this; }
    AvgPool2dOptions& ceil_mode(bool v) { ceil_mode_ = v; return *this; }
    AvgPool2dOptions& count_include_pad(bool v) { count_include_pad_ = v; return *this; }
    AvgPool2dOptions& divisor_override(std::optional<std::int64_t> v) { divisor_override_ = v; return *this; }
    Size2 kernel_size_;
    std::optional<Size2> stride_;
    Size2 padding_{0};
    bool ceil_mode_ = false;
    bool count_include_pad_ = true;
    std::optional<std::int64_t> divisor_override_;
};
using AvgPool2dFuncOptions = AvgPool2dOptions;

// F.avg_pool2d: the window's sum divided by divisor_override, else by the window's size clipped
// to the padded input (count_include_pad) or to the input itself; a window wholly in the padding
// gives 0. Gradient g/divisor to each element of the window.
template <class T> Tensor<T> avg_pool2d(const Tensor<T>& input, const AvgPool2dOptions& options);
template <class T>
Tensor<T> avg_pool2d(const Tensor<T>& input, Size2 kernel_size, std::optional<Size2> stride = std::nullopt,
                     Size2 padding = 0, bool ceil_mode = false, bool count_include_pad = true,
                     std::optional<std::int64_t> divisor_override = std::nullopt);

// F.adaptive_avg_pool2d(input, output_size): output cell (i, j) averages rows
// [⌊i·H/Ho⌋, ⌈(i+1)·H/Ho⌉) and columns [⌊j·W/Wo⌋, ⌈(j+1)·W/Wo⌉) (torch's index formulas).
template <class T> Tensor<T> adaptive_avg_pool2d(const Tensor<T>& input, Size2 output_size);

}  // namespace tapegrad
