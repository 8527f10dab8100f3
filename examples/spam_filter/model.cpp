// The spam filter's data and model (see model.hpp).
#include "model.hpp"

#include <algorithm>
#include <cmath>

#include <tapegrad/io/fnv.hpp>

namespace spam_filter {
using namespace tapegrad;

FastText::FastText(std::size_t buckets, std::size_t dim, std::size_t classes, Generator& gen) {
    embedding = register_module("embedding", std::make_shared<nn::EmbeddingBag<float>>(
                                                 buckets, dim, EmbeddingBagMode::Sum, /*sparse=*/true, std::nullopt, gen));
    // fastText starts its input vectors small: U(−1/dim, 1/dim) instead of torch's N(0, 1)
    nn::init::uniform_(embedding->weight, -1.0 / double(dim), 1.0 / double(dim), gen);
    fc = register_module("fc", std::make_shared<nn::Linear<float>>(dim, classes, true, gen));
    // the training corpus's idf per bucket: part of the model, so --predict weighs words alike
    idf = register_buffer("idf", ones<float>({buckets}));
}

void Dataset::add(const Email& e, std::size_t buckets, std::int64_t label, std::string path) {
    features.push_back(hashed_features(e, buckets));
    Email head = e;  // the same email without its body: the header field alone
    head.body.clear();
    header_features.push_back(hashed_features(head, buckets).size());
    labels.push_back(label);
    paths.push_back(std::move(path));
}

Corpus featurize(const TextCorpus& tc, std::size_t buckets) {
    Corpus c;
    c.class_names = tc.class_names;
    c.skipped = tc.skipped;
    std::unordered_map<std::string, std::size_t> string_counts;
    for (std::size_t i = 0; i < tc.texts.size(); ++i) {
        const Email e = parse_email(tc.texts[i]);
        Dataset& d = tc.is_test[i] ? c.test : c.train;
        d.add(e, buckets, tc.labels[i], tc.paths[i]);
        if (!tc.is_test[i])  // names for the buckets, to explain the model afterwards
            for (auto& f : feature_strings(e)) ++string_counts[std::move(f)];
    }
    // each bucket is named by the most frequent feature that hashed into it
    for (const auto& [str, n] : string_counts) {
        auto& slot = c.bucket_names[std::int64_t(io::fnv1a64(str) % buckets)];
        if (n > slot.second) slot = {str, n};
    }
    c.idf = compute_idf(c.train, buckets);
    set_weights(c.train, c.idf);
    set_weights(c.test, c.idf);
    return c;
}

std::vector<float> compute_idf(const Dataset& train, std::size_t buckets) {
    std::vector<std::uint32_t> df(buckets, 0);
    std::vector<std::int64_t> uniq;
    for (const auto& f : train.features) {
        uniq = f;
        std::sort(uniq.begin(), uniq.end());
        uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
        for (auto b : uniq) ++df[std::size_t(b)];
    }
    std::vector<float> idf(buckets);
    const double n = double(train.features.size());
    for (std::size_t b = 0; b < buckets; ++b) idf[b] = float(std::log((1.0 + n) / (1.0 + df[b])) + 1.0);
    return idf;
}

double sublinear_tf(double tf) { return tf > 0 ? 1.0 + std::log(tf) : 0.0; }

void set_weights(Dataset& d, const std::vector<float>& idf) {
    d.weights.clear();
    std::unordered_map<std::int64_t, double> tf;
    for (std::size_t i = 0; i < d.features.size(); ++i) {
        const auto& f = d.features[i];
        std::vector<float> w(f.size());
        const std::size_t split = i < d.header_features.size() ? std::min(d.header_features[i], f.size()) : 0;
        for (const auto& [lo, hi] : {std::pair<std::size_t, std::size_t>{0, split}, {split, f.size()}}) {
            tf.clear();
            for (std::size_t k = lo; k < hi; ++k) tf[f[k]] += 1.0;
            double sq = 0;
            for (const auto& [b, t] : tf) {
                const double x = sublinear_tf(t) * idf[std::size_t(b)];
                sq += x * x;
            }
            const double inv = sq > 0 ? 1.0 / std::sqrt(sq) : 0.0;
            for (std::size_t k = lo; k < hi; ++k) {
                const double t = tf[f[k]];
                w[k] = float(sublinear_tf(t) / t * idf[std::size_t(f[k])] * inv);
            }
        }
        d.weights.push_back(std::move(w));
    }
}

void make_batch(const Dataset& d, const std::vector<std::size_t>& order, std::size_t lo, std::size_t hi,
                xt::xarray<std::int64_t>& ids, xt::xarray<std::int64_t>& offsets, xt::xarray<std::int64_t>& y,
                xt::xarray<float>& w) {
    std::size_t total = 0;
    for (std::size_t k = lo; k < hi; ++k) total += d.features[order[k]].size();
    ids.resize({total});
    w.resize({total});
    offsets.resize({hi - lo});
    y.resize({hi - lo});
    std::size_t pos = 0;
    for (std::size_t k = lo; k < hi; ++k) {
        const auto& f = d.features[order[k]];
        offsets(k - lo) = std::int64_t(pos);
        std::copy(f.begin(), f.end(), ids.begin() + std::ptrdiff_t(pos));
        std::copy(d.weights[order[k]].begin(), d.weights[order[k]].end(), w.begin() + std::ptrdiff_t(pos));
        pos += f.size();
        y(k - lo) = d.labels[order[k]];
    }
}

}  // namespace spam_filter
