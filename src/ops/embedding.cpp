// embedding_bag: bags of rows reduced by sum, mean or max; backward touches only the rows used.
#include <limits>
#include <sstream>

#include "internal.hpp"
#include "tapegrad/core/sparse_grad.hpp"
#include "tapegrad/ops/embedding.hpp"

namespace tapegrad {

EmbeddingBagMode embedding_bag_mode_from_string(const std::string& s) {
    if (s == "sum") return EmbeddingBagMode::Sum;
    if (s == "mean") return EmbeddingBagMode::Mean;
    if (s == "max") return EmbeddingBagMode::Max;
    throw ValueError("embedding_bag: mode has to be one of sum, mean or max, got '" + s + "'");
}

namespace {
const char* mode_name(EmbeddingBagMode m) {
    return m == EmbeddingBagMode::Sum ? "sum" : m == EmbeddingBagMode::Mean ? "mean" : "max";
}
}  // namespace

// out[b] = reduce_{i in bag b} w_i·weight[input[i]]   (w_i = per_sample_weights or 1)
template <class T>
Tensor<T> embedding_bag(const xt::xarray<std::int64_t>& input, const Tensor<T>& weight,
                        const std::optional<xt::xarray<std::int64_t>>& offsets, EmbeddingBagMode mode, bool sparse,
                        const Tensor<T>& psw, bool include_last_offset, std::optional<std::int64_t> padding_idx) {
    const Shape ws = weight.shape();
    if (ws.size() != 2)
        throw ShapeError("embedding_bag: weight has to be a 2D Tensor (num_embeddings, embedding_dim), but got shape " +
                         shape_str(ws));
    const std::size_t V = ws[0], D = ws[1];
    const std::size_t n = input.size();
    // bag b covers [starts[b], starts[b+1])
    std::vector<std::size_t> starts;
    if (input.dimension() == 2) {
        if (offsets) throw ValueError("embedding_bag: if input is 2D, then offsets has to be None, as input is treated "
                                      "is a mini-batch of fixed length sequences.");
        const std::size_t B = input.shape()[0], L = input.shape()[1];
        for (std::size_t b = 0; b <= B; ++b) starts.push_back(b * L);
    } else if (input.dimension() == 1) {
        if (!offsets) throw ValueError("embedding_bag: offsets has to be a 1D Tensor but got null (input is 1D)");
        const auto& off = *offsets;
        if (off.dimension() != 1) throw ShapeError("embedding_bag: offsets has to be a 1D Tensor, got shape " + shape_str_of(off.shape()));
        if (off.size() == 0 || (include_last_offset && off.size() < 1))
            throw ValueError("embedding_bag: offsets must hold at least one entry");
        if (off(0) != 0)
            throw ValueError("embedding_bag: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to "
                             "start from position 0. However, got " + std::to_string(off(0)));
        for (std::size_t b = 0; b < off.size(); ++b) {
            if (off(b) < 0 || std::size_t(off(b)) > n)
                throw IndexError("embedding_bag: offsets[" + std::to_string(b) + "] = " + std::to_string(off(b)) +
                                 " is out of range for an input of " + std::to_string(n) + " indices");
            if (b && off(b) < off(b - 1))
                throw ValueError("embedding_bag: offsets must be non-decreasing, but offsets[" + std::to_string(b) +
                                 "] = " + std::to_string(off(b)) + " < offsets[" + std::to_string(b - 1) + "] = " +
                                 std::to_string(off(b - 1)));
            starts.push_back(std::size_t(off(b)));
        }
        if (!include_last_offset) starts.push_back(n);
    } else {
        throw ShapeError("embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of dimension " +
                         std::to_string(input.dimension()));
    }
    const std::size_t B = starts.size() - 1;
    std::int64_t pad = -1;
    if (padding_idx) {
        const auto p = *padding_idx;
        if (p < -std::int64_t(V) || p >= std::int64_t(V))
            throw ValueError("embedding_bag: padding_idx must be within num_embeddings (" + std::to_string(V) + "), got " +
                             std::to_string(p));
        pad = p < 0 ? p + std::int64_t(V) : p;
    }
    const T* pw = nullptr;
    if (psw.defined()) {
        if (mode != EmbeddingBagMode::Sum)
            throw ValueError(std::string("embedding_bag: embedding_bag: per_sample_weights was not None. "
                                         "per_sample_weights is only supported for mode='sum' (got mode='") +
                             mode_name(mode) + "'). Please open a feature request on GitHub.");
        if (psw.shape() != shape_of_any(input))
            throw ShapeError("embedding_bag: per_sample_weights has to be of the same shape as input, got " +
                             shape_str(psw.shape()) + " and " + shape_str_of(input.shape()));
        pw = psw.value().data();
    }
    const std::int64_t* idx = input.data();
    for (std::size_t i = 0; i < n; ++i)
        if (idx[i] < 0 || std::size_t(idx[i]) >= V) {
            std::ostringstream os;
            os << "embedding_bag: index out of range in self (index " << idx[i] << " at position " << i
               << ", num_embeddings " << V << ")";
            throw IndexError(os.str());
        }

    xt::xarray<T> out = xt::zeros<T>({B, D});
    std::vector<std::int64_t> argmax;  // max mode: the input position of each output element's max
    if (mode == EmbeddingBagMode::Max) argmax.assign(B * D, -1);
    std::vector<T> counts(B, T(0));
    const T* W = weight.value().data();
    T* O = out.data();
    for (std::size_t b = 0; b < B; ++b) {
        T* o = O + b * D;
        for (std::size_t i = starts[b]; i < starts[b + 1]; ++i) {
            if (idx[i] == pad) continue;
            const T* row = W + std::size_t(idx[i]) * D;
            if (mode == EmbeddingBagMode::Max) {
                for (std::size_t j = 0; j < D; ++j)
                    if (argmax[b * D + j] < 0 || row[j] > o[j]) o[j] = row[j], argmax[b * D + j] = std::int64_t(i);
            } else {
                const T s = pw ? pw[i] : T(1);
                for (std::size_t j = 0; j < D; ++j) o[j] += s * row[j];
            }
            counts[b] += T(1);
        }
        if (mode == EmbeddingBagMode::Mean && counts[b] > T(0)) {
            const T inv = T(1) / counts[b];
            for (std::size_t j = 0; j < D; ++j) o[j] *= inv;
        }
    }
    Tensor<T> result(std::move(out));
    if (!needs_grad({weight, psw})) return result;
    record<T>(result, "embedding_bag", {weight, psw},
              [weight, psw, input, starts, counts, argmax, mode, sparse, pad, B, D](const xt::xarray<T>& g,
                                                                                   const xt::xarray<T>&) {
                  const std::int64_t* idx = input.data();
                  const T* G = g.data();
                  const T* pw = psw.defined() ? psw.value().data() : nullptr;
                  if (weight.requires_grad()) {
                      // one gradient row per (bag, entry): only rows that were used appear
                      std::vector<std::int64_t> rows;
                      std::vector<T> vals;
                      for (std::size_t b = 0; b < B; ++b)
                          for (std::size_t i = starts[b]; i < starts[b + 1]; ++i) {
                              if (idx[i] == pad) continue;
                              rows.push_back(idx[i]);
                              const std::size_t base = vals.size();
                              vals.resize(base + D, T(0));
                              if (mode == EmbeddingBagMode::Max) {
                                  for (std::size_t j = 0; j < D; ++j)
                                      if (argmax[b * D + j] == std::int64_t(i)) vals[base + j] = G[b * D + j];
                              } else {
                                  const T s = mode == EmbeddingBagMode::Mean ? T(1) / counts[b] : (pw ? pw[i] : T(1));
                                  for (std::size_t j = 0; j < D; ++j) vals[base + j] = s * G[b * D + j];
                              }
                          }
                      xt::xarray<T> values = xt::xarray<T>::from_shape({rows.size(), D});
                      std::copy(vals.begin(), vals.end(), values.begin());
                      if (sparse) {
                          accumulate_sparse_grad(weight, rows, values);
                      } else {
                          bool acc = false;
                          auto& buf = weight.grad_buffer(acc);
                          if (!acc) std::fill(buf.begin(), buf.end(), T(0));
                          detail::scatter_add_rows(buf, rows, values);
                      }
                  }
                  if (psw.defined() && psw.requires_grad()) {  // d out_b / d w_i = weight[input[i]]
                      xt::xarray<T> gp = xt::zeros<T>(psw.value().shape());
                      const T* W = weight.value().data();
                      for (std::size_t b = 0; b < B; ++b)
                          for (std::size_t i = starts[b]; i < starts[b + 1]; ++i) {
                              if (idx[i] == pad) continue;
                              T s = 0;
                              for (std::size_t j = 0; j < D; ++j) s += G[b * D + j] * W[std::size_t(idx[i]) * D + j];
                              gp.data()[i] = s;
                          }
                      psw.accumulate_grad(gp);
                  }
              });
    TAPEGRAD_REPLAY(result, embedding_bag(input, in[0], offsets, mode, sparse, in[1], include_last_offset, padding_idx));
    return result;
}

// F.embedding: out[..., :] = weight[input[...], :]; dweight[r] = sum of g over the positions holding
// r, except the padding row, which gets none (dense gradient)
namespace {
// w with row `row` (if ≥ 0) replaced by `value`.
Tensor<double> with_row(const Tensor<double>& w, std::int64_t row, const std::vector<double>& value) {
    if (row < 0) return w;
    xt::xarray<double> v = w.value();
    std::copy(value.begin(), value.end(), v.data() + std::size_t(row) * value.size());
    return Tensor<double>(std::move(v));
}
}  // namespace

template <class T>
Tensor<T> embedding(const xt::xarray<std::int64_t>& input, const Tensor<T>& weight, std::optional<std::int64_t> padding_idx) {
    const Shape ws = weight.shape();
    if (ws.size() != 2) throw ShapeError("embedding: 'weight' must be 2-D, got shape " + shape_str(ws));
    const std::size_t V = ws[0], D = ws[1];
    std::int64_t pad = -1;
    if (padding_idx) {
        if (*padding_idx >= std::int64_t(V) || *padding_idx < -std::int64_t(V))
            throw ValueError("embedding: Padding_idx must be within num_embeddings (got " + std::to_string(*padding_idx) +
                             " for num_embeddings " + std::to_string(V) + ")");
        pad = *padding_idx < 0 ? *padding_idx + std::int64_t(V) : *padding_idx;
    }
    for (std::size_t i = 0; i < input.size(); ++i) {
        const std::int64_t v = input.data()[i];
        if (v < 0 || v >= std::int64_t(V))
            throw IndexError("embedding: index out of range in self (index " + std::to_string(v) +
                             ", num_embeddings " + std::to_string(V) + ")");
    }
    Shape so = shape_of_any(input);
    so.push_back(D);
    xt::xarray<T> r = xt::xarray<T>::from_shape(so);
    const T* pw = weight.value().data();
    for (std::size_t i = 0; i < input.size(); ++i)
        std::copy(pw + std::size_t(input.data()[i]) * D, pw + (std::size_t(input.data()[i]) + 1) * D, r.data() + i * D);
    Tensor<T> out(std::move(r));
    if (needs_grad({weight}))
        record<T>(out, "embedding", {weight}, [weight, input, pad, D](const xt::xarray<T>& g, const xt::xarray<T>&) {
            bool acc = false;
            auto& buf = weight.grad_buffer(acc);
            if (!acc) std::fill(buf.begin(), buf.end(), T(0));
            for (std::size_t i = 0; i < input.size(); ++i) {
                const std::int64_t row = input.data()[i];
                if (row == pad) continue;
                T* d = buf.data() + std::size_t(row) * D;
                const T* sg = g.data() + i * D;
                for (std::size_t j = 0; j < D; ++j) d[j] += sg[j];
            }
        });
    // replay: torch gives the padding row no gradient although the forward reads it, so the function
    // its backward differentiates holds that row constant, at its value now
    std::vector<double> pad_row;
    if (pad >= 0 && is_check_graph_enabled()) pad_row.assign(pw + std::size_t(pad) * D, pw + (std::size_t(pad) + 1) * D);
    TAPEGRAD_REPLAY(out, embedding(input, with_row(in[0], pad, pad_row), padding_idx));
    return out;
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                   \
    template Tensor<T> embedding(const xt::xarray<std::int64_t>&, const Tensor<T>&, std::optional<std::int64_t>); \
    template Tensor<T> embedding_bag(const xt::xarray<std::int64_t>&, const Tensor<T>&,                          \
                                     const std::optional<xt::xarray<std::int64_t>>&, EmbeddingBagMode, bool,     \
                                     const Tensor<T>&, bool, std::optional<std::int64_t>);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
