#pragma once
// embedding, and embedding_bag with row-sparse gradients (core/sparse_grad.hpp).
// Each op is defined with its backward beside it in src/ops/embedding.cpp, instantiated for float and double.
#include <cstdint>
#include <optional>
#include <string>

#include "tapegrad/ops/common.hpp"

namespace tapegrad {

// ---- embeddings
// F.embedding(input, weight, padding_idx): input (*) of indices, weight (num_embeddings, D) -> (*, D).
// The gradient is dense; the padding_idx row receives none. An index outside [0, num_embeddings)
// is an IndexError ("index out of range in self").
template <class T>
Tensor<T> embedding(const xt::xarray<std::int64_t>& input, const Tensor<T>& weight,
                    std::optional<std::int64_t> padding_idx = std::nullopt);

enum class EmbeddingBagMode { Sum, Mean, Max };
// "sum" | "mean" | "max"; anything else is a ValueError.
EmbeddingBagMode embedding_bag_mode_from_string(const std::string& s);

// F.embedding_bag (argument order as torch's): the reduction of each bag of rows of weight.
//   input 1-D (n) of indices with offsets (B) (bag i = input[offsets[i] : offsets[i+1]], the last
//   bag running to the end; with include_last_offset offsets has B+1 entries), or input 2-D
//   (B, L) without offsets (B bags of L); weight (num_embeddings, D) → (B, D).
// mean divides by the bag's count of non-padding entries; empty bags give zeros; max takes the
// element-wise maximum (the gradient goes to the entry holding it). per_sample_weights (same
// shape as input) scales each entry, mode sum only. Entries equal to padding_idx are skipped.
// The backward touches only the rows used: with sparse=true it leaves a row-sparse gradient
// (see Tensor::has_sparse_grad) that optim::SGD applies to those rows only.
template <class T>
Tensor<T> embedding_bag(const xt::xarray<std::int64_t>& input, const Tensor<T>& weight,
                        const std::optional<xt::xarray<std::int64_t>>& offsets = std::nullopt,
                        EmbeddingBagMode mode = EmbeddingBagMode::Mean, bool sparse = false,
                        const Tensor<T>& per_sample_weights = Tensor<T>(), bool include_last_offset = false,
                        std::optional<std::int64_t> padding_idx = std::nullopt);

}  // namespace tapegrad
