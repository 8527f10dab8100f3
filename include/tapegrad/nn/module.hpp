#pragma once
// nn::Module: parameters, children, train/eval — torch.nn.Module's bookkeeping.
// Modules hold parameter tensors as handles: copying a module shares its parameters.
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace nn {

template <class T = float> class Module {
public:
    virtual ~Module() = default;
    // One tensor in, one out. Modules taking other inputs (EmbeddingBag: indices and offsets)
    // have their own forward and throw ValueError here.
    virtual Tensor<T> forward(const Tensor<T>& x);
    Tensor<T> operator()(const Tensor<T>& x) { return forward(x); }
    // torch's repr of this module alone, e.g. "Linear(in_features=4, out_features=2, bias=True)".
    virtual std::string repr() const = 0;

    // Every parameter of this module and its children, in registration order, each once.
    std::vector<Tensor<T>> parameters() const;
    // With dotted names: "weight", "0.weight", "fc1.bias".
    std::vector<std::pair<std::string, Tensor<T>>> named_parameters(const std::string& prefix = "") const;
    const std::vector<std::pair<std::string, std::shared_ptr<Module<T>>>>& named_children() const { return children_; }
    // Buffers: state saved with the model that is not trained (torch's register_buffer), e.g. the
    // idf table of a text model. Dotted names like named_parameters().
    std::vector<std::pair<std::string, Tensor<T>>> named_buffers(const std::string& prefix = "") const;

    // torch's state_dict(): a copy of every parameter's and buffer's value, by the names
    // named_parameters() and named_buffers() give them.
    std::map<std::string, xt::xarray<T>> state_dict() const;
    // torch's load_state_dict(): copies the values in. ValueError, with nothing changed, naming
    // every problem as torch does: "Missing key(s) in state_dict: \"0.bias\"", "Unexpected key(s) in
    // state_dict: \"x\"" (both ignored when strict is false) and "size mismatch for 0.weight: copying a
    // param with shape [3, 2] from checkpoint, the shape in current model is [2, 3]" (always).
    void load_state_dict(const std::map<std::string, xt::xarray<T>>& state_dict, bool strict = true);

    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }
    void zero_grad(bool set_to_none = false);
    // The module tree printed as torch prints it (also `std::cout << module`).
    std::string to_string() const;
    // Number of parameter elements (each shared parameter once); only_trainable counts those that
    // require grad, as sum(p.numel() for p in m.parameters() if p.requires_grad).
    std::size_t num_parameters(bool only_trainable = false) const;

    // A copy with another element type (Module<float>::to<double>() for gradcheck): same structure,
    // parameter and buffer values cast, requires_grad and train/eval kept, nothing shared. Every
    // layer of tapegrad implements it; a module of your own overrides clone_as_double()/
    // clone_as_float() (or gets a ValueError naming it).
    template <class U> std::shared_ptr<Module<U>> to() const {
        static_assert(std::is_same<U, float>::value || std::is_same<U, double>::value, "to<float> or to<double>");
        if constexpr (std::is_same<U, double>::value)
            return clone_as_double();
        else
            return clone_as_float();
    }
    virtual std::shared_ptr<Module<double>> clone_as_double() const;
    virtual std::shared_ptr<Module<float>> clone_as_float() const;
    // Copies this module's own parameters' and buffers' values (cast), their requires_grad and the
    // training flag into dst, matched by name (children are not visited). For clone_as_* overrides.
    template <class U> void copy_own_state_to(Module<U>& dst) const {
        dst.training_ = training_;
        auto copy = [](const std::vector<std::pair<std::string, Tensor<T>>>& from,
                       std::vector<std::pair<std::string, Tensor<U>>>& to, bool params) {
            for (auto& f : from)
                for (auto& t : to)
                    if (t.first == f.first && f.second.defined() && t.second.defined()) {
                        auto& v = t.second.mutable_value();
                        v = xt::xarray<U>::from_shape(f.second.value().shape());
                        const T* src = f.second.value().data();
                        for (std::size_t i = 0; i < v.size(); ++i) v.data()[i] = static_cast<U>(src[i]);
                        if (params) t.second.requires_grad_(f.second.requires_grad());
                    }
        };
        copy(params_, dst.params_, true);
        copy(buffers_, dst.buffers_, false);
    }

protected:
    // Registers p (made a leaf that requires grad) under name; returns it.
    Tensor<T> register_parameter(const std::string& name, Tensor<T> p);
    // Registers a buffer (no gradient; saved and loaded with the parameters); returns it.
    Tensor<T> register_buffer(const std::string& name, Tensor<T> b);
    template <class M> std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
        check_name(name);
        children_.emplace_back(name, m);
        return m;
    }

private:
    template <class> friend class Module;
    void check_name(const std::string& name) const;
    std::vector<std::pair<std::string, Tensor<T>>> params_, buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module<T>>>> children_;
    bool training_ = true;
};

// Prints module.to_string(): "Sequential(\n  (0): Linear(in_features=4, …)\n  (1): ReLU()\n)".
template <class T> std::ostream& operator<<(std::ostream& os, const Module<T>& m);

}  // namespace nn
}  // namespace tapegrad
