// The layers beyond Linear/ReLU/Flatten/EmbeddingBag/Sequential (those are in module.cpp), the
// element-type conversion of every layer (Module::to<U>()), num_parameters and printing.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>

#include "tapegrad/core/factory.hpp"
#include "tapegrad/core/format.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/ops/embedding.hpp"
#include "tapegrad/ops/norm.hpp"
#include "tapegrad/ops/softmax.hpp"

namespace tapegrad {
namespace nn {

namespace {
using tapegrad::detail::py_float;
const char* py_bool(bool b) { return b ? "True" : "False"; }
}  // namespace

// ---- Module: conversion, counting, printing

template <class T> std::shared_ptr<Module<double>> Module<T>::clone_as_double() const {
    throw ValueError("Module::to: " + repr() +
                     " does not implement clone_as_double(); a module of your own overrides it to be converted");
}
template <class T> std::shared_ptr<Module<float>> Module<T>::clone_as_float() const {
    throw ValueError("Module::to: " + repr() +
                     " does not implement clone_as_float(); a module of your own overrides it to be converted");
}

template <class T> std::size_t Module<T>::num_parameters(bool only_trainable) const {
    std::size_t n = 0;
    for (const auto& p : parameters())
        if (!only_trainable || p.requires_grad()) n += p.numel();
    return n;
}

template <class T> std::ostream& operator<<(std::ostream& os, const Module<T>& m) { return os << m.to_string(); }

// ---- the new layers

template <class T> std::string GELU<T>::repr() const {
    return std::string("GELU(approximate='") + to_string(approximate) + "')";
}

template <class T> LeakyReLU<T>::LeakyReLU(double slope) : negative_slope(slope) {
    if (!std::isfinite(slope)) throw ValueError("LeakyReLU: negative_slope must be finite, got " + py_float(slope));
}
template <class T> std::string LeakyReLU<T>::repr() const {
    return "LeakyReLU(negative_slope=" + py_float(negative_slope) + ")";
}

template <class T> Tensor<T> Softmax<T>::forward(const Tensor<T>& x) { return softmax(x, dim); }
template <class T> Tensor<T> LogSoftmax<T>::forward(const Tensor<T>& x) { return log_softmax(x, dim); }

template <class T> Dropout<T>::Dropout(double p, std::shared_ptr<Generator> gen) : p(p), generator(std::move(gen)) {
    if (!(p >= 0 && p <= 1))
        throw ValueError("Dropout: dropout probability has to be between 0 and 1, but got " + py_float(p));
}
template <class T> Tensor<T> Dropout<T>::forward(const Tensor<T>& x) {
    return dropout(x, p, this->is_training(), generator ? *generator : default_generator());
}
template <class T> std::string Dropout<T>::repr() const { return "Dropout(p=" + py_float(p) + ", inplace=False)"; }

template <class T> BatchNorm<T>::BatchNorm(const char* name, const BatchNormOptions& o) : options(o), name_(name) {
    const std::size_t C = o.num_features_;
    if (o.affine_) {
        weight = this->register_parameter("weight", Tensor<T>(xt::xarray<T>::from_shape({C})));
        bias = this->register_parameter("bias", Tensor<T>(xt::xarray<T>::from_shape({C})));
    }
    if (o.track_running_stats_) {
        running_mean = this->register_buffer("running_mean", Tensor<T>(xt::xarray<T>::from_shape({C})));
        running_var = this->register_buffer("running_var", Tensor<T>(xt::xarray<T>::from_shape({C})));
        num_batches_tracked = this->register_buffer("num_batches_tracked", Tensor<T>::scalar(T(0)));
    }
    reset_parameters();
}
template <class T> void BatchNorm<T>::reset_parameters() {
    if (running_mean.defined()) {
        init::zeros_(running_mean);
        init::ones_(running_var);
        init::zeros_(num_batches_tracked);
    }
    if (weight.defined()) {
        init::ones_(weight);
        init::zeros_(bias);
    }
}
// as torch's _BatchNorm.forward: the factor is momentum, or 1/num_batches_tracked for momentum=None
template <class T> Tensor<T> BatchNorm<T>::forward(const Tensor<T>& x) {
    check_input_dim(x.shape());
    const bool training = this->is_training();
    const bool track_now = training && options.track_running_stats_;
    double factor = options.momentum_ ? *options.momentum_ : 0.0;
    double batches = 0;
    if (track_now) {
        batches = double(num_batches_tracked.item()) + 1;
        if (!options.momentum_) factor = 1.0 / batches;
    }
    const bool bn_training = training || !running_mean.defined();
    const bool use_running = !training || options.track_running_stats_;
    Tensor<T> y = batch_norm(x, use_running ? running_mean : Tensor<T>(), use_running ? running_var : Tensor<T>(), weight,
                             bias, BatchNormFuncOptions().training(bn_training).momentum(factor).eps(options.eps_));
    if (track_now) num_batches_tracked.mutable_value()() = T(batches);  // counted once the step succeeded
    return y;
}
template <class T> std::string BatchNorm<T>::repr() const {
    return std::string(name_) + "(" + std::to_string(options.num_features_) + ", eps=" + py_float(options.eps_) +
           ", momentum=" + (options.momentum_ ? py_float(*options.momentum_) : std::string("None")) +
           ", affine=" + py_bool(options.affine_) + ", track_running_stats=" + py_bool(options.track_running_stats_) + ")";
}
template <class T> void BatchNorm1d<T>::check_input_dim(const Shape& s) const {
    if (s.size() != 2 && s.size() != 3)
        throw ShapeError("BatchNorm1d: expected 2D or 3D input (got " + std::to_string(s.size()) + "D input)");
}
template <class T> void BatchNorm2d<T>::check_input_dim(const Shape& s) const {
    if (s.size() != 4) throw ShapeError("BatchNorm2d: expected 4D input (got " + std::to_string(s.size()) + "D input)");
}

template <class T> LayerNorm<T>::LayerNorm(const LayerNormOptions& o) : options(o) {
    if (o.normalized_shape_.empty())
        throw ValueError("LayerNorm: Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
                         "one element, but got normalized_shape = []");
    if (o.elementwise_affine_) {
        const Shape s(o.normalized_shape_.begin(), o.normalized_shape_.end());
        weight = this->register_parameter("weight", ones<T>(s));
        bias = this->register_parameter("bias", zeros<T>(s));
    }
}
template <class T> Tensor<T> LayerNorm<T>::forward(const Tensor<T>& x) {
    return layer_norm(x, options.normalized_shape_, weight, bias, options.eps_);
}
template <class T> std::string LayerNorm<T>::repr() const {
    std::string shape = "(";
    for (std::size_t i = 0; i < options.normalized_shape_.size(); ++i)
        shape += (i ? ", " : "") + std::to_string(options.normalized_shape_[i]);
    shape += options.normalized_shape_.size() == 1 ? ",)" : ")";
    return "LayerNorm(" + shape + ", eps=" + py_float(options.eps_) +
           ", elementwise_affine=" + py_bool(options.elementwise_affine_) + ")";
}

template <class T>
Embedding<T>::Embedding(std::size_t n, std::size_t d, std::optional<std::int64_t> pad, Generator& gen)
    : num_embeddings(n), embedding_dim(d) {
    if (pad) {
        if (*pad >= std::int64_t(n)) throw ValueError("Embedding: Padding_idx must be within num_embeddings");
        if (*pad < -std::int64_t(n)) throw ValueError("Embedding: Padding_idx must be within num_embeddings");
        padding_idx = *pad < 0 ? *pad + std::int64_t(n) : *pad;
    }
    Tensor<T> w = zeros<T>({n, d});
    init::normal_(w, 0.0, 1.0, gen);
    if (padding_idx) {
        auto& v = w.mutable_value();
        std::fill(v.begin() + std::ptrdiff_t(std::size_t(*padding_idx) * d),
                  v.begin() + std::ptrdiff_t((std::size_t(*padding_idx) + 1) * d), T(0));
    }
    weight = this->register_parameter("weight", w);
}
template <class T> Tensor<T> Embedding<T>::forward(const xt::xarray<std::int64_t>& input) {
    return embedding(input, weight, padding_idx);
}
template <class T> std::string Embedding<T>::repr() const {
    return "Embedding(" + std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim) +
           (padding_idx ? ", padding_idx=" + std::to_string(*padding_idx) : std::string()) + ")";
}

// ---- conversions: each layer rebuilt with element type U, then its own state copied (cast)


template <class U, class T> std::shared_ptr<Module<U>> make_clone(const Linear<T>& s) {
    Generator scratch(0);  // the constructor draws; the values are overwritten by the copy
    auto m = std::make_shared<Linear<U>>(s.in_features, s.out_features, s.bias.defined(), scratch);
    s.copy_own_state_to(*m);
    return m;
}
template <class U, class T> std::shared_ptr<Module<U>> make_clone(const EmbeddingBag<T>& s) {
    Generator scratch(0);
    auto m = std::make_shared<EmbeddingBag<U>>(s.num_embeddings, s.embedding_dim, s.mode, s.sparse, s.padding_idx, scratch);
    s.copy_own_state_to(*m);
    return m;
}
template <class U, class T> std::shared_ptr<Module<U>> make_clone(const Embedding<T>& s) {
    Generator scratch(0);
    auto m = std::make_shared<Embedding<U>>(s.num_embeddings, s.embedding_dim, s.padding_idx, scratch);
    s.copy_own_state_to(*m);
    return m;
}
template <class U, class T> std::shared_ptr<Module<U>> make_clone(const Sequential<T>& s) {
    auto m = std::make_shared<Sequential<U>>();
    for (std::size_t i = 0; i < s.size(); ++i) m->push_back(s[i]->template to<U>());
    s.copy_own_state_to(*m);
    return m;
}
#define TAPEGRAD_SIMPLE_CLONE(Cls, ...)                                                      \
    template <class U, class T> std::shared_ptr<Module<U>> make_clone(const Cls<T>& s) {     \
        auto m = std::make_shared<Cls<U>>(__VA_ARGS__);                                      \
        s.copy_own_state_to(*m);                                                             \
        return m;                                                                            \
    }
TAPEGRAD_SIMPLE_CLONE(ReLU)
TAPEGRAD_SIMPLE_CLONE(Identity)
TAPEGRAD_SIMPLE_CLONE(Tanh)
TAPEGRAD_SIMPLE_CLONE(Sigmoid)
TAPEGRAD_SIMPLE_CLONE(Flatten, s.start_dim, s.end_dim)
TAPEGRAD_SIMPLE_CLONE(Unflatten, s.dim, s.sizes)
TAPEGRAD_SIMPLE_CLONE(GELU, s.approximate)
TAPEGRAD_SIMPLE_CLONE(LeakyReLU, s.negative_slope)
TAPEGRAD_SIMPLE_CLONE(Softmax, s.dim)
TAPEGRAD_SIMPLE_CLONE(LogSoftmax, s.dim)
TAPEGRAD_SIMPLE_CLONE(Dropout, s.p, s.generator)
TAPEGRAD_SIMPLE_CLONE(BatchNorm1d, s.options)
TAPEGRAD_SIMPLE_CLONE(BatchNorm2d, s.options)
TAPEGRAD_SIMPLE_CLONE(LayerNorm, s.options)

#define TAPEGRAD_CLONES(Cls)                                                                                      \
    template <class T> std::shared_ptr<Module<double>> Cls<T>::clone_as_double() const { return make_clone<double>(*this); } \
    template <class T> std::shared_ptr<Module<float>> Cls<T>::clone_as_float() const { return make_clone<float>(*this); }
TAPEGRAD_CLONES(Linear)
TAPEGRAD_CLONES(ReLU)
TAPEGRAD_CLONES(Flatten)
TAPEGRAD_CLONES(Unflatten)
TAPEGRAD_CLONES(EmbeddingBag)
TAPEGRAD_CLONES(Sequential)
TAPEGRAD_CLONES(Identity)
TAPEGRAD_CLONES(Tanh)
TAPEGRAD_CLONES(Sigmoid)
TAPEGRAD_CLONES(GELU)
TAPEGRAD_CLONES(LeakyReLU)
TAPEGRAD_CLONES(Softmax)
TAPEGRAD_CLONES(LogSoftmax)
TAPEGRAD_CLONES(Dropout)
TAPEGRAD_CLONES(BatchNorm1d)
TAPEGRAD_CLONES(BatchNorm2d)
TAPEGRAD_CLONES(LayerNorm)
TAPEGRAD_CLONES(Embedding)

#define TAPEGRAD_INSTANTIATE(T)                                                           \
    template std::shared_ptr<Module<double>> Module<T>::clone_as_double() const;          \
    template std::shared_ptr<Module<float>> Module<T>::clone_as_float() const;            \
    template std::size_t Module<T>::num_parameters(bool) const;                           \
    template std::ostream& operator<<(std::ostream&, const Module<T>&);                   \
    template std::shared_ptr<Module<double>> Linear<T>::clone_as_double() const;          \
    template std::shared_ptr<Module<float>> Linear<T>::clone_as_float() const;            \
    template std::shared_ptr<Module<double>> ReLU<T>::clone_as_double() const;            \
    template std::shared_ptr<Module<float>> ReLU<T>::clone_as_float() const;              \
    template std::shared_ptr<Module<double>> Flatten<T>::clone_as_double() const;         \
    template std::shared_ptr<Module<float>> Flatten<T>::clone_as_float() const;           \
    template std::shared_ptr<Module<double>> Unflatten<T>::clone_as_double() const;       \
    template std::shared_ptr<Module<float>> Unflatten<T>::clone_as_float() const;         \
    template std::shared_ptr<Module<double>> EmbeddingBag<T>::clone_as_double() const;    \
    template std::shared_ptr<Module<float>> EmbeddingBag<T>::clone_as_float() const;      \
    template std::shared_ptr<Module<double>> Sequential<T>::clone_as_double() const;      \
    template std::shared_ptr<Module<float>> Sequential<T>::clone_as_float() const;        \
    template class Identity<T>;                                                           \
    template class Tanh<T>;                                                               \
    template class Sigmoid<T>;                                                            \
    template class GELU<T>;                                                               \
    template class LeakyReLU<T>;                                                          \
    template class Softmax<T>;                                                            \
    template class LogSoftmax<T>;                                                         \
    template class Dropout<T>;                                                            \
    template class BatchNorm<T>;                                                          \
    template class BatchNorm1d<T>;                                                        \
    template class BatchNorm2d<T>;                                                        \
    template class LayerNorm<T>;                                                          \
    template class Embedding<T>;
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

// ---- convolution and pooling (issue 13)
namespace {
// torch prints an int-or-tuple argument as given: 2, or (2, 3)
std::string size2_str(Size2 s, bool as_tuple = false) {
    if (s.scalar && !as_tuple) return std::to_string(s.h);
    return "(" + std::to_string(s.h) + ", " + std::to_string(s.w) + ")";
}
}  // namespace

template <class T> Conv2d<T>::Conv2d(const Conv2dOptions& o, Generator& gen) : options(o) {
    if (o.groups_ == 0) throw ValueError("Conv2d: groups must be a positive integer");
    if (o.in_channels_ % o.groups_ != 0) throw ValueError("Conv2d: in_channels must be divisible by groups");
    if (o.out_channels_ % o.groups_ != 0) throw ValueError("Conv2d: out_channels must be divisible by groups");
    if (o.padding_.mode == Conv2dPadding::Same && (o.stride_.h != 1 || o.stride_.w != 1))
        throw ValueError("Conv2d: padding='same' is not supported for strided convolutions");
    weight = this->register_parameter(
        "weight", Tensor<T>(xt::xarray<T>::from_shape(
                      {o.out_channels_, o.in_channels_ / o.groups_, o.kernel_size_.h, o.kernel_size_.w})));
    if (o.bias_) bias = this->register_parameter("bias", Tensor<T>(xt::xarray<T>::from_shape({o.out_channels_})));
    reset_parameters(gen);
}

template <class T> void Conv2d<T>::reset_parameters(Generator& gen) {
    std::fill(weight.mutable_value().begin(), weight.mutable_value().end(), T(0));
    init::kaiming_uniform_(weight, std::sqrt(5.0), gen);
    if (bias.defined()) {
        const std::size_t fan_in = options.in_channels_ / options.groups_ * options.kernel_size_.h * options.kernel_size_.w;
        const double bound = fan_in > 0 ? 1.0 / std::sqrt(double(fan_in)) : 0.0;
        init::uniform_(bias, -bound, bound, gen);
    }
}

template <class T> Tensor<T> Conv2d<T>::forward(const Tensor<T>& x) {
    return conv2d(x, weight, bias,
                  Conv2dFuncOptions().stride(options.stride_).padding(options.padding_).dilation(options.dilation_).groups(options.groups_));
}

template <class T> std::string Conv2d<T>::repr() const {
    const Conv2dOptions& o = options;
    std::string r = "Conv2d(" + std::to_string(o.in_channels_) + ", " + std::to_string(o.out_channels_) +
                    ", kernel_size=" + size2_str(o.kernel_size_, true) + ", stride=" + size2_str(o.stride_, true);
    if (o.padding_.mode == Conv2dPadding::Same)
        r += ", padding=same";
    else if (o.padding_.mode == Conv2dPadding::Valid)
        r += ", padding=valid";
    else if (o.padding_.size != Size2(0))
        r += ", padding=" + size2_str(o.padding_.size, true);
    if (o.dilation_ != Size2(1)) r += ", dilation=" + size2_str(o.dilation_, true);
    if (o.groups_ != 1) r += ", groups=" + std::to_string(o.groups_);
    if (!bias.defined()) r += ", bias=False";
    return r + ")";
}

template <class T> std::string MaxPool2d<T>::repr() const {
    const MaxPool2dOptions& o = options;
    return "MaxPool2d(kernel_size=" + size2_str(o.kernel_size_) + ", stride=" + size2_str(o.stride_.value_or(o.kernel_size_)) +
           ", padding=" + size2_str(o.padding_) + ", dilation=" + size2_str(o.dilation_) +
           ", ceil_mode=" + (o.ceil_mode_ ? "True" : "False") + ")";
}
template <class T> std::string AvgPool2d<T>::repr() const {
    const AvgPool2dOptions& o = options;
    return "AvgPool2d(kernel_size=" + size2_str(o.kernel_size_) + ", stride=" + size2_str(o.stride_.value_or(o.kernel_size_)) +
           ", padding=" + size2_str(o.padding_) + ")";
}
template <class T> std::string AdaptiveAvgPool2d<T>::repr() const {
    return "AdaptiveAvgPool2d(output_size=" + size2_str(output_size) + ")";
}

template <class U, class T> std::shared_ptr<Module<U>> make_clone(const Conv2d<T>& s) {
    Generator scratch(0);  // the constructor draws; the values are overwritten by the copy
    auto m = std::make_shared<Conv2d<U>>(s.options, scratch);
    s.copy_own_state_to(*m);
    return m;
}
TAPEGRAD_SIMPLE_CLONE(MaxPool2d, s.options)
TAPEGRAD_SIMPLE_CLONE(AvgPool2d, s.options)
TAPEGRAD_SIMPLE_CLONE(AdaptiveAvgPool2d, s.output_size)
TAPEGRAD_CLONES(Conv2d)
TAPEGRAD_CLONES(MaxPool2d)
TAPEGRAD_CLONES(AvgPool2d)
TAPEGRAD_CLONES(AdaptiveAvgPool2d)

#define TAPEGRAD_INSTANTIATE_CONV(T) \
    template class Conv2d<T>;        \
    template class MaxPool2d<T>;     \
    template class AvgPool2d<T>;     \
    template class AdaptiveAvgPool2d<T>;
TAPEGRAD_INSTANTIATE_CONV(float)
TAPEGRAD_INSTANTIATE_CONV(double)
}  // namespace nn
}  // namespace tapegrad
