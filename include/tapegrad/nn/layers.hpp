#pragma once
// Layers: Linear, ReLU, Flatten, Sequential, Dropout, BatchNorm1d/2d, LayerNorm, Embedding,
// EmbeddingBag, Identity and the activations — torch.nn's names, shapes, defaults and reprs.
// Every layer implements clone_as_double()/clone_as_float() (Module::to<U>()).
#include <initializer_list>
#include <optional>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/ops/embedding.hpp"
#include "tapegrad/core/random.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/ops/conv.hpp"
#include "tapegrad/ops/elementwise.hpp"

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
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    std::size_t in_features, out_features;
    Tensor<T> weight, bias;  // bias undefined when bias=false
};

template <class T = float> class ReLU : public Module<T> {
public:
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override { return "ReLU()"; }
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
};

// torch.nn.Flatten(start_dim=1, end_dim=-1)
template <class T = float> class Flatten : public Module<T> {
public:
    explicit Flatten(std::ptrdiff_t start_dim = 1, std::ptrdiff_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override;
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    std::ptrdiff_t start_dim, end_dim;
};

// torch.nn.Unflatten(dim, unflattened_size): dim (of size the product of sizes) becomes sizes, e.g.
// Unflatten(1, {1, 28, 28}) turns a batch of flat images (N, 784) into (N, 1, 28, 28) for Conv2d.
template <class T = float> class Unflatten : public Module<T> {
public:
    Unflatten(std::ptrdiff_t dim, std::vector<std::size_t> unflattened_size) : dim(dim), sizes(std::move(unflattened_size)) {}
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override;
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    std::ptrdiff_t dim;
    std::vector<std::size_t> sizes;
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
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
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
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;

private:
    std::vector<std::shared_ptr<Module<T>>> layers_;
};


// Returns its input (torch.nn.Identity).
template <class T = float> class Identity : public Module<T> {
public:
    Tensor<T> forward(const Tensor<T>& x) override { return x; }
    std::string repr() const override { return "Identity()"; }
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
};

template <class T = float> class Tanh : public Module<T> {
public:
    Tensor<T> forward(const Tensor<T>& x) override { return tanh(x); }
    std::string repr() const override { return "Tanh()"; }
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
};

template <class T = float> class Sigmoid : public Module<T> {
public:
    Tensor<T> forward(const Tensor<T>& x) override { return sigmoid(x); }
    std::string repr() const override { return "Sigmoid()"; }
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
};

// torch.nn.GELU(approximate='none' | 'tanh')
template <class T = float> class GELU : public Module<T> {
public:
    explicit GELU(const std::string& approximate = "none") : approximate(gelu_approximate_from_string(approximate)) {}
    explicit GELU(GeluApproximate a) : approximate(a) {}
    Tensor<T> forward(const Tensor<T>& x) override { return gelu(x, approximate); }
    std::string repr() const override;
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    GeluApproximate approximate;
};

// torch.nn.LeakyReLU(negative_slope=0.01)
template <class T = float> class LeakyReLU : public Module<T> {
public:
    explicit LeakyReLU(double negative_slope = 0.01);
    Tensor<T> forward(const Tensor<T>& x) override { return leaky_relu(x, T(negative_slope)); }
    std::string repr() const override;
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    double negative_slope;
};

// torch.nn.Softmax(dim) and LogSoftmax(dim); the dim is checked against the input at forward.
template <class T = float> class Softmax : public Module<T> {
public:
    explicit Softmax(std::ptrdiff_t dim) : dim(dim) {}
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override { return "Softmax(dim=" + std::to_string(dim) + ")"; }
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    std::ptrdiff_t dim;
};
template <class T = float> class LogSoftmax : public Module<T> {
public:
    explicit LogSoftmax(std::ptrdiff_t dim) : dim(dim) {}
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override { return "LogSoftmax(dim=" + std::to_string(dim) + ")"; }
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    std::ptrdiff_t dim;
};

// torch.nn.Dropout(p=0.5): in training, zeroes each element with probability p and scales the
// rest by 1/(1 − p); in eval, the identity. The mask comes from `gen` (the default generator when
// null): seeded and reproducible, but a different stream than torch's, so the same seed does not
// give torch's mask — only its distribution.
template <class T = float> class Dropout : public Module<T> {
public:
    explicit Dropout(double p = 0.5, std::shared_ptr<Generator> gen = nullptr);
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override;
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    double p;
    std::shared_ptr<Generator> generator;  // shared with clones
};

// Options of BatchNorm1d/BatchNorm2d (libtorch's BatchNormOptions). momentum = nullopt is torch's
// momentum=None: a cumulative moving average (factor 1/num_batches_tracked).
struct BatchNormOptions {
    explicit BatchNormOptions(std::size_t num_features) : num_features_(num_features) {}
    BatchNormOptions& eps(double v) { eps_ = v; return *this; }
    BatchNormOptions& momentum(std::optional<double> v) { momentum_ = v; return *this; }
    BatchNormOptions& affine(bool v) { affine_ = v; return *this; }
    BatchNormOptions& track_running_stats(bool v) { track_running_stats_ = v; return *this; }
    std::size_t num_features_;
    double eps_ = 1e-5;
    std::optional<double> momentum_ = 0.1;
    bool affine_ = true;
    bool track_running_stats_ = true;
};

// torch.nn's _BatchNorm: weight (ones) and bias (zeros) when affine; buffers running_mean (zeros),
// running_var (ones) and num_batches_tracked (0) when track_running_stats. Training normalises with
// the batch's statistics and updates the running ones (the variance unbiased); eval uses the
// running ones (or the batch's when they are not tracked). num_batches_tracked and the running
// stats change only when the forward succeeds.
template <class T = float> class BatchNorm : public Module<T> {
public:
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override;
    // Running stats back to 0 / 1 and num_batches_tracked to 0; weight 1, bias 0.
    void reset_parameters();
    BatchNormOptions options;
    Tensor<T> weight, bias;                                   // undefined unless affine
    Tensor<T> running_mean, running_var, num_batches_tracked;  // undefined unless track_running_stats

protected:
    BatchNorm(const char* name, const BatchNormOptions& options);
    virtual void check_input_dim(const Shape& s) const = 0;
    template <class M> std::shared_ptr<M> clone_into(std::shared_ptr<M> m) const {
        this->copy_own_state_to(*m);
        return m;
    }
    const char* name_;
};

// input (N, C) or (N, C, L)
template <class T = float> class BatchNorm1d : public BatchNorm<T> {
public:
    explicit BatchNorm1d(std::size_t num_features) : BatchNorm1d(BatchNormOptions(num_features)) {}
    explicit BatchNorm1d(const BatchNormOptions& options) : BatchNorm<T>("BatchNorm1d", options) {}
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;

protected:
    void check_input_dim(const Shape& s) const override;
};

// input (N, C, H, W)
template <class T = float> class BatchNorm2d : public BatchNorm<T> {
public:
    explicit BatchNorm2d(std::size_t num_features) : BatchNorm2d(BatchNormOptions(num_features)) {}
    explicit BatchNorm2d(const BatchNormOptions& options) : BatchNorm<T>("BatchNorm2d", options) {}
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;

protected:
    void check_input_dim(const Shape& s) const override;
};

struct LayerNormOptions {
    explicit LayerNormOptions(std::vector<std::size_t> normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}
    LayerNormOptions& eps(double v) { eps_ = v; return *this; }
    LayerNormOptions& elementwise_affine(bool v) { elementwise_affine_ = v; return *this; }
    std::vector<std::size_t> normalized_shape_;
    double eps_ = 1e-5;
    bool elementwise_affine_ = true;
};

// torch.nn.LayerNorm(normalized_shape, eps=1e-05, elementwise_affine=True): weight (ones) and
// bias (zeros) of shape normalized_shape when elementwise_affine.
template <class T = float> class LayerNorm : public Module<T> {
public:
    explicit LayerNorm(std::vector<std::size_t> normalized_shape) : LayerNorm(LayerNormOptions(std::move(normalized_shape))) {}
    explicit LayerNorm(const LayerNormOptions& options);
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override;
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    LayerNormOptions options;
    Tensor<T> weight, bias;
};

// torch.nn.Embedding(num_embeddings, embedding_dim, padding_idx): weight drawn from N(0, 1), the
// padding row zeroed; forward(indices) → indices.shape + (embedding_dim). The gradient is dense and
// the padding row receives none.
template <class T = float> class Embedding : public Module<T> {
public:
    Embedding(std::size_t num_embeddings, std::size_t embedding_dim, std::optional<std::int64_t> padding_idx = std::nullopt,
              Generator& gen = default_generator());
    using Module<T>::forward;
    Tensor<T> forward(const xt::xarray<std::int64_t>& input);
    using Module<T>::operator();
    Tensor<T> operator()(const xt::xarray<std::int64_t>& input) { return forward(input); }
    std::string repr() const override;
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    std::size_t num_embeddings, embedding_dim;
    std::optional<std::int64_t> padding_idx;  // normalised to [0, num_embeddings)
    Tensor<T> weight;
};

// ---- convolution and pooling (issue 13)

// Options of nn::Conv2d (libtorch's Conv2dOptions): Conv2dOptions(in, out, {3, 3}).stride(1).padding(1).
// padding takes numbers or "same"/"valid"; padding_mode is always torch's "zeros".
struct Conv2dOptions {
    Conv2dOptions(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size)
        : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
    Conv2dOptions& stride(Size2 v) { stride_ = v; return *this; }
    Conv2dOptions& padding(Conv2dPadding v) { padding_ = v; return *this; }
    Conv2dOptions& dilation(Size2 v) { dilation_ = v; return *this; }
    Conv2dOptions& groups(std::size_t v) { groups_ = v; return *this; }
    Conv2dOptions& bias(bool v) { bias_ = v; return *this; }
    std::size_t in_channels_, out_channels_;
    Size2 kernel_size_;
    Size2 stride_{1};
    Conv2dPadding padding_{0};
    Size2 dilation_{1};
    std::size_t groups_ = 1;
    bool bias_ = true;
};

// torch.nn.Conv2d: weight (out, in/groups, kH, kW) and bias (out), drawn as torch's
// reset_parameters: kaiming_uniform_(a=√5) on the weight, U(−1/√fan_in, 1/√fan_in) on the bias,
// fan_in = in/groups·kH·kW. Bad options (groups 0, channels not divisible by groups, "same" with a
// stride) are ValueError in torch's words.
template <class T = float> class Conv2d : public Module<T> {
public:
    Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size, Generator& gen = default_generator())
        : Conv2d(Conv2dOptions(in_channels, out_channels, kernel_size), gen) {}
    explicit Conv2d(const Conv2dOptions& options, Generator& gen = default_generator());
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string repr() const override;
    void reset_parameters(Generator& gen = default_generator());
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    Conv2dOptions options;
    Tensor<T> weight, bias;  // bias undefined when options.bias_ is false
};

// torch.nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False).
template <class T = float> class MaxPool2d : public Module<T> {
public:
    explicit MaxPool2d(const MaxPool2dOptions& options) : options(options) {}
    Tensor<T> forward(const Tensor<T>& x) override { return max_pool2d(x, options); }
    std::string repr() const override;
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    MaxPool2dOptions options;
};

// torch.nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
// divisor_override=None).
template <class T = float> class AvgPool2d : public Module<T> {
public:
    explicit AvgPool2d(const AvgPool2dOptions& options) : options(options) {}
    Tensor<T> forward(const Tensor<T>& x) override { return avg_pool2d(x, options); }
    std::string repr() const override;
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    AvgPool2dOptions options;
};

// torch.nn.AdaptiveAvgPool2d(output_size).
template <class T = float> class AdaptiveAvgPool2d : public Module<T> {
public:
    explicit AdaptiveAvgPool2d(Size2 output_size) : output_size(output_size) {}
    Tensor<T> forward(const Tensor<T>& x) override { return adaptive_avg_pool2d(x, output_size); }
    std::string repr() const override;
    std::shared_ptr<Module<double>> clone_as_double() const override;
    std::shared_ptr<Module<float>> clone_as_float() const override;
    Size2 output_size;
};

}  // namespace nn
}  // namespace tapegrad
