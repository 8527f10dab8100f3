// gradcheck: numerical (central differences) against analytical (the tape) Jacobians.
#include <cmath>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xadapt.hpp>

#include "tapegrad/autograd/gradcheck.hpp"
#include "tapegrad/core/tape.hpp"

namespace tapegrad {
namespace autograd {

std::ostream& operator<<(std::ostream& os, const GradcheckResult& r) { return os << r.report; }

namespace {

Shape unravel(std::size_t flat, const Shape& shape) {
    Shape idx(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        idx[d] = shape[d] ? flat % shape[d] : 0;
        flat = shape[d] ? flat / shape[d] : 0;
    }
    return idx;
}

// J[j][k] = ∂ out_k / ∂ in_j, stored row-major (n_in × n_out).
struct Jacobian {
    std::size_t rows = 0, cols = 0;
    std::vector<double> v;
    double& at(std::size_t j, std::size_t k) { return v[j * cols + k]; }
    double at(std::size_t j, std::size_t k) const { return v[j * cols + k]; }
};

template <class T> std::vector<Tensor<T>> call(const GradcheckFn<T>& fn, const std::vector<Tensor<T>>& xs) {
    auto outs = fn(xs);
    for (std::size_t o = 0; o < outs.size(); ++o)
        if (!outs[o].defined()) throw ValueError("gradcheck: the function returned an undefined tensor as output " + std::to_string(o));
    return outs;
}

// The outputs' values, copied: an output may be an input itself (the identity, or an input
// returned among other outputs), and gradcheck perturbs the inputs in place right after the call.
template <class T> std::vector<xt::xarray<T>> values_of(const std::vector<Tensor<T>>& outs) {
    std::vector<xt::xarray<T>> v;
    v.reserve(outs.size());
    for (const auto& o : outs) v.push_back(o.value());
    return v;
}

// Analytical Jacobians for every (output, input) pair from one forward: one backward per output element.
template <class T>
std::vector<std::vector<Jacobian>> analytical(const GradcheckFn<T>& fn, const std::vector<Tensor<T>>& xs) {
    auto outs = call(fn, xs);
    std::vector<std::vector<Jacobian>> J(outs.size(), std::vector<Jacobian>(xs.size()));
    for (std::size_t o = 0; o < outs.size(); ++o) {
        const std::size_t no = outs[o].numel();
        for (std::size_t i = 0; i < xs.size(); ++i) J[o][i] = Jacobian{xs[i].numel(), no, std::vector<double>(xs[i].numel() * no, 0.0)};
        if (!outs[o].requires_grad()) continue;  // does not depend on any input: zeros
        for (std::size_t k = 0; k < no; ++k) {
            for (auto& x : xs) const_cast<Tensor<T>&>(x).zero_grad(true);
            xt::xarray<T> seed = xt::zeros<T>(outs[o].value().shape());
            seed.data()[k] = T(1);
            outs[o].backward(Tensor<T>(seed), /*retain_graph=*/true);
            for (std::size_t i = 0; i < xs.size(); ++i)
                if (xs[i].requires_grad() && xs[i].has_grad())
                    for (std::size_t j = 0; j < xs[i].numel(); ++j) J[o][i].at(j, k) = double(xs[i].grad().data()[j]);
        }
    }
    for (auto& x : xs) const_cast<Tensor<T>&>(x).zero_grad(true);
    return J;
}

// ‖A − N‖_F / ‖N‖_F: how far off the backward is overall, beside the worst entry.
double relative_frobenius_error(const Jacobian& a, const Jacobian& n) {
    const auto na = xt::adapt(a.v, {a.rows, a.cols}), nn = xt::adapt(n.v, {n.rows, n.cols});
    return xt::linalg::norm(xt::eval(na - nn)) / xt::linalg::norm(nn);
}

std::string fmt(double x) {
    std::ostringstream os;
    os << std::setprecision(12) << std::scientific << x;
    return os.str();
}

void print_jacobians(std::ostream& os, const Jacobian& num, const Jacobian& ana) {
    os << "  numerical | analytical Jacobian (row = input element, column = output element):\n";
    for (std::size_t j = 0; j < num.rows; ++j) {
        os << "    ";
        for (std::size_t k = 0; k < num.cols; ++k) os << std::setw(12) << std::setprecision(5) << num.at(j, k) << ' ';
        os << " | ";
        for (std::size_t k = 0; k < num.cols; ++k) os << std::setw(12) << std::setprecision(5) << ana.at(j, k) << ' ';
        os << '\n';
    }
}

}  // namespace

template <class T>
GradcheckResult gradcheck_impl(const GradcheckFn<T>& fn, const std::vector<Tensor<T>>& inputs, double eps, double atol,
                               double rtol) {
    if (!(eps > 0)) throw ValueError("gradcheck: eps must be positive, got " + std::to_string(eps));
    if (!(atol >= 0) || !(rtol >= 0)) throw ValueError("gradcheck: atol and rtol must be non-negative");
    GradcheckResult r;
    r.eps = eps;
    r.atol = atol;
    r.rtol = rtol;
    bool any = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined()) throw ValueError("gradcheck: input " + std::to_string(i) + " is undefined");
        any |= inputs[i].requires_grad();
    }
    if (!any)
        throw ValueError("gradcheck: gradcheck expects at least one input tensor to require gradient, but none of them "
                         "have requires_grad=True.");
    if (std::is_same<T, float>::value) {
        for (std::size_t i = 0; i < inputs.size(); ++i)
            if (inputs[i].requires_grad()) {
                std::string w = "gradcheck: Input #" + std::to_string(i) +
                                " requires gradient and is not a double precision floating point. This check will "
                                "likely fail if all the inputs are not of double precision floating point.";
                std::cerr << "warning: " << w << '\n';
                r.warnings.push_back(w);
            }
    }
    // Work on copies so the caller's tensors keep their gradients.
    std::vector<Tensor<T>> xs;
    for (const auto& x : inputs) xs.push_back(Tensor<T>(x.value(), x.requires_grad()));

    // Numerical Jacobians: (f(x + eps·e_j) − f(x − eps·e_j)) / 2eps, without recording.
    std::vector<std::vector<Jacobian>> num;
    {
        NoGradGuard ng;
        const auto outs0 = values_of(call(fn, xs));
        num.assign(outs0.size(), std::vector<Jacobian>(xs.size()));
        for (std::size_t o = 0; o < outs0.size(); ++o)
            for (std::size_t i = 0; i < xs.size(); ++i)
                num[o][i] = Jacobian{xs[i].numel(), outs0[o].size(), std::vector<double>(xs[i].numel() * outs0[o].size(), 0.0)};
        for (std::size_t i = 0; i < xs.size(); ++i) {
            if (!xs[i].requires_grad()) continue;
            T* p = xs[i].mutable_value().data();
            for (std::size_t j = 0; j < xs[i].numel(); ++j) {
                const T v = p[j];
                p[j] = static_cast<T>(v + eps);
                const auto plus = values_of(call(fn, xs));
                p[j] = static_cast<T>(v - eps);
                const auto minus = values_of(call(fn, xs));
                p[j] = v;
                if (plus.size() != outs0.size() || minus.size() != outs0.size())
                    throw ShapeError("gradcheck: the function returned " + std::to_string(outs0.size()) +
                                     " outputs at the input, but " + std::to_string(plus.size()) + " and " +
                                     std::to_string(minus.size()) + " when input " + std::to_string(i) +
                                     " was perturbed");
                for (std::size_t o = 0; o < outs0.size(); ++o) {
                    if (plus[o].size() != outs0[o].size() || minus[o].size() != outs0[o].size())
                        throw ShapeError("gradcheck: output " + std::to_string(o) + " changed size under perturbation");
                    for (std::size_t k = 0; k < outs0[o].size(); ++k)
                        num[o][i].at(j, k) = (double(plus[o].data()[k]) - double(minus[o].data()[k])) / (2 * eps);
                }
            }
        }
    }

    auto ana = analytical(fn, xs);
    auto ana2 = analytical(fn, xs);

    std::ostringstream os;
    double worst_excess = -1;
    std::size_t wo = 0, wi = 0;
    bool reentrant = true;
    for (std::size_t o = 0; o < num.size(); ++o)
        for (std::size_t i = 0; i < xs.size(); ++i) {
            if (!xs[i].requires_grad()) continue;
            const auto& N = num[o][i];
            const auto& A = ana[o][i];
            for (std::size_t j = 0; j < N.rows; ++j)
                for (std::size_t k = 0; k < N.cols; ++k) {
                    const double a = A.at(j, k), n = N.at(j, k);
                    ++r.checked;
                    // a NaN on either side is a mismatch, and its error is NaN (torch's allclose
                    // without equal_nan); equal infinities agree
                    const bool nan = std::isnan(a) || std::isnan(n);
                    const double err = nan ? std::numeric_limits<double>::quiet_NaN() : a == n ? 0.0 : std::abs(a - n);
                    const double tol = atol + rtol * std::abs(n);
                    if (nan)
                        r.max_error = err;
                    else if (err > r.max_error)  // false once max_error is NaN: it stays NaN
                        r.max_error = err;
                    if (nan || err > tol) {
                        ++r.mismatches;
                        const double excess = nan ? std::numeric_limits<double>::infinity() : err - tol;
                        if (excess > worst_excess) {
                            worst_excess = excess;
                            r.output_index = wo = o;
                            r.input_index = wi = i;
                            r.input_element = j;
                            r.output_element = k;
                            r.numerical = n;
                            r.analytical = a;
                        }
                    }
                    if (reentrant && !(a == ana2[o][i].at(j, k) || (std::isnan(a) && std::isnan(ana2[o][i].at(j, k))))) {
                        reentrant = false;
                        if (r.mismatches == 0) {
                            r.output_index = o;
                            r.input_index = i;
                            r.input_element = j;
                            r.output_element = k;
                            r.numerical = ana2[o][i].at(j, k);
                            r.analytical = a;
                        }
                    }
                }
        }
    if (r.mismatches > 0) {
        r.ok = false;
        r.what = "jacobian mismatch";
        Shape in_shape = xs[r.input_index].shape();
        r.input_position = unravel(r.input_element, in_shape);
        auto out0 = call(fn, xs);  // shapes only
        r.output_position = unravel(r.output_element, out0[r.output_index].shape());
        os << "gradcheck failed: Jacobian mismatch for output " << r.output_index << " with respect to input "
           << r.input_index << "\n"
           << "  at input element " << r.input_element << " (index " << shape_str(r.input_position) << " of "
           << shape_str(in_shape) << "), output element " << r.output_element << " (index "
           << shape_str(r.output_position) << " of " << shape_str(out0[r.output_index].shape()) << ")\n"
           << "  numerical:  " << fmt(r.numerical) << "\n"
           << "  analytical: " << fmt(r.analytical) << "\n"
           << "  |analytical - numerical| = " << fmt(std::abs(r.analytical - r.numerical))
           << " > atol + rtol*|numerical| = " << fmt(atol + rtol * std::abs(r.numerical)) << "\n"
           << "  " << r.mismatches << " of " << r.checked << " Jacobian entries out of tolerance; worst error "
           << fmt(r.max_error) << "\n"
           << "  (eps = " << eps << ", atol = " << atol << ", rtol = " << rtol << ")\n";
        const auto& N = num[wo][wi];
        os << "  relative error of that Jacobian as a whole, |analytical - numerical|_F / |numerical|_F = "
           << fmt(relative_frobenius_error(ana[wo][wi], N)) << "\n";
        if (N.rows * N.cols <= 64) print_jacobians(os, N, ana[wo][wi]);
    } else if (!reentrant) {
        r.ok = false;
        r.what = "backward not reentrant";
        os << "gradcheck failed: Backward is not reentrant, i.e., running backward with same input and grad_output "
              "multiple times gives different values (output "
           << r.output_index << ", input " << r.input_index << ", input element " << r.input_element
           << ", output element " << r.output_element << ": " << fmt(r.analytical) << " then " << fmt(r.numerical)
           << ")\n";
    } else {
        os << "gradcheck passed: " << r.checked << " Jacobian entries within atol + rtol*|numerical| (worst error "
           << fmt(r.max_error) << "; eps = " << eps << ", atol = " << atol << ", rtol = " << rtol << ")\n";
    }
    r.report = os.str();
    return r;
}

template GradcheckResult gradcheck_impl<float>(const GradcheckFn<float>&, const std::vector<Tensor<float>>&, double,
                                               double, double);
template GradcheckResult gradcheck_impl<double>(const GradcheckFn<double>&, const std::vector<Tensor<double>>&, double,
                                                double, double);

}  // namespace autograd
}  // namespace tapegrad
