#pragma once
// Layers: Linear, ReLU, Flatten, Sequential — torch.nn's names, shapes and defaults.
#include <initializer_list>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/ops/embedding.hpp"
#include "tapegrad/core/random.hpp"

namespace tapegrad {
namespace nn {

namespace init {
// U(a, b) in place, as torch.nn.init.uniform_.
template <class T> void uniform_(Tensor<T>& t, double a, double b, Generator& gen = default_generator());
// torch.nn.init.kaiming_uniform_(t, a, mode='fan_in', nonlinearity='leaky_relu'):
// bound = sqrt(2 / (1 + a²)) · sqrt(3 / fan_in).
template <class T> void kaiming_uniform_(Tensor<T>& t, double a = 0, Generator& gen = default_generator());
}  // namespace init

// y = x·Wᵀ + b: x (*, in_features) → (*, out_features). weight (out, in) and bias (out) start
// as torch's: kaiming_uniform_(a=√5) for the weight, U(−1/√in, 1/√in) for the bias.
template <class T = float> class Linear : public Module<T> {
public:
    Linear(std::size_t in_features, std::size_t out_features, bool bias = true, Generator& gen = default_generator());
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override;
    // Re-draws weight and bias as the constructor does.
    void reset_parameters(Generator& gen = default_generator());
    std::size_t in_features, out_features;
    Tensor<T> weight, bias;  // bias undefined when bias=false
};

template <class T = float> class ReLU : public Module<T> {
public:
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override { return "ReLU()"; }
};

// torch.nn.Flatten(start_dim=1, end_dim=-1)
template <class T = float> class Flatten : public Module<T> {
public:
    explicit Flatten(std::ptrdiff_t start_dim = 1, std::ptrdiff_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override;
    std::ptrdiff_t start_dim, end_dim;
};

// torch.nn.EmbeddingBag(num_embeddings, embedding_dim, mode='mean', sparse=False, padding_idx):
// weight (num_embeddings, embedding_dim) drawn from N(0, 1) as torch does (the padding row zeroed).
template <class T = float> class EmbeddingBag : public Module<T> {
public:
    EmbeddingBag(std::size_t num_embeddings, std::size_t embedding_dim, EmbeddingBagMode mode = EmbeddingBagMode::Mean,
                 bool sparse = false, std::optional<std::int64_t> padding_idx = std::nullopt,
                 Generator& gen = default_generator());
    using Module<T>::forward;
    // input (n) with offsets (B), or (B, L) without → (B, embedding_dim)
    Tensor<T> forward(const xt::xarray<std::int64_t>& input,
                      const std::optional<xt::xarray<std::int64_t>>& offsets = std::nullopt,
                      const Tensor<T>& per_sample_weights = Tensor<T>());
    std::string repr() const override;
    std::size_t num_embeddings, embedding_dim;
    EmbeddingBagMode mode;
    bool sparse;
    std::optional<std::int64_t> padding_idx;
    Tensor<T> weight;
};

// Children named "0", "1", …; forward runs them in order.
template <class T = float> class Sequential : public Module<T> {
public:
    Sequential() = default;
    Sequential(std::initializer_list<std::shared_ptr<Module<T>>> modules) {
        for (auto& m : modules) push_back(m);
    }
    // Sequential(nn::Linear<>(4, 8), nn::ReLU<>(), …): each module is copied (parameters shared).
    template <class M, class... Ms,
              class = std::enable_if_t<std::is_base_of<Module<T>, std::decay_t<M>>::value>>
    explicit Sequential(M&& first, Ms&&... rest) {
        push_back(std::make_shared<std::decay_t<M>>(std::forward<M>(first)));
        (push_back(std::make_shared<std::decay_t<Ms>>(std::forward<Ms>(rest))), ...);
    }
    void push_back(std::shared_ptr<Module<T>> m);
    std::size_t size() const { return layers_.size(); }
    std::shared_ptr<Module<T>> operator[](std::size_t i) const;
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override { return "Sequential"; }

private:
    std::vector<std::shared_ptr<Module<T>>> layers_;
};

}  // namespace nn
}  // namespace tapegrad
