// Tensor handles and the per-thread tape.
#include <algorithm>
#include <cmath>
#include <sstream>

#include <xtensor/xbuilder.hpp>

#include "tapegrad/tape.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

std::string shape_str(const Shape& s) {
    std::ostringstream os;
    os << '[';
    for (std::size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
    os << ']';
    return os.str();
}

namespace {

struct Tape {
    std::vector<std::shared_ptr<detail::Node>> nodes;  // ascending seq
    std::uint64_t next_seq = 0;
    std::size_t sweep_at = 4096;
};
thread_local Tape g_tape;
thread_local bool g_grad_enabled = true;
thread_local bool g_anomaly = false;

// Entries whose output nobody can reach can never run; walking backwards lets one pass
// free a whole dead chain (releasing entry i's closure can orphan the output of entry j < i).
void sweep_dead(Tape& tape) {
    auto& v = tape.nodes;
    for (std::size_t i = v.size(); i-- > 0;) {
        if (!v[i]->released && v[i]->expired()) {
            v[i]->release();
            v[i]->released = true;
        }
    }
    v.erase(std::remove_if(v.begin(), v.end(), [](const auto& n) { return n->released; }), v.end());
}

template <class T> bool all_finite(const xt::xarray<T>& a) {
    for (auto x : a)
        if (!std::isfinite(x)) return false;
    return true;
}

template <class T> struct TypedNode final : detail::Node {
    std::weak_ptr<detail::TensorImpl<T>> out;
    std::function<void(const xt::xarray<T>&, const xt::xarray<T>&)> fn;
    std::vector<std::weak_ptr<detail::TensorImpl<T>>> inputs;  // kept only in anomaly mode

    bool pending() const override {
        auto o = out.lock();
        return o && o->has_grad;
    }
    bool expired() const override { return out.expired(); }
    void run() override {
        auto o = out.lock();
        if (!o || !o->has_grad) return;
        fn(o->grad, o->value);
        o->has_grad = false;  // a non-leaf's gradient is transient, as in PyTorch
        if (g_anomaly) {
            for (std::size_t k = 0; k < inputs.size(); ++k) {
                auto in = inputs[k].lock();
                if (in && in->has_grad && !all_finite(in->grad)) {
                    std::ostringstream os;
                    os << "anomaly detected: backward of '" << name << "' (tape entry #" << seq
                       << ") produced a non-finite gradient for its input " << k;
                    throw AutogradError(os.str());
                }
            }
        }
    }
    void clear_pending() override {
        if (auto o = out.lock()) o->has_grad = false;
    }
    void release() override {
        fn = nullptr;
        inputs.clear();
    }
};

}  // namespace

bool is_grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool enabled) { g_grad_enabled = enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }
void set_detect_anomaly(bool enabled) { g_anomaly = enabled; }
bool is_anomaly_enabled() { return g_anomaly; }

std::size_t tape_size() { return g_tape.nodes.size(); }
void clear_tape() {
    for (auto& n : g_tape.nodes) {
        n->release();
        n->released = true;
    }
    g_tape.nodes.clear();
}

template <class T>
void record(Tensor<T>& out, const char* name, std::initializer_list<Tensor<T>> inputs,
            std::function<void(const xt::xarray<T>&, const xt::xarray<T>&)> backward) {
    auto* impl = out.impl();
    if (!impl) throw AutogradError("record: the result tensor of '" + std::string(name) + "' is undefined");
    if (g_anomaly && !all_finite(impl->value)) {
        std::ostringstream os;
        os << "anomaly detected: forward of '" << name << "' (tape entry #" << g_tape.next_seq
           << ") produced a non-finite value";
        throw AutogradError(os.str());
    }
    Tape& tape = g_tape;
    if (tape.nodes.size() >= tape.sweep_at) {
        sweep_dead(tape);
        tape.sweep_at = std::max<std::size_t>(4096, 2 * tape.nodes.size());
    }
    auto node = std::make_shared<TypedNode<T>>();
    node->name = name;
    node->seq = tape.next_seq++;
    node->out = out.impl_ptr();
    node->fn = std::move(backward);
    if (g_anomaly)
        for (const auto& in : inputs) node->inputs.push_back(in.impl_ptr());
    impl->node = node;
    impl->requires_grad = true;
    tape.nodes.push_back(std::move(node));
}

template void record<float>(Tensor<float>&, const char*, std::initializer_list<Tensor<float>>,
                            std::function<void(const xt::xarray<float>&, const xt::xarray<float>&)>);
template void record<double>(Tensor<double>&, const char*, std::initializer_list<Tensor<double>>,
                             std::function<void(const xt::xarray<double>&, const xt::xarray<double>&)>);

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
    return impl_->value;
}

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

namespace {
// Adds rows of `values` into the dense array `dst` (first dim = rows).
template <class T>
void scatter_rows(xt::xarray<T>& dst, const std::vector<std::int64_t>& rows, const xt::xarray<T>& values) {
    const std::size_t width = rows.empty() ? 0 : values.size() / rows.size();
    T* d = dst.data();
    const T* v = values.data();
    for (std::size_t k = 0; k < rows.size(); ++k) {
        T* row = d + std::size_t(rows[k]) * width;
        for (std::size_t j = 0; j < width; ++j) row[j] += v[k * width + j];
    }
}
}  // namespace

template <class T> const std::vector<std::int64_t>& Tensor<T>::sparse_grad_rows() const {
    if (!has_sparse_grad()) throw AutogradError("Tensor::sparse_grad_rows: the gradient is not sparse");
    return impl_->sparse_rows;
}
template <class T> const typename Tensor<T>::array_type& Tensor<T>::sparse_grad_values() const {
    if (!has_sparse_grad()) throw AutogradError("Tensor::sparse_grad_values: the gradient is not sparse");
    return impl_->sparse_values;
}

template <class T>
void Tensor<T>::accumulate_sparse_grad(const std::vector<std::int64_t>& rows, const array_type& values) const {
    check_defined("accumulate_sparse_grad");
    auto& im = *impl_;
    const std::size_t n0 = im.value.dimension() ? im.value.shape()[0] : 0;
    const std::size_t width = n0 ? im.value.size() / n0 : 0;
    if (values.size() != rows.size() * width)
        throw ShapeError("accumulate_sparse_grad: " + std::to_string(rows.size()) + " rows need " +
                         std::to_string(rows.size() * width) + " values, got " + std::to_string(values.size()));
    for (auto r : rows)
        if (r < 0 || std::size_t(r) >= n0) throw IndexError("accumulate_sparse_grad: row " + std::to_string(r) + " out of range");
    if (im.has_grad || im.node) {  // dense already (or a non-leaf, whose gradients are dense)
        bool acc = false;
        auto& buf = grad_buffer(acc);
        if (!acc) std::fill(buf.begin(), buf.end(), T(0));
        scatter_rows(buf, rows, values);
        return;
    }
    if (!im.has_sparse) {
        im.sparse_rows = rows;
        im.sparse_values = values;
        im.has_sparse = true;
        return;
    }
    im.sparse_rows.insert(im.sparse_rows.end(), rows.begin(), rows.end());
    xt::xarray<T> joined = xt::xarray<T>::from_shape({im.sparse_rows.size(), width});
    std::copy(im.sparse_values.begin(), im.sparse_values.end(), joined.begin());
    std::copy(values.begin(), values.end(), joined.begin() + std::ptrdiff_t(im.sparse_values.size()));
    im.sparse_values = std::move(joined);
}

template <class T> const typename Tensor<T>::array_type& Tensor<T>::grad() const {
    check_defined("grad");
    if (!impl_->has_grad && impl_->has_sparse) {  // densify on first read
        impl_->grad = xt::zeros<T>(impl_->value.shape());
        scatter_rows(impl_->grad, impl_->sparse_rows, impl_->sparse_values);
        impl_->has_grad = true;
        impl_->has_sparse = false;
        impl_->sparse_rows.clear();
    }
    if (!impl_->has_grad)
        throw AutogradError(
            "Tensor::grad: this tensor has no gradient (it does not require grad, backward has not reached it yet, "
            "or it is a non-leaf, whose gradients are not kept)");
    return impl_->grad;
}
template <class T> typename Tensor<T>::array_type& Tensor<T>::mutable_grad() {
    check_defined("mutable_grad");
    if (impl_->has_sparse) (void)grad();  // densify
    if (!impl_->has_grad) {
        impl_->grad.resize(impl_->value.shape());
        std::fill(impl_->grad.begin(), impl_->grad.end(), T(0));
        impl_->has_grad = true;
    }
    return impl_->grad;
}

template <class T> void Tensor<T>::zero_grad(bool set_to_none) {
    if (!impl_) return;
    if (impl_->has_sparse) {  // a sparse gradient is dropped either way: zero rows are no rows
        impl_->has_sparse = false;
        impl_->sparse_rows.clear();
    }
    if (!impl_->has_grad) return;
    if (set_to_none)
        impl_->has_grad = false;  // keep the buffer: the next backward reuses it without allocating
    else
        std::fill(impl_->grad.begin(), impl_->grad.end(), T(0));
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
    if (im.node && im.node->released)
        throw AutogradError(
            "Trying to backward through the graph a second time (or directly access saved tensors after they have "
            "already been freed). Saved intermediate values of the graph are freed when you call backward(). "
            "Specify retain_graph=true if you need to backward through the graph a second time.");
    if (im.has_sparse && !im.has_grad) (void)grad();  // a dense contribution makes the gradient dense
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
    auto seed = [&](bool& acc) -> array_type& { return grad_buffer(acc); };
    auto fill_seed = [&]() {
        bool acc = false;
        array_type& buf = seed(acc);
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
    if (!impl_->node) {  // a leaf: backward is just accumulation
        fill_seed();
        return;
    }
    auto& nodes = g_tape.nodes;
    const auto root = impl_->node;
    if (root->released) {
        bool dummy;
        grad_buffer(dummy);  // throws the "second time" error
    }
    auto it = std::lower_bound(nodes.begin(), nodes.end(), root->seq,
                               [](const std::shared_ptr<detail::Node>& n, std::uint64_t s) { return n->seq < s; });
    if (it == nodes.end() || *it != root)
        throw AutogradError("backward: this tensor's graph is not on this thread's tape (it was recorded on another "
                            "thread, or clear_tape() dropped it); one tape per thread");
    const std::size_t pos = static_cast<std::size_t>(it - nodes.begin());
    fill_seed();
    // Release only after the pass: releasing an entry drops its closure, which may hold the only
    // reference to an input whose own entry has yet to run.
    std::vector<detail::Node*> used;
    try {
        for (std::size_t i = pos + 1; i-- > 0;) {
            auto& n = *nodes[i];
            if (n.released || !n.pending()) continue;
            n.run();
            used.push_back(&n);
        }
    } catch (...) {
        for (std::size_t i = 0; i <= pos && i < nodes.size(); ++i) nodes[i]->clear_pending();
        throw;
    }
    if (!retain_graph) {
        for (auto* n : used) {
            n->release();
            n->released = true;
        }
        sweep_dead(g_tape);  // also drops entries of graphs that died without a backward
    }
}

template class Tensor<float>;
template class Tensor<double>;

}  // namespace tapegrad
