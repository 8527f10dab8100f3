// nn::init: torch.nn.init's initialisers (the streams are tapegrad's Generator's).
#include "tapegrad/core/format.hpp"
#include <cmath>
#include <sstream>

#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/layers.hpp"

namespace tapegrad {
namespace nn {
namespace init {
namespace {
std::string num(double v) { return detail::cpp_float(v); }
}  // namespace

double calculate_gain(const std::string& nl, std::optional<double> param) {
    static const char* linear[] = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                                   "conv_transpose3d", "sigmoid"};
    for (const char* l : linear)
        if (nl == l) return 1.0;
    if (nl == "tanh") return 5.0 / 3;
    if (nl == "relu") return std::sqrt(2.0);
    if (nl == "leaky_relu") {
        const double slope = param ? *param : 0.01;
        if (!std::isfinite(slope)) throw ValueError("calculate_gain: negative_slope " + num(slope) + " not a valid number");
        return std::sqrt(2.0 / (1 + slope * slope));
    }
    if (nl == "selu") return 3.0 / 4;
    throw ValueError("calculate_gain: Unsupported nonlinearity " + nl);
}

Fans calculate_fan_in_and_fan_out(const Shape& s, const char* fn) {
    if (s.size() < 2)
        throw ValueError(std::string(fn) + ": Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
    std::size_t rf = 1;
    for (std::size_t d = 2; d < s.size(); ++d) rf *= s[d];
    return {s[1] * rf, s[0] * rf};
}

namespace {
std::size_t correct_fan(const Shape& s, const std::string& mode, const char* fn) {
    if (mode != "fan_in" && mode != "fan_out")
        throw ValueError(std::string(fn) + ": Mode " + mode + " not supported, please use one of ['fan_in', 'fan_out']");
    Fans f = calculate_fan_in_and_fan_out(s, fn);
    return mode == "fan_in" ? f.fan_in : f.fan_out;
}
bool has_zero_dim(const Shape& s) {
    for (auto d : s)
        if (d == 0) return true;
    return false;
}
template <class T> void fill_normal(Tensor<T>& t, double mean, double std, Generator& gen) {
    for (auto& x : t.mutable_value()) x = static_cast<T>(mean + std * gen.normal());
}
}  // namespace

template <class T> void normal_(Tensor<T>& t, double mean, double std, Generator& gen) {
    if (!(std >= 0)) throw ValueError("init::normal_: normal expects std >= 0.0, but found std " + num(std));
    if (!std::isfinite(mean) || !std::isfinite(std))
        throw ValueError("init::normal_: mean and std must be finite, got mean=" + num(mean) + " and std=" + num(std));
    fill_normal(t, mean, std, gen);
}
template <class T> void constant_(Tensor<T>& t, double value) {
    auto& v = t.mutable_value();
    std::fill(v.begin(), v.end(), static_cast<T>(value));
}
template <class T> void zeros_(Tensor<T>& t) { constant_(t, 0.0); }
template <class T> void ones_(Tensor<T>& t) { constant_(t, 1.0); }

template <class T> void xavier_uniform_(Tensor<T>& t, double gain, Generator& gen) {
    Fans f = calculate_fan_in_and_fan_out(t.shape(), "xavier_uniform_");
    if (f.fan_in + f.fan_out == 0) return;  // no element to fill
    const double a = std::sqrt(3.0) * gain * std::sqrt(2.0 / double(f.fan_in + f.fan_out));
    uniform_(t, -a, a, gen);
}
template <class T> void xavier_normal_(Tensor<T>& t, double gain, Generator& gen) {
    Fans f = calculate_fan_in_and_fan_out(t.shape(), "xavier_normal_");
    if (f.fan_in + f.fan_out == 0) return;
    fill_normal(t, 0.0, gain * std::sqrt(2.0 / double(f.fan_in + f.fan_out)), gen);
}
template <class T>
void kaiming_uniform_(Tensor<T>& t, double a, const std::string& mode, const std::string& nl, Generator& gen) {
    if (has_zero_dim(t.shape())) return;  // torch: "Initializing zero-element tensors is a no-op"
    const std::size_t fan = correct_fan(t.shape(), mode, "kaiming_uniform_");
    const double bound = std::sqrt(3.0) * calculate_gain(nl, a) / std::sqrt(double(fan));
    uniform_(t, -bound, bound, gen);
}
template <class T>
void kaiming_normal_(Tensor<T>& t, double a, const std::string& mode, const std::string& nl, Generator& gen) {
    if (has_zero_dim(t.shape())) return;
    const std::size_t fan = correct_fan(t.shape(), mode, "kaiming_normal_");
    fill_normal(t, 0.0, calculate_gain(nl, a) / std::sqrt(double(fan)), gen);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                  \
    template void normal_(Tensor<T>&, double, double, Generator&);                                              \
    template void constant_(Tensor<T>&, double);                                                                 \
    template void zeros_(Tensor<T>&);                                                                            \
    template void ones_(Tensor<T>&);                                                                             \
    template void xavier_uniform_(Tensor<T>&, double, Generator&);                                              \
    template void xavier_normal_(Tensor<T>&, double, Generator&);                                               \
    template void kaiming_uniform_(Tensor<T>&, double, const std::string&, const std::string&, Generator&);     \
    template void kaiming_normal_(Tensor<T>&, double, const std::string&, const std::string&, Generator&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace init
}  // namespace nn
}  // namespace tapegrad
