#pragma once
// Cross-entropy computed twice: by hand, step by step in double following the formula, and by
// tapegrad (cross_entropy and backward()), so that the lessons can print both and compare them.
//
//   read_problem(input)   the user's flags (nested JSON lists) → a Problem, or an InputError
//   by_hand(problem)      every intermediate number: row max, shifted logits, exp, sum, softmax,
//                         log p, target distribution, weights, per-position loss, divisor, gradient
//   run_library(problem)  tapegrad's loss, x.grad() and softmax for the same problem
//   agree(a, b)           the comparison the lessons mark 'agree' or 'DISAGREE'
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/core/shape.hpp>
#include <tapegrad/ops/loss.hpp>
#include <xtensor/xarray.hpp>

namespace explain_ce {

using tapegrad::Reduction;
using tapegrad::Shape;

// Bad command-line input found by the explainer itself (JSON shape or content).
struct InputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------- the problem

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

// The user's case as typed on the command line: logits, target and weight are nested JSON lists
// (weight may be empty: no weights).
// The other losses' options are here too (other_losses.hpp reads them); `given` holds the flags
// that were on the command line, so that one a loss does not take is refused, not ignored.
struct UserInput {
    std::string loss = "cross_entropy";
    std::string logits, target, weight, pos_weight;  // logits: --input or --logits
    std::int64_t ignore_index = -100;
    std::string reduction = "mean";
    double label_smoothing = 0;
    double beta = 1, delta = 1;
    bool log_target = false;
    std::set<std::string> given;
};

// Parses the JSON lists and decides the kind of target: probabilities when the target has the
// logits' shape, class indices when every entry is an integer. Throws InputError for bad JSON
// (malformed, ragged, not numbers, empty, nested too deep) or a bad target, and tapegrad's
// ValueError for an unknown reduction. Shapes and values are checked later, by the library.
Problem read_problem(const UserInput& in);

// One nested JSON list of numbers (or a bare number: a 0-d array; "nan", "inf", "-inf" as
// strings) → an array; `what` names the flag in the InputError for malformed or ragged lists.
// Empty lists are arrays with no elements ([] is shape (0), [[], []] shape (2, 0)); the
// cross-entropy lessons refuse them, the other losses explain them.
xt::xarray<double> parse_array(const std::string& text, const std::string& what);

template <class T> xt::xarray<T> to_array(const Shape& shape, const std::vector<T>& data) {
    xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
    std::copy(data.begin(), data.end(), a.begin());
    return a;
}

// The class dimension: 0 for unbatched (C) logits, 1 otherwise.
inline std::size_t class_dim(const Problem& p) { return p.logits.dimension() == 1 ? 0 : 1; }

// ---------------------------------------------------------------- the library's answer

struct LibResult {
    xt::xarray<double> loss, grad, softmax;
};

// cross_entropy on a float64 leaf, backward of the sum of what it returns, and softmax.
// Throws tapegrad's errors for shapes or values cross_entropy refuses.
LibResult run_library(const Problem& p);

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

Hand by_hand(const Problem& pr);

// |a − b| ≤ 1e-9·max(1, |b|), NaN matching NaN, infinities exact.
bool agree(const xt::xarray<double>& a, const xt::xarray<double>& b);

}  // namespace explain_ce
