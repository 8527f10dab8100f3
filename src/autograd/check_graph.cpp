// check_graph: every tape entry's backward checked on its own against central differences of
// its replayed forward, in float64 (see check_graph.hpp).
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <sstream>

#include "tapegrad/autograd/check_graph.hpp"
#include "tapegrad/core/format.hpp"
#include "tapegrad/core/graph.hpp"
#include "tapegrad/core/random.hpp"
#include "tapegrad/core/tape.hpp"

namespace tapegrad {
namespace autograd {

std::ostream& operator<<(std::ostream& os, const GraphCheckResult& r) { return os << r.report; }

namespace {


std::string fmt(double x) {
    std::ostringstream os;
    os << std::setprecision(4) << x;
    return os.str();
}

// One entry y = f(x₀, x₁, …) under check: φ(x) = vᵀ·replay(x), perturbed one input at a time.
struct EntryProbe {
    const Replay& replay;
    std::vector<Tensor<double>> xs;  // double copies of the inputs (undefined where none)
    xt::xarray<double> v;            // the random grad_output, in the entry's precision

    // The forward again, from xs; ShapeError unless it has the entry's output shape (v's).
    Tensor<double> forward() {
        NoGradGuard ng;
        Tensor<double> y = replay(xs);
        const Shape want(v.shape().begin(), v.shape().end());
        if (!y.defined() || y.shape() != want)
            throw ShapeError("the replay gave " + (y.defined() ? shape_str(y.shape()) : std::string("an undefined tensor")) +
                             ", the entry's output has " + shape_str(want));
        return y;
    }
    double phi() {
        const Tensor<double> y = forward();
        const double* py = y.value().data();
        double s = 0;
        for (std::size_t i = 0; i < v.size(); ++i) s += v.data()[i] * py[i];
        return s;
    }
    // φ with input group `slots` (every slot that holds the same tensor) moved by t·d.
    double phi_moved(const std::vector<std::size_t>& slots, const std::vector<double>& d, double t) {
        std::vector<xt::xarray<double>> saved;
        for (std::size_t s : slots) {
            saved.push_back(xs[s].value());
            auto& x = xs[s].mutable_value();
            for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] += t * d[i];
        }
        double r = phi();
        for (std::size_t k = 0; k < slots.size(); ++k) xs[slots[k]].mutable_value() = saved[k];
        return r;
    }
    double phi_element(const std::vector<std::size_t>& slots, std::size_t j, double t) {
        std::vector<double> saved;
        for (std::size_t s : slots) {
            auto& x = xs[s].mutable_value();
            saved.push_back(x.data()[j]);
            x.data()[j] += t;
        }
        double r = phi();
        for (std::size_t k = 0; k < slots.size(); ++k) xs[slots[k]].mutable_value().data()[j] = saved[k];
        return r;
    }
};

template <class T> GraphCheckResult run(const Tensor<T>& root, const CheckGraphOptions& opt) {
    const bool is_double = std::is_same<T, double>::value;
    const double atol0 = opt.atol().value_or(is_double ? 1e-5 : 1e-3);
    const double rtol = opt.rtol().value_or(is_double ? 1e-3 : 1e-2);
    const double h = opt.eps();
    if (!(h > 0) || !std::isfinite(h)) throw ValueError("check_graph: eps must be a positive finite number, got " + fmt(h));
    Graph<T> g = graph_of(root);
    GraphCheckResult r;
    Generator gen(opt.seed());
    std::size_t with_replay = 0;
    for (std::size_t p = 0; p < g.entries.size(); ++p) {
        const GraphEntry<T>& e = g.entries[p];
        EntryCheck c;
        c.op = e.op;
        c.seq = e.seq;
        c.position = p;
        const Replay* replay = e.output.defined() ? detail::entry_replay(e.output) : nullptr;
        if (e.output.defined()) c.output_shape = e.output.shape();
        if (!replay) {
            c.status = "no replay";
            c.note = e.output.defined() ? "recorded without set_check_graph(true), or a custom op without set_replay"
                                        : "its output is gone";
            ++r.unchecked;
            r.entries.push_back(std::move(c));
            continue;
        }
        ++with_replay;
        EntryProbe probe{*replay, {}, {}};
        for (const auto& in : e.inputs) probe.xs.push_back(detail::to_double(in));
        // v in the entry's precision, so the float backward and the double replay see the same v
        xt::xarray<T> vt = xt::xarray<T>::from_shape(e.output.value().shape());
        for (auto& x : vt) x = T(gen.normal());
        probe.v = xt::xarray<double>(vt);
        try {
            // the replay must reproduce the recorded forward
            {
                const Tensor<double> y = probe.forward();
                const T* po = e.output.value().data();
                for (std::size_t i = 0; i < y.numel(); ++i) {
                    const double d = std::fabs(y.value().data()[i] - double(po[i]));
                    if (std::isfinite(d)) c.replay_difference = std::max(c.replay_difference, d);
                }
            }
            auto grads = detail::run_entry_backward(e.output, vt);
            const double f0 = probe.phi();
            bool failed = false;
            double worst_ratio = -1;
            std::vector<bool> done(e.inputs.size(), false);
            for (std::size_t k = 0; k < e.inputs.size(); ++k) {
                const Tensor<T>& in = e.inputs[k];
                if (done[k] || !in.defined() || !in.requires_grad()) continue;
                std::vector<std::size_t> slots;  // the same tensor passed twice (x·x) is one variable
                for (std::size_t s = k; s < e.inputs.size(); ++s)
                    if (e.inputs[s].defined() && e.inputs[s].same(in)) slots.push_back(s), done[s] = true;
                const std::size_t n = in.numel();
                std::vector<double> ana(n, 0.0);
                if (grads[k])
                    for (std::size_t i = 0; i < n; ++i) ana[i] = double(grads[k]->data()[i]);
                ++c.inputs_checked;
                // the elements to check one by one, and the directions
                std::vector<std::size_t> elems;
                std::size_t dirs = 0;
                if (n <= opt.full_elements()) {
                    elems.resize(n);
                    std::iota(elems.begin(), elems.end(), std::size_t(0));
                    if (c.mode.empty()) c.mode = "full";
                } else {
                    dirs = opt.directions();
                    for (std::size_t s = 0; s < std::min(n, opt.sampled_elements()); ++s) elems.push_back(gen.randint(n));
                    std::sort(elems.begin(), elems.end());
                    elems.erase(std::unique(elems.begin(), elems.end()), elems.end());
                    c.mode = "sampled";
                }
                struct Cand {
                    std::size_t element;
                    bool directional;
                    double a, num, left, right;
                };
                std::vector<Cand> cands;
                for (std::size_t j : elems) {
                    const double fp = probe.phi_element(slots, j, h), fm = probe.phi_element(slots, j, -h);
                    cands.push_back({j, false, ana[j], (fp - fm) / (2 * h), (f0 - fm) / h, (fp - f0) / h});
                }
                for (std::size_t d = 0; d < dirs; ++d) {
                    std::vector<double> u(n);
                    double norm = 0;
                    for (double& x : u) x = gen.normal(), norm += x * x;
                    norm = std::sqrt(norm);
                    double au = 0;
                    for (std::size_t i = 0; i < n; ++i) u[i] /= norm, au += ana[i] * u[i];
                    const double fp = probe.phi_moved(slots, u, h), fm = probe.phi_moved(slots, u, -h);
                    cands.push_back({d, true, au, (fp - fm) / (2 * h), (f0 - fm) / h, (fp - f0) / h});
                }
                double scale = 1;
                if (!is_double)
                    for (const Cand& x : cands) scale = std::max(scale, std::isfinite(x.num) ? std::fabs(x.num) : 0.0);
                const double atol = opt.atol() ? atol0 : atol0 * scale;
                for (const Cand& x : cands) {
                    const double err = std::fabs(x.a - x.num);
                    const double tol = atol + rtol * std::fabs(x.num);
                    ++c.elements_checked;
                    bool bad = !(err <= tol);
                    if (std::isnan(x.a) && std::isnan(x.num)) bad = false;  // both undefined there
                    if (bad) {
                        // a kink: the one-sided differences disagree and the backward lies between them
                        const double lo = std::min(x.left, x.right), hi = std::max(x.left, x.right);
                        const bool kink = std::fabs(x.left - x.right) > tol && x.a >= lo - tol && x.a <= hi + tol;
                        if (kink) {
                            ++c.kinks;
                            continue;
                        }
                    }
                    const double ratio = !bad ? (tol > 0 ? err / tol : 0.0)
                                              : (tol > 0 && std::isfinite(err) ? err / tol : HUGE_VAL);
                    if (ratio > worst_ratio) {
                        worst_ratio = ratio;
                        c.input = k;
                        c.element = x.element;
                        c.directional = x.directional;
                        c.position_in_input = x.directional ? Shape() : unravel_index(x.element, in.shape());
                        c.analytical = x.a;
                        c.numerical = x.num;
                        c.error = err;
                        c.tolerance = tol;
                    }
                    if (bad) failed = true;
                }
            }
            c.status = failed ? "FAILED" : "ok";
            if (c.inputs_checked == 0) c.note = "no input requires grad";
        } catch (const std::exception& ex) {
            c.status = "replay error";
            c.note = ex.what();
        }
        if (c.status == "ok") {
            ++r.checked;
        } else {
            ++r.failed;
            if (!r.first_failure) r.first_failure = r.entries.size();
        }
        r.entries.push_back(std::move(c));
    }
    if (!g.entries.empty() && with_replay == 0)
        throw AutogradError("check_graph: none of the " + std::to_string(g.entries.size()) +
                            " entries of this graph can re-run its forward: call set_check_graph(true) before the "
                            "forward pass that records it");
    r.ok = r.failed == 0;

    std::ostringstream os;
    os << "check_graph: " << g.entries.size() << " tape entries, " << r.checked << " ok, " << r.failed << " failed";
    if (r.unchecked) os << ", " << r.unchecked << " without a replay";
    os << " (" << (is_double ? "float64" : "float32 backward against float64 differences") << ", eps " << fmt(h) << ")\n";
    os << "  entry  op                          output        status   worst |analytical − numerical| / tolerance\n";
    for (const EntryCheck& c : r.entries) {
        std::ostringstream shape;
        shape << shape_str(c.output_shape);
        os << "  #" << std::left << std::setw(5) << c.seq << " " << std::setw(27) << c.op << " " << std::setw(13)
           << shape.str() << " " << std::setw(8) << (c.status == "ok" ? "ok" : c.status) << std::right;
        if (c.status == "ok" || c.status == "FAILED") {
            if (c.inputs_checked == 0)
                os << " (" << c.note << ")";
            else
                os << " " << fmt(c.error) << " / " << fmt(c.tolerance) << " (" << c.mode << ", " << c.elements_checked
                   << " checked" << (c.kinks ? ", " + std::to_string(c.kinks) + " at kinks" : std::string()) << ")";
        } else {
            os << " " << c.note;
        }
        os << "\n";
    }
    if (r.first_failure) {
        const EntryCheck& c = r.entries[*r.first_failure];
        os << "first failure: '" << c.op << "' (tape entry #" << c.seq << ", entry " << c.position + 1 << " of "
           << g.entries.size() << ")";
        if (c.status == "replay error") {
            os << ": its replay failed: " << c.note << "\n";
        } else {
            os << ", input " << c.input;
            if (c.directional)
                os << ", along a random direction (every element sampled was within tolerance)";
            else
                os << ", element " << c.element << " at " << shape_str(c.position_in_input);
            os << ": its backward gives " << fmt(c.analytical) << ", central differences of its forward "
               << fmt(c.numerical) << " (error " << fmt(c.error) << " > tolerance " << fmt(c.tolerance) << ")\n";
            os << "  (each entry is checked alone, on its own inputs: the fault is in this op's backward, not upstream)\n";
        }
    } else if (r.unchecked == 0) {
        os << "every entry's backward agrees with its forward\n";
    }
    r.report = os.str();
    return r;
}

}  // namespace

template <class T> GraphCheckResult check_graph(const Tensor<T>& root, const CheckGraphOptions& options) {
    if (!root.defined()) throw ValueError("check_graph: the tensor is undefined");
    return run<T>(root, options);
}
template GraphCheckResult check_graph(const Tensor<float>&, const CheckGraphOptions&);
template GraphCheckResult check_graph(const Tensor<double>&, const CheckGraphOptions&);

}  // namespace autograd
}  // namespace tapegrad
