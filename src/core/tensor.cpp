// Tensor handles: value, gradient, and the entry point of backward (the walk is in tape.cpp).
#include <algorithm>
#include <cmath>
#include <sstream>

#include <xtensor/xbuilder.hpp>

#include "tapegrad/core/sparse_grad.hpp"
#include "tapegrad/core/tape.hpp"
#include "tapegrad/core/tensor.hpp"

namespace tapegrad {

// ---------------------------------------------------------------- Tensor

template <class T>
Tensor<T>::Tensor(array_type value, bool requires_grad) : impl_(std::make_shared<detail::TensorImpl<T>>()) {
    impl_->value = std::move(value);
    impl_->requires_grad = requires_grad;
}

template <class T> Tensor<T> Tensor<T>::scalar(T v, bool requires_grad) {
    array_type a = xt::xarray<T>::from_shape({});
    a() = v;
    return Tensor(std::move(a), requires_grad);
}

template <class T> void Tensor<T>::check_defined(const char* fn) const {
    if (!impl_) throw Error(std::string("Tensor::") + fn + ": the tensor is undefined (default-constructed)");
}

template <class T> const typename Tensor<T>::array_type& Tensor<T>::value() const {
    check_defined("value");
    return impl_->value;
}
template <class T> typename Tensor<T>::array_type& Tensor<T>::mutable_value() {
    check_defined("mutable_value");
    ++impl_->version;  // the caller may write: graphs that saved this tensor must not use it
    return impl_->value;
}

namespace detail {
template <class T> void remember_leaf_grad(const std::shared_ptr<TensorImpl<T>>& impl) {
    auto& im = *impl;
    if (im.node || !backward_pass_running() || im.grad_pass == backward_pass_id()) return;
    im.grad_pass = backward_pass_id();
    std::shared_ptr<TensorImpl<T>> keep = impl;
    if (im.sparse) {
        auto sparse = std::make_shared<SparseGrad<T>>(*im.sparse);
        on_backward_failure([keep, sparse] {
            keep->sparse = sparse;
            keep->has_grad = false;
        });
    } else if (!im.has_grad) {
        on_backward_failure([keep] {
            keep->has_grad = false;
            keep->grad_zeroed = false;
        });
    } else if (im.grad_zeroed) {  // the common case after zero_grad(): no copy needed
        on_backward_failure([keep] {
            std::fill(keep->grad.begin(), keep->grad.end(), T(0));
            keep->has_grad = keep->grad_zeroed = true;
        });
    } else {  // accumulating over several backward calls: keep what was there
        on_backward_failure([keep, before = im.grad] {
            keep->grad = before;
            keep->has_grad = true;
        });
    }
}
template void remember_leaf_grad(const std::shared_ptr<TensorImpl<float>>&);
template void remember_leaf_grad(const std::shared_ptr<TensorImpl<double>>&);
}  // namespace detail

template <class T> Tensor<T>& Tensor<T>::requires_grad_(bool flag) {
    check_defined("requires_grad_");
    if (impl_->node)
        throw AutogradError(
            "requires_grad_: you can only change requires_grad flags of leaf variables (this tensor was made by '" +
            std::string(impl_->node->name) + "')");
    impl_->requires_grad = flag;
    return *this;
}

template <class T> std::string Tensor<T>::grad_fn() const { return impl_ && impl_->node ? impl_->node->name : ""; }

template <class T> Tensor<T>& Tensor<T>::retain_grad() {
    check_defined("retain_grad");
    if (impl_->node) impl_->retains_grad = true;
    return *this;
}

template <class T> const typename Tensor<T>::array_type& Tensor<T>::grad() const {
    check_defined("grad");
    if (impl_->node && impl_->retains_grad) {
        if (!impl_->has_retained)
            throw AutogradError("Tensor::grad: this non-leaf (made by '" + std::string(impl_->node->name) +
                                "') retains its gradient, but no backward pass has reached it yet");
        return impl_->retained;
    }
    if (impl_->sparse) detail::densify_sparse_grad(*impl_);  // a row-sparse gradient is made dense on first read
    if (!impl_->has_grad)
        throw AutogradError(
            "Tensor::grad: this tensor has no gradient (it does not require grad, backward has not reached it yet, "
            "or it is a non-leaf, whose gradients are not kept)");
    return impl_->grad;
}
template <class T> typename Tensor<T>::array_type& Tensor<T>::mutable_grad() {
    check_defined("mutable_grad");
    detail::remember_leaf_grad(impl_);
    impl_->grad_zeroed = false;
    if (impl_->sparse) detail::densify_sparse_grad(*impl_);
    if (!impl_->has_grad) {
        impl_->grad.resize(impl_->value.shape());
        std::fill(impl_->grad.begin(), impl_->grad.end(), T(0));
        impl_->has_grad = true;
    }
    return impl_->grad;
}

template <class T> void Tensor<T>::zero_grad(bool set_to_none) {
    if (!impl_) return;
    if (impl_->node && impl_->has_retained) {  // a retained non-leaf gradient: as a leaf's
        if (set_to_none)
            impl_->has_retained = false;
        else
            std::fill(impl_->retained.begin(), impl_->retained.end(), T(0));
        return;
    }
    impl_->sparse.reset();  // a sparse gradient is dropped either way: zero rows are no rows
    if (!impl_->has_grad) return;
    if (set_to_none) {
        impl_->has_grad = false;  // keep the buffer: the next backward reuses it without allocating
    } else {
        std::fill(impl_->grad.begin(), impl_->grad.end(), T(0));
        impl_->grad_zeroed = true;
    }
}

template <class T> Tensor<T> Tensor<T>::detach() const {
    check_defined("detach");
    return Tensor(impl_->value, false);
}

template <class T> T Tensor<T>::item() const {
    check_defined("item");
    if (impl_->value.size() != 1)
        throw ValueError("Tensor::item: a Tensor with " + std::to_string(impl_->value.size()) +
                         " elements cannot be converted to Scalar");
    return *impl_->value.data();
}

template <class T> Shape Tensor<T>::shape() const {
    check_defined("shape");
    return Shape(impl_->value.shape().begin(), impl_->value.shape().end());
}
template <class T> std::size_t Tensor<T>::dim() const {
    check_defined("dim");
    return impl_->value.dimension();
}
template <class T> std::size_t Tensor<T>::numel() const {
    check_defined("numel");
    return impl_->value.size();
}
template <class T> std::size_t Tensor<T>::size(std::ptrdiff_t d) const {
    check_defined("size");
    auto n = static_cast<std::ptrdiff_t>(impl_->value.dimension());
    std::ptrdiff_t k = d < 0 ? d + n : d;
    if (k < 0 || k >= n)
        throw IndexError("Tensor::size: Dimension out of range (expected to be in range of [" + std::to_string(-n) +
                         ", " + std::to_string(n - 1) + "], but got " + std::to_string(d) + ")");
    return impl_->value.shape()[static_cast<std::size_t>(k)];
}

template <class T> typename Tensor<T>::array_type& Tensor<T>::grad_buffer(bool& accumulate) const {
    check_defined("grad_buffer");
    auto& im = *impl_;
    if (im.node && im.node->released) throw AutogradError(detail::kSecondBackwardMessage);
    detail::remember_leaf_grad(impl_);
    im.grad_zeroed = false;
    if (im.sparse) detail::densify_sparse_grad(im);  // a dense contribution makes the gradient dense
    if (im.has_grad && !std::equal(im.grad.shape().begin(), im.grad.shape().end(), im.value.shape().begin(),
                                   im.value.shape().end()))
        throw AutogradError("backward: the gradient of a tensor of shape " + shape_str_of(im.value.shape()) +
                            " holds shape " + shape_str_of(im.grad.shape()) +
                            ": its value was resized after that gradient was computed; zero_grad(true) drops it");
    if (im.has_grad) {
        accumulate = true;
    } else {
        if (!std::equal(im.grad.shape().begin(), im.grad.shape().end(), im.value.shape().begin(),
                        im.value.shape().end()))
            im.grad.resize(im.value.shape());
        im.has_grad = true;
        accumulate = false;
    }
    return im.grad;
}

template <class T> void Tensor<T>::accumulate_grad(const array_type& g) const {
    check_defined("accumulate_grad");
    if (!std::equal(g.shape().begin(), g.shape().end(), impl_->value.shape().begin(), impl_->value.shape().end()))
        throw ShapeError("accumulate_grad: gradient of shape " + shape_str_of(g.shape()) +
                         " does not match the tensor's shape " + shape_str_of(impl_->value.shape()));
    bool acc = false;
    array_type& buf = grad_buffer(acc);
    T* dst = buf.data();
    const T* src = g.data();
    const std::size_t n = g.size();
    if (acc)
        for (std::size_t i = 0; i < n; ++i) dst[i] += src[i];
    else
        std::copy(src, src + n, dst);
}

namespace detail {
std::atomic<bool> g_post_accumulate_hooks_used{false};
}
namespace {
std::atomic<std::size_t> g_next_hook_id{1};
}

template <class T> std::size_t Tensor<T>::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) {
    check_defined("register_post_accumulate_grad_hook");
    if (impl_->node)
        throw AutogradError("register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered on "
                            "non-leaf tensors (this one was made by '" + grad_fn() + "')");
    if (!hook) throw ValueError("register_post_accumulate_grad_hook: the hook is empty");
    const std::size_t id = g_next_hook_id++;
    impl_->post_accumulate_hooks.emplace_back(id, std::move(hook));
    detail::g_post_accumulate_hooks_used = true;
    return id;
}

template <class T> void detail::fire_post_accumulate_hooks(const std::shared_ptr<TensorImpl<T>>& impl) {
    if (!impl->has_grad && !impl->sparse) return;
    const auto hooks = impl->post_accumulate_hooks;
    const Tensor<T> t(impl);
    for (const auto& h : hooks) h.second(t);
}
template void detail::fire_post_accumulate_hooks(const std::shared_ptr<detail::TensorImpl<float>>&);
template void detail::fire_post_accumulate_hooks(const std::shared_ptr<detail::TensorImpl<double>>&);

template <class T> bool Tensor<T>::remove_post_accumulate_grad_hook(std::size_t id) {
    if (!impl_) return false;
    auto& hs = impl_->post_accumulate_hooks;
    for (auto it = hs.begin(); it != hs.end(); ++it)
        if (it->first == id) {
            hs.erase(it);
            return true;
        }
    return false;
}

template <class T> void Tensor<T>::backward(const Tensor& gradient, bool retain_graph) const {
    check_defined("backward");
    if (!impl_->requires_grad)
        throw AutogradError("backward: element 0 of tensors does not require grad and does not have a grad_fn");
    if (!gradient.defined()) {
        if (impl_->value.size() != 1)
            throw AutogradError("backward: grad can be implicitly created only for scalar outputs; this tensor has shape " +
                                shape_str(shape()) + ", so pass a gradient of that shape");
    } else if (gradient.shape() != shape()) {
        throw ShapeError("backward: Mismatch in shape: grad_output[0] has a shape of " + shape_str(gradient.shape()) +
                         " and output[0] has a shape of " + shape_str(shape()));
    }
    auto fill_seed = [&]() {
        bool acc = false;
        array_type& buf = grad_buffer(acc);
        if (gradient.defined()) {
            if (acc)
                buf += gradient.value();
            else
                std::copy(gradient.value().begin(), gradient.value().end(), buf.begin());
        } else {
            if (acc)
                buf += T(1);
            else
                std::fill(buf.begin(), buf.end(), T(1));
        }
    };
    if (!impl_->node) {  // a leaf: backward is just accumulation, and its gradient is then complete
        fill_seed();
        detail::fire_post_accumulate_hooks(impl_);
        return;
    }
    detail::run_backward(impl_->node, retain_graph, fill_seed);
}

template class Tensor<float>;
template class Tensor<double>;

}  // namespace tapegrad
