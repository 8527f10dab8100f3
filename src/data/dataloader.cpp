// DataLoader: seeded shuffling and batch gathering into reused buffers.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "tapegrad/data/dataloader.hpp"

namespace tapegrad {
namespace data {

namespace {
template <class S> TensorDataset<S> checked(xt::xarray<S>&& inputs, xt::xarray<std::int64_t>&& targets) {
    // checked here first so that the message names the DataLoader, as it always did
    detail::check_dataset_shapes("DataLoader", std::vector<std::size_t>(inputs.shape().begin(), inputs.shape().end()),
                                 std::vector<std::size_t>(targets.shape().begin(), targets.shape().end()));
    return TensorDataset<S>(std::move(inputs), std::move(targets));
}
}  // namespace

template <class T, class S>
DataLoader<T, S>::DataLoader(xt::xarray<S> inputs, xt::xarray<std::int64_t> targets, std::size_t batch_size, bool shuffle,
                             std::uint64_t seed, bool drop_last)
    : dataset_(checked(std::move(inputs), std::move(targets))), batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last) {
    init(seed);
}

template <class T, class S>
DataLoader<T, S>::DataLoader(TensorDataset<S> dataset, std::size_t batch_size, bool shuffle, std::uint64_t seed, bool drop_last)
    : dataset_(std::move(dataset)), batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last) {
    init(seed);
}

template <class T, class S>
DataLoader<T, S>::DataLoader(TensorDataset<S> dataset, const DataLoaderOptions& o)
    : DataLoader(std::move(dataset), o.batch_size(), o.shuffle(), o.seed(), o.drop_last()) {}

template <class T, class S>
DataLoader<T, S>::DataLoader(Subset<S> subset, std::size_t batch_size, bool shuffle, std::uint64_t seed, bool drop_last)
    : dataset_(std::move(subset.dataset)), indices_(std::move(subset.indices)), batch_size_(batch_size), shuffle_(shuffle),
      drop_last_(drop_last) {
    for (std::size_t i : indices_)  // a Subset built field by field skipped its constructor's check
        if (i >= dataset_.size())
            throw IndexError("DataLoader: subset index " + std::to_string(i) + " is out of bounds for a data set of size " +
                             std::to_string(dataset_.size()));
    is_subset_ = true;
    n_ = indices_.size();
    init(seed);
}

template <class T, class S>
DataLoader<T, S>::DataLoader(Subset<S> subset, const DataLoaderOptions& o)
    : DataLoader(std::move(subset), o.batch_size(), o.shuffle(), o.seed(), o.drop_last()) {}

template <class T, class S> void DataLoader<T, S>::init(std::uint64_t seed) {
    if (batch_size_ == 0) throw ValueError("DataLoader: batch_size should be a positive integer value, but got batch_size=0");
    gen_.manual_seed(seed);
    if (!is_subset_) n_ = dataset_.size();
    row_ = dataset_.row_size();
    order_.resize(n_);
    std::iota(order_.begin(), order_.end(), std::size_t(0));
    for (std::size_t b = 0; b < 256; ++b) map_[b] = T(b) / T(255);
}

std::size_t distributed_num_samples(std::size_t n, std::size_t num_replicas, bool drop_last) {
    if (num_replicas == 0) throw ValueError("DistributedSampler: num_replicas should be a positive integer, got 0");
    return drop_last ? n / num_replicas : (n + num_replicas - 1) / num_replicas;
}

std::vector<std::size_t> distributed_split(const std::vector<std::size_t>& order, std::size_t num_replicas,
                                           std::size_t rank, bool drop_last) {
    const std::size_t per_rank = distributed_num_samples(order.size(), num_replicas, drop_last);
    if (rank >= num_replicas)
        throw ValueError("Invalid rank " + std::to_string(rank) + ", rank should be in the interval [0, " +
                         std::to_string(num_replicas - 1) + "]");
    std::vector<std::size_t> shard(per_rank);
    // position k of the padded order is order[k mod n]: the padding repeats the beginning
    for (std::size_t i = 0; i < per_rank; ++i) shard[i] = order[(rank + i * num_replicas) % order.size()];
    return shard;
}

template <class T, class S> void DataLoader<T, S>::set_distributed(std::size_t num_replicas, std::size_t rank) {
    try {
        distributed_split({}, num_replicas, rank);  // the same checks and messages
    } catch (const ValueError& e) {
        throw ValueError(std::string("DataLoader.set_distributed: ") + e.what());
    }
    replicas_ = num_replicas;
    rank_ = rank;
    order_.resize(n_);  // the unshuffled order until begin_epoch() draws one
    std::iota(order_.begin(), order_.end(), std::size_t(0));
    if (replicas_ > 1) order_ = distributed_split(order_, replicas_, rank_);
}

template <class T, class S> std::size_t DataLoader<T, S>::num_batches() const {
    const std::size_t n = num_samples();
    return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

template <class T, class S> void DataLoader<T, S>::begin_epoch() {
    order_.resize(n_);
    std::iota(order_.begin(), order_.end(), std::size_t(0));
    // Fisher–Yates from the back with an unbiased draw: the order depends only on the generator
    if (shuffle_)
        for (std::size_t i = n_; i > 1; --i) std::swap(order_[i - 1], order_[gen_.randint(i)]);
    if (replicas_ > 1) order_ = distributed_split(order_, replicas_, rank_);
}

template <class T, class S> std::vector<std::size_t> DataLoader<T, S>::batch_indices(std::size_t b) const {
    if (b >= num_batches())
        throw IndexError("DataLoader::batch: batch " + std::to_string(b) + " out of range (" +
                         std::to_string(num_batches()) + " batches)");
    const std::size_t lo = b * batch_size_, hi = std::min(order_.size(), lo + batch_size_);
    return std::vector<std::size_t>(order_.begin() + lo, order_.begin() + hi);
}

template <class T, class S> void DataLoader<T, S>::batch(std::size_t b, xt::xarray<T>& x, xt::xarray<std::int64_t>& y) const {
    if (b >= num_batches())
        throw IndexError("DataLoader::batch: batch " + std::to_string(b) + " out of range (" +
                         std::to_string(num_batches()) + " batches)");
    const std::size_t lo = b * batch_size_, hi = std::min(order_.size(), lo + batch_size_), B = hi - lo;
    const xt::xarray<S>& inputs = dataset_.inputs();
    Shape xs(inputs.shape().begin(), inputs.shape().end());
    xs[0] = B;
    if (x.dimension() != xs.size() || !std::equal(xs.begin(), xs.end(), x.shape().begin())) x.resize(xs);
    if (y.dimension() != 1 || y.shape()[0] != B) y.resize({B});
    const S* src = inputs.data();
    const std::int64_t* tgt = dataset_.targets().data();
    T* dst = x.data();
    const std::size_t* sub = is_subset_ ? indices_.data() : nullptr;
    auto row_of = [&](std::size_t i) { return sub ? sub[order_[lo + i]] : order_[lo + i]; };
    const std::size_t line = 64 / sizeof(S);
    // Rows are scattered over the data set (shuffled), so each waits on memory: keep several rows
    // in flight by asking for row i + ahead while row i is copied.
    const std::size_t ahead = 8;
    for (std::size_t i = 0; i < std::min(ahead, B); ++i)
        for (std::size_t j = 0; j < row_; j += line) __builtin_prefetch(src + row_of(i) * row_ + j, 0, 3);
    for (std::size_t i = 0; i < B; ++i) {
        if (i + ahead < B)
            for (std::size_t j = 0; j < row_; j += line) __builtin_prefetch(src + row_of(i + ahead) * row_ + j, 0, 3);
        const std::size_t k = row_of(i);
        if constexpr (std::is_same<S, T>::value) {
            if (row_) std::memcpy(dst + i * row_, src + k * row_, row_ * sizeof(T));
        } else {
            const S* r = src + k * row_;
            T* d = dst + i * row_;
            if (plain_map_)  // b / 255, exactly as the map holds it, but vectorised
                for (std::size_t j = 0; j < row_; ++j) d[j] = T(r[j]) / T(255);
            else
                for (std::size_t j = 0; j < row_; ++j) d[j] = map_[r[j]];
        }
        y.data()[i] = tgt[k];
    }
}

template <class T, class S> void DataLoader<T, S>::load(std::size_t b) {
    // Reuse the batch tensor's storage only when nothing else holds it: a graph still alive from
    // the previous step (no backward yet), a Tensor the caller kept, or a copy of this loader would
    // otherwise see it overwritten. After backward the graph has let go, so a training loop reuses.
    if (!current_.x.defined() || current_.x.impl_ptr().use_count() > 1)
        current_.x = Tensor<T>(xt::xarray<T>::from_shape({0}));
    batch(b, current_.x.mutable_value(), current_.y);
}

template class DataLoader<float>;
template class DataLoader<double>;
template class DataLoader<float, std::uint8_t>;
template class DataLoader<double, std::uint8_t>;

}  // namespace data
}  // namespace tapegrad
