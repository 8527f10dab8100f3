#pragma once
// The spam filter's data and model: emails turned into bags of hashed features with tf-idf weights
// (featurize), and the fastText-style classifier over them, EmbeddingBag(buckets, dim, sum,
// sparse) → Linear(dim, classes), whose logits go to cross_entropy.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "corpus.hpp"
#include "email.hpp"

namespace spam_filter {

// EmbeddingBag → Linear: logits (B, classes) for bags of hashed feature ids.
class FastText : public tapegrad::nn::Module<float> {
public:
    FastText(std::size_t buckets, std::size_t dim, std::size_t classes, tapegrad::Generator& gen);
    using Module<float>::forward;
    tapegrad::Tensor<float> forward(const xt::xarray<std::int64_t>& ids, const xt::xarray<std::int64_t>& offsets,
                                    const xt::xarray<float>& weights) {
        return fc->forward(embedding->forward(ids, offsets, tapegrad::Tensor<float>(weights)));
    }
    std::string repr() const override { return "FastText"; }
    std::shared_ptr<tapegrad::nn::EmbeddingBag<float>> embedding;
    std::shared_ptr<tapegrad::nn::Linear<float>> fc;
    tapegrad::Tensor<float> idf;  // a buffer: the training corpus's idf per bucket (see set_weights)
};

// Documents as bags of hashed features.
struct Dataset {
    std::vector<std::vector<std::int64_t>> features;  // hashed ids per document
    std::vector<std::vector<float>> weights;          // tf-idf weight of each id (set_weights)
    std::vector<std::size_t> header_features;         // per document: its first n ids are the header field's
    std::vector<std::int64_t> labels;
    std::vector<std::string> paths;

    // Appends one email: its hashed features (hashed_features' order: subject, header names and
    // values, then the body), and where the header field ends.
    void add(const Email& e, std::size_t buckets, std::int64_t label, std::string path);
};

struct Corpus {
    Dataset train, test;
    std::vector<std::string> class_names;
    std::unordered_map<std::int64_t, std::pair<std::string, std::size_t>> bucket_names;  // commonest string, its count
    std::size_t skipped = 0;
    std::vector<float> idf;  // per bucket, from the training documents
};

// Parses every email of the corpus, hashes its features into `buckets`, names the buckets (for the
// report) and sets the tf-idf weights with the training documents' idf.
Corpus featurize(const TextCorpus& tc, std::size_t buckets);

// idf(b) = ln((1 + N) / (1 + df(b))) + 1 over the training documents (sklearn's smooth idf).
std::vector<float> compute_idf(const Dataset& train, std::size_t buckets);

// Sublinear term frequency, as sklearn's TfidfVectorizer(sublinear_tf=True): a word said 20 times
// weighs 1 + ln 20 ≈ 4 times one said once, not 20 times, so long repetitive emails (newsletters,
// quoted threads) are not summed up by their few commonest words.
double sublinear_tf(double tf);

// An email is two fields, as in sklearn's ColumnTransformer of two TfidfVectorizers: the header
// field (subject, header names and values) and the body. In each field a bucket b that occurs tf
// times has the tf-idf value x_b = (1 + ln tf)·idf(b), and each field's vector x is L2-normalised
// on its own, so a long body does not drown the headers' evidence (which mailer, which relays,
// which list) nor a long header block a short body. Each of the tf occurrences carries
// x_b / (tf·‖x‖₂): a bag's sum is the two normalised tf-idf vectors times the embedding table.
// Documents without header_features (or past its end) are one field.
void set_weights(Dataset& d, const std::vector<float>& idf);

// The documents order[lo, hi) of d as one batch of bags: ids and weights concatenated, offsets
// where each bag starts, y the labels.
void make_batch(const Dataset& d, const std::vector<std::size_t>& order, std::size_t lo, std::size_t hi,
                xt::xarray<std::int64_t>& ids, xt::xarray<std::int64_t>& offsets, xt::xarray<std::int64_t>& y,
                xt::xarray<float>& w);

}  // namespace spam_filter
