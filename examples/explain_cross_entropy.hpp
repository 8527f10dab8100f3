#pragma once
// The cross-entropy explainer, as a function the example's main() and the tests both call.
//
//   explain_main(argc, argv, out, err)
//     no arguments   a guided walk through five examples (basic loss, log_softmax + nll_loss,
//                    class weights, ignore_index, the three reductions)
//     --logits JSON --target JSON [--weight JSON] [--ignore-index N] [--reduction R]
//     [--label-smoothing X]      explains that case step by step
//     --json                     prints {"loss", "grad", "softmax"} from the library instead
//   Returns 0 on success, 1 when the by-hand numbers and tapegrad's disagree, 2 on bad input
//   (with "error: <message>" on err).
//
// Every step (row max, shifted logits, exp, sum, softmax, log p, weights, divisor, gradient) is
// computed here by hand in double, following the formula; the loss and gradient labelled
// "tapegrad" come from cross_entropy(...) and backward(), and the two are compared.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iomanip>
#include <limits>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <tapegrad/ops/loss.hpp>
#include <tapegrad/tapegrad.hpp>

namespace explain_ce {

using Json = nlohmann::json;
using tapegrad::Reduction;
using tapegrad::Shape;

// Bad command-line input found by the explainer itself (JSON shape or content).
struct InputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------- numbers and JSON input

// 10 decimals, as the lesson prints them; nan/inf/-inf spelled out; no "-0.0000000000".
inline std::string num(double v, int decimals = 10) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) v = 0;  // drops the sign of -0
    char buf[64];
    std::snprintf(buf, sizeof buf, std::abs(v) >= 1e12 ? "%.*e" : "%.*f", decimals, v);
    return buf;
}

// A nested JSON list of numbers, flattened row-major.
struct Parsed {
    Shape shape;
    std::vector<double> data;
    std::vector<std::int64_t> ints;  // the value of integer entries
    bool all_int = true;             // every entry was a JSON integer
};

inline std::string path_str(const std::vector<std::size_t>& at) {
    std::string s = "[";
    for (std::size_t i = 0; i < at.size(); ++i) s += (i ? ", " : "") + std::to_string(at[i]);
    return s + "]";
}

inline void walk(const Json& j, std::vector<std::size_t>& at, Parsed& p, const std::string& what) {
    const std::size_t depth = at.size();
    if (depth < p.shape.size()) {
        if (!j.is_array() || j.size() != p.shape[depth])
            throw InputError(what + ": ragged nested list: the entry at " + path_str(at) + " should be a list of " +
                             std::to_string(p.shape[depth]) + " entries (as the first one is), got " +
                             (j.is_array() ? "a list of " + std::to_string(j.size()) : j.dump()));
        for (std::size_t i = 0; i < j.size(); ++i) {
            at.push_back(i);
            walk(j[i], at, p, what);
            at.pop_back();
        }
        return;
    }
    if (j.is_array())
        throw InputError(what + ": ragged nested list: the entry at " + path_str(at) +
                         " should be a number (as the first one is), got a list");
    if (j.is_number_integer()) {
        const bool big = j.is_number_unsigned() && j.get<std::uint64_t>() > std::uint64_t(INT64_MAX);
        const std::int64_t v = big ? INT64_MAX : j.get<std::int64_t>();
        p.ints.push_back(v);
        p.data.push_back(j.get<double>());
        return;
    }
    p.all_int = false;
    p.ints.push_back(0);
    if (j.is_number_float()) {
        p.data.push_back(j.get<double>());
        return;
    }
    if (j.is_string()) {
        const std::string s = j.get<std::string>();
        const double inf = std::numeric_limits<double>::infinity();
        if (s == "nan" || s == "inf" || s == "-inf") {
            p.data.push_back(s == "nan" ? std::numeric_limits<double>::quiet_NaN() : s == "inf" ? inf : -inf);
            return;
        }
    }
    throw InputError(what + ": the entry at " + path_str(at) + " is not a number: " + j.dump() +
                     " (numbers, or the strings \"nan\", \"inf\", \"-inf\")");
}

// Parses a nested list (or a single number, a 0-d array); the first entry of each level fixes
// the shape, every other entry must match it.
inline Parsed parse_nested(const std::string& text, const std::string& what) {
    // Nesting deeper than any tensor rank would only recurse (and could exhaust the stack): refuse
    // it before parsing. Brackets inside strings do not count.
    constexpr int kMaxDepth = 32;
    int depth = 0, worst = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            worst = std::max(worst, ++depth);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    if (worst > kMaxDepth)
        throw InputError(what + ": lists nested " + std::to_string(worst) + " deep; at most " +
                         std::to_string(kMaxDepth) + " dimensions are supported");
    Json j;
    try {
        j = Json::parse(text);
    } catch (const Json::exception& e) {
        throw InputError(what + ": malformed JSON: " + e.what());
    }
    Parsed p;
    for (const Json* k = &j; k->is_array(); k = &(*k)[0]) {
        if (k->empty()) throw InputError(what + ": empty lists are not supported (every dimension needs an entry)");
        p.shape.push_back(k->size());
    }
    std::vector<std::size_t> at;
    walk(j, at, p, what);
    return p;
}

template <class T> xt::xarray<T> to_array(const Shape& shape, const std::vector<T>& data) {
    xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
    std::copy(data.begin(), data.end(), a.begin());
    return a;
}

// A non-finite number as "nan" / "inf" / "-inf", a finite one as itself (dumped round-trip exact).
inline Json json_number(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    return v;
}

inline Json nested_json(const xt::xarray<double>& a, std::size_t depth = 0, std::size_t offset = 0) {
    if (depth == a.dimension()) return json_number(a.data()[offset]);
    std::size_t stride = 1;
    for (std::size_t d = depth + 1; d < a.dimension(); ++d) stride *= a.shape()[d];
    Json list = Json::array();
    for (std::size_t i = 0; i < a.shape()[depth]; ++i) list.push_back(nested_json(a, depth + 1, offset + i * stride));
    return list;
}

// ---------------------------------------------------------------- the problem and the library's answer

struct Problem {
    xt::xarray<double> logits;
    bool prob = false;                  // probability targets (same shape as logits) or class indices
    xt::xarray<std::int64_t> index;     // (), (N) or (N, d1, ...)
    xt::xarray<double> probs;           // the logits' shape
    bool has_weight = false;
    xt::xarray<double> weight;          // (C)
    std::int64_t ignore_index = -100;
    Reduction reduction = Reduction::Mean;
    double eps = 0;                     // label smoothing
};

struct LibResult {
    xt::xarray<double> loss, grad, softmax;
};

inline std::size_t class_dim(const Problem& p) { return p.logits.dimension() == 1 ? 0 : 1; }

// cross_entropy on a float64 leaf, backward of the sum of what it returns, and softmax.
inline LibResult run_library(const Problem& p) {
    using namespace tapegrad;
    Tensor<double> x(p.logits, true);
    const Tensor<double> w = p.has_weight ? Tensor<double>(p.weight) : Tensor<double>();
    Tensor<double> loss = p.prob ? cross_entropy(x, Tensor<double>(p.probs), w, p.ignore_index, p.reduction, p.eps)
                                 : cross_entropy(x, p.index, w, p.ignore_index, p.reduction, p.eps);
    tapegrad::sum(loss).backward();
    LibResult r;
    r.loss = loss.value();
    r.grad = x.has_grad() ? xt::xarray<double>(x.grad()) : xt::xarray<double>(xt::zeros<double>(x.shape()));
    NoGradGuard no_grad;
    if (p.logits.dimension() > 0)
        r.softmax = tapegrad::softmax(Tensor<double>(p.logits), std::ptrdiff_t(class_dim(p))).value();
    return r;
}

// ---------------------------------------------------------------- the computation by hand

struct Position {
    std::string name;                         // "sample 0 = logits[0, :]"
    std::vector<double> x, z, e, p, logp, y;  // y: target distribution (one-hot, smoothed, or given)
    std::vector<double> given;                // probability targets as given (before smoothing)
    std::vector<double> q;                    // q_c = w_c·(target weight of c): the gradient is p·Σq − q
    double m = 0, s = 0, log_s = 0;
    std::int64_t t = 0;  // class index targets
    bool ignored = false;
    double wt = 1;                            // w[t]
    double nll = 0, smooth = 0, loss = 0;     // −w[t]·log p[t]; Σ_c −w_c·log p_c; the loss of the position
    std::vector<double> grad;
};

struct Hand {
    std::size_t C = 0;
    std::vector<Position> pos;
    double total = 0, divisor = 1, scale = 1;  // Σ loss_n; 'mean' divisor; gradient factor 1/divisor
    xt::xarray<double> loss, grad;
};

inline Hand by_hand(const Problem& pr) {
    Hand h;
    const Shape s(pr.logits.shape().begin(), pr.logits.shape().end());
    const bool unbatched = s.size() == 1;
    const std::size_t N = unbatched ? 1 : s[0], C = unbatched ? s[0] : s[1];
    std::size_t D = 1;
    for (std::size_t d = 2; d < s.size(); ++d) D *= s[d];
    h.C = C;
    const double eps = pr.eps;
    auto w = [&](std::size_t c) { return pr.has_weight ? pr.weight(c) : 1.0; };
    double wsum = 0, total_weight = 0;
    for (std::size_t c = 0; c < C; ++c) wsum += w(c);
    const double* X = pr.logits.data();
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t d = 0; d < D; ++d) {
            Position P;
            // the name: which slice of logits this position is
            std::string where = "logits[" + (unbatched ? std::string(":") : std::to_string(n) + ", :");
            std::size_t rest = d;
            std::vector<std::size_t> idx(s.size() > 2 ? s.size() - 2 : 0);
            for (std::size_t k = idx.size(); k-- > 0;) idx[k] = rest % s[k + 2], rest /= s[k + 2];
            for (std::size_t i : idx) where += ", " + std::to_string(i);
            where += "]";
            P.name = unbatched ? "the sample = " + where
                     : s.size() == 2 ? "sample " + std::to_string(n) + " = " + where
                                     : "position " + std::to_string(n * D + d) + " = " + where;
            for (std::size_t c = 0; c < C; ++c) P.x.push_back(X[(n * C + c) * D + d]);
            // stable softmax: m = max (NaN if any entry is NaN), z = x − m ≤ 0, e = exp(z), s = Σ e
            P.m = -std::numeric_limits<double>::infinity();
            bool nan = false;
            for (double v : P.x) nan |= std::isnan(v), P.m = v > P.m ? v : P.m;
            if (nan) P.m = std::numeric_limits<double>::quiet_NaN();
            for (double v : P.x) P.z.push_back(v - P.m), P.e.push_back(std::exp(v - P.m)), P.s += P.e.back();
            P.log_s = std::log(P.s);
            for (std::size_t c = 0; c < C; ++c) P.p.push_back(P.e[c] / P.s), P.logp.push_back(P.z[c] - P.log_s);
            const std::size_t pos = n * D + d;
            if (!pr.prob) {
                P.t = pr.index.data()[pos];
                P.ignored = P.t == pr.ignore_index;
                P.y.assign(C, 0.0);
                P.q.assign(C, 0.0);
                if (!P.ignored) {
                    const std::size_t t = std::size_t(P.t);
                    P.wt = w(t);
                    total_weight += P.wt;
                    P.nll = -P.wt * P.logp[t];
                    P.loss = P.nll;
                    for (std::size_t c = 0; c < C; ++c) {
                        P.y[c] = (c == t ? 1 - eps : 0.0) + eps / double(C);
                        P.q[c] = eps / double(C) * w(c) + (c == t ? (1 - eps) * P.wt : 0.0);
                    }
                    if (eps > 0) {
                        for (std::size_t c = 0; c < C; ++c) P.smooth += P.logp[c] * w(c);
                        P.smooth = -P.smooth;
                        P.loss = (1 - eps) * P.nll + P.smooth * (eps / double(C));
                    }
                }
            } else {
                double acc = 0;
                for (std::size_t c = 0; c < C; ++c) {
                    const double t = pr.probs.data()[(n * C + c) * D + d];
                    P.given.push_back(t);
                    P.y.push_back(eps > 0 ? t * (1 - eps) + eps / double(C) : t);
                    P.q.push_back(pr.has_weight ? P.y[c] * w(c) : P.y[c]);
                    acc += P.logp[c] * P.q[c];
                }
                P.loss = -acc;
            }
            h.total += P.loss;
            h.pos.push_back(std::move(P));
        }
    // reduction
    Shape positions = s;
    if (!unbatched) positions.erase(positions.begin() + 1); else positions.clear();
    if (pr.reduction == Reduction::Mean) {
        h.divisor = pr.prob ? double(N * D) : total_weight;
        h.scale = 1 / h.divisor;
    }
    if (pr.reduction == Reduction::None) {
        h.loss = xt::xarray<double>::from_shape(positions);
        for (std::size_t i = 0; i < h.pos.size(); ++i) h.loss.data()[i] = h.pos[i].loss;
    } else {
        h.loss = xt::xarray<double>::from_shape({});
        h.loss() = pr.reduction == Reduction::Sum ? h.total
                   : h.divisor == 0               ? std::numeric_limits<double>::quiet_NaN()
                                                  : h.total / h.divisor;
    }
    // gradient of the sum of the returned losses: scale·(p·Σq − q) per position, 0 where ignored
    h.grad = xt::zeros<double>(s);
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t d = 0; d < D; ++d) {
            Position& P = h.pos[n * D + d];
            P.grad.assign(C, 0.0);
            if (P.ignored) continue;
            double S = 0;
            for (double v : P.q) S += v;
            if (!pr.prob) S = (1 - eps) * P.wt + eps / double(C) * wsum;  // Σq, summed as torch does
            for (std::size_t c = 0; c < C; ++c) {
                P.grad[c] = h.scale * (P.p[c] * S - P.q[c]);
                h.grad.data()[(n * C + c) * D + d] = P.grad[c];
            }
        }
    return h;
}

// |a − b| ≤ 1e-9·max(1, |b|), NaN matching NaN, infinities exact.
inline bool agree(const xt::xarray<double>& a, const xt::xarray<double>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double x = a.data()[i], y = b.data()[i];
        if (std::isnan(x) || std::isnan(y)) {
            if (std::isnan(x) != std::isnan(y)) return false;
        } else if (std::isinf(x) || std::isinf(y)) {
            if (x != y) return false;
        } else if (std::abs(x - y) > 1e-9 * std::max(1.0, std::abs(y))) {
            return false;
        }
    }
    return true;
}

// ---------------------------------------------------------------- printing

// Rows of numbers under "class 0, class 1, ...", right-aligned, wrapped 6 classes at a time;
// an optional note after each row.
struct Table {
    struct Row {
        std::string label;
        std::vector<std::string> cells;
        std::string note;
    };
    std::vector<Row> rows;
    void add(const std::string& label, const std::vector<double>& v, const std::string& note = "") {
        Row r{label, {}, note};
        for (double x : v) r.cells.push_back(num(x));
        rows.push_back(std::move(r));
    }
    void print(std::ostream& out, const std::string& indent) const {
        if (rows.empty()) return;
        const std::size_t C = rows[0].cells.size();
        std::size_t lw = 0, cw = 13;
        for (const Row& r : rows) {
            lw = std::max(lw, r.label.size());
            for (const std::string& c : r.cells) cw = std::max(cw, c.size());
        }
        cw += 2;
        const std::size_t per = std::max<std::size_t>(1, std::min<std::size_t>(6, (96 - lw) / cw));
        for (std::size_t c0 = 0; c0 < C; c0 += per) {
            const std::size_t c1 = std::min(C, c0 + per);
            if (c0 > 0) out << "\n";
            out << indent << std::string(lw, ' ');
            for (std::size_t c = c0; c < c1; ++c) out << std::setw(int(cw)) << ("class " + std::to_string(c));
            out << "\n";
            for (const Row& r : rows) {
                out << indent << std::left << std::setw(int(lw)) << r.label << std::right;
                for (std::size_t c = c0; c < c1; ++c) out << std::setw(int(cw)) << (c < r.cells.size() ? r.cells[c] : "");
                if (c1 == C && !r.note.empty()) out << "   " << r.note;
                out << "\n";
            }
        }
    }
};

inline std::string short_num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

inline std::string list_str(const std::vector<double>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + num(v[i]);
    return s + "]";
}

inline std::string array_str(const xt::xarray<double>& a) {
    return a.dimension() == 0 ? num(a()) : tapegrad::format_array(a, 10);
}

struct Lesson {
    std::ostream& out;
    bool all_agree = true;
    int checks = 0;
    std::string mark(bool ok) {
        ++checks;
        all_agree = all_agree && ok;
        return ok ? "agree" : "DISAGREE";
    }
};

inline void heading(std::ostream& out, const std::string& title, char rule = '-') {
    out << "\n" << title << "\n" << std::string(title.size(), rule) << "\n";
}

// Step 1: softmax and the loss of every position.
inline void print_steps(Lesson& L, const Problem& pr, const Hand& h) {
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
inline void print_reduction(Lesson& L, const Problem& pr, const Hand& h, const LibResult& lib) {
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
inline void print_gradient(Lesson& L, const Problem& pr, const Hand& h, const LibResult& lib) {
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
        for (std::size_t c = 0; c < C; ++c) {
            mine.push_back(P.grad[c]);
            theirs.push_back(tape[(n * C + c) * D + d]);
            double S = 0;
            for (double v : P.q) S += v;
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

inline std::string problem_str(const Problem& pr) {
    std::ostringstream os;
    os << "logits, shape " << tapegrad::shape_str_of(pr.logits.shape()) << ": " << tapegrad::format_array(pr.logits, 4)
       << "\n";
    if (pr.prob)
        os << "probability targets: " << tapegrad::format_array(pr.probs, 4) << "\n";
    else
        os << "class-index targets: " << tapegrad::format_array(xt::xarray<double>(xt::cast<double>(pr.index)), 0) << "\n";
    if (pr.has_weight) os << "class weights: " << tapegrad::format_array(pr.weight, 4) << "\n";
    if (!pr.prob) os << "ignore_index = " << pr.ignore_index << "\n";
    os << "reduction = '" << tapegrad::to_string(pr.reduction) << "'";
    if (pr.eps > 0) os << ", label_smoothing = " << pr.eps;
    os << "\n";
    return os.str();
}

// The three steps of one case, with the library's numbers beside.
inline LibResult explain_case(Lesson& L, const Problem& pr, bool steps = true, bool rest = true) {
    const LibResult lib = run_library(pr);
    const Hand h = by_hand(pr);
    if (steps) print_steps(L, pr, h);
    if (rest) {
        print_reduction(L, pr, h, lib);
        print_gradient(L, pr, h, lib);
    }
    return lib;
}

// ---------------------------------------------------------------- the walkthrough

inline Problem seed_problem() {
    Problem p;
    p.logits = xt::xarray<double>{{2.0, 0.5, 1.0}, {0.5, 2.0, 1.5}};
    p.index = xt::xarray<std::int64_t>{0, 2};
    return p;
}

inline int walkthrough(std::ostream& out) {
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

inline int explain_user(const Problem& pr, std::ostream& out) {
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

// ---------------------------------------------------------------- the command line

inline int explain_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
    CLI::App app{"Explains F.cross_entropy step by step with real numbers (tapegrad).\n"
                 "Without arguments: a guided walkthrough of five examples.",
                 "explain_cross_entropy"};
    std::string logits, target, weight, reduction = "mean";
    std::int64_t ignore_index = -100;
    double eps = 0;
    bool json = false;
    app.add_option("--logits", logits, "input logits, a nested JSON list: (C), (N, C) or (N, C, d1, ...)");
    app.add_option("--target", target,
                   "class indices (integers, shape (), (N) or (N, d1, ...)) or probabilities (the logits' shape)");
    app.add_option("--weight", weight, "class weights, a JSON list of C numbers");
    app.add_option("--ignore-index", ignore_index, "target value to ignore (default -100)");
    app.add_option("--reduction", reduction, "mean | sum | none (default mean)");
    app.add_option("--label-smoothing", eps, "label smoothing in [0, 1] (default 0)");
    app.add_flag("--json", json, "print {\"loss\", \"grad\", \"softmax\"} as one JSON object instead");
    try {
        if (argc <= 1) return walkthrough(out);
        app.parse(argc, argv);
        if (logits.empty() || target.empty())
            throw InputError("--logits and --target are both required (run without arguments for the walkthrough)");
        Problem pr;
        const Parsed L = parse_nested(logits, "--logits");
        const Parsed T = parse_nested(target, "--target");
        pr.logits = to_array(L.shape, L.data);
        if (T.shape == L.shape && !L.shape.empty()) {
            pr.prob = true;
            pr.probs = to_array(T.shape, T.data);
        } else if (!T.all_int) {
            throw InputError("--target: class indices must be integers; probability targets must have the logits' shape " +
                             tapegrad::shape_str(L.shape) + ", this target has shape " + tapegrad::shape_str(T.shape));
        } else {
            pr.index = to_array(T.shape, T.ints);
        }
        if (!weight.empty()) {
            const Parsed W = parse_nested(weight, "--weight");
            pr.has_weight = true;
            pr.weight = to_array(W.shape, W.data);
        }
        pr.ignore_index = ignore_index;
        pr.reduction = tapegrad::reduction_from_string(reduction);
        pr.eps = eps;
        const LibResult lib = run_library(pr);  // validates everything before anything is printed
        if (json) {
            Json j;
            j["loss"] = nested_json(lib.loss);
            j["grad"] = nested_json(lib.grad);
            j["softmax"] = nested_json(lib.softmax);
            out << j.dump() << "\n";
            return 0;
        }
        return explain_user(pr, out);
    } catch (const CLI::CallForHelp&) {
        out << app.help();
        return 0;
    } catch (const CLI::ParseError& e) {
        err << "error: " << e.what() << "\n" << "run with --help for usage\n";
        return 2;
    } catch (const std::exception& e) {  // tapegrad::Error, InputError, JSON errors
        err << "error: " << e.what() << "\n";
        return 2;
    }
}

}  // namespace explain_ce

using explain_ce::explain_main;
