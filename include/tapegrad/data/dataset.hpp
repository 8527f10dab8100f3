#pragma once
// Data sets held in memory, as torch.utils.data.TensorDataset, Subset and random_split.
//
// Lifetime: a TensorDataset OWNS its arrays (through shared_ptr, so copies of the data set, its
// subsets and the DataLoaders made from it share one copy of the data and keep it alive). Pass an
// array by value to move it in (`TensorDataset<float>(std::move(x), std::move(y))`, or a temporary);
// an lvalue is copied. Nothing here refers to memory the data set does not own.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tapegrad/core/errors.hpp"
#include "tapegrad/core/random.hpp"

namespace tapegrad {
namespace data {

namespace detail {
// ShapeError "<fn>: …" unless inputs has a batch dimension and targets is (N) with inputs' N.
void check_dataset_shapes(const char* fn, const std::vector<std::size_t>& inputs, const std::vector<std::size_t>& targets);
}  // namespace detail

// inputs (N, …) of element type S, targets (N) class indices.
template <class S = float> class TensorDataset {
public:
    using input_type = S;
    TensorDataset() : TensorDataset(xt::xarray<S>::from_shape({0}), xt::xarray<std::int64_t>::from_shape({0})) {}
    // ShapeError unless inputs has a batch dimension and targets is (N) with the same N
    // (torch: "Size mismatch between tensors").
    TensorDataset(xt::xarray<S> inputs, xt::xarray<std::int64_t> targets);
    TensorDataset(std::shared_ptr<const xt::xarray<S>> inputs, std::shared_ptr<const xt::xarray<std::int64_t>> targets);

    std::size_t size() const { return targets_->size(); }  // len(dataset)
    const xt::xarray<S>& inputs() const { return *inputs_; }
    const xt::xarray<std::int64_t>& targets() const { return *targets_; }
    const std::shared_ptr<const xt::xarray<S>>& inputs_ptr() const { return inputs_; }
    const std::shared_ptr<const xt::xarray<std::int64_t>>& targets_ptr() const { return targets_; }
    // Elements per sample (the product of inputs' shape after the first dimension).
    std::size_t row_size() const { return row_; }
    // dataset[i]: a copy of sample i's input (its shape without the batch dimension) and its target.
    // IndexError when i >= size().
    std::pair<xt::xarray<S>, std::int64_t> operator[](std::size_t i) const;

private:
    std::shared_ptr<const xt::xarray<S>> inputs_;
    std::shared_ptr<const xt::xarray<std::int64_t>> targets_;
    std::size_t row_ = 0;
};

// torch.utils.data.Subset: the samples indices[0], indices[1], … of a data set (sharing its arrays).
template <class S = float> struct Subset {
    TensorDataset<S> dataset;
    std::vector<std::size_t> indices;

    Subset() = default;
    // IndexError when an index is >= dataset.size().
    Subset(TensorDataset<S> dataset, std::vector<std::size_t> indices);
    std::size_t size() const { return indices.size(); }
    std::pair<xt::xarray<S>, std::int64_t> operator[](std::size_t i) const;  // dataset[indices[i]]
    // The subset's samples copied into a data set of their own (in subset order).
    TensorDataset<S> materialize() const;
};

// torch.utils.data.random_split (1.13): lengths are either counts summing to dataset.size(), or
// fractions whose sum is close to 1 (math.isclose, 1e-9 relative) and not above it — each
// floor(n·f), then the remainder handed out one by one to splits 0, 1, 2, … round-robin, exactly
// as torch does. As in torch, {1, 0} sums to 1 and is read as fractions: ({n, 0}, whatever n is).
// The samples are then a random permutation of 0..n−1 (Fisher–Yates driven by gen; torch's own
// randperm stream is not reproduced, only its semantics) cut into consecutive pieces.
// ValueError: a fraction outside [0, 1] ("Fraction at index i is not between 0 and 1"), a negative
// or non-integer count, or counts not summing to n ("Sum of input lengths does not equal the length
// of the input dataset!"). Also over a Subset (the pieces index the same underlying data set).
std::vector<std::size_t> random_split_lengths(std::size_t n, const std::vector<double>& lengths);
template <class S>
std::vector<Subset<S>> random_split(const TensorDataset<S>& dataset, const std::vector<double>& lengths,
                                    Generator& gen = default_generator());
template <class S>
std::vector<Subset<S>> random_split(const Subset<S>& dataset, const std::vector<double>& lengths,
                                    Generator& gen = default_generator());

// A uniformly random permutation of 0..n−1 drawn from gen (as torch.randperm; our stream).
std::vector<std::size_t> randperm(std::size_t n, Generator& gen);

}  // namespace data
}  // namespace tapegrad
