// Module bookkeeping and the basic layers.
#include <cmath>
#include <functional>
#include <set>
#include <sstream>

#include "tapegrad/nn/layers.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/shape.hpp"

namespace tapegrad {
namespace nn {

template <class T> void Module<T>::check_name(const std::string& name) const {
    if (name.empty() || name.find('.') != std::string::npos)
        throw ValueError("Module: a parameter or child name must be non-empty and contain no '.', got \"" + name + "\"");
    for (auto& p : params_)
        if (p.first == name) throw ValueError("Module: attribute '" + name + "' already exists");
    for (auto& p : buffers_)
        if (p.first == name) throw ValueError("Module: attribute '" + name + "' already exists");
    for (auto& c : children_)
        if (c.first == name) throw ValueError("Module: attribute '" + name + "' already exists");
}

template <class T> Tensor<T> Module<T>::forward(const Tensor<T>&) {
    throw ValueError("Module::forward: " + repr() + " does not take a single tensor; call its own forward(...)");
}

template <class T> Tensor<T> Module<T>::register_parameter(const std::string& name, Tensor<T> p) {
    check_name(name);
    if (p.defined()) p.requires_grad_(true);
    params_.emplace_back(name, p);
    return p;
}

template <class T> Tensor<T> Module<T>::register_buffer(const std::string& name, Tensor<T> b) {
    check_name(name);
    if (b.defined() && b.requires_grad()) b = b.detach();
    buffers_.emplace_back(name, b);
    return b;
}

template <class T>
std::vector<std::pair<std::string, Tensor<T>>> Module<T>::named_buffers(const std::string& prefix) const {
    std::vector<std::pair<std::string, Tensor<T>>> out;
    std::function<void(const std::string&, const Module<T>&)> walk = [&](const std::string& pre, const Module<T>& m) {
        for (auto& b : m.buffers_)
            if (b.second.defined()) out.emplace_back(pre.empty() ? b.first : pre + "." + b.first, b.second);
        for (auto& c : m.children_) walk(pre.empty() ? c.first : pre + "." + c.first, *c.second);
    };
    walk(prefix, *this);
    return out;
}

template <class T>
std::vector<std::pair<std::string, Tensor<T>>> Module<T>::named_parameters(const std::string& prefix) const {
    std::vector<std::pair<std::string, Tensor<T>>> out;
    std::set<const void*> seen;  // a parameter shared by two modules is listed once, as torch does
    // depth-first in registration order: own parameters, then each child's
    std::function<void(const std::string&, const Module<T>&)> walk = [&](const std::string& pre, const Module<T>& m) {
        for (auto& p : m.params_) {
            if (!p.second.defined() || !seen.insert(p.second.impl()).second) continue;
            out.emplace_back(pre.empty() ? p.first : pre + "." + p.first, p.second);
        }
        for (auto& c : m.children_) walk(pre.empty() ? c.first : pre + "." + c.first, *c.second);
    };
    walk(prefix, *this);
    return out;
}

template <class T> std::vector<Tensor<T>> Module<T>::parameters() const {
    std::vector<Tensor<T>> out;
    for (auto& p : named_parameters()) out.push_back(p.second);
    return out;
}

// ---- state_dict / load_state_dict
template <class T> std::map<std::string, xt::xarray<T>> Module<T>::state_dict() const {
    std::map<std::string, xt::xarray<T>> out;
    for (const auto& [name, p] : named_parameters()) out[name] = p.value();
    for (const auto& [name, b] : named_buffers()) out[name] = b.value();
    return out;
}

template <class T> void Module<T>::load_state_dict(const std::map<std::string, xt::xarray<T>>& sd, bool strict) {
    auto mine = named_parameters();
    for (auto& b : named_buffers()) mine.push_back(b);
    std::string missing, unexpected, mismatched;
    std::set<std::string> names;
    for (const auto& [name, t] : mine) {
        names.insert(name);
        auto it = sd.find(name);
        if (it == sd.end()) {
            missing += (missing.empty() ? "\"" : ", \"") + name + "\"";
            continue;
        }
        const Shape saved(it->second.shape().begin(), it->second.shape().end());
        if (saved != t.shape())
            mismatched += "\n\tsize mismatch for " + name + ": copying a param with shape " + shape_str(saved) +
                          " from checkpoint, the shape in current model is " + shape_str(t.shape()) + ".";
    }
    for (const auto& kv : sd)
        if (!names.count(kv.first)) unexpected += (unexpected.empty() ? "\"" : ", \"") + kv.first + "\"";
    std::string errors;
    if (strict && !unexpected.empty()) errors += "\n\tUnexpected key(s) in state_dict: " + unexpected + ". ";
    if (strict && !missing.empty()) errors += "\n\tMissing key(s) in state_dict: " + missing + ". ";
    errors += mismatched;
    if (!errors.empty()) {
        const std::string r = repr();
        throw ValueError("Module::load_state_dict: Error(s) in loading state_dict for " + r.substr(0, r.find('(')) + ":" + errors);
    }
    for (auto& [name, t] : mine) {
        auto it = sd.find(name);
        if (it != sd.end()) t.mutable_value() = it->second;
    }
}

template <class T> void Module<T>::train(bool on) {
    training_ = on;
    for (auto& c : children_) c.second->train(on);
}

template <class T> void Module<T>::zero_grad(bool set_to_none) {
    for (auto& p : parameters()) p.zero_grad(set_to_none);
}

template <class T> std::string Module<T>::to_string() const {
    if (children_.empty()) {
        std::string r = repr();
        return r.find('(') == std::string::npos ? r + "()" : r;  // an empty Sequential prints "Sequential()"
    }
    std::ostringstream os;
    os << repr() << "(\n";
    for (auto& c : children_) {
        std::string inner = c.second->to_string();
        std::string indented;
        for (char ch : inner) indented += ch == '\n' ? std::string("\n  ") : std::string(1, ch);
        os << "  (" << c.first << "): " << indented << "\n";
    }
    os << ")";
    return os.str();
}

namespace init {
template <class T> void uniform_(Tensor<T>& t, double a, double b, Generator& gen) {
    if (!(a <= b) || !std::isfinite(a) || !std::isfinite(b))
        throw ValueError("init::uniform_: expects from <= to, both finite, but got from=" + std::to_string(a) +
                         " and to=" + std::to_string(b));
    for (auto& x : t.mutable_value()) x = static_cast<T>(a + (b - a) * gen.uniform());
}
template <class T> void kaiming_uniform_(Tensor<T>& t, double a, Generator& gen) {
    kaiming_uniform_(t, a, "fan_in", "leaky_relu", gen);  // src/nn/init.cpp
}
}  // namespace init

template <class T>
Linear<T>::Linear(std::size_t in, std::size_t out, bool with_bias, Generator& gen) : in_features(in), out_features(out) {
    weight = this->register_parameter("weight", Tensor<T>(xt::xarray<T>::from_shape({out, in})));
    if (with_bias) bias = this->register_parameter("bias", Tensor<T>(xt::xarray<T>::from_shape({out})));
    reset_parameters(gen);
}

template <class T> void Linear<T>::reset_parameters(Generator& gen) {
    std::fill(weight.mutable_value().begin(), weight.mutable_value().end(), T(0));
    init::kaiming_uniform_(weight, std::sqrt(5.0), gen);
    if (bias.defined()) {
        const double bound = in_features > 0 ? 1.0 / std::sqrt(double(in_features)) : 0.0;
        init::uniform_(bias, -bound, bound, gen);
    }
}

template <class T> Tensor<T> Linear<T>::forward(const Tensor<T>& x) { return linear(x, weight, bias); }

template <class T> std::string Linear<T>::repr() const {
    return "Linear(in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
           ", bias=" + (bias.defined() ? "True" : "False") + ")";
}

template <class T> Tensor<T> ReLU<T>::forward(const Tensor<T>& x) { return relu(x); }

template <class T> Tensor<T> Flatten<T>::forward(const Tensor<T>& x) { return flatten(x, start_dim, end_dim); }
template <class T> std::string Flatten<T>::repr() const {
    return "Flatten(start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim) + ")";
}

template <class T> Tensor<T> Unflatten<T>::forward(const Tensor<T>& x) {
    const Shape s = x.shape();
    const auto nd = std::ptrdiff_t(s.size());
    if (dim < -nd || dim >= nd)
        throw IndexError("Unflatten: Dimension out of range (expected to be in range of [" + std::to_string(-nd) + ", " +
                         std::to_string(nd - 1) + "], but got " + std::to_string(dim) + ")");
    const auto d = std::size_t(dim < 0 ? dim + nd : dim);
    std::size_t n = 1;
    for (std::size_t v : sizes) n *= v;
    if (sizes.empty() || n != s[d])
        throw ShapeError("Unflatten: unflattened_size " + shape_str(Shape(sizes.begin(), sizes.end())) +
                         " must multiply to the size of dim " + std::to_string(d) + " (" + std::to_string(s[d]) +
                         ") of an input of shape " + shape_str(s));
    std::vector<std::ptrdiff_t> shape(s.begin(), s.begin() + std::ptrdiff_t(d));
    for (std::size_t v : sizes) shape.push_back(std::ptrdiff_t(v));
    for (std::size_t i = d + 1; i < s.size(); ++i) shape.push_back(std::ptrdiff_t(s[i]));
    return reshape(x, shape);
}
template <class T> std::string Unflatten<T>::repr() const {
    std::string t;
    for (std::size_t i = 0; i < sizes.size(); ++i) t += (i ? ", " : "") + std::to_string(sizes[i]);
    if (sizes.size() == 1) t += ",";
    return "Unflatten(dim=" + std::to_string(dim) + ", unflattened_size=(" + t + "))";
}

template <class T>
EmbeddingBag<T>::EmbeddingBag(std::size_t n, std::size_t d, EmbeddingBagMode mode, bool sparse,
                              std::optional<std::int64_t> padding_idx, Generator& gen)
    : num_embeddings(n), embedding_dim(d), mode(mode), sparse(sparse), padding_idx(padding_idx) {
    if (padding_idx && (*padding_idx < -std::int64_t(n) || *padding_idx >= std::int64_t(n)))
        throw ValueError("EmbeddingBag: padding_idx must be within num_embeddings");
    xt::xarray<T> w = xt::xarray<T>::from_shape({n, d});
    for (auto& v : w) v = static_cast<T>(gen.normal());
    if (padding_idx) {
        const std::size_t p = std::size_t(*padding_idx < 0 ? *padding_idx + std::int64_t(n) : *padding_idx);
        std::fill(w.begin() + std::ptrdiff_t(p * d), w.begin() + std::ptrdiff_t((p + 1) * d), T(0));
    }
    weight = this->register_parameter("weight", Tensor<T>(std::move(w)));
}

template <class T>
Tensor<T> EmbeddingBag<T>::forward(const xt::xarray<std::int64_t>& input,
                                   const std::optional<xt::xarray<std::int64_t>>& offsets, const Tensor<T>& psw) {
    return embedding_bag(input, weight, offsets, mode, sparse, psw, false, padding_idx);
}

template <class T> std::string EmbeddingBag<T>::repr() const {
    const char* m = mode == EmbeddingBagMode::Sum ? "sum" : mode == EmbeddingBagMode::Mean ? "mean" : "max";
    return "EmbeddingBag(" + std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim) + ", mode='" + m +
           "'" + (sparse ? ", sparse=True" : "") + ")";
}

template <class T> void Sequential<T>::push_back(std::shared_ptr<Module<T>> m) {
    if (!m) throw ValueError("Sequential: cannot add a null module");
    this->register_module(std::to_string(layers_.size()), m);
    layers_.push_back(std::move(m));
}

template <class T> std::shared_ptr<Module<T>> Sequential<T>::operator[](std::size_t i) const {
    if (i >= layers_.size())
        throw IndexError("Sequential: index " + std::to_string(i) + " is out of range (size " +
                         std::to_string(layers_.size()) + ")");
    return layers_[i];
}

template <class T> Tensor<T> Sequential<T>::forward(const Tensor<T>& x) {
    Tensor<T> h = x;
    for (auto& m : layers_) h = m->forward(h);
    return h;
}

#define TAPEGRAD_INSTANTIATE(T)                                               \
    template class Module<T>;                                                 \
    template class Linear<T>;                                                 \
    template class ReLU<T>;                                                   \
    template class Flatten<T>;                                                \
    template class Unflatten<T>;                                                \
    template class EmbeddingBag<T>;                                           \
    template class Sequential<T>;                                             \
    template void init::uniform_(Tensor<T>&, double, double, Generator&);     \
    template void init::kaiming_uniform_(Tensor<T>&, double, Generator&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace nn
}  // namespace tapegrad
