// build_lesson, print_lesson, to_json: see backprop_lesson.hpp.
#include "backprop_lesson.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>
#include <stdexcept>

#include <tapegrad/tapegrad.hpp>
#include <tapegrad/viz/dot.hpp>
#include <xtensor/xmath.hpp>

namespace explain_bp {
using namespace tapegrad;
using T = Tensor<double>;

namespace {
constexpr double kEps = 1e-6;                   // central differences
constexpr double kAtol = 1e-5, kRtol = 1e-3;   // agree when |analytic − numeric| ≤ atol + rtol·|numeric|

// The op of one entry, re-run on the given inputs (the lesson's constants: y, the reuse scale).
T apply_op(const std::string& op, const std::vector<T>& in, const Network& net) {
    if (op == "linear") return linear(in.at(0), in.at(1), in.size() > 2 ? in[2] : T());
    if (op == "relu") return relu(in.at(0));
    if (op == "mul_scalar") return mul(in.at(0), net.reuse_scale);
    if (op == "add") return add(in.at(0), in.at(1));
    if (op == "cross_entropy") return cross_entropy(in.at(0), net.y);
    throw std::logic_error("explain_backprop: no replay for op " + op);
}

std::string fmt(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.6f", v == 0 ? 0.0 : v);  // no "-0.000000"
    return b;
}

// a constant as written in the code: 0.5, 0.1
std::string num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}

// [[a, b], [c, d]] with 6 decimals
std::string show(const Array& a) {
    if (a.dimension() == 0) return fmt(a());
    std::string s;
    const std::size_t n = a.shape()[0];
    std::size_t stride = a.size() / std::max<std::size_t>(n, 1);
    s += "[";
    for (std::size_t i = 0; i < n; ++i) {
        if (i) s += ", ";
        if (a.dimension() == 1) {
            s += fmt(a.flat(i));
        } else {
            s += "[";
            for (std::size_t j = 0; j < stride; ++j) s += (j ? ", " : "") + fmt(a.flat(i * stride + j));
            s += "]";
        }
    }
    return s + "]";
}

nlohmann::json js(const Array& a) {
    if (a.dimension() == 0) return a();
    nlohmann::json j = nlohmann::json::array();
    const std::size_t n = a.shape()[0], stride = a.size() / std::max<std::size_t>(n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        if (a.dimension() == 1) {
            j.push_back(a.flat(i));
        } else {
            nlohmann::json row = nlohmann::json::array();
            for (std::size_t k = 0; k < stride; ++k) row.push_back(a.flat(i * stride + k));
            j.push_back(row);
        }
    }
    return j;
}

// The local derivative of each op kind, as a formula and as numbers from the entry's inputs.
void describe_local(Step& s, const std::vector<T>& in, const Network& net) {
    if (s.op == "linear") {
        s.formula = "out = " + s.inputs[0] + "·" + s.inputs[1] + "ᵀ + " + s.inputs[2] +
                    ";  ∂out[n,j]/∂" + s.inputs[0] + "[n,i] = " + s.inputs[1] + "[j,i],  ∂out[n,j]/∂" + s.inputs[1] +
                    "[j,i] = " + s.inputs[0] + "[n,i],  ∂out[n,j]/∂" + s.inputs[2] + "[j] = 1;  so  d" + s.inputs[0] +
                    " = g·" + s.inputs[1] + ",  d" + s.inputs[1] + " = gᵀ·" + s.inputs[0] + ",  d" + s.inputs[2] +
                    " = Σ_n g[n]";
        s.local = s.inputs[1] + " = " + show(in[1].value()) + ",  " + s.inputs[0] + " = " + show(in[0].value());
    } else if (s.op == "relu") {
        s.formula = "out = max(" + s.inputs[0] + ", 0);  ∂out/∂" + s.inputs[0] + " = 1 where " + s.inputs[0] +
                    " > 0, else 0;  so  d" + s.inputs[0] + " = g ⊙ 1[" + s.inputs[0] + " > 0]";
        Array mask = xt::cast<double>(in[0].value() > 0.0);
        s.local = "1[" + s.inputs[0] + " > 0] = " + show(mask);
    } else if (s.op == "mul_scalar") {
        s.formula = "out = " + s.inputs[0] + " · " + num(net.reuse_scale) + ";  ∂out/∂" + s.inputs[0] + " = " +
                    num(net.reuse_scale) + ";  so  d" + s.inputs[0] + " = g · " + num(net.reuse_scale);
        s.local = "∂out/∂" + s.inputs[0] + " = " + num(net.reuse_scale) + " at every element";
    } else if (s.op == "add") {
        s.formula = "out = " + s.inputs[0] + " + " + s.inputs[1] + ";  ∂out/∂" + s.inputs[0] + " = ∂out/∂" +
                    s.inputs[1] + " = 1;  so both receive g unchanged";
        s.local = "1 and 1 at every element";
    } else if (s.op == "cross_entropy") {
        const Array& z = in[0].value();
        const std::size_t n = z.shape()[0], c = z.shape()[1];
        Array local = xt::zeros<double>(z.shape());
        for (std::size_t i = 0; i < n; ++i) {
            double m = z(i, 0), sum = 0;
            for (std::size_t k = 1; k < c; ++k) m = std::max(m, z(i, k));
            for (std::size_t k = 0; k < c; ++k) sum += std::exp(z(i, k) - m);
            for (std::size_t k = 0; k < c; ++k)
                local(i, k) = (std::exp(z(i, k) - m) / sum - (std::int64_t(k) == net.y(i) ? 1.0 : 0.0)) / double(n);
        }
        s.formula = "loss = (1/N) Σ_n −log softmax(" + s.inputs[0] + "[n])[y_n];  ∂loss/∂" + s.inputs[0] +
                    "[n,c] = (softmax(" + s.inputs[0] + "[n])[c] − 1[c = y_n]) / N";
        s.local = "(softmax − onehot(y)) / N = " + show(local) + "  (y = [" + std::to_string(net.y(0)) + ", " +
                  std::to_string(net.y(1)) + "], N = " + std::to_string(n) + ")";
    }
}

T forward(const Network& net, const T& x, const T& W1, const T& b1, const T& W2, const T& b2) {
    T h = relu(linear(x, W1, b1));
    T h2 = h + h * net.reuse_scale;
    return cross_entropy(linear(h2, W2, b2), net.y);
}
}  // namespace

Network tiny_network() {
    Network n;
    n.x = Array{{1.0, -2.0}, {0.5, 3.0}};
    n.y = xt::xarray<std::int64_t>{1, 0};
    n.W1 = Array{{0.5, -0.3}, {-0.4, 0.2}, {0.3, 0.8}};
    n.b1 = Array{0.1, -0.1, 0.0};
    n.W2 = Array{{0.6, -0.5, 0.2}, {-0.3, 0.4, 0.7}};
    n.b2 = Array{0.05, -0.05};
    return n;
}

bool Lesson::all_agree() const {
    for (const Step& s : steps)
        if (!s.agree) return false;
    for (const Total& t : totals)
        if (!t.agree) return false;
    return gradcheck_ok;
}

Lesson build_lesson(const std::string& graph_svg, bool keep_svg) {
    Lesson L;
    L.net = tiny_network();
    const Network& net = L.net;
    T x(net.x), W1(net.W1, true), b1(net.b1, true), W2(net.W2, true), b2(net.b2, true);

    // the forward pass, written out so that every intermediate has a name
    T z1 = linear(x, W1, b1);
    T h = relu(z1);
    T hs = h * net.reuse_scale;
    T h2 = h + hs;
    T logits = linear(h2, W2, b2);
    T loss = cross_entropy(logits, net.y);
    std::map<const void*, std::string> names{{x.impl(), "x"},   {W1.impl(), "W1"}, {b1.impl(), "b1"},
                                             {W2.impl(), "W2"}, {b2.impl(), "b2"}, {z1.impl(), "z1"},
                                             {h.impl(), "h"},   {hs.impl(), "hs"}, {h2.impl(), "h2"},
                                             {logits.impl(), "logits"}, {loss.impl(), "loss"}};
    auto name_of = [&](const T& t) {
        auto it = names.find(t.impl());
        return it == names.end() ? std::string("?") : it->second;
    };

    // the backward pass in tapegrad, every intermediate gradient kept
    retain_grads(loss);
    const Graph<double> graph = graph_of(loss);
    loss.backward(T(), /*retain_graph=*/true);
    L.loss_before = loss.value()();

    for (const GraphEntry<double>& e : graph.entries) {
        Step s;
        s.op = e.op;
        s.seq = e.seq;
        s.name = name_of(e.output);
        s.output = e.output.value();
        s.incoming = e.output.grad();
        std::vector<T> inputs;
        for (const T& in : e.inputs)
            if (in.defined()) {
                inputs.push_back(in);
                s.inputs.push_back(name_of(in));
            }
        describe_local(s, inputs, net);
        L.steps.push_back(std::move(s));
    }

    // the backward pass replayed, in reverse tape order: each entry alone
    std::map<std::string, Array> received;       // the gradient summed so far, per tensor
    std::map<std::string, std::size_t> count;
    for (std::size_t k = graph.entries.size(); k-- > 0;) {
        const GraphEntry<double>& e = graph.entries[k];
        Step& s = L.steps[k];
        std::vector<T> inputs, copies;
        for (const T& in : e.inputs)
            if (in.defined()) inputs.push_back(in);
        for (const T& in : inputs) copies.emplace_back(Array(in.value()), in.requires_grad());
        // analytic: this op's backward, given the incoming gradient
        apply_op(s.op, copies, net).backward(T(s.incoming));
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            if (!inputs[i].requires_grad()) continue;
            Outgoing o;
            o.to = s.inputs[i];
            o.grad = copies[i].grad();
            // numeric: d/dv Σ incoming ⊙ op(…, v, …) by central differences of the op's forward
            o.numeric = xt::zeros<double>(o.grad.shape());
            NoGradGuard no_grad;
            for (std::size_t m = 0; m < o.numeric.size(); ++m) {
                auto eval = [&](double delta) {
                    std::vector<T> shifted;
                    for (std::size_t j = 0; j < inputs.size(); ++j) {
                        Array v = inputs[j].value();
                        if (j == i) v.flat(m) += delta;
                        shifted.emplace_back(std::move(v));
                    }
                    return xt::sum(apply_op(s.op, shifted, net).value() * s.incoming)();
                };
                o.numeric.flat(m) = (eval(kEps) - eval(-kEps)) / (2 * kEps);
            }
            o.agree = true;
            for (std::size_t m = 0; m < o.numeric.size(); ++m) {
                const double err = std::abs(o.grad.flat(m) - o.numeric.flat(m));
                o.max_error = std::max(o.max_error, err);
                if (!(err <= kAtol + kRtol * std::abs(o.numeric.flat(m)))) o.agree = false;
            }
            s.max_error = std::max(s.max_error, o.max_error);
            s.agree = s.agree && o.agree;
            // accumulation: what this input had received before, plus this
            auto it = received.find(o.to);
            if (it == received.end()) {
                received[o.to] = o.grad;
            } else {
                o.accumulated = true;
                o.accumulation.before = it->second;
                o.accumulation.contribution = o.grad;
                it->second = it->second + o.grad;
                o.accumulation.sum = it->second;
            }
            ++count[o.to];
            s.outgoing.push_back(std::move(o));
        }
    }

    // the summed contributions against tapegrad's own gradients (leaves' and retained ones)
    std::vector<T> all{W1, b1, W2, b2, z1, h, hs, h2, logits};
    for (const T& t : all) {
        Total tot;
        tot.name = name_of(t);
        tot.contributions = count[tot.name];
        tot.sum = received.count(tot.name) ? received[tot.name] : Array();
        tot.tapegrad = t.grad();
        tot.agree = tot.sum.shape() == tot.tapegrad.shape() && xt::allclose(tot.sum, tot.tapegrad, 1e-12, 1e-12);
        L.totals.push_back(std::move(tot));
    }

    // the picture, before the parameters change
    if (!graph_svg.empty() || keep_svg) {
        viz::DotOptions opt;
        opt.name(x, "x").name(W1, "W1").name(b1, "b1").name(W2, "W2").name(b2, "b2").precision(4).title(
            "explain_backprop: loss = cross_entropy(linear(h + 0.5·h, W2, b2), y), h = relu(linear(x, W1, b1))");
        const std::string dot = viz::to_dot(graph, opt);
        if (keep_svg) L.graph_svg = viz::render_svg(dot);
        if (!graph_svg.empty()) {
            viz::write_svg(dot, graph_svg);
            L.graph_file = graph_svg;
        }
    }

    // gradcheck on the whole function of the four parameters
    auto fn = [&net, &x](const std::vector<T>& p) { return forward(net, x, p[0], p[1], p[2], p[3]); };
    const autograd::GradcheckResult gc =
        autograd::gradcheck(fn, std::vector<T>{T(net.W1, true), T(net.b1, true), T(net.W2, true), T(net.b2, true)});
    L.gradcheck_ok = gc.ok;
    L.gradcheck_max_error = gc.max_error;
    L.gradcheck_checked = gc.checked;
    L.gradcheck_report = gc.report;

    // one SGD step
    std::vector<std::pair<std::string, T>> params{{"W1", W1}, {"b1", b1}, {"W2", W2}, {"b2", b2}};
    for (auto& [n, p] : params) L.params.push_back({n, p.value(), p.grad(), Array()});
    optim::SGD<double> sgd({W1, b1, W2, b2}, optim::SGDOptions(net.lr));
    sgd.step();
    for (std::size_t i = 0; i < params.size(); ++i) L.params[i].after = params[i].second.value();
    {
        NoGradGuard no_grad;
        L.loss_after = forward(net, x, W1, b1, W2, b2).value()();
    }
    return L;
}

void print_lesson(const Lesson& L, std::ostream& out) {
    const Network& n = L.net;
    out << "Backpropagation, step by step, on a tiny network (double precision)\n"
        << "===================================================================\n\n"
        << "Two samples of 2 inputs, 3 hidden units (ReLU), 2 classes, cross-entropy (mean):\n"
        << "  z1     = linear(x, W1, b1)      x·W1ᵀ + b1\n"
        << "  h      = relu(z1)\n"
        << "  hs     = h · " << num(n.reuse_scale) << "\n"
        << "  h2     = h + hs                 h is used TWICE (here and in hs), so its gradient will be a sum\n"
        << "  logits = linear(h2, W2, b2)\n"
        << "  loss   = cross_entropy(logits, y)\n\n"
        << "  x  = " << show(n.x) << "   y = [" << n.y(0) << ", " << n.y(1) << "]\n"
        << "  W1 = " << show(n.W1) << "   b1 = " << show(n.b1) << "\n"
        << "  W2 = " << show(n.W2) << "   b2 = " << show(n.b2) << "\n\n";

    out << "1. The forward pass: the tape, entry by entry (graph_of(loss), recording order)\n"
        << "--------------------------------------------------------------------------------\n";
    for (const Step& s : L.steps) {
        out << "  #" << s.seq << " " << s.op << "(";
        for (std::size_t i = 0; i < s.inputs.size(); ++i) out << (i ? ", " : "") << s.inputs[i];
        out << ") -> " << s.name << " = " << show(s.output) << "\n";
    }
    out << "\n2. The backward pass: the same entries in REVERSE tape order\n"
        << "------------------------------------------------------------\n"
        << "backward() starts at loss with gradient 1 and visits each entry after every entry that reads its\n"
        << "output, so an entry's incoming gradient is complete when it runs. At each entry: the incoming\n"
        << "gradient g (the retained gradient of its output), the local derivative, the gradients it sends\n"
        << "to its inputs, and a check of this entry alone: central differences (eps 1e-6) of its own\n"
        << "forward, d/dv Σ g ⊙ op(…, v, …), against the analytic gradient.\n";
    for (std::size_t k = L.steps.size(); k-- > 0;) {
        const Step& s = L.steps[k];
        out << "\n  #" << s.seq << " " << s.op << " -> " << s.name << "\n"
            << "    incoming g = d loss/d " << s.name << " = " << show(s.incoming) << "\n"
            << "    local:     " << s.formula << "\n"
            << "               " << s.local << "\n";
        for (const Outgoing& o : s.outgoing) {
            out << "    sends d loss/d " << o.to << " = " << show(o.grad) << "\n";
            if (o.accumulated)
                out << "    += " << o.to << " is reached a second time: its gradient is the SUM of both contributions\n"
                    << "       " << o.to << ".grad  = " << show(o.accumulation.before) << "   (earlier)\n"
                    << "       " << o.to << ".grad += " << show(o.accumulation.contribution) << "   (this entry)\n"
                    << "       " << o.to << ".grad  = " << show(o.accumulation.sum) << "\n";
            out << "      numeric  " << show(o.numeric) << "   max error " << o.max_error << "  "
                << (o.agree ? "agree" : "DISAGREE") << "\n";
        }
        if (s.outgoing.empty()) out << "    (no input needs a gradient)\n";
    }
    out << "\n  Every gradient, summed over its contributions, against tapegrad's own (.grad(); retained for\n"
        << "  non-leaves):\n";
    for (const Total& t : L.totals)
        out << "    " << t.name << ": " << t.contributions << " contribution" << (t.contributions == 1 ? " " : "s")
            << "  " << show(t.sum) << "  " << (t.agree ? "agree" : "DISAGREE") << "\n";

    out << "\n3. The parameter gradients, and gradcheck on the whole function\n"
        << "----------------------------------------------------------------\n";
    for (const Param& p : L.params) out << "  d loss/d " << p.name << " = " << show(p.grad) << "\n";
    out << "  autograd::gradcheck(loss as a function of W1, b1, W2, b2; eps 1e-6, atol 1e-5, rtol 1e-3): "
        << (L.gradcheck_ok ? "ok" : "FAILED") << ", " << L.gradcheck_checked << " Jacobian entries, max error "
        << L.gradcheck_max_error << "\n";
    if (!L.gradcheck_ok) out << L.gradcheck_report << "\n";

    out << "\n4. One SGD step: p ← p − " << num(n.lr) << "·grad\n"
        << "---------------------------------\n";
    for (const Param& p : L.params)
        out << "  " << p.name << ": " << show(p.before) << "\n  " << std::string(p.name.size(), ' ') << "→ "
            << show(p.after) << "\n";
    out << "  loss before " << fmt(L.loss_before) << ", after " << fmt(L.loss_after)
        << (L.loss_after < L.loss_before ? "  (lower: the step went downhill)" : "  (not lower)") << "\n";

    out << "\n5. The picture\n--------------\n";
    if (L.graph_file.empty())
        out << "  Run with --graph FILE.svg for the graph: one box per entry with its values and gradient,\n"
            << "  one ellipse per leaf, and the order in which backward visits the entries.\n";
    else
        out << "  The graph is in " << L.graph_file << ".\n";
    out << "\nEvery check: " << (L.all_agree() ? "agree" : "DISAGREE") << "\n";
}

nlohmann::json to_json(const Lesson& L) {
    nlohmann::json j;
    j["network"] = {{"x", js(L.net.x)},   {"y", std::vector<std::int64_t>(L.net.y.begin(), L.net.y.end())},
                    {"W1", js(L.net.W1)}, {"b1", js(L.net.b1)},
                    {"W2", js(L.net.W2)}, {"b2", js(L.net.b2)},
                    {"reuse_scale", L.net.reuse_scale}, {"lr", L.net.lr}};
    j["entries"] = nlohmann::json::array();
    for (const Step& s : L.steps) {
        nlohmann::json e{{"op", s.op},         {"seq", s.seq},           {"name", s.name},
                         {"inputs", s.inputs}, {"output", js(s.output)}, {"incoming_grad", js(s.incoming)},
                         {"formula", s.formula}, {"check_max_error", s.max_error},
                         {"check", s.agree ? "agree" : "DISAGREE"}};
        e["outgoing"] = nlohmann::json::array();
        for (const Outgoing& o : s.outgoing) {
            nlohmann::json oj{{"to", o.to}, {"grad", js(o.grad)}, {"numeric", js(o.numeric)},
                              {"max_error", o.max_error}, {"check", o.agree ? "agree" : "DISAGREE"},
                              {"accumulated", o.accumulated}};
            if (o.accumulated)
                oj["accumulation"] = {{"before", js(o.accumulation.before)},
                                      {"contribution", js(o.accumulation.contribution)},
                                      {"sum", js(o.accumulation.sum)}};
            e["outgoing"].push_back(oj);
        }
        j["entries"].push_back(e);
    }
    j["totals"] = nlohmann::json::array();
    for (const Total& t : L.totals)
        j["totals"].push_back({{"name", t.name}, {"contributions", t.contributions}, {"sum", js(t.sum)},
                               {"tapegrad", js(t.tapegrad)}, {"check", t.agree ? "agree" : "DISAGREE"}});
    j["parameters"] = nlohmann::json::object();
    for (const Param& p : L.params)
        j["parameters"][p.name] = {{"before", js(p.before)}, {"grad", js(p.grad)}, {"after", js(p.after)}};
    j["gradcheck"] = {{"ok", L.gradcheck_ok}, {"max_error", L.gradcheck_max_error}, {"checked", L.gradcheck_checked}};
    j["loss_before"] = L.loss_before;
    j["loss_after"] = L.loss_after;
    j["graph_file"] = L.graph_file;
    j["all_agree"] = L.all_agree();
    return j;
}

}  // namespace explain_bp
