#pragma once
// Tensor<T>: a handle (shared, cheap to copy) to a value, its gradient and its place on the tape.
//
// Threading rule: every thread has its own tape. A graph must be built and backwarded on one
// thread; tensors may be read from several threads when nobody records or backwards through
// them. Calling backward() on a thread whose tape did not record the graph is an AutogradError.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tapegrad/core/errors.hpp"
#include "tapegrad/core/grad_mode.hpp"
#include "tapegrad/core/shape.hpp"

namespace tapegrad {


template <class T> class Tensor;
namespace detail {
struct Node;                         // one tape entry, see tape.hpp
// Set on a leaf by an optimizer whose update of it is, right now, a plain step p ← p − lr·g (SGD
// without momentum or weight decay, in step_in_backward without keep_grads): lr() says so and
// gives lr (negated for maximize). An op whose backward is the leaf's only contribution in a pass
// may then apply −lr·(its gradient) to the value instead of writing a gradient (see
// take_direct_step in tape.hpp; linear's weight-gradient GEMM does, with beta = 1).
struct DirectStep {
    virtual ~DirectStep() = default;
    virtual bool lr(double& out) const = 0;
};
template <class T> struct SparseGrad;  // a row-sparse gradient, see sparse_grad.hpp
template <class T> struct TensorImpl {
    xt::xarray<T> value;
    xt::xarray<T> grad;        // meaningful only while has_grad
    bool has_grad = false;
    bool requires_grad = false;
    std::shared_ptr<SparseGrad<T>> sparse;  // set only while a leaf holds a row-sparse gradient
    std::shared_ptr<Node> node;  // the op that produced this tensor; null for leaves
    std::uint64_t version = 0;   // bumped by every in-place write (mutable_value())
    bool grad_zeroed = false;    // grad holds zeros written by zero_grad() and nothing since
    std::uint64_t grad_pass = 0; // the backward pass that last wrote this leaf's gradient
    bool retains_grad = false;   // a non-leaf that keeps its gradients (retain_grad())
    bool has_retained = false;
    xt::xarray<T> retained;      // their sum over backward passes, while has_retained
    // register_post_accumulate_grad_hook's hooks (leaves only), with their ids
    std::vector<std::pair<std::size_t, std::function<void(const Tensor<T>&)>>> post_accumulate_hooks;
    const DirectStep* direct_step = nullptr;  // owned by the optimizer that set it
};
// Whether any post-accumulate-grad hook was ever registered (backward then counts, per pass, when
// each hooked leaf's gradient is complete; until then it pays nothing for them).
extern std::atomic<bool> g_post_accumulate_hooks_used;
}  // namespace detail

template <class T = float> class Tensor {
    static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                  "tapegrad tensors are float or double");

public:
    using value_type = T;
    using array_type = xt::xarray<T>;

    // An undefined tensor (like an empty torch.Tensor handle); most calls on it throw.
    Tensor() = default;
    explicit Tensor(array_type value, bool requires_grad = false);
    // Nested initializer lists, as xt::xarray takes them: Tensor<>({{1, 2}, {3, 4}}).
    Tensor(xt::nested_initializer_list_t<T, 1> v, bool requires_grad = false)
        : Tensor(array_type(v), requires_grad) {}
    Tensor(xt::nested_initializer_list_t<T, 2> v, bool requires_grad = false)
        : Tensor(array_type(v), requires_grad) {}
    Tensor(xt::nested_initializer_list_t<T, 3> v, bool requires_grad = false)
        : Tensor(array_type(v), requires_grad) {}
    Tensor(xt::nested_initializer_list_t<T, 4> v, bool requires_grad = false)
        : Tensor(array_type(v), requires_grad) {}
    // A 0-d tensor.
    static Tensor scalar(T v, bool requires_grad = false);

    bool defined() const { return impl_ != nullptr; }
    const array_type& value() const;
    // Writable value, for in-place updates outside the tape (optimizers, initialisers). Each call
    // counts as an in-place write: it bumps version(), so a graph that saved this tensor refuses
    // to backward afterwards (torch's "modified by an inplace operation").
    array_type& mutable_value();
    // How many in-place writes this tensor has seen (torch's t._version).
    std::uint64_t version() const { return impl_ ? impl_->version : 0; }

    bool requires_grad() const { return impl_ && impl_->requires_grad; }
    // Leaves only, as in PyTorch: a non-leaf's requires_grad follows from its inputs.
    Tensor& requires_grad_(bool flag = true);
    bool is_leaf() const { return !impl_ || !impl_->node; }
    // The op that produced this tensor ("mul", "matmul", …); "" for a leaf.
    std::string grad_fn() const;
    // Like torch's retain_grad(): a non-leaf keeps the gradients backward passes through it
    // (summed over passes until zero_grad()), so grad() can read it; a no-op on a leaf.
    Tensor& retain_grad();
    bool retains_grad() const { return impl_ && impl_->node && impl_->retains_grad; }

    // A gradient is there, dense or row-sparse (see sparse_grad.hpp), or kept by retain_grad().
    bool has_grad() const { return impl_ && (impl_->has_grad || impl_->sparse || (impl_->node && impl_->has_retained)); }
    // The accumulated gradient (same shape as value). Throws AutogradError when there is none.
    // A sparse gradient is made dense on first read (and stays dense).
    const array_type& grad() const;
    array_type& mutable_grad();
    // Sets the gradient to zeros (set_to_none=false, torch 1.13's default) or drops it.
    void zero_grad(bool set_to_none = false);

    // A new leaf holding a copy of the value, outside every graph.
    Tensor detach() const;
    // The single element of a one-element tensor.
    T item() const;

    Shape shape() const;
    std::size_t dim() const;
    std::size_t numel() const;
    std::size_t size(std::ptrdiff_t d) const;  // negative d counts from the end

    // Replays the tape in reverse from this tensor and accumulates into leaf gradients.
    // `gradient` may be left undefined only for a one-element tensor (it is then 1).
    // Unless retain_graph, the entries used are released; using them again is an error.
    void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;

    // torch's register_post_accumulate_grad_hook (leaves only; AutogradError on a non-leaf): during
    // backward(), hook(this tensor) runs as soon as this leaf's gradient is complete in that pass —
    // right after the last tape entry that contributes to it, while the rest of the pass has yet to
    // run. It may read the gradient, update the value in place (no entry still to run reads it) and
    // drop the gradient (optimizers' step_in_backward does all three). Hooks run in registration
    // order; a pass that throws later does not undo what they did. Returns an id for the removal.
    std::size_t register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook);
    // Removes the hook with that id (false when there is none).
    bool remove_post_accumulate_grad_hook(std::size_t id);

    // ---- for op implementers (see examples/custom_op.cpp) ----
    // Adds g to the gradient (allocating it on first use); g must have this tensor's shape.
    void accumulate_grad(const array_type& g) const;
    template <class E> void accumulate_grad_expr(const E& g) const;
    // Gradient buffer ready to accumulate into: returns it and whether it already holds a value
    // (true: add into it; false: it is sized and must be overwritten).
    array_type& grad_buffer(bool& accumulate) const;

    // A handle to an existing tensor (what the tape's graph walk hands out).
    explicit Tensor(std::shared_ptr<detail::TensorImpl<T>> impl) : impl_(std::move(impl)) {}
    detail::TensorImpl<T>* impl() const { return impl_.get(); }
    const std::shared_ptr<detail::TensorImpl<T>>& impl_ptr() const { return impl_; }
    bool same(const Tensor& o) const { return impl_ == o.impl_; }

private:
    std::shared_ptr<detail::TensorImpl<T>> impl_;
    void check_defined(const char* fn) const;
};

using FloatTensor = Tensor<float>;
using DoubleTensor = Tensor<double>;

// torch-style text: "tensor([[1.0000, 2.0000]], requires_grad=True)".
template <class T> std::ostream& operator<<(std::ostream& os, const Tensor<T>& t);
// Nested-list text of an array: "[[1.0000, 2.0000], [3.0000, 4.0000]]" (nan, inf, -inf spelled so).
template <class T> std::string format_array(const xt::xarray<T>& a, int precision = 4);

template <class T>
template <class E>
void Tensor<T>::accumulate_grad_expr(const E& g) const {
    bool acc = false;
    array_type& buf = grad_buffer(acc);
    if (acc)
        buf += g;
    else
        buf = g;
}

}  // namespace tapegrad
