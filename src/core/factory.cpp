// Factories and the generator.
#include <cmath>
#include <cstdint>
#include <mutex>
#include <sstream>

#include "tapegrad/core/errors.hpp"
#include "tapegrad/core/factory.hpp"

namespace tapegrad {

double Generator::normal() {
    // 1 - u keeps the log argument in (0, 1]
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

std::uint64_t Generator::randint(std::uint64_t n) {
    if (n == 0) throw ValueError("Generator::randint: n must be positive");
    // reject the top partial block so every residue is equally likely
    const std::uint64_t limit = std::uint64_t(-1) - (std::uint64_t(-1) % n + 1) % n;
    std::uint64_t x;
    do x = next();
    while (x > limit);
    return x % n;
}

std::string Generator::state() const {
    std::ostringstream os;
    os << engine_;
    return os.str();
}

void Generator::set_state(const std::string& s) {
    std::istringstream is(s);
    std::mt19937_64 e;
    is >> e;
    // nothing but whitespace may follow the engine's state (ws on a stream already at its end would
    // set failbit, hence the guard)
    if (!is.fail() && !is.eof()) is >> std::ws;
    if (is.fail() || !is.eof()) throw ValueError("Generator::set_state: malformed generator state (" + std::to_string(s.size()) + " bytes)");
    engine_ = e;
}

Generator& default_generator() {
    static Generator g;
    return g;
}
std::mutex& default_generator_mutex() {
    static std::mutex m;
    return m;
}
void manual_seed(std::uint64_t seed) {
    std::lock_guard<std::mutex> lock(default_generator_mutex());
    default_generator().manual_seed(seed);
}

namespace {
// The element count of shape, refusing shapes whose count (or byte size) does not fit.
std::size_t checked_numel(const char* fn, const Shape& shape, std::size_t elem) {
    std::size_t n = 1;
    bool zero = false;
    for (std::size_t d : shape) {
        zero |= d == 0;
        if (__builtin_mul_overflow(n, d == 0 ? 1 : d, &n) || n > (std::size_t(PTRDIFF_MAX) / elem))
            throw ValueError(std::string(fn) + ": shape " + shape_str(shape) + " has more elements than memory can hold");
    }
    return zero ? 0 : n;
}
template <class T> xt::xarray<T> shaped(const char* fn, const Shape& shape) {
    checked_numel(fn, shape, sizeof(T));
    return xt::xarray<T>::from_shape(shape);
}
template <class T> xt::xarray<T> filled(const Shape& shape, T v) {
    xt::xarray<T> a = shaped<T>("zeros/ones/full", shape);
    std::fill(a.begin(), a.end(), v);
    return a;
}
}  // namespace

template <class T> Tensor<T> zeros(const Shape& shape, bool rg) { return Tensor<T>(filled<T>(shape, T(0)), rg); }
template <class T> Tensor<T> ones(const Shape& shape, bool rg) { return Tensor<T>(filled<T>(shape, T(1)), rg); }
template <class T> Tensor<T> full(const Shape& shape, T v, bool rg) { return Tensor<T>(filled<T>(shape, v), rg); }

template <class T> Tensor<T> arange(T start, T end, T step, bool rg) {
    if (step == T(0)) throw ValueError("arange: step must be nonzero");
    if (!std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
        throw ValueError("arange: unsupported range: start, end and step must be finite");
    if ((step > 0 && end < start) || (step < 0 && end > start))
        throw ValueError("arange: upper bound and larger bound inconsistent with step sign");
    const double count = std::ceil((double(end) - double(start)) / double(step));
    if (!(count <= double(std::size_t(1) << 40)))
        throw ValueError("arange: the range [" + std::to_string(start) + ", " + std::to_string(end) + ") in steps of " +
                         std::to_string(step) + " would have " + std::to_string(count) + " elements");
    const auto n = static_cast<std::size_t>(count);
    xt::xarray<T> a = xt::xarray<T>::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) a(i) = static_cast<T>(double(start) + double(i) * double(step));
    return Tensor<T>(std::move(a), rg);
}

template <class T> Tensor<T> rand(const Shape& shape, Generator& gen, bool rg) {
    xt::xarray<T> a = shaped<T>("rand", shape);
    for (auto& x : a) x = static_cast<T>(gen.uniform());
    return Tensor<T>(std::move(a), rg);
}

template <class T> Tensor<T> randn(const Shape& shape, Generator& gen, bool rg) {
    xt::xarray<T> a = shaped<T>("randn", shape);
    for (auto& x : a) x = static_cast<T>(gen.normal());
    return Tensor<T>(std::move(a), rg);
}

template <class T> Tensor<T> rand(const Shape& shape, bool rg) {
    std::lock_guard<std::mutex> lock(default_generator_mutex());
    return rand<T>(shape, default_generator(), rg);
}
template <class T> Tensor<T> randn(const Shape& shape, bool rg) {
    std::lock_guard<std::mutex> lock(default_generator_mutex());
    return randn<T>(shape, default_generator(), rg);
}

xt::xarray<std::int64_t> randint(std::int64_t low, std::int64_t high, const Shape& size, Generator& gen) {
    if (low >= high)
        throw ValueError("randint: random_ expects 'from' to be less than 'to', but got from=" + std::to_string(low) +
                         " >= to=" + std::to_string(high));
    checked_numel("randint", size, sizeof(std::int64_t));
    xt::xarray<std::int64_t> a = xt::xarray<std::int64_t>::from_shape(size);
    // the span as unsigned: high − low can exceed INT64_MAX
    const std::uint64_t span = std::uint64_t(high) - std::uint64_t(low);
    for (auto& v : a) v = std::int64_t(std::uint64_t(low) + gen.randint(span));
    return a;
}
xt::xarray<std::int64_t> randint(std::int64_t low, std::int64_t high, const Shape& size) {
    std::lock_guard<std::mutex> lock(default_generator_mutex());
    return randint(low, high, size, default_generator());
}
xt::xarray<std::int64_t> randint(std::int64_t high, const Shape& size) { return randint(0, high, size); }

template <class T> Tensor<T> tensor(const Shape& shape, const std::vector<T>& values, bool rg) {
    const std::size_t n = checked_numel("tensor", shape, sizeof(T));
    if (values.size() != n)
        throw ShapeError("tensor: shape " + shape_str(shape) + " has " + std::to_string(n) + " elements, but " +
                         std::to_string(values.size()) + " values were given");
    xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
    std::copy(values.begin(), values.end(), a.data());
    return Tensor<T>(std::move(a), rg);
}

template <class T> Tensor<T> from_blob(const T* data, const Shape& shape, bool rg) {
    const std::size_t n = checked_numel("from_blob", shape, sizeof(T));
    if (data == nullptr && n > 0)
        throw ValueError("from_blob: data is a null pointer but shape " + shape_str(shape) + " has " + std::to_string(n) + " elements");
    xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
    if (n) std::copy(data, data + n, a.data());
    return Tensor<T>(std::move(a), rg);
}

#define TAPEGRAD_INSTANTIATE(T)                                       \
    template Tensor<T> zeros(const Shape&, bool);                     \
    template Tensor<T> ones(const Shape&, bool);                      \
    template Tensor<T> full(const Shape&, T, bool);                   \
    template Tensor<T> arange(T, T, T, bool);                         \
    template Tensor<T> rand(const Shape&, Generator&, bool);          \
    template Tensor<T> randn(const Shape&, Generator&, bool);          \
    template Tensor<T> rand(const Shape&, bool);                      \
    template Tensor<T> randn(const Shape&, bool);                     \
    template Tensor<T> tensor(const Shape&, const std::vector<T>&, bool); \
    template Tensor<T> from_blob(const T*, const Shape&, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
