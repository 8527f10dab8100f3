// TensorDataset, Subset, random_split: in-memory data sets that own (share) their arrays.
#include <cmath>
#include <numeric>
#include <string>

#include "tapegrad/core/shape.hpp"
#include "tapegrad/data/dataset.hpp"

namespace tapegrad {
namespace data {

namespace detail {
void check_dataset_shapes(const char* fn, const std::vector<std::size_t>& inputs, const std::vector<std::size_t>& targets) {
    if (inputs.empty()) throw ShapeError(std::string(fn) + ": inputs must have a batch dimension, got a 0-d array");
    if (targets.size() != 1 || targets[0] != inputs[0])
        throw ShapeError(std::string(fn) + ": Size mismatch between tensors: inputs " + shape_str(Shape(inputs.begin(), inputs.end())) +
                         ", targets " + shape_str(Shape(targets.begin(), targets.end())));
}
}  // namespace detail

namespace {
template <class A> std::vector<std::size_t> shape_of(const A& a) { return std::vector<std::size_t>(a.shape().begin(), a.shape().end()); }
}  // namespace

template <class S>
TensorDataset<S>::TensorDataset(xt::xarray<S> inputs, xt::xarray<std::int64_t> targets)
    : TensorDataset(std::make_shared<const xt::xarray<S>>(std::move(inputs)),
                    std::make_shared<const xt::xarray<std::int64_t>>(std::move(targets))) {}

template <class S>
TensorDataset<S>::TensorDataset(std::shared_ptr<const xt::xarray<S>> inputs, std::shared_ptr<const xt::xarray<std::int64_t>> targets)
    : inputs_(std::move(inputs)), targets_(std::move(targets)) {
    if (!inputs_ || !targets_) throw ValueError("TensorDataset: null array pointer");
    detail::check_dataset_shapes("TensorDataset", shape_of(*inputs_), shape_of(*targets_));
    const std::size_t n = inputs_->shape()[0];
    row_ = n ? inputs_->size() / n : 1;
    if (n == 0)  // an empty data set still knows its row size
        for (std::size_t d = 1; d < inputs_->dimension(); ++d) row_ *= inputs_->shape()[d];
}

template <class S> std::pair<xt::xarray<S>, std::int64_t> TensorDataset<S>::operator[](std::size_t i) const {
    if (i >= size())
        throw IndexError("TensorDataset: index " + std::to_string(i) + " is out of bounds for a data set of size " + std::to_string(size()));
    std::vector<std::size_t> sh(inputs_->shape().begin() + 1, inputs_->shape().end());
    xt::xarray<S> x = xt::xarray<S>::from_shape(sh);
    std::copy(inputs_->data() + i * row_, inputs_->data() + (i + 1) * row_, x.data());
    return {std::move(x), targets_->data()[i]};
}

template <class S>
Subset<S>::Subset(TensorDataset<S> ds, std::vector<std::size_t> idx) : dataset(std::move(ds)), indices(std::move(idx)) {
    for (std::size_t k = 0; k < indices.size(); ++k)
        if (indices[k] >= dataset.size())
            throw IndexError("Subset: index " + std::to_string(indices[k]) + " (position " + std::to_string(k) +
                             ") is out of bounds for a data set of size " + std::to_string(dataset.size()));
}

template <class S> std::pair<xt::xarray<S>, std::int64_t> Subset<S>::operator[](std::size_t i) const {
    if (i >= indices.size())
        throw IndexError("Subset: index " + std::to_string(i) + " is out of bounds for a subset of size " + std::to_string(indices.size()));
    return dataset[indices[i]];
}

template <class S> TensorDataset<S> Subset<S>::materialize() const {
    const auto& in = dataset.inputs();
    std::vector<std::size_t> sh(in.shape().begin(), in.shape().end());
    sh[0] = indices.size();
    const std::size_t row = dataset.row_size();
    xt::xarray<S> x = xt::xarray<S>::from_shape(sh);
    xt::xarray<std::int64_t> y = xt::xarray<std::int64_t>::from_shape({indices.size()});
    for (std::size_t k = 0; k < indices.size(); ++k) {
        std::copy(in.data() + indices[k] * row, in.data() + (indices[k] + 1) * row, x.data() + k * row);
        y(k) = dataset.targets().data()[indices[k]];
    }
    return TensorDataset<S>(std::move(x), std::move(y));
}

std::vector<std::size_t> randperm(std::size_t n, Generator& gen) {
    std::vector<std::size_t> p(n);
    std::iota(p.begin(), p.end(), std::size_t(0));
    // Fisher–Yates from the back with an unbiased draw, as DataLoader shuffles
    for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[gen.randint(i)]);
    return p;
}

std::vector<std::size_t> random_split_lengths(std::size_t n, const std::vector<double>& lengths) {
    double total = 0;
    for (double l : lengths) total += l;
    // torch 1.13: math.isclose(sum, 1) (rel_tol=1e-9, abs_tol=0) and sum <= 1 — so [1, 0] is read as
    // fractions (all to split 0), and a sum a hair above 1 as counts (then refused)
    const bool fractions = std::fabs(total - 1.0) <= 1e-9 * std::max(std::fabs(total), 1.0) && total <= 1.0;
    std::vector<std::size_t> out;
    out.reserve(lengths.size());
    if (fractions) {
        std::size_t used = 0;
        for (std::size_t i = 0; i < lengths.size(); ++i) {
            const double f = lengths[i];
            if (!(f >= 0 && f <= 1))
                throw ValueError("random_split: Fraction at index " + std::to_string(i) + " is not between 0 and 1");
            const auto k = static_cast<std::size_t>(std::floor(double(n) * f));
            out.push_back(k);
            used += k;
        }
        if (used > n)  // cannot happen with a sum <= 1; kept so the loop below cannot run away
            throw ValueError("random_split: Sum of input lengths does not equal the length of the input dataset!");
        // the remainder, one by one, round-robin from split 0 (torch 1.13)
        for (std::size_t i = 0; used + i < n; ++i) out[i % out.size()] += 1;
        return out;
    }
    std::size_t sum = 0;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
        const double l = lengths[i];
        if (!(l >= 0) || l != std::floor(l) || l > 9.0e15)
            throw ValueError("random_split: length at index " + std::to_string(i) + " must be a non-negative integer or a fraction, got " +
                             std::to_string(l));
        out.push_back(static_cast<std::size_t>(l));
        sum += out.back();
    }
    if (sum != n)
        throw ValueError("random_split: Sum of input lengths does not equal the length of the input dataset! (lengths sum to " +
                         std::to_string(sum) + ", the data set has " + std::to_string(n) + ")");
    return out;
}

namespace {
template <class S>
std::vector<Subset<S>> split(const TensorDataset<S>& ds, const std::vector<std::size_t>* base, std::size_t n,
                             const std::vector<double>& lengths, Generator& gen) {
    if (lengths.empty()) throw ValueError("random_split: lengths must not be empty");
    const std::vector<std::size_t> len = random_split_lengths(n, lengths);  // validates before drawing
    const std::vector<std::size_t> perm = randperm(n, gen);
    std::vector<Subset<S>> out;
    std::size_t off = 0;
    for (std::size_t k : len) {
        std::vector<std::size_t> idx(perm.begin() + off, perm.begin() + off + k);
        if (base)
            for (auto& i : idx) i = (*base)[i];
        Subset<S> s;
        s.dataset = ds;
        s.indices = std::move(idx);
        out.push_back(std::move(s));
        off += k;
    }
    return out;
}
}  // namespace

template <class S>
std::vector<Subset<S>> random_split(const TensorDataset<S>& dataset, const std::vector<double>& lengths, Generator& gen) {
    return split(dataset, nullptr, dataset.size(), lengths, gen);
}
template <class S>
std::vector<Subset<S>> random_split(const Subset<S>& dataset, const std::vector<double>& lengths, Generator& gen) {
    return split(dataset.dataset, &dataset.indices, dataset.size(), lengths, gen);
}

#define TAPEGRAD_INSTANTIATE(S)                                                                                   \
    template class TensorDataset<S>;                                                                              \
    template struct Subset<S>;                                                                                    \
    template std::vector<Subset<S>> random_split(const TensorDataset<S>&, const std::vector<double>&, Generator&); \
    template std::vector<Subset<S>> random_split(const Subset<S>&, const std::vector<double>&, Generator&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
TAPEGRAD_INSTANTIATE(std::uint8_t)

}  // namespace data
}  // namespace tapegrad
