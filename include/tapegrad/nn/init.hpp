#pragma once
// nn::init — torch.nn.init's initialisers, in place, drawing from a tapegrad Generator.
// The distributions, bounds and gains are torch's; the random streams are tapegrad's (the same
// seed gives different numbers than torch). uniform_ and kaiming_uniform_(t, a, gen) are declared
// in nn/layers.hpp, which includes this header.
#include <optional>
#include <string>

#include "tapegrad/core/random.hpp"
#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace nn {
namespace init {

// torch.nn.init.calculate_gain: linear, conv*, conv_transpose*, sigmoid → 1; tanh → 5/3; relu → √2;
// leaky_relu → √(2/(1 + slope²)) (slope = param, default 0.01); selu → 3/4. Anything else, or a
// non-finite slope, is a ValueError in torch's words ("Unsupported nonlinearity …").
double calculate_gain(const std::string& nonlinearity, std::optional<double> param = std::nullopt);

// The fans of a weight of shape (out, in, *k): fan_in = in·Πk, fan_out = out·Πk. Fewer than 2
// dims is a ValueError: "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions".
struct Fans {
    std::size_t fan_in, fan_out;
};
Fans calculate_fan_in_and_fan_out(const Shape& shape, const char* fn = "calculate_fan_in_and_fan_out");

// N(mean, std²); std ≥ 0.
template <class T>
void normal_(Tensor<T>& t, double mean = 0.0, double std = 1.0, Generator& gen = default_generator());
template <class T> void constant_(Tensor<T>& t, double value);
template <class T> void zeros_(Tensor<T>& t);
template <class T> void ones_(Tensor<T>& t);
// U(−a, a), a = gain·√(6/(fan_in + fan_out))
template <class T> void xavier_uniform_(Tensor<T>& t, double gain = 1.0, Generator& gen = default_generator());
// N(0, std²), std = gain·√(2/(fan_in + fan_out))
template <class T> void xavier_normal_(Tensor<T>& t, double gain = 1.0, Generator& gen = default_generator());
// U(−bound, bound), bound = √3·gain/√fan with gain = calculate_gain(nonlinearity, a), fan the
// mode's ("fan_in" or "fan_out"). A tensor with a zero-size dim is left alone (torch warns).
template <class T>
void kaiming_uniform_(Tensor<T>& t, double a, const std::string& mode, const std::string& nonlinearity = "leaky_relu",
                      Generator& gen = default_generator());
// N(0, std²), std = gain/√fan, as kaiming_uniform_.
template <class T>
void kaiming_normal_(Tensor<T>& t, double a = 0.0, const std::string& mode = "fan_in",
                     const std::string& nonlinearity = "leaky_relu", Generator& gen = default_generator());

}  // namespace init
}  // namespace nn
}  // namespace tapegrad
