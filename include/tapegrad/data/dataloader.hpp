#pragma once
// DataLoader over in-memory arrays, as torch.utils.data.DataLoader over a TensorDataset:
// batch_size, shuffle (a fresh permutation each epoch from a seeded Generator whose state is part
// of a checkpoint), the last partial batch kept unless drop_last.
#include <array>
#include <cstdint>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tapegrad/core/random.hpp"
#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace data {

// Batches are T; the data set's elements are S — the same type, or bytes (S = std::uint8_t, as
// image files store pixels) converted while gathering through a 256-entry map (default b / 255;
// set_byte_map for normalisation), which keeps the data set 4× smaller than floats.
template <class T = float, class S = T> class DataLoader {
public:
    // inputs (N, …), targets (N); both are referenced, not copied: they must outlive the loader.
    DataLoader(const xt::xarray<S>& inputs, const xt::xarray<std::int64_t>& targets, std::size_t batch_size,
               bool shuffle = false, std::uint64_t seed = 0, bool drop_last = false);
    // S = std::uint8_t only: byte b becomes map[b] in the batch.
    void set_byte_map(const std::array<T, 256>& map) {
        map_ = map;
        plain_map_ = false;
    }

    std::size_t dataset_size() const { return n_; }
    std::size_t num_batches() const;  // len(loader)
    // Starts an epoch: draws this epoch's order (a permutation when shuffling).
    void begin_epoch();
    // Gathers batch b of the current epoch into x (B, …) and y (B); their storage is reused when
    // the batch size is unchanged, so a training loop allocates nothing here in steady state.
    void batch(std::size_t b, xt::xarray<T>& x, xt::xarray<std::int64_t>& y) const;
    // Indices (into the dataset) of batch b of the current epoch.
    std::vector<std::size_t> batch_indices(std::size_t b) const;

    Generator& generator() { return gen_; }
    const std::vector<std::size_t>& order() const { return order_; }

private:
    const xt::xarray<S>& inputs_;
    const xt::xarray<std::int64_t>& targets_;
    std::size_t n_, row_, batch_size_;
    bool shuffle_, drop_last_;
    Generator gen_;
    std::vector<std::size_t> order_;
    std::array<T, 256> map_{};
    bool plain_map_ = true;
};

}  // namespace data
}  // namespace tapegrad
