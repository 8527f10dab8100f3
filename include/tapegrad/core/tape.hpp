#pragma once
// The tape: one entry per recorded op, replayed in reverse by Tensor::backward().
//
// Recording order is a topological order, so backward needs no graph sort: it walks the tape
// from the root's entry down to the first entry and runs every entry whose output has received
// a gradient. Entries hold their inputs (through the backward closure) and only a weak reference
// to their output, so an output nobody can reach any more makes its entry dead; dead entries are
// swept as the tape grows. One tape per thread (see tensor.hpp).
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace detail {
struct Node {
    const char* name = "";
    std::uint64_t seq = 0;   // position in recording order on its thread's tape
    std::uint64_t tape = 0;  // which tape (one per thread, numbered from 1, never reused)
    bool released = false;
    virtual ~Node() = default;
    virtual bool pending() const = 0;   // output alive and holding an upstream gradient
    virtual bool expired() const = 0;   // output unreachable: the entry can never run
    virtual void run() = 0;             // backward with the output's gradient, then drop it
    virtual void clear_pending() = 0;   // drop the output's gradient without running
    virtual void release() = 0;         // free the closure (and what it saved)
    // For post-accumulate-grad hooks: the entries that made this one's inputs (the walk from the
    // root), and this entry's distinct input leaves that have hooks, each with how to fire them.
    virtual void input_nodes(std::vector<Node*>& out) const = 0;
    virtual void hooked_leaves(std::vector<std::pair<const void*, std::function<void()>>>& out) const = 0;
};
// The error of a second backward through released entries (torch's words).
extern const char* const kSecondBackwardMessage;
// Runs the backward pass from `root` (an entry on this thread's tape, whose output's gradient has
// been seeded by `seed`): every entry from root down to the first that has a pending gradient
// runs once, in reverse recording order; unless retain_graph, the entries used are released.
// A pass that throws (an anomaly, a tensor modified in place, a custom backward's error) leaves
// every gradient as it was before it started: the leaves it had written are restored.
void run_backward(const std::shared_ptr<Node>& root, bool retain_graph, const std::function<void()>& seed);
// While a backward pass runs on this thread: registers how to undo the first write to one leaf's
// gradient (called by Tensor when a leaf's gradient is first written in a pass). Outside a pass,
// does nothing and returns false.
bool backward_pass_running();
std::uint64_t backward_pass_id();  // 0 when none runs
void on_backward_failure(std::function<void()> undo);
// For an op's backward (see DirectStep in tensor.hpp): true, with lr, when `leaf` has a direct
// step set, holds no gradient yet (or only zero_grad's zeros), has hooks, and the entry now running
// is its last reader in this backward pass — so this entry's contribution is its whole gradient,
// and no entry still to run reads its value. The op then updates the value by −lr·gradient itself
// (through mutable_value) and writes no gradient.
template <class T> bool take_direct_step(const Tensor<T>& leaf, double& lr);
// Runs a leaf's post-accumulate-grad hooks, in registration order, when it holds a gradient (a
// hook may remove hooks: they are copied first).
template <class T> void fire_post_accumulate_hooks(const std::shared_ptr<TensorImpl<T>>& impl);
// Called before a leaf's gradient is written: the first time in a pass, remembers how to undo it.
template <class T> void remember_leaf_grad(const std::shared_ptr<TensorImpl<T>>& impl);
}  // namespace detail

// Number of live entries on this thread's tape (for tests and leak checks).
std::size_t tape_size();
// Drops every entry of this thread's tape (graphs recorded so far can no longer be backwarded).
void clear_tape();

// True when ops should record: grad mode on and at least one input requires grad.
template <class T> bool needs_grad(std::initializer_list<Tensor<T>> inputs) {
    if (!is_grad_enabled()) return false;
    for (const auto& t : inputs)
        if (t.requires_grad()) return true;
    return false;
}
template <class T> bool needs_grad(const std::vector<Tensor<T>>& inputs) {
    if (!is_grad_enabled()) return false;
    for (const auto& t : inputs)
        if (t.requires_grad()) return true;
    return false;
}

// Makes `out` a non-leaf produced by op `name` from `inputs`: when backward reaches it,
// `backward(grad_out, out_value)` runs and must accumulate into the inputs that require grad.
// The entry remembers the version of each input and of out (see Tensor::version()): if any of
// them was modified in place before the entry runs, backward throws AutogradError instead of
// computing with the new values. Inputs recorded on another thread's tape are an AutogradError
// here: a graph is recorded and backwarded on one thread.
// Call only when needs_grad(inputs) holds. The closure must not capture `out` itself (that
// would keep the entry alive forever); it receives out's gradient and value as arguments.
template <class T>
void record(Tensor<T>& out, const char* name, std::initializer_list<Tensor<T>> inputs,
            std::function<void(const xt::xarray<T>& grad_out, const xt::xarray<T>& out_value)> backward);
// The same for ops taking any number of inputs (cat, stack).
template <class T>
void record(Tensor<T>& out, const char* name, const std::vector<Tensor<T>>& inputs,
            std::function<void(const xt::xarray<T>& grad_out, const xt::xarray<T>& out_value)> backward);

// ---- graph checking (autograd::check_graph) ----
// How to re-run one tape entry's forward in float64: the op applied to double copies of the
// entry's inputs, in the order they were recorded (undefined where the entry had none). It
// must compute the same function the entry recorded (dropout: the same mask; batch_norm: no
// running-stat update) and need not record anything: check_graph calls it under NoGradGuard.
using Replay = std::function<Tensor<double>(const std::vector<Tensor<double>>& inputs)>;
// Gives the entry that produced `out` its replay. A custom op calls it right after record(),
// when is_check_graph_enabled(); the built-in ops do it through TAPEGRAD_REPLAY.
template <class T> void set_replay(const Tensor<T>& out, Replay replay);

namespace detail {
// The replay of the entry that produced out, or null (a leaf, or recorded with the mode off).
template <class T> const Replay* entry_replay(const Tensor<T>& out);
// Runs the backward closure of out's entry alone, with grad_out as out's gradient: returns, for
// each recorded input, the gradient that closure wrote to it (nullopt where it wrote none).
// Every tensor's gradient is left as it was. AutogradError if an input or out changed in place
// since the op ran, or the entry was released by backward().
template <class T>
std::vector<std::optional<xt::xarray<T>>> run_entry_backward(const Tensor<T>& out, const xt::xarray<T>& grad_out);
// set_replay, for the op that just recorded `out` only (an op that returned one of its inputs
// unchanged recorded nothing, and that input's entry keeps its own replay).
template <class T> void set_replay_of_last(const Tensor<T>& out, Replay replay);
// A float64 copy of a tensor's value (undefined stays undefined), for replays' constants.
template <class T> Tensor<double> to_double(const Tensor<T>& t) {
    if (!t.defined()) return Tensor<double>();
    return Tensor<double>(xt::xarray<double>(t.value()));
}
}  // namespace detail

}  // namespace tapegrad

// In an op, after record(out, …): the forward again, as a lambda over `in` (the double inputs),
// built only in graph checking mode. Example: TAPEGRAD_REPLAY(out, relu(in[0]));
#define TAPEGRAD_REPLAY(out, ...)                                                                             \
    do {                                                                                                       \
        if (::tapegrad::is_check_graph_enabled())                                                              \
            ::tapegrad::detail::set_replay_of_last(                                                            \
                out, [=](const std::vector<::tapegrad::Tensor<double>>& in) -> ::tapegrad::Tensor<double> {    \
                    (void)in;                                                                                  \
                    return __VA_ARGS__;                                                                        \
                });                                                                                            \
    } while (0)
