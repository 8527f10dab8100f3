// explain_cross_entropy --loss NAME for every loss but cross_entropy (see other_losses.hpp):
// the arithmetic by hand follows tapegrad's (and torch's) formula for each element, in double.
#include "other_losses.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "lessons.hpp"
#include "text_tables.hpp"

namespace explain_ce {

namespace {

using tapegrad::Tensor;

// ---------------------------------------------------------------- what each loss is

struct Spec {
    std::string name;
    bool weight = false, pos_weight = false, beta = false, delta = false, log_target = false;
    std::string about;  // the prose: what it computes and why, with the formulas
    std::string example_input, example_target;  // the case explained when none is given
};

const std::vector<Spec>& specs() {
    static const std::vector<Spec> s = {
        {"binary_cross_entropy", true, false, false, false, false,
         "binary_cross_entropy takes probabilities x in [0, 1] (a sigmoid's output) and targets t in\n"
         "[0, 1]: one yes/no question per element, and the cross-entropy of its two outcomes,\n"
         "  l = -w (t log x + (1 - t) log(1 - x)).\n"
         "torch clamps each log at -100, so x = 0 or 1 gives a large finite loss instead of inf, and\n"
         "the gradient w (x - t) / (x (1 - x)) divides by max(x (1 - x), 1e-12) for the same reason\n"
         "(torch's 1e-12 is a float: 9.99999996e-13, so x = 0, t = 1 gives -1.000000004e12).\n"
         "On raw scores z prefer binary_cross_entropy_with_logits: it never forms x = sigmoid(z), which\n"
         "rounds to exactly 1 for z above about 37 in float64 (about 17 in float32).\n",
         "[[0.9, 0.2, 0.6], [0.1, 0.7, 0.4]]", "[[1, 0, 1], [0, 1, 0]]"},
        {"binary_cross_entropy_with_logits", true, true, false, false, false,
         "binary_cross_entropy_with_logits is sigmoid and binary_cross_entropy in one step, on raw\n"
         "scores (logits) x: l = -w (pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))). With\n"
         "log sigmoid(x) = -log(1 + exp(-x)) and log(1 - sigmoid(x)) = -x - log(1 + exp(-x)) this is\n"
         "  l = w ((1 - t) x + lw log(1 + exp(-x))),   lw = 1 + (pw - 1) t.\n"
         "The log-sum-exp trick: exp(-x) overflows for x below about -709 (float64), so the larger\n"
         "exponent is taken out first. With m = max(-x, 0),\n"
         "  log(1 + exp(-x)) = m + log(exp(-m) + exp(-x - m)),\n"
         "and both exponents are now <= 0: nothing overflows and the log's argument lies in [1, 2].\n"
         "pos_weight pw (one per class, along the last dim) multiplies the positive term: pw > 1 trades\n"
         "precision for recall; pw = negatives / positives balances the classes. The gradient has the\n"
         "shape of softmax - one-hot: w ((pw t + 1 - t) sigmoid(x) - pw t), w (sigmoid(x) - t) without pw.\n",
         "[[2.0, -1.0, 0.5], [-1.5, 1.0, -0.2]]", "[[1, 0, 1], [0, 1, 0]]"},
        {"mse_loss", false, false, false, false, false,
         "mse_loss is the squared error, l = (x - t)^2 per element (input and target broadcast\n"
         "together). Its gradient 2 (x - t) grows with the error: large errors dominate, and an\n"
         "outlier pulls hard.\n",
         "[[0.5, 2.0, -1.0], [3.0, 0.2, 0.0]]", "[[0.0, 1.5, -1.2], [0.5, 0.0, 0.1]]"},
        {"l1_loss", false, false, false, false, false,
         "l1_loss is the absolute error, l = |x - t|. Its gradient is sign(x - t) (0 where x = t): every\n"
         "element pulls with the same strength however large its error, robust to outliers, but not\n"
         "smooth at 0.\n",
         "[[0.5, 2.0, -1.0], [3.0, 0.2, 0.0]]", "[[0.0, 1.5, -1.2], [0.5, 0.0, 0.1]]"},
        {"smooth_l1_loss", false, false, true, false, false,
         "smooth_l1_loss is quadratic for small errors and linear for large ones, switching at\n"
         "|d| = beta (d = x - t):\n"
         "  l = 0.5 d^2 / beta if |d| < beta, else |d| - 0.5 beta.\n"
         "The gradient d / beta inside is capped at +-1 outside, so an outlier pulls no harder than\n"
         "l1_loss's. beta = 0 is l1_loss.\n",
         "[[0.5, 2.0, -1.0], [3.0, 0.2, 0.0]]", "[[0.0, 1.5, -1.2], [0.5, 0.0, 0.1]]"},
        {"huber_loss", false, false, false, true, false,
         "huber_loss has smooth_l1_loss's shape, scaled by delta (d = x - t):\n"
         "  l = 0.5 d^2 if |d| < delta, else delta (|d| - 0.5 delta).\n"
         "Inside, it is half the squared error and its gradient is d; outside, the gradient is capped at\n"
         "+-delta. huber_loss(delta) = delta * smooth_l1_loss(beta = delta).\n",
         "[[0.5, 2.0, -1.0], [3.0, 0.2, 0.0]]", "[[0.0, 1.5, -1.2], [0.5, 0.0, 0.1]]"},
        {"kl_div", false, false, false, false, true,
         "kl_div(input, target) is the Kullback-Leibler divergence of the target distribution p from\n"
         "the model's q, sum p (log p - log q). The input holds log q (log-probabilities, as\n"
         "log_softmax gives), the target holds p, or log p with log_target = true:\n"
         "  l = p log p - p x (0 where p = 0),   or with log_target   l = exp(t) (t - x).\n"
         "The gradient w.r.t. the input is -p (-exp(t)): it does not depend on the input at all.\n"
         "reduction 'batchmean' (the sum over the batch size) is the KL divergence per sample; 'mean'\n"
         "divides by the number of elements, which is not (torch warns about it).\n",
         "[[-0.4643687841, -1.9643687841, -1.4643687841], [-2.1041306053, -0.6041306053, -1.1041306053]]", "[[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]"},
        {"soft_margin_loss", false, false, false, false, false,
         "soft_margin_loss is the logistic loss for targets t in {-1, 1}:\n"
         "  l = log(1 + exp(-t x)),\n"
         "near 0 when t x is large (the right side, with a margin), about -t x when wrong. The\n"
         "gradient is -t exp(-t x) / (1 + exp(-t x)) = -t sigmoid(-t x). torch computes\n"
         "log(1 + exp(-t x)) as written, so it overflows to inf for -t x above about 709 (88 in float32).\n",
         "[[1.5, -0.3, 0.8], [-2.0, 0.4, 0.1]]", "[[1, -1, -1], [-1, 1, 1]]"},
        {"multilabel_soft_margin_loss", true, false, false, false, false,
         "multilabel_soft_margin_loss is for several labels per sample, each a yes/no question\n"
         "answered by a sigmoid of its logit x_c: per class -(t log sigmoid(x) + (1 - t) log sigmoid(-x)),\n"
         "weighted by w_c, averaged over the C classes (the last dim) of the sample:\n"
         "  loss_n = (1/C) sum_c w_c (-(t_c log sigmoid(x_c) + (1 - t_c) log sigmoid(-x_c))).\n"
         "It is binary_cross_entropy_with_logits averaged per sample. log sigmoid(x) is computed as\n"
         "min(x, 0) - log1p(exp(-|x|)), which never overflows. Gradient: (w_c / C)(sigmoid(x_c) - t_c).\n",
         "[[2.0, -1.0, 0.5], [-1.5, 1.0, -0.2]]", "[[1, 0, 1], [0, 1, 0]]"},
    };
    return s;
}

const Spec& spec(const std::string& name) {
    for (const Spec& s : specs())
        if (s.name == name) return s;
    throw InputError("--loss: unknown loss '" + name + "'");
}

// ---------------------------------------------------------------- broadcasting by hand

using tapegrad::Shape;

std::size_t count(const Shape& s) {
    std::size_t n = 1;
    for (std::size_t d : s) n *= d;
    return n;
}

Shape broadcast(const Shape& a, const Shape& b) {  // numpy's rule; the library has checked it holds
    Shape r(std::max(a.size(), b.size()), 1);
    for (std::size_t i = 0; i < r.size(); ++i) {
        const std::size_t da = i < r.size() - a.size() ? 1 : a[i - (r.size() - a.size())];
        const std::size_t db = i < r.size() - b.size() ? 1 : b[i - (r.size() - b.size())];
        r[i] = da == 1 ? db : da;
    }
    return r;
}

// For each element of shape B (row-major), the flat index of the element of an array of shape s
// that broadcasting copies there.
std::vector<std::size_t> source_index(const Shape& B, const Shape& s) {
    std::vector<std::size_t> stride(B.size(), 0);
    std::size_t st = 1;
    for (std::size_t k = s.size(); k-- > 0;) {
        const std::size_t d = k + (B.size() - s.size());
        stride[d] = s[k] == 1 ? 0 : st;
        st *= s[k];
    }
    const std::size_t n = count(B);
    std::vector<std::size_t> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t rest = i, at = 0;
        for (std::size_t d = B.size(); d-- > 0;) at += (rest % B[d]) * stride[d], rest /= B[d];
        out[i] = at;
    }
    return out;
}


double log_sigmoid(double x) { return std::min(x, 0.0) - std::log1p(std::exp(-std::abs(x))); }
double sigmoid(double x) {  // exp of a non-positive number only
    if (std::isnan(x)) return x;
    return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}
double sgn(double v) { return double((0 < v) - (v < 0)); }
double xlogy(double a, double b) {
    if (std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
    return a == 0 ? 0 : a * std::log(b);
}

bool is_kl(const LossProblem& p) { return p.name == "kl_div"; }

// The elements of the printed tables, in groups: rows along the last dim, or the samples of
// multilabel_soft_margin_loss (its class dim counted as torch does).
struct Group {
    std::string name;
    std::vector<std::size_t> elements;
};

}  // namespace

const std::vector<std::string>& loss_names() {
    static const std::vector<std::string> n = [] {
        std::vector<std::string> v{"cross_entropy"};
        for (const Spec& s : specs()) v.push_back(s.name);
        return v;
    }();
    return n;
}

std::string index_name(const Shape& B, std::size_t i) {
    if (B.empty()) return "value";
    std::vector<std::size_t> idx(B.size());
    for (std::size_t d = B.size(); d-- > 0;) idx[d] = i % B[d], i /= B[d];
    std::string s = "[";
    for (std::size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
    return s + "]";
}

LossProblem read_loss_problem(const UserInput& in) {
    const Spec& s = spec(in.loss);
    auto refuse = [&](const char* flag, bool takes, const std::string& who) {
        if (in.given.count(flag) && !takes)
            throw InputError(std::string(flag) + " is an option of " + who + "; --loss " + s.name + " does not take it");
    };
    refuse("--ignore-index", false, "cross_entropy");
    refuse("--label-smoothing", false, "cross_entropy");
    refuse("--weight", s.weight, "cross_entropy, binary_cross_entropy, binary_cross_entropy_with_logits and multilabel_soft_margin_loss");
    refuse("--pos-weight", s.pos_weight, "binary_cross_entropy_with_logits");
    refuse("--beta", s.beta, "smooth_l1_loss");
    refuse("--delta", s.delta, "huber_loss");
    refuse("--log-target", s.log_target, "kl_div");
    if (in.logits.empty() != in.target.empty())
        throw InputError("--input and --target go together (without both, --loss " + s.name + " explains an example)");
    LossProblem p;
    p.name = s.name;
    p.input = parse_array(in.logits.empty() ? s.example_input : in.logits, "--input");
    p.target = parse_array(in.target.empty() ? s.example_target : in.target, "--target");
    if (!in.weight.empty()) p.has_weight = true, p.weight = parse_array(in.weight, "--weight");
    if (!in.pos_weight.empty()) p.has_pos_weight = true, p.pos_weight = parse_array(in.pos_weight, "--pos-weight");
    p.reduction = in.reduction;
    if (is_kl(p))
        tapegrad::kl_div_reduction_from_string(p.reduction);  // ValueError with torch's words
    else
        tapegrad::reduction_from_string(p.reduction);
    p.beta = in.beta;
    p.delta = in.delta;
    p.log_target = in.log_target;
    return p;
}

Tensor<double> call_loss(const LossProblem& p, const Tensor<double>& x) {
    using namespace tapegrad;
    const Tensor<double> t(p.target);
    const Tensor<double> w = p.has_weight ? Tensor<double>(p.weight) : Tensor<double>();
    const Tensor<double> pw = p.has_pos_weight ? Tensor<double>(p.pos_weight) : Tensor<double>();
    if (is_kl(p)) return kl_div(x, t, kl_div_reduction_from_string(p.reduction), p.log_target);
    const Reduction r = reduction_from_string(p.reduction);
    if (p.name == "binary_cross_entropy") return binary_cross_entropy(x, t, w, r);
    if (p.name == "binary_cross_entropy_with_logits") return binary_cross_entropy_with_logits(x, t, w, r, pw);
    if (p.name == "mse_loss") return mse_loss(x, t, r);
    if (p.name == "l1_loss") return l1_loss(x, t, r);
    if (p.name == "smooth_l1_loss") return smooth_l1_loss(x, t, r, p.beta);
    if (p.name == "huber_loss") return huber_loss(x, t, r, p.delta);
    if (p.name == "soft_margin_loss") return soft_margin_loss(x, t, r);
    if (p.name == "multilabel_soft_margin_loss") return multilabel_soft_margin_loss(x, t, w, r);
    throw InputError("--loss: unknown loss '" + p.name + "'");
}

LibResult run_loss_library(const LossProblem& p) {
    Tensor<double> x(p.input, true);
    const Tensor<double> loss = call_loss(p, x);
    tapegrad::sum(loss).backward();
    LibResult r;
    r.loss = loss.value();
    r.grad = x.has_grad() ? xt::xarray<double>(x.grad()) : xt::xarray<double>(xt::zeros<double>(x.shape()));
    return r;
}

// ---------------------------------------------------------------- by hand

ElementHand loss_by_hand(const LossProblem& p) {
    ElementHand h;
    const Shape xs(p.input.shape().begin(), p.input.shape().end()), ts(p.target.shape().begin(), p.target.shape().end());
    Shape B = broadcast(xs, ts);
    if (p.has_weight) B = broadcast(B, Shape(p.weight.shape().begin(), p.weight.shape().end()));
    if (p.has_pos_weight) B = broadcast(B, Shape(p.pos_weight.shape().begin(), p.pos_weight.shape().end()));
    h.shape = B;
    const std::size_t n = count(B);
    const auto mx = source_index(B, xs), mt = source_index(B, ts);
    const auto mw = p.has_weight ? source_index(B, Shape(p.weight.shape().begin(), p.weight.shape().end())) : std::vector<std::size_t>();
    const auto mp = p.has_pos_weight ? source_index(B, Shape(p.pos_weight.shape().begin(), p.pos_weight.shape().end()))
                                     : std::vector<std::size_t>();
    auto X = [&](std::size_t i) { return p.input.data()[mx[i]]; };
    auto T = [&](std::size_t i) { return p.target.data()[mt[i]]; };
    auto W = [&](std::size_t i) { return p.has_weight ? p.weight.data()[mw[i]] : 1.0; };
    auto PW = [&](std::size_t i) { return p.pos_weight.data()[mp[i]]; };
    // one row of the table per quantity
    auto row = [&](const std::string& label, auto f) {
        std::vector<double> v(n);
        for (std::size_t i = 0; i < n; ++i) v[i] = f(i);
        h.labels.push_back(label);
        h.values.push_back(std::move(v));
    };
    const bool kl = is_kl(p), log_t = kl && p.log_target;
    row(kl ? "input x = log q" : "input x", X);
    row(log_t ? "target t = log p" : kl ? "target p" : "target t", T);
    if (p.has_weight) row("weight w", W);
    if (p.has_pos_weight) row("pos_weight pw", PW);
    h.term.resize(n);
    h.local.resize(n);
    const std::string& L = p.name;
    if (L == "binary_cross_entropy") {
        row("log x, >= -100", [&](std::size_t i) { return std::max(std::log(X(i)), -100.0); });
        row("log(1 - x), >= -100", [&](std::size_t i) { return std::max(std::log1p(-X(i)), -100.0); });
        for (std::size_t i = 0; i < n; ++i) {
            const double x = X(i), t = T(i);
            const double l = (t - 1) * std::max(std::log1p(-x), -100.0) - t * std::max(std::log(x), -100.0);
            h.term[i] = p.has_weight ? l * W(i) : l;
            // torch's EPSILON is 1e-12 stored as a float: 9.99999996e-13
            h.local[i] = W(i) * ((x - t) / std::max((1 - x) * x, double(1e-12f)));
        }
    } else if (L == "binary_cross_entropy_with_logits") {
        auto M = [&](std::size_t i) { return std::max(-X(i), 0.0); };  // a NaN x stays NaN
        row("m = max(-x, 0)", M);
        row("log(e^-m + e^(-x-m))", [&](std::size_t i) { return std::log(std::exp(-M(i)) + std::exp(-X(i) - M(i))); });
        if (p.has_pos_weight) row("lw = 1 + (pw - 1) t", [&](std::size_t i) { return (PW(i) - 1) * T(i) + 1; });
        row("sigmoid(x)", [&](std::size_t i) { return 1 / (1 + std::exp(-X(i))); });
        for (std::size_t i = 0; i < n; ++i) {
            const double x = X(i), t = T(i), m = M(i), lse = std::log(std::exp(-m) + std::exp(-x - m));
            const double l = p.has_pos_weight ? (1 - t) * x + ((PW(i) - 1) * t + 1) * (lse + m) : (1 - t) * x + m + lse;
            h.term[i] = p.has_weight ? l * W(i) : l;
            const double s = 1 / (1 + std::exp(-x));
            const double d = p.has_pos_weight ? (PW(i) * t + 1 - t) * s - PW(i) * t : s - t;
            h.local[i] = p.has_weight ? d * W(i) : d;
        }
    } else if (L == "mse_loss" || L == "l1_loss" || L == "smooth_l1_loss" || L == "huber_loss") {
        row("d = x - t", [&](std::size_t i) { return X(i) - T(i); });
        const double b = p.beta, dl = p.delta;
        for (std::size_t i = 0; i < n; ++i) {
            const double d = X(i) - T(i), z = std::abs(d);
            if (L == "mse_loss") {
                h.term[i] = d * d, h.local[i] = 2 * d;
            } else if (L == "l1_loss") {
                h.term[i] = z, h.local[i] = sgn(d);
            } else if (L == "smooth_l1_loss") {
                h.term[i] = z < b ? 0.5 * z * z / b : z - 0.5 * b;
                h.local[i] = d <= -b ? -1.0 : d >= b ? 1.0 : d / b;
            } else {
                h.term[i] = z < dl ? 0.5 * z * z : dl * (z - 0.5 * dl);
                h.local[i] = d <= -dl ? -dl : d >= dl ? dl : d;
            }
        }
    } else if (kl) {
        if (log_t) {
            row("exp(t) = p", [&](std::size_t i) { return std::exp(T(i)); });
            row("t - x", [&](std::size_t i) { return T(i) - X(i); });
        } else {
            row("p log p (0 at p = 0)", [&](std::size_t i) { return xlogy(T(i), T(i)); });
            row("p x", [&](std::size_t i) { return T(i) * X(i); });
        }
        for (std::size_t i = 0; i < n; ++i) {
            const double x = X(i), t = T(i);
            h.term[i] = log_t ? std::exp(t) * (t - x) : xlogy(t, t) - t * x;
            h.local[i] = log_t ? -std::exp(t) : -t;
        }
    } else if (L == "soft_margin_loss") {
        row("-t x", [&](std::size_t i) { return -X(i) * T(i); });
        for (std::size_t i = 0; i < n; ++i) {
            const double x = X(i), t = T(i), z = std::exp(-t * x);
            h.term[i] = std::log(std::exp(-x * t) + 1);
            h.local[i] = -t * z / (z + 1);
        }
    } else {  // multilabel_soft_margin_loss
        row("log sigmoid(x)", [&](std::size_t i) { return log_sigmoid(X(i)); });
        row("log sigmoid(-x)", [&](std::size_t i) { return log_sigmoid(-X(i)); });
        const double C = double(xs.back());
        for (std::size_t i = 0; i < n; ++i) {
            const double x = X(i), t = T(i);
            const double l = -(t * log_sigmoid(x) + (1 - t) * log_sigmoid(-x));
            h.term[i] = p.has_weight ? l * W(i) : l;
            // the two log-sigmoid terms' derivatives, weighted one by one as torch's chain rule does
            // (an infinite weight times a zero term is nan, not 0): (w/C)((1 - t) s - t (1 - s))
            const double wc = W(i) / C, s = sigmoid(x);
            h.local[i] = wc * (1 - t) * s - wc * t * (1 - s);
        }
    }
    // the terms the reduction sees: every element's, or each sample's mean over its classes
    const bool mlsm = L == "multilabel_soft_margin_loss";
    h.per_shape = B;
    if (mlsm) {
        const std::size_t cd = xs.size() - 1, len = B[cd];
        std::size_t outer = 1, inner = 1;
        for (std::size_t d = 0; d < cd; ++d) outer *= B[d];
        for (std::size_t d = cd + 1; d < B.size(); ++d) inner *= B[d];
        h.per_shape.erase(h.per_shape.begin() + std::ptrdiff_t(cd));
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t in = 0; in < inner; ++in) {
                double s = 0;
                for (std::size_t c = 0; c < len; ++c) s += h.term[(o * len + c) * inner + in];
                h.per.push_back(s / double(xs.back()));
            }
    } else {
        h.per = h.term;
    }
    row(mlsm ? (p.has_weight ? "w * -(t ls(x) + (1-t) ls(-x))" : "-(t ls(x) + (1-t) ls(-x))") : "loss l",
        [&](std::size_t i) { return h.term[i]; });
    for (double v : h.per) h.total += v;
    const std::size_t terms = h.per.size();
    const bool none = p.reduction == "none", sum = p.reduction == "sum";
    if (p.reduction == "batchmean" && !xs.empty()) {
        h.divisor = double(xs[0]);
        h.divisor_text = "the batch size, input.size(0) = " + std::to_string(xs[0]);
    } else if (p.reduction == "mean" || p.reduction == "batchmean") {
        h.divisor = p.reduction == "mean" ? double(terms) : 1.0;
        h.divisor_text = p.reduction == "batchmean" ? "1: a 0-d input has no batch dimension"
                         : mlsm ? "the number of samples, " + std::to_string(terms)
                                : "the number of elements, " + std::to_string(terms);
    }
    const bool divide = !none && !sum && !(p.reduction == "batchmean" && xs.empty());
    h.scale = divide ? 1 / h.divisor : 1.0;
    if (none) {
        h.loss = to_array(h.per_shape, h.per);
    } else {
        h.loss = xt::xarray<double>::from_shape({});
        h.loss() = divide ? h.total / h.divisor : h.total;
    }
    h.grad = xt::zeros<double>(xs);
    h.contrib.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        h.contrib[i] = h.scale * h.local[i];
        h.grad.data()[mx[i]] += h.contrib[i];
    }
    return h;
}

// ---------------------------------------------------------------- the text

std::string describe(const LossProblem& p) {
    std::ostringstream os;
    os << p.name << ", reduction '" << p.reduction << "'";
    if (p.name == "smooth_l1_loss") os << ", beta = " << short_num(p.beta);
    if (p.name == "huber_loss") os << ", delta = " << short_num(p.delta);
    if (is_kl(p)) os << ", log_target = " << (p.log_target ? "true" : "false");
    if (p.has_weight) os << ", weight " << echo_array(p.weight, 4);
    if (p.has_pos_weight) os << ", pos_weight " << echo_array(p.pos_weight, 4);
    return os.str();
}

namespace {

std::vector<Group> groups_of(const LossProblem& p, const ElementHand& h) {
    const Shape& B = h.shape;
    std::vector<Group> g;
    if (p.name == "multilabel_soft_margin_loss") {
        const std::size_t cd = p.input.dimension() - 1, len = B[cd];
        std::size_t outer = 1, inner = 1;
        for (std::size_t d = 0; d < cd; ++d) outer *= B[d];
        for (std::size_t d = cd + 1; d < B.size(); ++d) inner *= B[d];
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t in = 0; in < inner; ++in) {
                Group s;
                s.name = h.per.size() == 1 && h.per_shape.empty() ? "the sample" : "sample " + std::to_string(g.size());
                for (std::size_t c = 0; c < len; ++c) s.elements.push_back((o * len + c) * inner + in);
                g.push_back(std::move(s));
            }
        return g;
    }
    const std::size_t n = count(B), len = B.empty() ? 1 : B.back();
    for (std::size_t i0 = 0; i0 < n; i0 += len) {
        Group r;
        if (B.size() <= 1) {
            r.name = B.empty() ? "the element" : "the elements";
        } else {
            r.name = "row " + index_name(B, i0);
            r.name = r.name.substr(0, r.name.rfind(',')) + ", :]";
        }
        for (std::size_t i = i0; i < i0 + len; ++i) r.elements.push_back(i);
        g.push_back(std::move(r));
    }
    return g;
}

// Long lists of groups keep the first 6 and the last 2.
template <class F> void each_shown(const std::vector<Group>& gs, std::ostream& out, F f) {
    for (std::size_t k = 0; k < gs.size(); ++k) {
        if (gs.size() > 10 && k == 6) {
            out << "\n  ... " << gs.size() - 8 << " more left out here (--json prints every number)\n";
            k = gs.size() - 3;
            continue;
        }
        f(gs[k]);
    }
}

std::vector<double> pick(const std::vector<double>& v, const std::vector<std::size_t>& at) {
    std::vector<double> r;
    for (std::size_t i : at) r.push_back(v[i]);
    return r;
}

std::string formula_of_gradient(const LossProblem& p) {
    const std::string& L = p.name;
    if (L == "binary_cross_entropy") return "w (x - t) / max(x (1 - x), 1e-12)";
    if (L == "binary_cross_entropy_with_logits")
        return p.has_pos_weight ? "w ((pw t + 1 - t) sigmoid(x) - pw t)" : "w (sigmoid(x) - t)";
    if (L == "mse_loss") return "2 d";
    if (L == "l1_loss") return "sign(d)";
    if (L == "smooth_l1_loss") return "d / beta for |d| < beta, sign(d) outside";
    if (L == "huber_loss") return "d for |d| < delta, delta sign(d) outside";
    if (L == "kl_div") return p.log_target ? "-exp(t)" : "-p";
    if (L == "soft_margin_loss") return "-t exp(-t x) / (1 + exp(-t x))";
    return "(w / C) ((1 - t) sigmoid(x) - t (1 - sigmoid(x))) = (w / C) (sigmoid(x) - t)";
}

}  // namespace

int explain_loss(const LossProblem& p, std::ostream& out) {
    const LibResult lib = run_loss_library(p);  // validates the case before anything is printed
    const ElementHand h = loss_by_hand(p);
    Lesson L{out};
    const std::string title = p.name + " of your input, step by step";
    out << title << "\n" << std::string(title.size(), '=') << "\n";
    out << "input x, shape " << tapegrad::shape_str_of(p.input.shape()) << ": " << echo_array(p.input, 4) << "\n";
    out << "target, shape " << tapegrad::shape_str_of(p.target.shape()) << ": " << echo_array(p.target, 4) << "\n";
    out << describe(p) << "\n\n" << spec(p.name).about;
    const bool mlsm = p.name == "multilabel_soft_margin_loss";
    const Shape xs(p.input.shape().begin(), p.input.shape().end());
    if (h.shape != xs)
        out << "\nThe input, shape " << tapegrad::shape_str(xs) << ", is broadcast to " << tapegrad::shape_str(h.shape)
            << " with the other arguments: the\nelements below are those of " << tapegrad::shape_str(h.shape)
            << ", and an input element copied to several of them receives the\nsum of their gradients.\n";
    const std::vector<Group> groups = groups_of(p, h);
    auto columns = [&](const Group& g) {
        std::vector<std::string> c;
        for (std::size_t i : g.elements) c.push_back(index_name(h.shape, i));
        return c;
    };

    out << "\nStep 1. The loss of each " << (mlsm ? "class of each sample, then of the sample" : "element") << ".\n";
    if (count(h.shape) == 0) out << "  (no elements: the input is empty)\n";
    each_shown(groups, out, [&](const Group& g) {
        out << "\n  " << g.name << "\n";
        Table t;
        t.columns = columns(g);
        for (std::size_t k = 0; k < h.labels.size(); ++k) t.add(h.labels[k], pick(h.values[k], g.elements));
        if (p.name == "smooth_l1_loss" || p.name == "huber_loss") {
            const double edge = p.name == "smooth_l1_loss" ? p.beta : p.delta;
            std::vector<std::string> part;
            const std::vector<double>& d = h.values[2];  // "d = x - t": these losses take no weights
            for (std::size_t i : g.elements) part.push_back(std::abs(d[i]) < edge ? "quadratic" : "linear");
            t.add_text(std::string("|d| < ") + (p.name == "smooth_l1_loss" ? "beta" : "delta") + " ?", part,
                       std::string(p.name == "smooth_l1_loss" ? "beta" : "delta") + " = " + short_num(edge));
        }
        t.print(out, "    ");
        if (mlsm) {
            const std::size_t s = std::size_t(&g - groups.data());
            out << "    loss of the sample = (1/C) * sum = " << num(h.per[s]) << "   (C = " << xs.back() << ")\n";
        }
    });

    out << "\nStep 2. Reduction '" << p.reduction << "'.\n";
    out << "  per-" << (mlsm ? "sample" : "element") << " losses = " << list_str(h.per) << "\n";
    if (p.reduction == "none") {
        out << "  'none' returns them as they are (shape " << tapegrad::shape_str(h.per_shape) << ").\n";
    } else {
        out << "  sum = " << num(h.total) << "\n";
        if (p.reduction != "sum") {
            out << "  divisor = " << h.divisor_text << "\n";
            if (h.per.empty() && p.reduction == "mean") out << "  nothing to average: 'mean' of no elements is nan, as in torch\n";
            out << "  loss = " << num(h.total) << " / " << num(h.divisor) << " = " << num(h.loss()) << "\n";
        }
    }
    out << "  by hand:  loss = " << array_str(h.loss) << "\n";
    out << "  tapegrad: loss = " << array_str(lib.loss) << "   " << L.mark(agree(h.loss, lib.loss)) << "\n";

    out << "\nStep 3. Gradient of the " << (p.reduction == "none" ? "sum of the losses" : "loss") << " w.r.t. the input.\n"
        << "  dl/dx = " << formula_of_gradient(p) << ", times " << (h.scale == 1 ? "1" : "1 / " + num(h.divisor))
        << (p.reduction == "none" ? " (the gradient of the sum of the returned losses)" : "") << "\n";
    const bool same = h.shape == xs;
    bool all_ok = true;
    each_shown(groups, out, [&](const Group& g) {
        out << "\n  " << g.name << "\n";
        Table t;
        t.columns = columns(g);
        t.add("dl/dx", pick(h.local, g.elements), "* " + num(h.scale));
        t.add("by hand", pick(h.contrib, g.elements));
        if (same) {
            std::vector<double> mine, theirs;
            for (std::size_t i : g.elements) mine.push_back(h.grad.data()[i]), theirs.push_back(lib.grad.data()[i]);
            const bool ok = agree(to_array({mine.size()}, mine), to_array({theirs.size()}, theirs));
            all_ok = all_ok && ok;
            t.add("tapegrad input.grad", theirs, L.mark(ok));
        }
        t.print(out, "    ");
    });
    if (!same || groups.empty()) {
        out << "\n  Summed back to the input's shape " << tapegrad::shape_str(xs) << ":\n"
            << "  by hand:  " << array_str(h.grad) << "\n";
        const bool ok = agree(h.grad, lib.grad);
        all_ok = all_ok && ok;
        out << "  tapegrad: " << array_str(lib.grad) << "   " << L.mark(ok) << "\n";
    }
    out << (all_ok ? "  the whole gradient agrees with tapegrad's backward()\n"
                   : "  some of the gradient DISAGREES with tapegrad's backward()\n");
    out << "\n" << (L.all_agree ? "All " + std::to_string(L.checks) + " checks agree.\n"
                                : "Some checks DISAGREE with tapegrad.\n");
    return L.all_agree ? 0 : 1;
}

void print_loss_json(const LibResult& lib, std::ostream& out) {
    nlohmann::json j;
    j["loss"] = nested_json(lib.loss);
    j["grad"] = nested_json(lib.grad);
    out << j.dump() << "\n";
}

}  // namespace explain_ce
