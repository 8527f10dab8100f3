#pragma once
// nn::Module: parameters, children, train/eval — torch.nn.Module's bookkeeping.
// Modules hold parameter tensors as handles: copying a module shares its parameters.
#include <map>
#include <memory>
#include <string>
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
    // The module tree printed as torch prints it.
    std::string to_string() const;

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
    void check_name(const std::string& name) const;
    std::vector<std::pair<std::string, Tensor<T>>> params_, buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module<T>>>> children_;
    bool training_ = true;
};

}  // namespace nn
}  // namespace tapegrad
