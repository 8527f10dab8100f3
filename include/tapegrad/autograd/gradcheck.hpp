#pragma once
// gradcheck: compares the tape's Jacobian with central differences, as
// torch.autograd.gradcheck does: every entry must satisfy
//     |analytical − numerical| ≤ atol + rtol·|numerical|
// and running backward twice must give the same values. Use float64 inputs: the defaults
// (eps = 1e-6) assume double precision, and float32 inputs draw a warning.
#include <functional>
#include <iosfwd>
#include <string>
#include <type_traits>
#include <vector>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace autograd {

struct GradcheckResult {
    bool ok = true;
    std::string what;            // "" when ok; else "jacobian mismatch" or "backward not reentrant"
    std::size_t output_index = 0, input_index = 0;      // which output, which input
    std::size_t output_element = 0, input_element = 0;  // flat indices of the worst entry
    Shape output_position, input_position;              // the same as multi-indices
    double numerical = 0, analytical = 0;               // at the worst entry
    double max_error = 0;          // largest |analytical − numerical| over every Jacobian checked
    std::size_t mismatches = 0;    // entries out of tolerance
    std::size_t checked = 0;       // Jacobian entries compared
    double eps = 0, atol = 0, rtol = 0;
    std::vector<std::string> warnings;
    std::string report;            // the readable report (also what operator<< prints)
    explicit operator bool() const { return ok; }
};
std::ostream& operator<<(std::ostream& os, const GradcheckResult& r);

template <class T>
using GradcheckFn = std::function<std::vector<Tensor<T>>(const std::vector<Tensor<T>>&)>;

// The inputs are copied (their gradients are not touched); only those with requires_grad are
// differentiated. Throws ValueError when no input requires grad or an argument is invalid.
template <class T>
GradcheckResult gradcheck_impl(const GradcheckFn<T>& fn, const std::vector<Tensor<T>>& inputs, double eps,
                               double atol, double rtol);

// fn may return one Tensor or a std::vector of them.
template <class F, class T>
GradcheckResult gradcheck(F&& fn, const std::vector<Tensor<T>>& inputs, double eps = 1e-6, double atol = 1e-5,
                          double rtol = 1e-3) {
    using R = std::decay_t<decltype(fn(inputs))>;
    GradcheckFn<T> wrapped;
    if constexpr (std::is_same_v<R, Tensor<T>>)
        wrapped = [&fn](const std::vector<Tensor<T>>& xs) { return std::vector<Tensor<T>>{fn(xs)}; };
    else
        wrapped = [&fn](const std::vector<Tensor<T>>& xs) { return std::vector<Tensor<T>>(fn(xs)); };
    return gradcheck_impl<T>(wrapped, inputs, eps, atol, rtol);
}

}  // namespace autograd
}  // namespace tapegrad
