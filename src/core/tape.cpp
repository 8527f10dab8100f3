// The per-thread tape: recording, the backward walk, sweeping dead entries, and the grad modes.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "tapegrad/core/graph.hpp"
#include "tapegrad/core/sparse_grad.hpp"
#include "tapegrad/core/tape.hpp"

namespace tapegrad {

namespace {

std::atomic<std::uint64_t> g_next_tape_id{1};

struct Tape {
    std::vector<std::shared_ptr<detail::Node>> nodes;  // ascending seq
    std::uint64_t id = g_next_tape_id++;
    std::uint64_t next_seq = 0;
    std::size_t sweep_at = 4096;
    // Each closure holds its inputs, whose entries hold theirs: a chain of n entries freed from
    // its end would be freed by n nested destructors. Releasing the closures from the last entry
    // to the first, while the tape still owns every entry, frees each step at depth one, so a
    // graph of any depth can be dropped at thread exit.
    ~Tape() {
        for (std::size_t i = nodes.size(); i-- > 0;) nodes[i]->release();
    }
};
thread_local Tape g_tape;

// A leaf with post-accumulate-grad hooks during a pass: how many of the pass's entries still have
// to run that read it, and how to fire its hooks.
struct Hooked {
    int readers = 0;
    std::function<void()> fire;
};

// The backward pass running on this thread: its number, and how to undo what it wrote to leaves.
struct Pass {
    std::uint64_t id = 0;  // 0: none running
    std::vector<std::function<void()>> undo;
    const std::unordered_map<const void*, Hooked>* hooked = nullptr;  // while counting hooked leaves
};
thread_local Pass g_pass;
std::atomic<std::uint64_t> g_next_pass_id{1};
thread_local bool g_grad_enabled = true;
thread_local bool g_anomaly = false;
thread_local bool g_check_graph = false;
thread_local const detail::Node* g_last_recorded = nullptr;  // for set_replay_of_last

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
    std::uint64_t out_version = 0;
    std::function<void(const xt::xarray<T>&, const xt::xarray<T>&)> fn;
    std::vector<std::weak_ptr<detail::TensorImpl<T>>> inputs;
    std::vector<std::uint64_t> input_versions;  // each input's version when the op ran
    Replay replay;                              // graph checking mode only: the forward again

    bool pending() const override {
        auto o = out.lock();
        return o && o->has_grad;
    }
    bool expired() const override { return out.expired(); }
    // torch's check: the backward must see the values the forward saw.
    void check_versions(const detail::TensorImpl<T>& o) const {
        auto fail = [&](const std::string& what, const Shape& shape, std::uint64_t now, std::uint64_t then) {
            std::ostringstream os;
            os << "backward: one of the variables needed for gradient computation has been modified by an inplace "
                  "operation: "
               << what << " of '" << name << "' (tape entry #" << seq << "), a tensor of shape " << shape_str(shape)
               << ", is at version " << now << "; expected version " << then
               << " instead. (It was changed through mutable_value() — an optimizer step, an initialiser — after "
                  "the op recorded it; do that after backward(), or compute on a copy.)";
            throw AutogradError(os.str());
        };
        if (o.version != out_version) fail("the output", shape_of_value(o), o.version, out_version);
        for (std::size_t k = 0; k < inputs.size(); ++k) {
            auto in = inputs[k].lock();
            if (in && in->version != input_versions[k])
                fail("input " + std::to_string(k), shape_of_value(*in), in->version, input_versions[k]);
        }
    }
    static Shape shape_of_value(const detail::TensorImpl<T>& t) { return Shape(t.value.shape().begin(), t.value.shape().end()); }
    void run() override {
        auto o = out.lock();
        if (!o || !o->has_grad) return;
        check_versions(*o);
        fn(o->grad, o->value);
        if (o->retains_grad) {  // retain_grad(): kept beside the transient one, summed over passes
            // a pass that fails later puts it back, as it does leaves' gradients
            detail::on_backward_failure([o, had = o->has_retained, before = o->retained] {
                o->has_retained = had;
                o->retained = before;
            });
            if (o->has_retained && o->retained.shape() == o->grad.shape())
                o->retained += o->grad;
            else
                o->retained = o->grad;
            o->has_retained = true;
        }
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
    void input_nodes(std::vector<detail::Node*>& v) const override {
        for (const auto& w : inputs)
            if (auto in = w.lock(); in && in->node) v.push_back(in->node.get());
    }
    void hooked_leaves(std::vector<std::pair<const void*, std::function<void()>>>& v) const override {
        for (std::size_t k = 0; k < inputs.size(); ++k) {
            auto in = inputs[k].lock();
            if (!in || in->node || in->post_accumulate_hooks.empty()) continue;
            bool seen = false;  // x·x reads x twice: one contribution of this entry
            for (std::size_t j = 0; j < k; ++j) seen = seen || inputs[j].lock() == in;
            if (seen) continue;
            v.emplace_back(in.get(), [in] { detail::fire_post_accumulate_hooks(in); });
        }
    }
    void release() override {
        fn = nullptr;
        replay = nullptr;
        inputs.clear();
        input_versions.clear();
    }
};

}  // namespace

bool is_grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool enabled) { g_grad_enabled = enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }
void set_detect_anomaly(bool enabled) { g_anomaly = enabled; }
bool is_anomaly_enabled() { return g_anomaly; }
void set_check_graph(bool enabled) { g_check_graph = enabled; }
bool is_check_graph_enabled() { return g_check_graph; }

std::size_t tape_size() { return g_tape.nodes.size(); }
void clear_tape() {
    for (auto& n : g_tape.nodes) {
        n->release();
        n->released = true;
    }
    g_tape.nodes.clear();
}

namespace {
template <class T>
void record_span(Tensor<T>& out, const char* name, const Tensor<T>* first, const Tensor<T>* last,
                 std::function<void(const xt::xarray<T>&, const xt::xarray<T>&)> backward) {
    struct Span {
        const Tensor<T>*b, *e;
        const Tensor<T>* begin() const { return b; }
        const Tensor<T>* end() const { return e; }
        std::size_t size() const { return std::size_t(e - b); }
    } inputs{first, last};
    auto* impl = out.impl();
    if (!impl) throw AutogradError("record: the result tensor of '" + std::string(name) + "' is undefined");
    if (g_anomaly && !all_finite(impl->value)) {
        std::ostringstream os;
        os << "anomaly detected: forward of '" << name << "' (tape entry #" << g_tape.next_seq
           << ") produced a non-finite value";
        throw AutogradError(os.str());
    }
    Tape& tape = g_tape;
    std::size_t k = 0;
    for (const auto& in : inputs) {
        const auto* n = in.impl() ? in.impl()->node.get() : nullptr;
        if (n && n->tape != tape.id) {
            std::ostringstream os;
            os << "record: input " << k << " of '" << name << "' was made by '" << n->name
               << "' on another thread's tape; a graph must be recorded and backwarded on one thread (one tape per "
                  "thread): make it on this thread, or pass .detach() of it to cut the graph there";
            throw AutogradError(os.str());
        }
        ++k;
    }
    if (tape.nodes.size() >= tape.sweep_at) {
        sweep_dead(tape);
        tape.sweep_at = std::max<std::size_t>(4096, 2 * tape.nodes.size());
    }
    auto node = std::make_shared<TypedNode<T>>();
    node->name = name;
    node->seq = tape.next_seq++;
    node->tape = tape.id;
    node->out = out.impl_ptr();
    node->out_version = impl->version;
    node->fn = std::move(backward);
    node->inputs.reserve(inputs.size());
    node->input_versions.reserve(inputs.size());
    for (const auto& in : inputs) {
        node->inputs.push_back(in.impl_ptr());
        node->input_versions.push_back(in.impl() ? in.impl()->version : 0);
    }
    impl->node = node;
    impl->requires_grad = true;
    g_last_recorded = node.get();
    tape.nodes.push_back(std::move(node));
}
}  // namespace

template <class T>
void record(Tensor<T>& out, const char* name, std::initializer_list<Tensor<T>> inputs,
            std::function<void(const xt::xarray<T>&, const xt::xarray<T>&)> backward) {
    record_span(out, name, inputs.begin(), inputs.end(), std::move(backward));
}
template <class T>
void record(Tensor<T>& out, const char* name, const std::vector<Tensor<T>>& inputs,
            std::function<void(const xt::xarray<T>&, const xt::xarray<T>&)> backward) {
    record_span(out, name, inputs.data(), inputs.data() + inputs.size(), std::move(backward));
}
template void record<float>(Tensor<float>&, const char*, const std::vector<Tensor<float>>&,
                            std::function<void(const xt::xarray<float>&, const xt::xarray<float>&)>);
template void record<double>(Tensor<double>&, const char*, const std::vector<Tensor<double>>&,
                             std::function<void(const xt::xarray<double>&, const xt::xarray<double>&)>);

template void record<float>(Tensor<float>&, const char*, std::initializer_list<Tensor<float>>,
                            std::function<void(const xt::xarray<float>&, const xt::xarray<float>&)>);
template void record<double>(Tensor<double>&, const char*, std::initializer_list<Tensor<double>>,
                             std::function<void(const xt::xarray<double>&, const xt::xarray<double>&)>);

template <class T> Graph<T> graph_of(const Tensor<T>& root) {
    if (!root.defined()) throw ValueError("graph_of: the tensor is undefined");
    Graph<T> g;
    g.root = root;
    std::vector<TypedNode<T>*> found;
    std::unordered_set<const detail::Node*> seen;
    std::vector<detail::Node*> todo;
    if (root.impl()->node) todo.push_back(root.impl()->node.get());
    while (!todo.empty()) {  // no recursion: graphs of any depth
        detail::Node* n = todo.back();
        todo.pop_back();
        if (!seen.insert(n).second) continue;
        if (n->released)
            throw AutogradError("graph_of: the graph was released by backward() (entry '" + std::string(n->name) +
                                "' #" + std::to_string(n->seq) +
                                "); read it before backward, or call backward with retain_graph=true");
        if (n->tape != g_tape.id)
            throw AutogradError("graph_of: this tensor's graph is on another thread's tape; one tape per thread");
        auto* t = dynamic_cast<TypedNode<T>*>(n);
        if (!t) continue;
        found.push_back(t);
        for (const auto& w : t->inputs)
            if (auto in = w.lock(); in && in->node) todo.push_back(in->node.get());
    }
    std::sort(found.begin(), found.end(), [](const TypedNode<T>* a, const TypedNode<T>* b) { return a->seq < b->seq; });
    std::unordered_set<const void*> leaf_seen;
    for (const TypedNode<T>* t : found) {
        GraphEntry<T> e;
        e.op = t->name;
        e.seq = t->seq;
        e.output = Tensor<T>(t->out.lock());
        for (const auto& w : t->inputs) {
            auto in = w.lock();
            e.inputs.push_back(in ? Tensor<T>(in) : Tensor<T>());
            if (in && !in->node && leaf_seen.insert(in.get()).second) g.leaves.push_back(Tensor<T>(in));
        }
        g.entries.push_back(std::move(e));
    }
    if (!root.impl()->node) g.leaves.push_back(root);
    return g;
}

template <class T> void retain_grads(const Tensor<T>& root) {
    for (auto& e : graph_of(root).entries)
        if (e.output.defined()) e.output.retain_grad();
}
template Graph<float> graph_of(const Tensor<float>&);
template Graph<double> graph_of(const Tensor<double>&);
template void retain_grads(const Tensor<float>&);
template void retain_grads(const Tensor<double>&);

namespace {
template <class T> TypedNode<T>* typed_entry(const Tensor<T>& out, const char* fn) {
    if (!out.defined()) throw ValueError(std::string(fn) + ": the tensor is undefined");
    auto* n = out.impl()->node.get();
    if (!n) return nullptr;
    if (n->tape != g_tape.id)
        throw AutogradError(std::string(fn) + ": this tensor's graph is on another thread's tape; one tape per thread");
    return dynamic_cast<TypedNode<T>*>(n);
}
}  // namespace

template <class T> void set_replay(const Tensor<T>& out, Replay replay) {
    auto* n = typed_entry(out, "set_replay");
    if (!n) throw AutogradError("set_replay: the tensor is a leaf; only an op's result (after record) has a tape entry");
    if (n->released) throw AutogradError(detail::kSecondBackwardMessage);
    n->replay = std::move(replay);
}
template void set_replay(const Tensor<float>&, Replay);
template void set_replay(const Tensor<double>&, Replay);

namespace detail {
template <class T> void set_replay_of_last(const Tensor<T>& out, Replay replay) {
    if (!out.defined() || !out.impl()->node || out.impl()->node.get() != g_last_recorded) return;
    if (auto* n = dynamic_cast<TypedNode<T>*>(out.impl()->node.get()); n && !n->replay) n->replay = std::move(replay);
}
template void set_replay_of_last(const Tensor<float>&, Replay);
template void set_replay_of_last(const Tensor<double>&, Replay);

template <class T> const Replay* entry_replay(const Tensor<T>& out) {
    auto* n = typed_entry(out, "entry_replay");
    return n && n->replay ? &n->replay : nullptr;
}
template const Replay* entry_replay(const Tensor<float>&);
template const Replay* entry_replay(const Tensor<double>&);

template <class T>
std::vector<std::optional<xt::xarray<T>>> run_entry_backward(const Tensor<T>& out, const xt::xarray<T>& grad_out) {
    auto* n = typed_entry(out, "run_entry_backward");
    if (!n) throw AutogradError("run_entry_backward: the tensor is a leaf; it has no backward");
    if (n->released || !n->fn) throw AutogradError(kSecondBackwardMessage);
    if (!std::equal(grad_out.shape().begin(), grad_out.shape().end(), out.value().shape().begin(),
                    out.value().shape().end()))
        throw ShapeError("run_entry_backward: grad_out of shape " + shape_str(Shape(grad_out.shape().begin(), grad_out.shape().end())) +
                         " for an output of shape " + shape_str(out.shape()));
    n->check_versions(*out.impl());
    if (backward_pass_running()) throw AutogradError("run_entry_backward: called during a backward pass");
    // Each distinct input's gradient state is set aside, the closure writes into empty ones, and
    // what it wrote is read back before the old state returns: nothing outside sees the run.
    struct Saved {
        std::shared_ptr<TensorImpl<T>> impl;
        xt::xarray<T> grad;
        bool has_grad, grad_zeroed;
        std::shared_ptr<SparseGrad<T>> sparse;
        std::uint64_t grad_pass;
    };
    std::vector<Saved> saved;
    std::vector<std::shared_ptr<TensorImpl<T>>> ins;
    for (const auto& w : n->inputs) ins.push_back(w.lock());
    for (const auto& in : ins) {
        if (!in) continue;
        bool seen = false;
        for (const auto& s : saved) seen = seen || s.impl == in;
        if (seen) continue;
        saved.push_back({in, std::move(in->grad), in->has_grad, in->grad_zeroed, std::move(in->sparse), in->grad_pass});
        in->grad = xt::xarray<T>();
        in->has_grad = false;
        in->sparse = nullptr;
    }
    auto restore = [&] {
        for (auto& s : saved) {
            s.impl->grad = std::move(s.grad);
            s.impl->has_grad = s.has_grad;
            s.impl->grad_zeroed = s.grad_zeroed;
            s.impl->sparse = std::move(s.sparse);
            s.impl->grad_pass = s.grad_pass;
        }
    };
    std::vector<std::optional<xt::xarray<T>>> result(ins.size());
    try {
        n->fn(grad_out, out.value());
        for (std::size_t k = 0; k < ins.size(); ++k) {
            auto& in = ins[k];
            if (!in) continue;
            if (in->sparse) densify_sparse_grad(*in);
            if (in->has_grad) result[k] = in->grad;
        }
    } catch (...) {
        restore();
        throw;
    }
    restore();
    return result;
}
template std::vector<std::optional<xt::xarray<float>>> run_entry_backward(const Tensor<float>&, const xt::xarray<float>&);
template std::vector<std::optional<xt::xarray<double>>> run_entry_backward(const Tensor<double>&, const xt::xarray<double>&);
}  // namespace detail

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
    if (g_pass.id != 0) throw AutogradError("backward: called from inside a backward pass (a backward closure may not call backward)");
    g_pass.id = g_next_pass_id++;
    g_pass.undo.clear();
    // Release only after the pass: releasing an entry drops its closure, which may hold the only
    // reference to an input whose own entry has yet to run.
    std::vector<Node*> used;
    // Post-accumulate-grad hooks: how many entries of this graph read each hooked leaf; a leaf's
    // hooks fire when its last reader has run (its gradient is then complete).
    std::unordered_map<const void*, Hooked> hooked;
    std::unordered_map<const Node*, std::vector<const void*>> reads;
    std::vector<const void*> hooked_order;  // first met, for a deterministic fallback order
    if (g_post_accumulate_hooks_used) {
        std::unordered_set<const Node*> seen;
        std::vector<Node*> todo{root.get()}, next;
        std::vector<std::pair<const void*, std::function<void()>>> leaves;
        while (!todo.empty()) {
            Node* n = todo.back();
            todo.pop_back();
            if (n->released || !seen.insert(n).second) continue;
            leaves.clear();
            n->hooked_leaves(leaves);
            for (auto& [key, fire] : leaves) {
                auto& h = hooked[key];
                if (h.readers == 0 && !h.fire) hooked_order.push_back(key);
                ++h.readers;
                if (!h.fire) h.fire = std::move(fire);
                reads[n].push_back(key);
            }
            next.clear();
            n->input_nodes(next);
            todo.insert(todo.end(), next.begin(), next.end());
        }
    }
    g_pass.hooked = hooked.empty() ? nullptr : &hooked;
    try {
        seed();
        for (std::size_t i = pos + 1; i-- > 0;) {
            auto& n = *nodes[i];
            if (n.released || !n.pending()) continue;
            n.run();
            used.push_back(&n);
            if (!hooked.empty())
                if (auto it = reads.find(&n); it != reads.end())
                    for (const void* key : it->second)
                        if (auto& h = hooked[key]; --h.readers == 0) h.fire();
        }
        // readers that never ran (their output got no gradient): the gradient is complete now
        for (const void* key : hooked_order)
            if (auto& h = hooked[key]; h.readers > 0) h.readers = 0, h.fire();
    } catch (...) {
        // Nothing half-done survives: pending gradients of non-leaves are dropped and every leaf
        // gradient the pass wrote is put back, so a retry starts from where this pass started.
        for (std::size_t i = 0; i <= pos && i < nodes.size(); ++i) nodes[i]->clear_pending();
        for (std::size_t u = g_pass.undo.size(); u-- > 0;) g_pass.undo[u]();
        g_pass.undo.clear();
        g_pass.id = 0;
        g_pass.hooked = nullptr;
        throw;
    }
    g_pass.undo.clear();
    g_pass.id = 0;
    g_pass.hooked = nullptr;
    if (!retain_graph) {
        for (auto* n : used) {
            n->release();
            n->released = true;
        }
        sweep_dead(g_tape);  // also drops entries of graphs that died without a backward
    }
}
bool backward_pass_running() { return g_pass.id != 0; }
template <class T> bool take_direct_step(const Tensor<T>& leaf, double& lr) {
    auto* im = leaf.impl();
    if (!im || !im->direct_step || im->node || !g_pass.hooked || im->sparse || (im->has_grad && !im->grad_zeroed))
        return false;
    auto it = g_pass.hooked->find(im);
    if (it == g_pass.hooked->end() || it->second.readers != 1) return false;
    return im->direct_step->lr(lr);
}
template bool take_direct_step(const Tensor<float>&, double&);
template bool take_direct_step(const Tensor<double>&, double&);
std::uint64_t backward_pass_id() { return g_pass.id; }
void on_backward_failure(std::function<void()> undo) {
    if (g_pass.id != 0) g_pass.undo.push_back(std::move(undo));
}
}  // namespace detail

}  // namespace tapegrad
