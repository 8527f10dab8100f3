// The explainer's arithmetic: the user's JSON lists into arrays, cross-entropy by hand in double,
// and the same problem through tapegrad (see by_hand.hpp).
#include "by_hand.hpp"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>
#include <tapegrad/tapegrad.hpp>

namespace explain_ce {

namespace {

using Json = nlohmann::json;

// ---------------------------------------------------------------- JSON input

// A nested JSON list of numbers, flattened row-major.
struct Parsed {
    Shape shape;
    std::vector<double> data;
    std::vector<std::int64_t> ints;  // the value of integer entries
    bool all_int = true;             // every entry was a JSON integer
};

std::string path_str(const std::vector<std::size_t>& at) {
    std::string s = "[";
    for (std::size_t i = 0; i < at.size(); ++i) s += (i ? ", " : "") + std::to_string(at[i]);
    return s + "]";
}

void walk(const Json& j, std::vector<std::size_t>& at, Parsed& p, const std::string& what) {
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
Parsed parse_nested(const std::string& text, const std::string& what, bool allow_empty = false) {
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
        if (k->empty() && !allow_empty)
            throw InputError(what + ": empty lists are not supported (every dimension needs an entry)");
        p.shape.push_back(k->size());
        if (k->empty()) break;  // [] is shape (0), [[], []] shape (2, 0)
    }
    std::vector<std::size_t> at;
    walk(j, at, p, what);
    return p;
}

}  // namespace

xt::xarray<double> parse_array(const std::string& text, const std::string& what) {
    const Parsed p = parse_nested(text, what, /*allow_empty=*/true);
    return to_array(p.shape, p.data);
}

Problem read_problem(const UserInput& in) {
    for (const char* flag : {"--pos-weight", "--beta", "--delta", "--log-target"})
        if (in.given.count(flag))
            throw InputError(std::string(flag) + " is not an option of cross_entropy (see --help for the loss that takes it)");
    if (in.logits.empty() || in.target.empty())
        throw InputError("--logits and --target are both required (run without arguments for the walkthrough)");
    Problem pr;
    const Parsed L = parse_nested(in.logits, "--logits");
    const Parsed T = parse_nested(in.target, "--target");
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
    if (!in.weight.empty()) {
        const Parsed W = parse_nested(in.weight, "--weight");
        pr.has_weight = true;
        pr.weight = to_array(W.shape, W.data);
    }
    pr.ignore_index = in.ignore_index;
    pr.reduction = tapegrad::reduction_from_string(in.reduction);
    pr.eps = in.label_smoothing;
    return pr;
}

// ---------------------------------------------------------------- the library's answer

LibResult run_library(const Problem& p) {
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

Hand by_hand(const Problem& pr) {
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

bool agree(const xt::xarray<double>& a, const xt::xarray<double>& b) {
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

}  // namespace explain_ce
