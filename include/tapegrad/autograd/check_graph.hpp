#pragma once
// check_graph: which tape entry has the wrong backward. gradcheck says a whole function's
// Jacobian is wrong; check_graph checks every entry of a recorded graph on its own, so one wrong
// op among hundreds is named in one call:
//
//   set_check_graph(true);                    // before the forward: each op keeps its replay
//   auto loss = model.forward(x) …;
//   auto r = autograd::check_graph(loss);     // before backward (or after backward(…, true))
//   if (!r) std::cout << r;                   // names the first entry that fails
//   set_check_graph(false);
//
// For each entry y = f(x₀, x₁, …), with a random v of y's shape: the entry's own backward
// closure is run alone with grad_output v (the gradients of every tensor are left as they were),
// and what it gives for each input xₖ that requires grad, Jₖᵀv, is compared with central
// differences of vᵀ·f in float64 — f re-run from double copies of the inputs through the replay
// the op kept. An input of up to full_elements elements is checked element by element; a
// bigger one along `directions` random unit directions u ((Jᵀv)·u against the directional
// difference) plus `sampled_elements` elements drawn at random. An element fails when
// |analytical − numerical| > atol + rtol·|numerical|; where the one-sided differences disagree
// (ReLU at 0, ties in max, abs at 0, clamp at a bound) and the analytical value lies between
// them, it is a kink, counted apart and not a failure.
// Float32 graphs: the entry's float backward is compared with the float64 differences, so the
// tolerance there is float's (see CheckGraphOptions).
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace autograd {

struct CheckGraphOptions {
    CheckGraphOptions& eps(double v) { eps_ = v; return *this; }
    // Defaults by the graph's type: float64 atol 1e-5, rtol 1e-3 (gradcheck's); float32
    // atol 1e-3·max(1, largest |numerical| of that input), rtol 1e-2.
    CheckGraphOptions& atol(double v) { atol_ = v; return *this; }
    CheckGraphOptions& rtol(double v) { rtol_ = v; return *this; }
    CheckGraphOptions& full_elements(std::size_t v) { full_elements_ = v; return *this; }
    CheckGraphOptions& directions(std::size_t v) { directions_ = v; return *this; }
    CheckGraphOptions& sampled_elements(std::size_t v) { sampled_elements_ = v; return *this; }
    CheckGraphOptions& seed(std::uint64_t v) { seed_ = v; return *this; }
    double eps() const { return eps_; }
    std::optional<double> atol() const { return atol_; }
    std::optional<double> rtol() const { return rtol_; }
    std::size_t full_elements() const { return full_elements_; }
    std::size_t directions() const { return directions_; }
    std::size_t sampled_elements() const { return sampled_elements_; }
    std::uint64_t seed() const { return seed_; }

private:
    double eps_ = 1e-6;
    std::optional<double> atol_, rtol_;
    std::size_t full_elements_ = 1024, directions_ = 2, sampled_elements_ = 32;
    std::uint64_t seed_ = 0x5eed;
};

// One tape entry's verdict.
struct EntryCheck {
    std::string op;              // grad_fn() name
    std::uint64_t seq = 0;       // its place on the tape (recording order)
    std::size_t position = 0;    // its index in graph_of(root).entries (0 = first recorded)
    Shape output_shape;
    // "ok", "FAILED", "no replay" (recorded with the mode off, or a custom op without
    // set_replay), "replay error" (the replay threw or gave another shape)
    std::string status;
    std::string mode;            // "full", "sampled" (directions + sampled elements) or "" when not run
    std::size_t inputs_checked = 0, elements_checked = 0, kinks = 0;
    // at the worst element over the inputs checked (the failing one when FAILED):
    std::size_t input = 0;       // which input of the op
    std::size_t element = 0;     // its flat index in that input
    Shape position_in_input;     // the same as a multi-index
    double analytical = 0, numerical = 0, error = 0, tolerance = 0;
    bool directional = false;    // the failure was seen along a direction, not at one element
    double replay_difference = 0;  // largest |replay − recorded output| (the replay's own check)
    std::string note;
    bool ok() const { return status == "ok"; }
};

struct GraphCheckResult {
    bool ok = true;              // every replayed entry passed (entries without replay do not fail it)
    std::size_t checked = 0, failed = 0, unchecked = 0;
    std::vector<EntryCheck> entries;       // in recording order
    std::optional<std::size_t> first_failure;  // index into entries of the first FAILED / replay error
    std::string report;
    explicit operator bool() const { return ok; }
};
std::ostream& operator<<(std::ostream& os, const GraphCheckResult& r);

// Checks every entry of root's graph (see above). AutogradError when the graph was released by
// backward(), or when no entry has a replay (set_check_graph(true) was off during the forward).
template <class T> GraphCheckResult check_graph(const Tensor<T>& root, const CheckGraphOptions& options = CheckGraphOptions());

}  // namespace autograd
}  // namespace tapegrad
