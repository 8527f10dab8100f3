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

}  // namespace tapegrad
