#pragma once
// Tensor factories, as torch.zeros / ones / full / arange / rand / randn / randint / tensor / from_blob.
#include <cstdint>
#include <vector>

#include <xtensor/xadapt.hpp>

#include "tapegrad/core/random.hpp"
#include "tapegrad/core/tensor.hpp"

namespace tapegrad {

template <class T = float> Tensor<T> zeros(const Shape& shape, bool requires_grad = false);
template <class T = float> Tensor<T> ones(const Shape& shape, bool requires_grad = false);
template <class T = float> Tensor<T> full(const Shape& shape, T value, bool requires_grad = false);
// [start, end) in steps of step (step may be negative, not 0), as torch.arange.
template <class T = float> Tensor<T> arange(T start, T end, T step = T(1), bool requires_grad = false);

// Uniform on [0, 1) and standard normal, drawn from gen.
template <class T = float> Tensor<T> rand(const Shape& shape, Generator& gen, bool requires_grad = false);
template <class T = float> Tensor<T> randn(const Shape& shape, Generator& gen, bool requires_grad = false);
// The same from the process-wide default generator (torch.rand(shape, requires_grad=…)); seed it
// with manual_seed(s). These lock default_generator_mutex() while drawing (see random.hpp).
template <class T = float> Tensor<T> rand(const Shape& shape, bool requires_grad = false);
template <class T = float> Tensor<T> randn(const Shape& shape, bool requires_grad = false);
// torch.randint(low, high, size): integers uniform in [low, high), as int64 (tapegrad tensors are
// float/double, so the result is an array, the type cross_entropy's targets take). ValueError when
// low >= high (torch: "random_ expects 'from' to be less than 'to', but got from=5 >= to=5").
// Without a generator: the default one, under its mutex.
xt::xarray<std::int64_t> randint(std::int64_t high, const Shape& size);
xt::xarray<std::int64_t> randint(std::int64_t low, std::int64_t high, const Shape& size);
xt::xarray<std::int64_t> randint(std::int64_t low, std::int64_t high, const Shape& size, Generator& gen);

// torch.tensor(values).reshape(shape), in row-major order: tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6}).
// ShapeError when values.size() is not the shape's element count ("tensor: shape [2, 3] has 6
// elements, but 5 values were given").
template <class T = float> Tensor<T> tensor(const Shape& shape, const std::vector<T>& values, bool requires_grad = false);

// from_blob(ptr, shape): a tensor holding the shape's element count of T read from ptr (row-major).
//
// LIFETIME RULE — this is a COPY, unlike torch.from_blob, which aliases the caller's memory: a
// Tensor's storage is an xt::xarray that owns its buffer (the tape, the optimizers and the version
// counter all rely on that), so a Tensor cannot share memory it does not own. The copy is made
// before from_blob returns; afterwards the caller may free or change the memory, and writes to
// it are not seen by the tensor (nor the reverse). ValueError for a null ptr with a non-empty shape.
template <class T = float> Tensor<T> from_blob(const T* data, const Shape& shape, bool requires_grad = false);

// The zero-copy alternative: an xtensor view (xt::adapt, no ownership) of the caller's memory,
// usable in any xtensor expression and writable through. It does NOT keep the memory alive: it
// must not be used after the memory is freed. Make a Tensor of it (Tensor<T>(xt::xarray<T>(view)))
// when the tape needs one — that copies.
template <class T> auto blob_view(T* data, const Shape& shape) {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return xt::adapt(data, n, xt::no_ownership(), shape);
}

}  // namespace tapegrad
