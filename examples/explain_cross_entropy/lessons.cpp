// The explainer's tables and prose (see lessons.hpp); the numbers come from by_hand.cpp.
#include "lessons.hpp"
#include "page.hpp"
#include "text_tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iomanip>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>
#include <tapegrad/tapegrad.hpp>

namespace explain_ce {

namespace {

using Json = nlohmann::json;

// Step 1: softmax and the loss of every position.
void print_steps(Lesson& L, const Problem& pr, const Hand& h) {
    std::ostream& out = L.out;
    const bool smooth = pr.eps > 0;
    out << "\nStep 1. Softmax of each " << (pr.logits.dimension() > 2 ? "position along the class dim (dim 1)" : "row")
        << ", then the loss of each " << (pr.logits.dimension() > 2 ? "position" : "sample") << ".\n";
    for (const Position& P : h.pos) {
        out << "\n  " << P.name;
        if (!pr.prob) out << ", target " << P.t << (P.ignored ? "  (== ignore_index: ignored)" : "");
        out << "\n";
        if (std::any_of(P.x.begin(), P.x.end(), [](double v) { return std::isnan(v) || v == HUGE_VAL; }) ||
            std::all_of(P.x.begin(), P.x.end(), [](double v) { return v == -HUGE_VAL; }))
            out << "    (a nan or +inf logit, or all -inf, makes x - m nan, so the whole row is nan, as in PyTorch;\n"
                   "     a single -inf logit is harmless: its p is 0)\n";
        Table t;
        t.add("logits x", P.x, "row max m = " + num(P.m));
        t.add("x - m", P.z);
        t.add("exp(x - m)", P.e, "sum s = " + num(P.s));
        t.add("p = exp / s", P.p, "log s = " + num(P.log_s));
        t.add("log p", P.logp, "= (x - m) - log s");
        if (pr.prob) {
            double sum_t = 0;
            for (double v : P.given) sum_t += v;
            t.add("target t", P.given, "sums to " + num(sum_t));
            if (smooth) t.add("smoothed t'", P.y, "= t (1 - eps) + eps/C");
            if (pr.has_weight) t.add("q = w * t" + std::string(smooth ? "'" : ""), P.q);
            std::vector<double> contrib;
            for (std::size_t c = 0; c < h.C; ++c) contrib.push_back(-P.q[c] * P.logp[c]);
            t.add(pr.has_weight ? "-q log p" : smooth ? "-t' log p" : "-t log p", contrib, "sum = loss = " + num(P.loss));
            t.print(out, "    ");
            continue;
        }
        if (P.ignored) {
            t.print(out, "    ");
            out << "    ignored: loss = 0, not counted in the 'mean' divisor, gradient row = 0\n";
            continue;
        }
        std::vector<double> onehot(h.C, 0.0);
        onehot[std::size_t(P.t)] = 1;
        t.add("one-hot y", onehot);
        if (smooth) {
            t.add("smoothed y", P.y, "= (1 - eps) y + eps/C");
            std::vector<double> wl;
            for (std::size_t c = 0; c < h.C; ++c) wl.push_back(-(pr.has_weight ? pr.weight(c) : 1.0) * P.logp[c]);
            t.add(pr.has_weight ? "-w log p" : "-log p", wl, "sum = " + num(P.smooth));
        }
        t.print(out, "    ");
        const std::string tc = std::to_string(P.t);
        out << "    log p[" << tc << "] = " << num(P.logp[std::size_t(P.t)]) << ",  weight w[" << tc << "] = " << num(P.wt)
            << "\n";
        if (!smooth)
            out << "    loss = -w[" << tc << "] * log p[" << tc << "] = " << num(P.loss) << "\n";
        else
            out << "    loss = (1 - eps) * (-w[" << tc << "] log p[" << tc << "]) + eps/C * sum_c(-w[c] log p[c])\n"
                << "         = " << num(1 - pr.eps) << " * " << num(P.nll) << " + " << num(pr.eps / double(h.C)) << " * "
                << num(P.smooth) << " = " << num(P.loss) << "\n";
    }
}

// Step 2: the reduction, checked against tapegrad's loss.
void print_reduction(Lesson& L, const Problem& pr, const Hand& h, const LibResult& lib) {
    std::ostream& out = L.out;
    std::vector<double> per;
    for (const Position& P : h.pos) per.push_back(P.loss);
    out << "\nStep 2. Reduction '" << tapegrad::to_string(pr.reduction) << "'.\n";
    out << "  per-" << (pr.logits.dimension() > 2 ? "position" : "sample") << " losses = " << list_str(per) << "\n";
    if (pr.reduction == Reduction::None) {
        out << "  'none' returns them as they are (shape " << tapegrad::shape_str_of(h.loss.shape()) << ").\n";
    } else {
        out << "  sum of the losses = " << num(h.total) << "\n";
        if (pr.reduction == Reduction::Mean) {
            if (pr.prob) {
                out << "  divisor = number of positions = " << num(h.divisor, 0)
                    << "  (probability targets: weights never enter the divisor)\n";
            } else {
                std::string terms;
                int counted = 0;
                for (const Position& P : h.pos) {
                    if (P.ignored) continue;
                    if (++counted <= 8) terms += (terms.empty() ? "" : " + ") + short_num(P.wt);
                }
                if (counted > 8) terms += " + ...";
                out << "  divisor = sum of w[target] over the " << counted << " non-ignored targets = "
                    << (terms.empty() ? "(none)" : terms) << " = " << num(h.divisor) << "\n";
                if (h.divisor == 0) out << "  nothing is left to average: 'mean' gives nan (and a zero gradient)\n";
            }
            out << "  loss = " << num(h.total) << " / " << num(h.divisor) << " = " << num(h.loss()) << "\n";
        } else {
            out << "  loss = " << num(h.loss()) << "\n";
        }
    }
    out << "  by hand:  loss = " << array_str(h.loss) << "\n";
    out << "  tapegrad: loss = " << array_str(lib.loss) << "   " << L.mark(agree(h.loss, lib.loss)) << "\n";
}

// Step 3: the gradient, by hand beside x.grad().
void print_gradient(Lesson& L, const Problem& pr, const Hand& h, const LibResult& lib) {
    std::ostream& out = L.out;
    const bool plain = !pr.prob && pr.eps == 0;  // softmax minus one-hot
    out << "\nStep 3. Gradient of the " << (pr.reduction == Reduction::None ? "sum of the losses" : "loss")
        << " w.r.t. the logits";
    if (plain) {
        out << ":\n  softmax - one-hot, times w[target] / divisor.\n";
    } else {
        out << ":\n  p * sum(q) - q, times 1 / divisor, where q = weight * target distribution"
            << (pr.prob ? "." : "\n  (the smoothed one-hot).") << "\n  With no weights and a target that sums to 1 this is"
            << " p - target: softmax minus\n  the target, as for one-hot targets.\n";
    }
    const std::string div = pr.reduction == Reduction::Mean ? num(h.divisor) : "1 ('" + std::string(tapegrad::to_string(pr.reduction)) + "')";
    out << "  divisor = " << div << "\n";
    const double* tape = lib.grad.data();
    const Shape s(pr.logits.shape().begin(), pr.logits.shape().end());
    const std::size_t C = h.C, D = h.pos.size() / std::max<std::size_t>(1, s.size() == 1 ? 1 : s[0]);
    bool all_ok = true;
    for (std::size_t k = 0; k < h.pos.size(); ++k) {
        const Position& P = h.pos[k];
        const std::size_t n = k / D, d = k % D;
        std::vector<double> mine, theirs, base;
        double S = 0;  // Σ q, once per position
        for (double v : P.q) S += v;
        for (std::size_t c = 0; c < C; ++c) {
            mine.push_back(P.grad[c]);
            theirs.push_back(tape[(n * C + c) * D + d]);
            base.push_back(P.ignored ? 0.0 : plain ? P.p[c] - (std::int64_t(c) == P.t) : P.p[c] * S - P.q[c]);
        }
        const bool ok = agree(to_array({C}, mine), to_array({C}, theirs));
        all_ok = all_ok && ok;
        out << "\n  " << P.name << (P.ignored ? "  (ignored: the whole row is 0)" : "") << "\n";
        Table t;
        const double factor = plain ? P.wt * h.scale : h.scale;
        if (!P.ignored)
            t.add(plain ? "p - one-hot" : "p * sum(q) - q", base,
                  (plain ? "* w[t]/divisor = " : "* 1/divisor = ") + num(factor));
        t.add("by hand", mine);
        t.add("tapegrad x.grad", theirs, L.mark(ok));
        t.print(out, "    ");
    }
    out << (all_ok ? "  every gradient row agrees with tapegrad's backward()\n"
                   : "  some gradient rows DISAGREE with tapegrad's backward()\n");
}

std::string problem_str(const Problem& pr) {
    std::ostringstream os;
    os << "logits, shape " << tapegrad::shape_str_of(pr.logits.shape()) << ": " << echo_array(pr.logits, 4) << "\n";
    if (pr.prob)
        os << "probability targets: " << echo_array(pr.probs, 4) << "\n";
    else
        os << "class-index targets: " << echo_array(xt::xarray<double>(xt::cast<double>(pr.index)), 0) << "\n";
    if (pr.has_weight) os << "class weights: " << echo_array(pr.weight, 4) << "\n";
    if (!pr.prob) os << "ignore_index = " << pr.ignore_index << "\n";
    os << "reduction = '" << tapegrad::to_string(pr.reduction) << "'";
    if (pr.eps > 0) os << ", label_smoothing = " << pr.eps;
    os << "\n";
    return os.str();
}

// The three steps of one case, with the library's numbers beside.
LibResult explain_case(Lesson& L, const Problem& pr, bool steps = true, bool rest = true) {
    const LibResult lib = run_library(pr);
    const Hand h = by_hand(pr);
    if (steps) print_steps(L, pr, h);
    if (rest) {
        print_reduction(L, pr, h, lib);
        print_gradient(L, pr, h, lib);
    }
    return lib;
}

// Every example of the walkthrough starts from this problem: 2 samples, 3 classes, targets [0, 2].
Problem seed_problem() {
    Problem p;
    p.logits = xt::xarray<double>{{2.0, 0.5, 1.0}, {0.5, 2.0, 1.5}};
    p.index = xt::xarray<std::int64_t>{0, 2};
    return p;
}

// A 1-D array's entries, for the tables.
std::vector<double> row_of(const xt::xarray<double>& a, std::size_t n) {
    std::vector<double> v;
    for (std::size_t c = 0; c < a.shape()[1]; ++c) v.push_back(a(n, c));
    return v;
}

// Example 6: the same logits through softmax + cross_entropy and sigmoid + binary cross-entropy.
void lesson_sigmoid_vs_softmax(Lesson& L) {
    using namespace tapegrad;
    std::ostream& out = L.out;
    heading(out, "Example 6: softmax + cross-entropy, or sigmoid + binary cross-entropy?");
    out << "Use softmax + cross_entropy when every sample has exactly ONE class out of C (a shirt is not\n"
           "also a sneaker): the probabilities compete, they sum to 1, and raising one lowers the others.\n"
           "Use sigmoid + binary_cross_entropy_with_logits when each class is a yes/no question of its own\n"
           "and a sample may have any number of them (a photo with a dog AND a cat; 'is this spam?'): each\n"
           "sigmoid(x_c) stands alone, and nothing makes them sum to 1.\n\n"
           "The same logits both ways, sample 0 of Example 1 with target class 0 (as a one-hot row for BCE),\n"
           "reduction 'sum':\n";
    const xt::xarray<double> x0{{2.0, 0.5, 1.0}};
    const xt::xarray<double> y{{1.0, 0.0, 0.0}};
    Tensor<double> a(x0, true), b(x0, true);
    Tensor<double> ce = cross_entropy(a, xt::xarray<std::int64_t>{0}, Tensor<double>(), -100, Reduction::Sum);
    Tensor<double> bce = binary_cross_entropy_with_logits(b, Tensor<double>(y), Tensor<double>(), Reduction::Sum);
    ce.backward();
    bce.backward();
    std::vector<double> p, s, p_minus_y, s_minus_y;
    double m = -HUGE_VAL, z = 0, sum_s = 0;
    for (double v : x0) m = std::max(m, v);
    for (double v : x0) z += std::exp(v - m);
    for (std::size_t c = 0; c < 3; ++c) {
        p.push_back(std::exp(x0(0, c) - m) / z);
        s.push_back(1 / (1 + std::exp(-x0(0, c))));
        sum_s += s.back();
        p_minus_y.push_back(p[c] - y(0, c));
        s_minus_y.push_back(s[c] - y(0, c));
    }
    Table t;
    t.add("logits x", row_of(x0, 0));
    t.add("softmax p", p, "sums to 1");
    t.add("sigmoid s", s, "sums to " + num(sum_s, 4));
    t.add("target y", row_of(y, 0));
    t.add("p - y (by hand)", p_minus_y);
    t.add("cross_entropy grad", row_of(a.grad(), 0), L.mark(agree(to_array({3}, p_minus_y), to_array({3}, row_of(a.grad(), 0)))));
    t.add("s - y (by hand)", s_minus_y);
    t.add("bce_with_logits grad", row_of(b.grad(), 0), L.mark(agree(to_array({3}, s_minus_y), to_array({3}, row_of(b.grad(), 0)))));
    t.print(out, "  ");
    out << "\n  cross_entropy = -log p[0] = " << num(ce.item()) << ";  binary_cross_entropy_with_logits = "
        << num(bce.item()) << "\n"
        << "Both gradients are 'prediction minus target'; only the prediction differs. With softmax the\n"
           "wrong classes are pushed down because the right one must go up; with sigmoid each class is\n"
           "pushed on its own.\n\n"
           "Two classes are where they meet: softmax([a, b])[1] = 1 / (1 + exp(a - b)) = sigmoid(b - a). So\n"
           "cross_entropy on the two logits [a, b] is binary_cross_entropy_with_logits on the one logit b - a:\n";
    {
        const double av = 0.3, bv = 1.7;
        Tensor<double> two(xt::xarray<double>{{av, bv}}), one(xt::xarray<double>{bv - av});
        const double l2 = cross_entropy(two, xt::xarray<std::int64_t>{1}).item();
        const double l1 = binary_cross_entropy_with_logits(one, Tensor<double>(xt::xarray<double>{1.0})).item();
        out << "  cross_entropy([[0.3, 1.7]], [1])                 = " << num(l2) << "\n"
            << "  binary_cross_entropy_with_logits([1.4], [1.0])    = " << num(l1) << "   "
            << L.mark(std::abs(l1 - l2) <= 1e-12) << "\n";
    }
    out << "\nWhy '_with_logits'? sigmoid(40) is 1 - 4e-18, which rounds to exactly 1 in float64. Applying\n"
           "sigmoid yourself and then binary_cross_entropy with target 0 asks for log(1 - 1) = -inf, which\n"
           "torch clamps to -100: the loss says 100 where the truth is 40. The fused loss never forms\n"
           "sigmoid(x): it computes (1 - t) x + log(1 + exp(-x)) with the log-sum-exp trick.\n";
    {
        Tensor<double> big(xt::xarray<double>{40.0}), zero(xt::xarray<double>{0.0});
        const double fused = binary_cross_entropy_with_logits(big, zero).item();
        const double split = binary_cross_entropy(sigmoid(big), zero).item();
        const double exact = 40.0 + std::log1p(std::exp(-40.0));
        out << "  binary_cross_entropy(sigmoid([40]), [0])        = " << num(split) << "\n"
            << "  binary_cross_entropy_with_logits([40], [0])     = " << num(fused) << "   (by hand: 40 + log1p(exp(-40)) = "
            << num(exact) << ")   " << L.mark(std::abs(fused - exact) <= 1e-12 * exact) << "\n";
    }
    out << "Try it: explain_cross_entropy --loss binary_cross_entropy_with_logits   (its own lesson)\n";
}

// Example 7: label smoothing is cross-entropy against a mixed target.
void lesson_smoothing_as_mix(Lesson& L) {
    using namespace tapegrad;
    std::ostream& out = L.out;
    heading(out, "Example 7: label smoothing is a mix with the uniform distribution");
    const double eps = 0.1;
    const std::size_t C = 3;
    out << "label_smoothing = eps replaces the one-hot target by a mix of it with the uniform distribution,\n"
           "  y' = (1 - eps) one-hot + eps u,   u = [1/C, ..., 1/C],\n"
           "and cross-entropy is linear in its target, so the loss is the same mix of two losses:\n"
           "  cross_entropy(x, t, label_smoothing = eps) = (1 - eps) cross_entropy(x, t) + eps cross_entropy(x, u).\n"
           "Example 1's logits, eps = 0.1:\n\n";
    const Problem p = seed_problem();
    const xt::xarray<double> u = xt::ones<double>({std::size_t(2), C}) / double(C);
    xt::xarray<double> ys = u * eps;
    for (std::size_t n = 0; n < 2; ++n) ys(n, std::size_t(p.index(n))) += 1 - eps;
    Tensor<double> xa(p.logits, true), xb(p.logits, true);
    const Tensor<double> none;
    Tensor<double> smoothed = cross_entropy(xa, p.index, none, -100, Reduction::Mean, eps);
    const double hard = cross_entropy(Tensor<double>(p.logits), p.index).item();
    const double uniform = cross_entropy(Tensor<double>(p.logits), Tensor<double>(u)).item();
    Tensor<double> as_target = cross_entropy(xb, Tensor<double>(ys));
    const double mix = (1 - eps) * hard + eps * uniform;
    out << "  cross_entropy(x, t, label_smoothing = 0.1)        = " << num(smoothed.item()) << "\n"
        << "  cross_entropy(x, t)                               = " << num(hard) << "\n"
        << "  cross_entropy(x, u)                               = " << num(uniform) << "\n"
        << "  0.9 * " << num(hard, 6) << " + 0.1 * " << num(uniform, 6) << "      = " << num(mix) << "   "
        << L.mark(std::abs(mix - smoothed.item()) <= 1e-12) << "\n"
        << "  cross_entropy(x, y') with the mixed target as probabilities = " << num(as_target.item()) << "   "
        << L.mark(std::abs(as_target.item() - smoothed.item()) <= 1e-12) << "\n\n";
    smoothed.backward();
    as_target.backward();
    Table t;
    for (std::size_t n = 0; n < 2; ++n) {
        t.add("y' row " + std::to_string(n), row_of(ys, n));
        t.add("grad, label_smoothing", row_of(xa.grad(), n));
        t.add("grad, target y'", row_of(xb.grad(), n),
              L.mark(agree(to_array({C}, row_of(xa.grad(), n)), to_array({C}, row_of(xb.grad(), n)))));
    }
    t.print(out, "  ");
    const double gap = std::log(1 + double(C) * (1 - eps) / eps);
    out << "\nThe gradient row is (p - y') / N: the loss is smallest where p = y'. With a one-hot target that\n"
           "needs p[t] = 1, an infinite gap between the logits, so training keeps pushing them apart (an\n"
           "overconfident model). The mixed target is reached at a finite gap: p = y' when\n"
           "x[t] - x[c] = log((1 - eps + eps/C) / (eps/C)) = log(1 + C (1 - eps) / eps) = log(28) = "
        << num(gap, 4) << "\nfor C = 3, eps = 0.1. There the gradient is zero:\n";
    {
        Tensor<double> x(xt::xarray<double>{{gap, 0.0, 0.0}}, true);
        cross_entropy(x, xt::xarray<std::int64_t>{0}, none, -100, Reduction::Mean, eps).backward();
        double worst = 0;
        for (double g : x.grad()) worst = std::max(worst, std::abs(g));
        Table z;
        z.add("logits", {gap, 0.0, 0.0});
        z.add("grad", row_of(x.grad(), 0), L.mark(worst <= 1e-15));
        z.print(out, "  ");
    }
    out << "Compare the two settings of any case: explain_cross_entropy --logits ... --target ... --compare '--label-smoothing 0.1'\n";
}

}  // namespace

Problem walkthrough_problem() { return seed_problem(); }

// ---------------------------------------------------------------- the walkthrough

int walkthrough(std::ostream& out) {
    Lesson L{out};
    out << "Cross-entropy, step by step\n===========================\n"
           "A classifier gives each sample one raw score per class, the logits x. Cross-entropy turns\n"
           "a sample's logits into probabilities with softmax, p = exp(x) / sum(exp(x)), and charges\n"
           "the sample -log p[target]: near 0 when the model is sure and right, large when it is sure\n"
           "and wrong. Every number below is computed by hand, in double, following the formulas;\n"
           "the loss and the gradient are also computed by tapegrad (cross_entropy on float64 tensors,\n"
           "then backward()), and the two are compared: each check is marked 'agree' when they match.\n";

    heading(out, "Example 1: the basic loss");
    Problem p = seed_problem();
    std::vector<double> torch_ref, ours;  // PyTorch's float64 numbers, and tapegrad's for the same cases
    out << "logits (N = 2 samples, C = 3 classes) = [[2.0, 0.5, 1.0], [0.5, 2.0, 1.5]]\n"
           "targets = [0, 2], reduction = 'mean'\n\n"
           "Why subtract the row max m first? softmax(x) = softmax(x - m): the factor exp(-m) cancels\n"
           "between numerator and sum. But after the shift every exponent is <= 0, so exp can't\n"
           "overflow (exp(1000) would be inf): the largest term is exp(0) = 1 and the sum lies\n"
           "between 1 and C, so log s is safe too. log p is then (x - m) - log s, without ever\n"
           "taking the log of a tiny p.\n";
    ours.push_back(explain_case(L, p).loss());
    torch_ref.push_back(0.7842496947);
    out << "\nWhy softmax - one-hot? loss = -x[t] + log sum_k exp(x[k]). The derivative of\n"
           "log sum_k exp(x[k]) w.r.t. x[c] is exp(x[c]) / sum_k exp(x[k]) = p[c], and -x[t] contributes -1\n"
           "at c = t only. So the gradient row is p - one-hot(t): the true class is pulled up by 1 - p[t],\n"
           "every other class pushed down by its probability; each row sums to 0. 'mean' then divides\n"
           "it by the divisor, like the loss.\n";

    heading(out, "Example 2: log_softmax + nll_loss gives the same number");
    out << "cross_entropy(x, t) is nll_loss(log_softmax(x, 1), t): log_softmax does Step 1's\n"
           "(x - m) - log s, and nll_loss picks -log p[target], weights it and reduces. tapegrad fuses\n"
           "both into one tape node with the p - one-hot backward; composing them gives the same\n"
           "loss and gradient through two nodes.\n\n";
    {
        using namespace tapegrad;
        Tensor<double> x1(p.logits, true), x2(p.logits, true);
        Tensor<double> logp = log_softmax(x1, 1);
        Tensor<double> a = nll_loss(logp, p.index), b = cross_entropy(x2, p.index);
        a.backward();
        b.backward();
        Table t;
        for (std::size_t n = 0; n < 2; ++n)
            t.add("log_softmax(x, 1)[" + std::to_string(n) + "]", {logp.value()(n, 0), logp.value()(n, 1), logp.value()(n, 2)});
        t.print(out, "  ");
        out << "\n  nll_loss(log_softmax(x, 1), t) = " << num(a.item()) << "\n"
            << "  cross_entropy(x, t)            = " << num(b.item()) << "   "
            << L.mark(std::abs(a.item() - b.item()) <= 1e-12) << "\n\n";
        Table g;
        for (std::size_t n = 0; n < 2; ++n) {
            const std::vector<double> g1{x1.grad()(n, 0), x1.grad()(n, 1), x1.grad()(n, 2)},
                g2{x2.grad()(n, 0), x2.grad()(n, 1), x2.grad()(n, 2)};
            g.add("grad via log_softmax + nll_loss, row " + std::to_string(n), g1);
            g.add("grad via cross_entropy, row " + std::to_string(n), g2, L.mark(agree(to_array({3}, g1), to_array({3}, g2))));
        }
        g.print(out, "  ");
    }

    heading(out, "Example 3: class weights [1, 2, 3]");
    out << "weight[c] multiplies the loss of every sample whose target is c, so rarer or more important\n"
           "classes get more say. With 'mean' the weighted losses are divided by the sum of the weights\n"
           "of the targets, w[0] + w[2] = 1 + 3 = 4, not by N = 2: 'mean' stays a weighted average (if\n"
           "every weight were 5, the loss would not change at all).\n";
    p.has_weight = true;
    p.weight = xt::xarray<double>{1.0, 2.0, 3.0};
    ours.push_back(explain_case(L, p).loss());
    torch_ref.push_back(0.9441901500);

    heading(out, "Example 4: ignore_index for padding");
    out << "Padding positions (say, the tail of a sequence shorter than the longest in the batch) have\n"
           "no real label; mark them with ignore_index. Here the third row is padding: targets [0, 2, -1]\n"
           "with ignore_index = -1. An ignored row contributes 0 to the loss, is not counted in the\n"
           "'mean' divisor (2 here, not 3), and its gradient row is all zeros: its logits are not pushed\n"
           "anywhere.\n";
    p = seed_problem();
    p.logits = xt::xarray<double>{{2.0, 0.5, 1.0}, {0.5, 2.0, 1.5}, {0.1, 0.2, 0.3}};
    p.index = xt::xarray<std::int64_t>{0, 2, -1};
    p.ignore_index = -1;
    ours.push_back(explain_case(L, p).loss());
    torch_ref.push_back(0.7842496947);
    out << "\nThe mean is (0.4643687841 + 1.1041306053) / 2, exactly Example 1's loss: the padding row\n"
           "changed nothing.\n";

    heading(out, "Example 5: the three reductions, none / sum / mean");
    out << "'none' returns one loss per sample, 'sum' adds them, 'mean' divides the sum by the divisor\n"
           "(N here, as there are no weights and nothing is ignored). The gradient shown for 'none' is\n"
           "that of the sum of the returned losses (what loss.sum().backward() gives), so it equals\n"
           "'sum''s; 'mean''s is the same divided by N = 2. Step 1 is the same for all three (it is\n"
           "Example 1's); Steps 2 and 3 follow for each reduction.\n";
    p = seed_problem();
    explain_case(L, p, /*steps=*/true, /*rest=*/false);
    const double torch5[] = {0.4643687841, 1.1041306053, 1.5684993894, 0.7842496947};
    for (Reduction r : {Reduction::None, Reduction::Sum, Reduction::Mean}) {
        p.reduction = r;
        heading(out, std::string("reduction = '") + tapegrad::to_string(r) + "'", '.');
        const LibResult lib = explain_case(L, p, /*steps=*/false);
        ours.insert(ours.end(), lib.loss.begin(), lib.loss.end());
    }
    torch_ref.insert(torch_ref.end(), std::begin(torch5), std::end(torch5));

    lesson_sigmoid_vs_softmax(L);
    lesson_smoothing_as_mix(L);

    heading(out, "Summary", '=');
    out << "tapegrad's losses beside PyTorch's (F.cross_entropy in float64, rounded to 10 decimals):\n";
    const char* names[] = {"example 1, mean", "example 3, weights [1, 2, 3]", "example 4, ignore_index",
                           "example 5, none [0]", "example 5, none [1]", "example 5, sum", "example 5, mean"};
    for (std::size_t i = 0; i < ours.size(); ++i)
        out << "  " << std::left << std::setw(30) << names[i] << std::right << "tapegrad " << num(ours[i])
            << "   PyTorch " << num(torch_ref[i]) << "   "
            << L.mark(std::abs(ours[i] - torch_ref[i]) <= 5.1e-11) << "\n";
    out << (L.all_agree ? "All " + std::to_string(L.checks) + " checks agree.\n"
                        : "Some checks DISAGREE with tapegrad.\n")
        << "Try your own: explain_cross_entropy --logits '[[1, 2, 3]]' --target '[2]' --label-smoothing 0.1\n";
    return L.all_agree ? 0 : 1;
}

// ---------------------------------------------------------------- the user's own case

int explain_user(const Problem& pr, std::ostream& out) {
    Lesson L{out};
    out << "Cross-entropy of your input, step by step\n=========================================\n"
        << problem_str(pr);
    const std::size_t C = pr.logits.shape()[class_dim(pr)];
    out << "\nThe classes are along dim " << class_dim(pr) << " (C = " << C << ")";
    if (pr.logits.dimension() > 2) out << ";\nevery other index (n, d1, ...) is one position, explained on its own";
    out << ".\nThe row max m is subtracted before exp: the result is the same, but no exp can overflow.\n";
    if (pr.prob)
        out << "Probability targets: each position has a target distribution t over the classes;\n"
               "loss = -sum_c w[c] t[c] log p[c], and 'mean' divides by the number of positions (never by\n"
               "weights). ignore_index does not apply to them.\n";
    else
        out << "Class-index targets: loss = -w[t] log p[t] per position; 'mean' divides by the sum of\n"
               "w[t] over the non-ignored targets; a target equal to ignore_index gives loss 0 and a zero\n"
               "gradient row.\n";
    if (pr.eps > 0)
        out << "Label smoothing eps = " << short_num(pr.eps) << ": the target becomes (1 - eps) * target + eps/C\n"
            << "(eps/C = " << num(pr.eps / double(C)) << "), so no class is asked for probability 0 any more.\n";
    explain_case(L, pr);
    out << "\n" << (L.all_agree ? "All " + std::to_string(L.checks) + " checks agree.\n"
                                : "Some checks DISAGREE with tapegrad.\n");
    return L.all_agree ? 0 : 1;
}

// ---------------------------------------------------------------- --json

void print_json(const LibResult& lib, std::ostream& out) {
    Json j;
    j["loss"] = nested_json(lib.loss);
    j["grad"] = nested_json(lib.grad);
    j["softmax"] = nested_json(lib.softmax);
    out << j.dump() << "\n";
}

}  // namespace explain_ce
