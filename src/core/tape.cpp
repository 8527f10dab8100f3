// The per-thread tape: recording, the backward walk, sweeping dead entries, and the grad modes.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "tapegrad/core/tape.hpp"

namespace tapegrad {

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

namespace detail {
const char* const kSecondBackwardMessage =
    "Trying to backward through the graph a second time (or directly access saved tensors after they have "
    "already been freed). Saved intermediate values of the graph are freed when you call backward(). "
    "Specify retain_graph=true if you need to backward through the graph a second time.";

void run_backward(const std::shared_ptr<Node>& root, bool retain_graph, const std::function<void()>& seed) {
    if (root->released) throw AutogradError(kSecondBackwardMessage);
    auto& nodes = g_tape.nodes;
    auto it = std::lower_bound(nodes.begin(), nodes.end(), root->seq,
                               [](const std::shared_ptr<Node>& n, std::uint64_t s) { return n->seq < s; });
    if (it == nodes.end() || *it != root)
        throw AutogradError("backward: this tensor's graph is not on this thread's tape (it was recorded on another "
                            "thread, or clear_tape() dropped it); one tape per thread");
    const std::size_t pos = static_cast<std::size_t>(it - nodes.begin());
    seed();
    // Release only after the pass: releasing an entry drops its closure, which may hold the only
    // reference to an input whose own entry has yet to run.
    std::vector<Node*> used;
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
}  // namespace detail

}  // namespace tapegrad
