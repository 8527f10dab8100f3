// DataLoader: seeded shuffling and batch gathering into reused buffers.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "tapegrad/data/dataloader.hpp"

namespace tapegrad {
namespace data {

template <class T>
DataLoader<T>::DataLoader(const xt::xarray<T>& inputs, const xt::xarray<std::int64_t>& targets, std::size_t batch_size,
                          bool shuffle, std::uint64_t seed, bool drop_last)
    : inputs_(inputs), targets_(targets), batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last), gen_(seed) {
    if (batch_size == 0) throw ValueError("DataLoader: batch_size should be a positive integer value, but got batch_size=0");
    if (inputs.dimension() == 0) throw ShapeError("DataLoader: inputs must have a batch dimension, got a 0-d array");
    if (targets.dimension() != 1 || targets.shape()[0] != inputs.shape()[0])
        throw ShapeError("DataLoader: Size mismatch between tensors: inputs " + shape_str_of(inputs.shape()) +
                         ", targets " + shape_str_of(targets.shape()));
    n_ = inputs.shape()[0];
    row_ = n_ ? inputs.size() / n_ : 0;
    order_.resize(n_);
    std::iota(order_.begin(), order_.end(), std::size_t(0));
}

template <class T> std::size_t DataLoader<T>::num_batches() const {
    return drop_last_ ? n_ / batch_size_ : (n_ + batch_size_ - 1) / batch_size_;
}

template <class T> void DataLoader<T>::begin_epoch() {
    std::iota(order_.begin(), order_.end(), std::size_t(0));
    if (!shuffle_) return;
    // Fisher–Yates from the back with an unbiased draw: the order depends only on the generator
    for (std::size_t i = n_; i > 1; --i) std::swap(order_[i - 1], order_[gen_.randint(i)]);
}

template <class T> std::vector<std::size_t> DataLoader<T>::batch_indices(std::size_t b) const {
    if (b >= num_batches())
        throw IndexError("DataLoader::batch: batch " + std::to_string(b) + " out of range (" +
                         std::to_string(num_batches()) + " batches)");
    const std::size_t lo = b * batch_size_, hi = std::min(n_, lo + batch_size_);
    return std::vector<std::size_t>(order_.begin() + lo, order_.begin() + hi);
}

template <class T> void DataLoader<T>::batch(std::size_t b, xt::xarray<T>& x, xt::xarray<std::int64_t>& y) const {
    if (b >= num_batches())
        throw IndexError("DataLoader::batch: batch " + std::to_string(b) + " out of range (" +
                         std::to_string(num_batches()) + " batches)");
    const std::size_t lo = b * batch_size_, hi = std::min(n_, lo + batch_size_), B = hi - lo;
    Shape xs(inputs_.shape().begin(), inputs_.shape().end());
    xs[0] = B;
    if (x.dimension() != xs.size() || !std::equal(xs.begin(), xs.end(), x.shape().begin())) x.resize(xs);
    if (y.dimension() != 1 || y.shape()[0] != B) y.resize({B});
    const T* src = inputs_.data();
    T* dst = x.data();
    for (std::size_t i = 0; i < B; ++i) {
        const std::size_t k = order_[lo + i];
        std::memcpy(dst + i * row_, src + k * row_, row_ * sizeof(T));
        y.data()[i] = targets_.data()[k];
    }
    // The rows of a shuffled batch are scattered over the whole data set, so gathering them waits on
    // memory. Ask for the next batch's rows now (into the outer cache levels), while this batch
    // computes, so that its gather finds them there.
    const std::size_t nlo = hi, nhi = std::min(n_, nlo + batch_size_);
    const std::size_t line = 64 / sizeof(T);
    for (std::size_t i = nlo; i < nhi; ++i) {
        const T* row = src + order_[i] * row_;
        for (std::size_t j = 0; j < row_; j += line) __builtin_prefetch(row + j, 0, 1);
    }
}

template class DataLoader<float>;
template class DataLoader<double>;

}  // namespace data
}  // namespace tapegrad
