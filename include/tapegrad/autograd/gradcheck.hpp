#pragma once
// gradcheck: compares the tape's Jacobian with finite differences, as
// torch.autograd.gradcheck does: every entry must satisfy
//     |analytical − numerical| ≤ atol + rtol·|numerical|
// Use float64 inputs: the defaults (eps = 1e-6) assume double precision, and float32 inputs draw
// a warning. Besides the Jacobian, torch's other checks run too:
//   - backward twice gives the same values (within nondet_tol): "backward not reentrant";
//   - backward with a zero grad_output gives zero gradients: "backward not multiplied by
//     grad_output" (a backward that ignores grad_output passes the Jacobian test when the output
//     has one element, since the one-hot seed is 1);
//   - check_undefined_grad: with one input not requiring grad, backward neither throws nor writes
//     a gradient to that input, and the other inputs get the same gradients: "backward does not
//     handle an input without grad".
// fast_mode compares vᵀJu (random unit u per input, v per output) instead of every entry, with
// the absolute tolerance NOT scaled; when it fails, the full Jacobian runs for the detailed report.
// Where the forward is not smooth inside the stencil (ReLU at 0, ties in max, abs at 0, clamp at
// a bound) the one-sided differences disagree: such an entry is reported as a kink, and does not
// fail when the analytical value lies between the one-sided derivatives.
//
//   autograd::gradcheck(fn, inputs);                                       // positional defaults
//   autograd::gradcheck(fn, inputs, GradcheckOptions().fast_mode(true).atol(1e-6));
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <type_traits>
#include <vector>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace autograd {

// How the numerical derivative is estimated (h = eps):
//   Central      (f(x+h) − f(x−h)) / 2h                                  error O(h²), torch's
//   Richardson   (4·D(h/2) − D(h)) / 3 of central differences D            error O(h⁴)
//   SixPoint     (−f₋₃ + 9f₋₂ − 45f₋₁ + 45f₁ − 9f₂ + f₃) / 60h (f_k = f(x+kh))  error O(h⁶)
enum class FiniteDifference { Central, Richardson, SixPoint };
const char* to_string(FiniteDifference s);

struct GradcheckOptions {
    // The step. auto_eps(true) picks one per element instead: c·max(1, |x|) with c = machine
    // epsilon^(1/3) (Central), ^(1/5) (Richardson), ^(1/7) (SixPoint) of the input's type.
    GradcheckOptions& eps(double v) { eps_ = v; return *this; }
    GradcheckOptions& auto_eps(bool v) { auto_eps_ = v; return *this; }
    GradcheckOptions& atol(double v) { atol_ = v; return *this; }
    GradcheckOptions& rtol(double v) { rtol_ = v; return *this; }
    // Tolerances for the Jacobian of one input (overrides atol/rtol for it).
    GradcheckOptions& input_tolerance(std::size_t input, double atol, double rtol) {
        per_input_.push_back({input, atol, rtol});
        return *this;
    }
    // Largest difference allowed between two backward runs (0: bit-identical).
    GradcheckOptions& nondet_tol(double v) { nondet_tol_ = v; return *this; }
    GradcheckOptions& check_undefined_grad(bool v) { check_undefined_grad_ = v; return *this; }
    GradcheckOptions& check_grad_output(bool v) { check_grad_output_ = v; return *this; }
    GradcheckOptions& fast_mode(bool v) { fast_mode_ = v; return *this; }
    GradcheckOptions& scheme(FiniteDifference s) { scheme_ = s; return *this; }
    GradcheckOptions& detect_kinks(bool v) { detect_kinks_ = v; return *this; }
    GradcheckOptions& seed(std::uint64_t v) { seed_ = v; return *this; }  // fast mode's u and v

    struct InputTolerance {
        std::size_t input;
        double atol, rtol;
    };
    double eps() const { return eps_; }
    bool auto_eps() const { return auto_eps_; }
    double atol() const { return atol_; }
    double rtol() const { return rtol_; }
    const std::vector<InputTolerance>& input_tolerances() const { return per_input_; }
    double nondet_tol() const { return nondet_tol_; }
    bool check_undefined_grad() const { return check_undefined_grad_; }
    bool check_grad_output() const { return check_grad_output_; }
    bool fast_mode() const { return fast_mode_; }
    FiniteDifference scheme() const { return scheme_; }
    bool detect_kinks() const { return detect_kinks_; }
    std::uint64_t seed() const { return seed_; }

private:
    double eps_ = 1e-6, atol_ = 1e-5, rtol_ = 1e-3, nondet_tol_ = 0;
    bool auto_eps_ = false, check_undefined_grad_ = true, check_grad_output_ = true, fast_mode_ = false,
         detect_kinks_ = true;
    FiniteDifference scheme_ = FiniteDifference::Central;
    std::uint64_t seed_ = 0x5eed;
    std::vector<InputTolerance> per_input_;
};

// An entry where the forward is not smooth inside the stencil.
struct Kink {
    std::size_t output_index = 0, input_index = 0, output_element = 0, input_element = 0;
    double left = 0, right = 0, analytical = 0;  // the one-sided derivatives, and the tape's value
    bool analytical_between = false;             // left ≤ analytical ≤ right (or the reverse), within tolerance
};

struct GradcheckResult {
    bool ok = true;
    // "" when ok; else "jacobian mismatch", "fast mode mismatch" (only when the full Jacobian is
    // not run), "backward not reentrant", "backward not multiplied by grad_output" or
    // "backward does not handle an input without grad"
    std::string what;
    std::size_t output_index = 0, input_index = 0;      // which output, which input
    std::size_t output_element = 0, input_element = 0;  // flat indices of the worst entry
    Shape output_position, input_position;              // the same as multi-indices
    double numerical = 0, analytical = 0;               // at the worst entry
    double max_error = 0;          // largest |analytical − numerical| over every Jacobian checked
    std::size_t mismatches = 0;    // entries out of tolerance
    std::size_t checked = 0;       // Jacobian entries compared (vᵀJu products in fast mode)
    double eps = 0, atol = 0, rtol = 0;
    std::string mode;              // "full", "fast" or "fast, then full"
    FiniteDifference scheme = FiniteDifference::Central;
    std::vector<Kink> kinks;       // entries at a kink (not counted as mismatches when between)
    std::vector<double> input_max_error;         // per input: its worst |analytical − numerical|
    std::vector<std::size_t> input_mismatches;   // per input: its entries out of tolerance
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
GradcheckResult gradcheck_impl(const GradcheckFn<T>& fn, const std::vector<Tensor<T>>& inputs,
                               const GradcheckOptions& options);

namespace detail {
// gradcheck on the inputs themselves, not copies: they are perturbed in place (and restored) and
// receive gradients. For gradcheck_module, whose function reads the tensors through a model;
// check_undefined_grad must be off (it calls fn with other tensors).
template <class T>
GradcheckResult gradcheck_in_place(const GradcheckFn<T>& fn, const std::vector<Tensor<T>>& inputs,
                                   const GradcheckOptions& options);

template <class F, class T> GradcheckFn<T> wrap_gradcheck_fn(F& fn, const std::vector<Tensor<T>>& inputs) {
    using R = std::decay_t<decltype(fn(inputs))>;
    if constexpr (std::is_same_v<R, Tensor<T>>)
        return [&fn](const std::vector<Tensor<T>>& xs) { return std::vector<Tensor<T>>{fn(xs)}; };
    else
        return [&fn](const std::vector<Tensor<T>>& xs) { return std::vector<Tensor<T>>(fn(xs)); };
}
}  // namespace detail

// fn may return one Tensor or a std::vector of them.
template <class F, class T>
GradcheckResult gradcheck(F&& fn, const std::vector<Tensor<T>>& inputs, const GradcheckOptions& options) {
    return gradcheck_impl<T>(detail::wrap_gradcheck_fn(fn, inputs), inputs, options);
}
template <class F, class T>
GradcheckResult gradcheck(F&& fn, const std::vector<Tensor<T>>& inputs, double eps = 1e-6, double atol = 1e-5,
                          double rtol = 1e-3) {
    return gradcheck_impl<T>(detail::wrap_gradcheck_fn(fn, inputs), inputs,
                             GradcheckOptions().eps(eps).atol(atol).rtol(rtol));
}

}  // namespace autograd
}  // namespace tapegrad
