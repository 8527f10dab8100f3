// gradcheck: numerical (central differences) against analytical (the tape) Jacobians.
#include <algorithm>
#include <cmath>
#include <array>
#include <map>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xadapt.hpp>

#include "tapegrad/autograd/gradcheck.hpp"
#include "tapegrad/core/random.hpp"
#include "tapegrad/core/tape.hpp"

namespace tapegrad {
namespace autograd {

std::ostream& operator<<(std::ostream& os, const GradcheckResult& r) { return os << r.report; }

const char* to_string(FiniteDifference s) {
    switch (s) {
        case FiniteDifference::Richardson: return "Richardson";
        case FiniteDifference::SixPoint: return "six-point";
        default: return "central";
    }
}

namespace {


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


using Outputs = std::vector<std::vector<double>>;  // each output's values, flattened, as doubles

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

// A random direction of unit length (fast mode's u and v).
std::vector<double> unit_direction(std::size_t n, Generator& g) {
    std::vector<double> d(n);
    double norm = 0;
    for (double& v : d) v = g.normal(), norm += v * v;
    norm = std::sqrt(norm);
    for (double& v : d) v = norm > 0 ? v / norm : 0;
    return d;
}

// One gradcheck run: the inputs' copies, the options, and the checks in the order torch runs them.
template <class T> struct Checker {
    const GradcheckFn<T>& fn;
    const GradcheckOptions& opt;
    std::vector<Tensor<T>> xs;
    std::vector<double> atol, rtol;   // per input
    std::vector<Shape> out_shapes;
    Outputs f0;                       // the outputs at the inputs
    GradcheckResult r;
    std::ostringstream os;

    static constexpr std::size_t kAll = std::size_t(-1);

    Checker(const GradcheckFn<T>& f, const GradcheckOptions& o, std::vector<Tensor<T>> x) : fn(f), opt(o), xs(std::move(x)) {
        r.input_max_error.assign(xs.size(), 0.0);
        r.input_mismatches.assign(xs.size(), 0);
        atol.assign(xs.size(), o.atol());
        rtol.assign(xs.size(), o.rtol());
        for (const auto& t : o.input_tolerances()) atol[t.input] = t.atol, rtol[t.input] = t.rtol;
        NoGradGuard ng;
        for (const auto& out : call(fn, xs)) {
            out_shapes.push_back(out.shape());
            f0.emplace_back(out.value().begin(), out.value().end());
        }
    }

    // machine epsilon^(1/3), ^(1/5), ^(1/7): the step that balances truncation against round-off
    double auto_factor() const {
        const double e = std::numeric_limits<T>::epsilon();
        switch (opt.scheme()) {
            case FiniteDifference::Richardson: return std::pow(e, 1.0 / 5);
            case FiniteDifference::SixPoint: return std::pow(e, 1.0 / 7);
            default: return std::cbrt(e);
        }
    }
    double step(std::size_t i, std::size_t j) const {
        if (!opt.auto_eps()) return opt.eps();
        const T* p = xs[i].value().data();
        double big = 1;
        if (j == kAll)
            for (std::size_t k = 0; k < xs[i].numel(); ++k) big = std::max(big, std::abs(double(p[k])));
        else
            big = std::max(big, std::abs(double(p[j])));
        return auto_factor() * big;
    }

    // The outputs with element j of input i moved by t (j = kAll: every element by t·dir).
    Outputs shifted(std::size_t i, std::size_t j, double t, const std::vector<double>* dir) {
        NoGradGuard ng;
        T* p = xs[i].mutable_value().data();
        const std::size_t n = xs[i].numel();
        std::vector<T> saved;
        if (j == kAll) {
            saved.assign(p, p + n);
            for (std::size_t k = 0; k < n; ++k) p[k] = static_cast<T>(double(saved[k]) + t * (*dir)[k]);
        } else {
            saved.assign(1, p[j]);
            p[j] = static_cast<T>(double(saved[0]) + t);
        }
        // the outputs are copied before the input is restored: an output may be the input itself
        Outputs v;
        std::size_t returned = 0;
        try {
            const auto outs = call(fn, xs);
            returned = outs.size();
            for (std::size_t o = 0; o < outs.size() && o < f0.size(); ++o) {
                if (outs[o].numel() != f0[o].size())
                    throw ShapeError("gradcheck: output " + std::to_string(o) + " changed size under perturbation");
                v.emplace_back(outs[o].value().begin(), outs[o].value().end());
            }
        } catch (...) {
            if (j == kAll) std::copy(saved.begin(), saved.end(), p); else p[j] = saved[0];
            throw;
        }
        if (j == kAll) std::copy(saved.begin(), saved.end(), p); else p[j] = saved[0];
        if (returned != f0.size())
            throw ShapeError("gradcheck: the function returned " + std::to_string(f0.size()) + " outputs at the input, but " +
                             std::to_string(returned) + " when input " + std::to_string(i) + " was perturbed");
        return v;
    }

    // Σ coefficient·f(x + offset·h), divided by `div`, for each output element.
    Outputs stencil(std::size_t i, std::size_t j, double h, const std::vector<double>* dir,
                    std::initializer_list<std::pair<double, double>> terms, double div) {
        Outputs acc;
        for (const auto& [offset, coef] : terms) {
            const Outputs f = shifted(i, j, offset * h, dir);
            if (acc.empty()) {
                acc = f;
                for (auto& o : acc) std::fill(o.begin(), o.end(), 0.0);
            }
            for (std::size_t o = 0; o < f.size(); ++o)
                for (std::size_t k = 0; k < f[o].size(); ++k) acc[o][k] += coef * f[o][k];
        }
        for (auto& o : acc)
            for (double& v : o) v /= div;
        return acc;
    }

    // The derivative along e_j (or dir) by the chosen scheme.
    Outputs derivative(std::size_t i, std::size_t j, double h, const std::vector<double>* dir = nullptr) {
        switch (opt.scheme()) {
            case FiniteDifference::Richardson: {
                const Outputs d1 = stencil(i, j, h, dir, {{1, 1}, {-1, -1}}, 2 * h);
                Outputs d2 = stencil(i, j, h / 2, dir, {{1, 1}, {-1, -1}}, h);
                for (std::size_t o = 0; o < d2.size(); ++o)
                    for (std::size_t k = 0; k < d2[o].size(); ++k) d2[o][k] = (4 * d2[o][k] - d1[o][k]) / 3;
                return d2;
            }
            case FiniteDifference::SixPoint:
                return stencil(i, j, h, dir, {{-3, -1}, {-2, 9}, {-1, -45}, {1, 45}, {2, -9}, {3, 1}}, 60 * h);
            default:
                return stencil(i, j, h, dir, {{1, 1}, {-1, -1}}, 2 * h);
        }
    }

    bool within(double a, double n, std::size_t i) const {
        if (std::isnan(a) || std::isnan(n)) return false;
        return a == n || std::abs(a - n) <= atol[i] + rtol[i] * std::abs(n);
    }

    // ------------------------------------------------------------ full mode

    struct Entry {
        std::size_t o, i, j, k;
        double a, n;
    };

    void full() {
        std::vector<std::vector<Jacobian>> num(f0.size(), std::vector<Jacobian>(xs.size()));
        for (std::size_t o = 0; o < f0.size(); ++o)
            for (std::size_t i = 0; i < xs.size(); ++i)
                num[o][i] = Jacobian{xs[i].numel(), f0[o].size(), std::vector<double>(xs[i].numel() * f0[o].size(), 0.0)};
        for (std::size_t i = 0; i < xs.size(); ++i) {
            if (!xs[i].requires_grad()) continue;
            for (std::size_t j = 0; j < xs[i].numel(); ++j) {
                const Outputs d = derivative(i, j, step(i, j));
                for (std::size_t o = 0; o < d.size(); ++o)
                    for (std::size_t k = 0; k < d[o].size(); ++k) num[o][i].at(j, k) = d[o][k];
            }
        }
        const auto ana = analytical(fn, xs);
        const auto ana2 = analytical(fn, xs);

        std::vector<Entry> bad;
        bool reentrant = true;
        Entry re{};
        double re_a2 = 0;
        for (std::size_t o = 0; o < num.size(); ++o)
            for (std::size_t i = 0; i < xs.size(); ++i) {
                if (!xs[i].requires_grad()) continue;
                const auto &N = num[o][i], &A = ana[o][i];
                for (std::size_t j = 0; j < N.rows; ++j)
                    for (std::size_t k = 0; k < N.cols; ++k) {
                        const double a = A.at(j, k), n = N.at(j, k), a2 = ana2[o][i].at(j, k);
                        ++r.checked;
                        const bool nan = std::isnan(a) || std::isnan(n);
                        const double err = nan ? std::numeric_limits<double>::quiet_NaN() : a == n ? 0.0 : std::abs(a - n);
                        if (nan || err > r.max_error) r.max_error = err;  // once NaN it stays NaN
                        if (nan || err > r.input_max_error[i]) r.input_max_error[i] = err;
                        if (!within(a, n, i)) bad.push_back({o, i, j, k, a, n});
                        const bool same = std::isnan(a) ? std::isnan(a2) : std::abs(a - a2) <= opt.nondet_tol();
                        if (reentrant && !same) reentrant = false, re = {o, i, j, k, a, 0}, re_a2 = a2;
                    }
            }
        if (opt.detect_kinks() && !bad.empty()) classify_kinks(bad);
        for (const Entry& e : bad) ++r.input_mismatches[e.i];
        if (!bad.empty()) {
            report_mismatch(bad, num, ana);
        } else if (!reentrant) {
            r.ok = false;
            r.what = "backward not reentrant";
            set_position(re.o, re.i, re.j, re.k);
            r.analytical = re.a;
            r.numerical = re_a2;
            os << "gradcheck failed: Backward is not reentrant, i.e., running backward with same input and grad_output "
                  "multiple times gives different values, although analytical gradient matches numerical gradient. "
                  "The tolerance for nondeterminism was "
               << opt.nondet_tol() << " (output " << re.o << ", input " << re.i << ", input element " << re.j
               << ", output element " << re.k << ": " << fmt(re.a) << " then " << fmt(re_a2) << ")\n";
        }
    }

    // Entries where the forward is not smooth inside the stencil: the one-sided differences
    // disagree, and their gap does not shrink with the step as a smooth function's does (h·f'':
    // half at h/2, a quarter at h/4). A kink at distance δ < h from x shows in one of the two
    // ratios (at δ = h/3 the first is ½ as for a smooth function, but the h/4 stencil misses it).
    void classify_kinks(std::vector<Entry>& bad) {
        std::map<std::pair<std::size_t, std::size_t>, std::array<Outputs, 6>> probes;  // f(x ± h), f(x ± h/2), f(x ± h/4)
        std::vector<Entry> still;
        for (const Entry& e : bad) {
            if (std::isnan(e.a) || std::isnan(e.n)) {
                still.push_back(e);
                continue;
            }
            const double h = step(e.i, e.j);
            auto it = probes.find({e.i, e.j});
            if (it == probes.end()) {
                std::array<Outputs, 6> p;
                for (int s = 0; s < 3; ++s) {
                    const double hs = h / double(1 << s);
                    p[2 * s] = shifted(e.i, e.j, hs, nullptr);
                    p[2 * s + 1] = shifted(e.i, e.j, -hs, nullptr);
                }
                it = probes.emplace(std::make_pair(e.i, e.j), std::move(p)).first;
            }
            const auto& P = it->second;
            const double f = f0[e.o][e.k];
            double left[3], right[3], gap[3];
            for (int s = 0; s < 3; ++s) {
                const double hs = h / double(1 << s);
                right[s] = (P[2 * s][e.o][e.k] - f) / hs;
                left[s] = (f - P[2 * s + 1][e.o][e.k]) / hs;
                gap[s] = right[s] - left[s];
            }
            const double tol = atol[e.i] + rtol[e.i] * std::max(std::abs(left[0]), std::abs(right[0]));
            const bool smooth_shrink = std::abs(gap[1] / gap[0] - 0.5) <= 0.1 && std::abs(gap[2] / gap[0] - 0.25) <= 0.1;
            const bool kink = std::isfinite(gap[0]) && std::isfinite(gap[1]) && std::isfinite(gap[2]) &&
                              std::abs(gap[0]) > tol && !smooth_shrink;
            if (!kink) {
                still.push_back(e);
                continue;
            }
            const double lo = std::min({left[0], right[0], left[1], right[1], left[2], right[2]});
            const double hi = std::max({left[0], right[0], left[1], right[1], left[2], right[2]});
            Kink k{e.o, e.i, e.k, e.j, left[2], right[2], e.a, e.a >= lo - tol && e.a <= hi + tol};
            r.kinks.push_back(k);
            if (!k.analytical_between) still.push_back(e);
        }
        bad.swap(still);
    }

    void set_position(std::size_t o, std::size_t i, std::size_t j, std::size_t k) {
        r.output_index = o, r.input_index = i, r.input_element = j, r.output_element = k;
        r.input_position = unravel_index(j, xs[i].shape());
        r.output_position = unravel_index(k, out_shapes[o]);
    }

    void report_mismatch(const std::vector<Entry>& bad, const std::vector<std::vector<Jacobian>>& num,
                         const std::vector<std::vector<Jacobian>>& ana) {
        r.ok = false;
        r.what = "jacobian mismatch";
        r.mismatches = bad.size();
        const Entry* worst = &bad[0];
        double worst_excess = -1;
        for (const Entry& e : bad) {
            const bool nan = std::isnan(e.a) || std::isnan(e.n);
            const double excess = nan ? HUGE_VAL : std::abs(e.a - e.n) - (atol[e.i] + rtol[e.i] * std::abs(e.n));
            if (excess > worst_excess) worst_excess = excess, worst = &e;
        }
        const Entry& w = *worst;
        set_position(w.o, w.i, w.j, w.k);
        r.numerical = w.n;
        r.analytical = w.a;
        os << "gradcheck failed: Jacobian mismatch for output " << w.o << " with respect to input " << w.i << "\n"
           << "  at input element " << w.j << " (index " << shape_str(r.input_position) << " of "
           << shape_str(xs[w.i].shape()) << "), output element " << w.k << " (index " << shape_str(r.output_position)
           << " of " << shape_str(out_shapes[w.o]) << ")\n"
           << "  numerical:  " << fmt(w.n) << "\n"
           << "  analytical: " << fmt(w.a) << "\n"
           << "  |analytical - numerical| = " << fmt(std::abs(w.a - w.n))
           << " > atol + rtol*|numerical| = " << fmt(atol[w.i] + rtol[w.i] * std::abs(w.n)) << "\n"
           << "  " << r.mismatches << " of " << r.checked << " Jacobian entries out of tolerance; worst error "
           << fmt(r.max_error) << "\n"
           << "  (eps = " << (opt.auto_eps() ? "automatic" : fmt(opt.eps())) << ", " << to_string(opt.scheme())
           << " differences, atol = " << atol[w.i] << ", rtol = " << rtol[w.i] << ")\n";
        for (const Kink& k : r.kinks)
            if (!k.analytical_between && k.input_index == w.i && k.input_element == w.j && k.output_element == w.k)
                os << "  the forward has a kink there (one-sided derivatives " << fmt(k.left) << " and " << fmt(k.right)
                   << "), but the analytical value is outside them: the backward is wrong\n";
        const auto& N = num[w.o][w.i];
        os << "  relative error of that Jacobian as a whole, |analytical - numerical|_F / |numerical|_F = "
           << fmt(relative_frobenius_error(ana[w.o][w.i], N)) << "\n";
        if (N.rows * N.cols <= 64) print_jacobians(os, N, ana[w.o][w.i]);
    }

    // ------------------------------------------------------------ fast mode: vᵀJu

    bool fast() {
        Generator g(opt.seed());
        std::vector<std::vector<double>> u(xs.size()), v(f0.size());
        for (std::size_t i = 0; i < xs.size(); ++i)
            if (xs[i].requires_grad()) u[i] = unit_direction(xs[i].numel(), g);
        for (std::size_t o = 0; o < f0.size(); ++o) v[o] = unit_direction(f0[o].size(), g);
        std::vector<std::vector<double>> n(f0.size(), std::vector<double>(xs.size(), 0.0)), a = n, a2 = n;
        for (std::size_t i = 0; i < xs.size(); ++i) {
            if (!xs[i].requires_grad()) continue;
            const Outputs d = derivative(i, kAll, step(i, kAll), &u[i]);  // J u
            for (std::size_t o = 0; o < f0.size(); ++o) n[o][i] = dot(v[o], d[o]);
        }
        for (auto* res : {&a, &a2}) {
            const auto outs = call(fn, xs);
            for (std::size_t o = 0; o < outs.size(); ++o) {
                if (!outs[o].requires_grad()) continue;
                for (auto& x : xs) x.zero_grad(true);
                xt::xarray<T> seed = xt::xarray<T>::from_shape(outs[o].value().shape());
                std::transform(v[o].begin(), v[o].end(), seed.begin(), [](double e) { return static_cast<T>(e); });
                outs[o].backward(Tensor<T>(seed), /*retain_graph=*/true);
                for (std::size_t i = 0; i < xs.size(); ++i)
                    if (xs[i].requires_grad() && xs[i].has_grad())
                        (*res)[o][i] = dot(u[i], std::vector<double>(xs[i].grad().begin(), xs[i].grad().end()));
            }
        }
        for (auto& x : xs) x.zero_grad(true);
        bool ok = true;
        for (std::size_t o = 0; o < f0.size(); ++o)
            for (std::size_t i = 0; i < xs.size(); ++i) {
                if (!xs[i].requires_grad()) continue;
                ++r.checked;
                const double err = std::abs(a[o][i] - n[o][i]);
                if (std::isnan(err) || err > r.max_error) r.max_error = err;
                if (std::isnan(err) || err > r.input_max_error[i]) r.input_max_error[i] = err;
                if (!within(a[o][i], n[o][i], i)) {
                    ++r.input_mismatches[i];
                    if (ok)
                        os << "fast mode: v^T J u out of tolerance for output " << o << " with respect to input " << i
                           << ": numerical " << fmt(n[o][i]) << ", analytical " << fmt(a[o][i]) << " (atol = " << atol[i]
                           << ", rtol = " << rtol[i] << ", not scaled)\n";
                    ok = false;
                    r.output_index = o, r.input_index = i, r.numerical = n[o][i], r.analytical = a[o][i];
                } else if (ok && !(std::abs(a[o][i] - a2[o][i]) <= opt.nondet_tol())) {
                    r.ok = false;
                    r.what = "backward not reentrant";
                    r.output_index = o, r.input_index = i, r.analytical = a[o][i], r.numerical = a2[o][i];
                    os << "gradcheck failed: Backward is not reentrant, i.e., running backward with same input and "
                          "grad_output multiple times gives different values (fast mode, output "
                       << o << ", input " << i << ": u^T J^T v = " << fmt(a[o][i]) << " then " << fmt(a2[o][i])
                       << "; nondet_tol = " << opt.nondet_tol() << ")\n";
                }
            }
        return ok;
    }

    // ------------------------------------------------------------ torch's other checks

    void check_zero_grad_output() {
        const auto outs = call(fn, xs);
        for (std::size_t o = 0; o < outs.size() && r.ok; ++o) {
            if (!outs[o].requires_grad()) continue;
            for (auto& x : xs) x.zero_grad(true);
            outs[o].backward(Tensor<T>(xt::xarray<T>(xt::zeros<T>(outs[o].value().shape()))), /*retain_graph=*/true);
            for (std::size_t i = 0; i < xs.size() && r.ok; ++i) {
                if (!xs[i].has_grad()) continue;
                const T* g = xs[i].grad().data();
                for (std::size_t j = 0; j < xs[i].numel(); ++j)
                    if (!(g[j] == T(0))) {
                        r.ok = false;
                        r.what = "backward not multiplied by grad_output";
                        set_position(o, i, j, 0);
                        r.analytical = double(g[j]);
                        r.numerical = 0;
                        os << "gradcheck failed: backward not multiplied by grad_output: with a zero grad_output for "
                              "output "
                           << o << ", input " << i << " got gradient " << fmt(double(g[j])) << " at element " << j
                           << " (index " << shape_str(r.input_position) << "), expected 0\n";
                        break;
                    }
            }
        }
        for (auto& x : xs) x.zero_grad(true);
    }

    // With input m not requiring grad, backward must not throw, must not write to m, and must give
    // every other input the gradient it gets when all require grad.
    void check_undefined_grad() {
        std::size_t needing = 0;
        for (const auto& x : xs) needing += x.requires_grad();
        if (needing < 2) return;
        Generator g(opt.seed() + 1);
        std::vector<xt::xarray<T>> seeds;
        for (std::size_t o = 0; o < f0.size(); ++o) {
            const auto d = unit_direction(f0[o].size(), g);
            xt::xarray<T> s = xt::xarray<T>::from_shape(out_shapes[o]);
            std::transform(d.begin(), d.end(), s.begin(), [](double e) { return static_cast<T>(e); });
            seeds.push_back(std::move(s));
        }
        auto run = [&](std::vector<Tensor<T>>& ys) {
            const auto outs = call(fn, ys);
            for (std::size_t o = 0; o < outs.size(); ++o)
                if (outs[o].requires_grad()) outs[o].backward(Tensor<T>(seeds[o]), /*retain_graph=*/true);
        };
        std::vector<Tensor<T>> all;
        for (const auto& x : xs) all.push_back(Tensor<T>(x.value(), x.requires_grad()));
        run(all);
        for (std::size_t m = 0; m < xs.size() && r.ok; ++m) {
            if (!xs[m].requires_grad()) continue;
            std::vector<Tensor<T>> ys;
            for (std::size_t i = 0; i < xs.size(); ++i) ys.push_back(Tensor<T>(xs[i].value(), i != m && xs[i].requires_grad()));
            auto fail = [&](const std::string& why) {
                r.ok = false;
                r.what = "backward does not handle an input without grad";
                r.input_index = m;
                os << "gradcheck failed: backward does not handle an input without grad: with input " << m
                   << " not requiring grad, " << why << "\n";
            };
            try {
                run(ys);
            } catch (const std::exception& e) {
                fail(std::string("backward threw: ") + e.what());
                break;
            }
            if (ys[m].has_grad()) {
                fail("backward wrote a gradient to it");
                break;
            }
            for (std::size_t i = 0; i < xs.size() && r.ok; ++i) {
                if (i == m || !xs[i].requires_grad()) continue;
                const bool had = all[i].has_grad(), has = ys[i].has_grad();
                if (!had && !has) continue;
                const xt::xarray<T> want = had ? all[i].grad() : xt::xarray<T>(xt::zeros<T>(xs[i].shape()));
                const xt::xarray<T> got = has ? ys[i].grad() : xt::xarray<T>(xt::zeros<T>(xs[i].shape()));
                for (std::size_t j = 0; j < want.size(); ++j)
                    if (!within(double(got.data()[j]), double(want.data()[j]), i)) {
                        fail("input " + std::to_string(i) + " got " + fmt(double(got.data()[j])) + " at element " +
                             std::to_string(j) + " instead of " + fmt(double(want.data()[j])));
                        break;
                    }
            }
        }
    }
};

}  // namespace

template <class T>
GradcheckResult gradcheck_impl(const GradcheckFn<T>& fn, const std::vector<Tensor<T>>& inputs, const GradcheckOptions& opt) {
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (!inputs[i].defined()) throw ValueError("gradcheck: input " + std::to_string(i) + " is undefined");
    // Work on copies so the caller's tensors keep their gradients.
    std::vector<Tensor<T>> xs;
    for (const auto& x : inputs) xs.push_back(Tensor<T>(x.value(), x.requires_grad()));
    return detail::gradcheck_in_place(fn, xs, opt);
}

template <class T>
GradcheckResult detail::gradcheck_in_place(const GradcheckFn<T>& fn, const std::vector<Tensor<T>>& inputs,
                                           const GradcheckOptions& opt) {
    if (!(opt.eps() > 0)) throw ValueError("gradcheck: eps must be positive, got " + std::to_string(opt.eps()));
    if (!(opt.atol() >= 0) || !(opt.rtol() >= 0)) throw ValueError("gradcheck: atol and rtol must be non-negative");
    if (!(opt.nondet_tol() >= 0)) throw ValueError("gradcheck: nondet_tol must be non-negative");
    for (const auto& t : opt.input_tolerances()) {
        if (t.input >= inputs.size())
            throw ValueError("gradcheck: input_tolerance for input " + std::to_string(t.input) + ", but there are " +
                             std::to_string(inputs.size()) + " inputs");
        if (!(t.atol >= 0) || !(t.rtol >= 0)) throw ValueError("gradcheck: atol and rtol must be non-negative");
    }
    bool any = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined()) throw ValueError("gradcheck: input " + std::to_string(i) + " is undefined");
        any |= inputs[i].requires_grad();
    }
    if (!any)
        throw ValueError("gradcheck: gradcheck expects at least one input tensor to require gradient, but none of them "
                         "have requires_grad=True.");
    std::vector<std::string> warnings;
    if (std::is_same<T, float>::value) {
        for (std::size_t i = 0; i < inputs.size(); ++i)
            if (inputs[i].requires_grad()) {
                std::string w = "gradcheck: Input #" + std::to_string(i) +
                                " requires gradient and is not a double precision floating point. This check will "
                                "likely fail if all the inputs are not of double precision floating point.";
                std::cerr << "warning: " << w << '\n';
                warnings.push_back(w);
            }
    }
    Checker<T> c(fn, opt, inputs);
    GradcheckResult& r = c.r;
    r.warnings = std::move(warnings);
    r.eps = opt.eps();
    r.atol = opt.atol();
    r.rtol = opt.rtol();
    r.scheme = opt.scheme();
    r.mode = "full";
    if (opt.fast_mode()) {
        r.mode = "fast";
        if (!c.fast() && r.ok) {  // out of tolerance: the full Jacobian says where
            r.mode = "fast, then full";
            r.checked = 0;
            r.max_error = 0;
            std::fill(r.input_max_error.begin(), r.input_max_error.end(), 0.0);
            std::fill(r.input_mismatches.begin(), r.input_mismatches.end(), 0);
            c.full();
            if (r.ok) {
                const std::string w = "gradcheck: fast mode's v^T J u was out of tolerance, but every entry of the full "
                                      "Jacobian is within it";
                r.warnings.push_back(w);
                c.os << w << "\n";
            }
        }
    } else {
        c.full();
    }
    if (r.ok && opt.check_grad_output()) c.check_zero_grad_output();
    if (r.ok && opt.check_undefined_grad()) c.check_undefined_grad();
    if (r.ok) {
        c.os << "gradcheck passed: " << r.checked << (r.mode == "fast" ? " products v^T J u" : " Jacobian entries")
             << " within atol + rtol*|numerical| (worst error " << fmt(r.max_error) << "; eps = "
             << (opt.auto_eps() ? "automatic" : fmt(opt.eps())) << ", " << to_string(opt.scheme()) << " differences, "
             << r.mode << " mode, atol = " << opt.atol() << ", rtol = " << opt.rtol() << ")\n";
    }
    std::size_t between = 0;
    for (const Kink& k : r.kinks) between += k.analytical_between;
    if (between > 0) {
        c.os << "  " << between << " entr" << (between == 1 ? "y" : "ies")
             << " at a kink of the forward (not smooth inside the stencil: the one-sided differences disagree), "
                "where the analytical value lies between the one-sided derivatives: not counted as mismatches\n";
        std::size_t shown = 0;
        for (const Kink& k : r.kinks)
            if (k.analytical_between && shown++ < 5)
                c.os << "    output " << k.output_index << ", input " << k.input_index << " element " << k.input_element
                     << ", output element " << k.output_element << ": one-sided " << fmt(k.left) << " | " << fmt(k.right)
                     << ", analytical " << fmt(k.analytical) << "\n";
    }
    r.report = c.os.str();
    return r;
}

template GradcheckResult gradcheck_impl<float>(const GradcheckFn<float>&, const std::vector<Tensor<float>>&,
                                               const GradcheckOptions&);
template GradcheckResult gradcheck_impl<double>(const GradcheckFn<double>&, const std::vector<Tensor<double>>&,
                                                const GradcheckOptions&);
template GradcheckResult detail::gradcheck_in_place<float>(const GradcheckFn<float>&, const std::vector<Tensor<float>>&,
                                                           const GradcheckOptions&);
template GradcheckResult detail::gradcheck_in_place<double>(const GradcheckFn<double>&, const std::vector<Tensor<double>>&,
                                                            const GradcheckOptions&);

}  // namespace autograd
}  // namespace tapegrad
