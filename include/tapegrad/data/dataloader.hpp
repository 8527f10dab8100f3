#pragma once
// DataLoader over in-memory data, as torch.utils.data.DataLoader over a TensorDataset or a Subset:
// batch_size, shuffle (a fresh permutation each epoch from a seeded Generator whose state is part
// of a checkpoint), the last partial batch kept unless drop_last.
//
// Lifetime: the loader shares ownership of its data (a TensorDataset, see dataset.hpp). Arrays
// passed to the constructor are taken BY VALUE: a temporary or std::move'd array is moved in, an
// lvalue is copied once. So a loader made from a temporary is safe, and nothing it reads can be
// freed under it.
//
// Two ways to walk an epoch, giving the same batches in the same order:
//   for (auto& [x, y] : loader) { … }          // begin() starts a new epoch (begin_epoch())
//   loader.begin_epoch(); for (b < num_batches()) loader.batch(b, xb, yb);
// Both draw the permutation from generator(), so restoring its state (checkpoints) resumes the
// exact sequence of epochs.
#include <array>
#include <cstdint>
#include <iterator>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tapegrad/core/random.hpp"
#include "tapegrad/core/tensor.hpp"
#include "tapegrad/data/dataset.hpp"

namespace tapegrad {
namespace data {

// libtorch's DataLoaderOptions(batch_size) with chained setters (plus the seed of the shuffle).
struct DataLoaderOptions {
    explicit DataLoaderOptions(std::size_t batch_size = 1) : batch_size_(batch_size) {}
    DataLoaderOptions& batch_size(std::size_t v) { batch_size_ = v; return *this; }
    DataLoaderOptions& shuffle(bool v) { shuffle_ = v; return *this; }
    DataLoaderOptions& seed(std::uint64_t v) { seed_ = v; return *this; }
    DataLoaderOptions& drop_last(bool v) { drop_last_ = v; return *this; }
    std::size_t batch_size() const { return batch_size_; }
    bool shuffle() const { return shuffle_; }
    std::uint64_t seed() const { return seed_; }
    bool drop_last() const { return drop_last_; }

private:
    std::size_t batch_size_;
    bool shuffle_ = false;
    std::uint64_t seed_ = 0;
    bool drop_last_ = false;
};

// torch's DistributedSampler applied to an epoch's order (a permutation of the data set, the same
// on every rank): without drop_last the order is padded with its own beginning (repeated when
// shorter than the padding) to a multiple of num_replicas, so every rank takes the same number of
// samples, ceil(n / num_replicas); with drop_last its tail is cut to a multiple instead. Rank r
// takes positions r, r + num_replicas, r + 2·num_replicas, …: the shards are disjoint (apart from
// the padding) and together cover the order. ValueError when num_replicas is 0 or rank ≥ it.
std::vector<std::size_t> distributed_split(const std::vector<std::size_t>& order, std::size_t num_replicas,
                                           std::size_t rank, bool drop_last = false);
// Samples per rank: ceil(n / num_replicas), or floor with drop_last (len(DistributedSampler)).
std::size_t distributed_num_samples(std::size_t n, std::size_t num_replicas, bool drop_last = false);

// One batch of a range-for: x (B, …), y (B).
template <class T> struct Batch {
    Tensor<T> x;
    xt::xarray<std::int64_t> y;
};

// Batches are T; the data set's elements are S — the same type, or bytes (S = std::uint8_t, as
// image files store pixels) converted while gathering through a 256-entry map (default b / 255;
// set_byte_map for normalisation), which keeps the data set 4× smaller than floats.
template <class T = float, class S = T> class DataLoader {
public:
    // inputs (N, …), targets (N), taken by value (see the lifetime note above).
    DataLoader(xt::xarray<S> inputs, xt::xarray<std::int64_t> targets, std::size_t batch_size,
               bool shuffle = false, std::uint64_t seed = 0, bool drop_last = false);
    DataLoader(TensorDataset<S> dataset, std::size_t batch_size, bool shuffle = false, std::uint64_t seed = 0,
               bool drop_last = false);
    DataLoader(TensorDataset<S> dataset, const DataLoaderOptions& options);
    // Over a Subset (random_split's pieces): batch_indices are positions in the subset.
    DataLoader(Subset<S> subset, std::size_t batch_size, bool shuffle = false, std::uint64_t seed = 0,
               bool drop_last = false);
    DataLoader(Subset<S> subset, const DataLoaderOptions& options);

    // S = std::uint8_t only: byte b becomes map[b] in the batch.
    void set_byte_map(const std::array<T, 256>& map) {
        map_ = map;
        plain_map_ = false;
    }

    // Data-parallel training (torch's DistributedSampler): from the next begin_epoch() on, this
    // loader walks only rank's shard of each epoch's order (distributed_split, padded so that every
    // rank has the same number of batches). Every rank must use the same seed: the permutation is
    // drawn whole, the same on every rank, from the generator as before. (1, 0) turns it off.
    void set_distributed(std::size_t num_replicas, std::size_t rank);
    std::size_t num_replicas() const { return replicas_; }
    std::size_t rank() const { return rank_; }

    std::size_t dataset_size() const { return n_; }
    // Samples this loader walks per epoch: dataset_size(), or its rank's share (len(sampler)).
    std::size_t num_samples() const { return replicas_ > 1 ? distributed_num_samples(n_, replicas_) : n_; }
    std::size_t num_batches() const;  // len(loader)
    std::size_t batch_size() const { return batch_size_; }
    const TensorDataset<S>& dataset() const { return dataset_; }
    // Starts an epoch: draws this epoch's order (a permutation when shuffling).
    void begin_epoch();
    // Gathers batch b of the current epoch into x (B, …) and y (B); their storage is reused when
    // the batch size is unchanged, so a training loop allocates nothing here in steady state.
    void batch(std::size_t b, xt::xarray<T>& x, xt::xarray<std::int64_t>& y) const;
    // Indices (into the loader's data set or subset) of batch b of the current epoch.
    std::vector<std::size_t> batch_indices(std::size_t b) const;

    Generator& generator() { return gen_; }
    // The current epoch's order: positions in the data set (or subset), this rank's shard when
    // distributed.
    const std::vector<std::size_t>& order() const { return order_; }

    // ---- range-for: one epoch per begin() ----
    // The batch is gathered into one Batch owned by the loader. x's storage is reused from step to
    // step (written through mutable_value()) while nothing else holds that tensor; when something
    // does — a graph not yet backwarded, a copy the caller kept, a copy of the loader — the next
    // batch goes to a fresh tensor, so a kept batch never changes under its holder. y is reused.
    // One iteration at a time per loader: begin() starts a new epoch.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Batch<T>;
        using difference_type = std::ptrdiff_t;
        using pointer = Batch<T>*;
        using reference = Batch<T>&;
        iterator(DataLoader* loader, std::size_t b) : loader_(loader), b_(b) {}
        reference operator*() const { return loader_->current_; }
        pointer operator->() const { return &loader_->current_; }
        iterator& operator++() {
            if (++b_ < loader_->num_batches()) loader_->load(b_);
            return *this;
        }
        bool operator==(const iterator& o) const { return loader_ == o.loader_ && b_ == o.b_; }
        bool operator!=(const iterator& o) const { return !(*this == o); }
        std::size_t index() const { return b_; }

    private:
        DataLoader* loader_;
        std::size_t b_;
    };
    iterator begin() {
        begin_epoch();
        if (num_batches() > 0) load(0);
        return iterator(this, 0);
    }
    iterator end() { return iterator(this, num_batches()); }

private:
    void init(std::uint64_t seed);
    void load(std::size_t b);
    TensorDataset<S> dataset_;
    std::vector<std::size_t> indices_;  // the subset's indices into dataset_ (when is_subset_)
    bool is_subset_ = false;
    std::size_t n_ = 0, row_ = 0, batch_size_;
    bool shuffle_, drop_last_;
    Generator gen_;
    std::vector<std::size_t> order_;
    std::size_t replicas_ = 1, rank_ = 0;
    std::array<T, 256> map_{};
    bool plain_map_ = true;
    Batch<T> current_;
};

}  // namespace data
}  // namespace tapegrad
