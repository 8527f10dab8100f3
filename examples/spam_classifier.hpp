#pragma once
// The text classifier behind examples/train_spam_filter: a fastText-style model,
// EmbeddingBag(buckets, dim, sum, sparse) over tf-idf weights → Linear(dim, classes) →
// cross_entropy, on hashed unigrams and bigrams of emails (headers apart from the body, MIME
// decoded, HTML stripped). Kept in a header so the tests can run it on a toy corpus.
// The report explains it: the features that separate the classes (feature_scores), and each
// prediction's probability and log-odds with the digits it needs (describe_prediction).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "email.hpp"
#include "corpus.hpp"
#include <tapegrad/io/fnv.hpp>
#include <tapegrad/train/checkpoint.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/ops/loss.hpp>
#include <tapegrad/train/report.hpp>
#include <tapegrad/tapegrad.hpp>
#include <tapegrad/core/threads.hpp>

namespace spam_classifier {

struct Options {
    std::string data;  // corpus root (one folder per class part)
    int epochs = 10;
    std::size_t batch_size = 1;  // fastText's per-example updates
    double lr = 0.5;
    std::size_t dim = 64;
    std::size_t buckets = std::size_t(1) << 18;
    std::uint64_t seed = 0;
    int threads = 1;
    std::string metrics, save, resume, plot;
    int stop_after = 0;
    bool quiet = false;
    bool spamassassin = true;  // map easy-ham-*/hard-ham-* → ham, spam-* → spam
    std::size_t top_tokens = 20;
    std::size_t show_mistakes = 20;  // misclassified test emails listed at the end
};

// EmbeddingBag → Linear: logits (B, classes) for bags of hashed feature ids.
class FastText : public tapegrad::nn::Module<float> {
public:
    FastText(std::size_t buckets, std::size_t dim, std::size_t classes, tapegrad::Generator& gen) {
        using namespace tapegrad;
        embedding = register_module("embedding", std::make_shared<nn::EmbeddingBag<float>>(
                                                     buckets, dim, EmbeddingBagMode::Sum, /*sparse=*/true, std::nullopt, gen));
        // fastText starts its input vectors small: U(−1/dim, 1/dim) instead of torch's N(0, 1)
        nn::init::uniform_(embedding->weight, -1.0 / double(dim), 1.0 / double(dim), gen);
        fc = register_module("fc", std::make_shared<nn::Linear<float>>(dim, classes, true, gen));
        // the training corpus's idf per bucket: part of the model, so --predict weighs words alike
        idf = register_buffer("idf", tapegrad::ones<float>({buckets}));
    }
    using Module<float>::forward;
    tapegrad::Tensor<float> forward(const xt::xarray<std::int64_t>& ids, const xt::xarray<std::int64_t>& offsets,
                                    const xt::xarray<float>& weights) {
        return fc->forward(embedding->forward(ids, offsets, tapegrad::Tensor<float>(weights)));
    }
    std::string repr() const override { return "FastText"; }
    std::shared_ptr<tapegrad::nn::EmbeddingBag<float>> embedding;
    std::shared_ptr<tapegrad::nn::Linear<float>> fc;
    tapegrad::Tensor<float> idf;
};

struct Dataset {
    std::vector<std::vector<std::int64_t>> features;  // hashed ids per document
    std::vector<std::vector<float>> weights;          // tf-idf weight of each id (set_weights)
    std::vector<std::size_t> header_features;         // per document: its first n ids are the header field's
    std::vector<std::int64_t> labels;
    std::vector<std::string> paths;

    // Appends one email: its hashed features (hashed_features' order: subject, header names and
    // values, then the body), and where the header field ends.
    void add(const spam_filter::Email& e, std::size_t buckets, std::int64_t label, std::string path) {
        features.push_back(spam_filter::hashed_features(e, buckets));
        spam_filter::Email head = e;  // the same email without its body: the header field alone
        head.body.clear();
        header_features.push_back(spam_filter::hashed_features(head, buckets).size());
        labels.push_back(label);
        paths.push_back(std::move(path));
    }
};

struct Corpus {
    Dataset train, test;
    std::vector<std::string> class_names;
    std::unordered_map<std::int64_t, std::pair<std::string, std::size_t>> bucket_names;  // commonest string, its count
    std::size_t skipped = 0;
    std::vector<float> idf;  // per bucket, from the training documents
};

inline std::vector<float> compute_idf(const Dataset& train, std::size_t buckets);
inline void set_weights(Dataset& d, const std::vector<float>& idf);

inline Corpus featurize(const spam_filter::TextCorpus& tc, std::size_t buckets) {
    using namespace spam_filter;
    using tapegrad::io::fnv1a64;
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
        auto& slot = c.bucket_names[std::int64_t(fnv1a64(str) % buckets)];
        if (n > slot.second) slot = {str, n};
    }
    c.idf = compute_idf(c.train, buckets);
    set_weights(c.train, c.idf);
    set_weights(c.test, c.idf);
    return c;
}

// idf(b) = ln((1 + N) / (1 + df(b))) + 1 over the training documents (sklearn's smooth idf).
inline std::vector<float> compute_idf(const Dataset& train, std::size_t buckets) {
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

// Sublinear term frequency, as sklearn's TfidfVectorizer(sublinear_tf=True): a word said 20 times
// weighs 1 + ln 20 ≈ 4 times one said once, not 20 times, so long repetitive emails (newsletters,
// quoted threads) are not summed up by their few commonest words.
inline double sublinear_tf(double tf) { return tf > 0 ? 1.0 + std::log(tf) : 0.0; }

// An email is two fields, as in sklearn's ColumnTransformer of two TfidfVectorizers: the header
// field (subject, header names and values) and the body. In each field a bucket b that occurs tf
// times has the tf-idf value x_b = (1 + ln tf)·idf(b), and each field's vector x is L2-normalised
// on its own, so a long body does not drown the headers' evidence (which mailer, which relays,
// which list) nor a long header block a short body. Each of the tf occurrences carries
// x_b / (tf·‖x‖₂): a bag's sum is the two normalised tf-idf vectors times the embedding table.
// Documents without header_features (or past its end) are one field.
inline void set_weights(Dataset& d, const std::vector<float>& idf) {
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

// The bag of documents idx[lo, hi) as (ids, offsets).
inline void make_batch(const Dataset& d, const std::vector<std::size_t>& order, std::size_t lo, std::size_t hi,
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

struct EvalResult {
    double loss = 0, accuracy = 0;
};

// The log-odds of class k against the others, ln p_k − ln(1 − p_k), from one row of logits: in
// double, as logit_k − logsumexp of the other logits, so it stays exact where p_k rounds to 1.
inline double log_odds(const std::vector<double>& logits, std::size_t k) {
    double mx = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < logits.size(); ++j)
        if (j != k) mx = std::max(mx, logits[j]);
    if (!std::isfinite(mx)) return std::numeric_limits<double>::infinity();  // one class only
    double sum = 0;
    for (std::size_t j = 0; j < logits.size(); ++j)
        if (j != k) sum += std::exp(logits[j] - mx);
    return logits[k] - (mx + std::log(sum));
}

// The probability sigmoid(lo) of a log-odds, with as many digits as it takes to tell it from 1
// (or 0): 0.9800, 0.999987, and past six nines "1 - 3.2e-09" (1 − p itself is computed as
// sigmoid(−lo), never by subtraction, so it keeps its precision).
inline std::string format_probability(double lo) {
    if (std::isnan(lo)) return "nan";  // a diverged model
    if (std::isinf(lo)) return lo > 0 ? "1" : "0";
    std::ostringstream os;
    const double p = 1.0 / (1.0 + std::exp(-lo)), q = 1.0 / (1.0 + std::exp(lo));  // q = 1 − p
    if (q < 1e-6) {
        os << "1 - " << std::scientific << std::setprecision(1) << q;
    } else if (p < 1e-6) {
        os << std::scientific << std::setprecision(1) << p;
    } else {
        const double small = std::min(p, q);  // show it with two significant digits, at least 4 places
        const int places = std::max(4, int(std::ceil(-std::log10(small))) + 1);
        os << std::fixed << std::setprecision(places) << p;
    }
    return os.str();
}

// "spam (p=0.999987, log-odds +11.26)": the class with the largest logit, its probability and
// log-odds against the others.
inline std::string describe_prediction(const std::vector<double>& logits, const std::vector<std::string>& class_names) {
    const std::size_t k = std::size_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    const double lo = log_odds(logits, k);
    std::ostringstream os;
    os << class_names.at(k) << " (p=" << format_probability(lo) << ", log-odds " << std::showpos << std::fixed
       << std::setprecision(2) << lo << ")";
    return os.str();
}

// Misclassified documents: index into the dataset and the document's logits.
using Mistakes = std::vector<std::pair<std::size_t, std::vector<double>>>;

inline EvalResult evaluate(FastText& model, const Dataset& d, tapegrad::train::ConfusionMatrix* cm,
                           Mistakes* mistakes = nullptr) {
    using namespace tapegrad;
    NoGradGuard ng;
    std::vector<std::size_t> order(d.labels.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    xt::xarray<std::int64_t> ids, off, y;
    xt::xarray<float> w;
    double loss = 0;
    std::size_t correct = 0;
    for (std::size_t lo = 0; lo < order.size(); lo += 512) {
        const std::size_t hi = std::min(order.size(), lo + 512);
        make_batch(d, order, lo, hi, ids, off, y, w);
        auto logits = model.forward(ids, off, w);
        loss += double(cross_entropy(logits, y, Tensor<float>(), -100, Reduction::Sum).item());
        auto pred = argmax(logits, 1);
        const auto& lv = logits.value();
        for (std::size_t i = 0; i < y.size(); ++i) {
            correct += pred(i) == y(i);
            if (cm) cm->add(y(i), pred(i));
            if (mistakes && pred(i) != y(i)) {
                std::vector<double> row(lv.shape()[1]);
                for (std::size_t j = 0; j < row.size(); ++j) row[j] = double(lv(i, j));
                mistakes->emplace_back(lo + i, std::move(row));
            }
        }
    }
    const double n = double(std::max<std::size_t>(1, d.labels.size()));
    return {loss / n, double(correct) / n};
}

// How each bucket separates one class from the rest, from the model and the training documents.
//   v_c(b)   = (W_c − mean_{k≠c} W_k)·E_b: the log-odds of c against the others (for two classes,
//              spam − ham) added per unit of tf-idf weight of b;
//   m_c(b)   = the mean tf-idf weight of b over the training documents of class c (0 where absent),
//              m_¬c(b) the same over the documents of the other classes;
//   score    = v_c(b)·(m_c(b) − m_¬c(b)): b's share of the gap between the mean log-odds of the
//              documents of c and of the others. The scores of all buckets add up to that gap.
// A stop word ("the", "to") is in nearly every document of both classes with about the same
// weight, so m_c − m_¬c ≈ 0 and it scores ≈ 0 however large v_c is: only features that are both
// used by the model and more frequent in c than elsewhere rank high (and only those at least twice
// as frequent are listed, see below). push = v_c(b) times b's mean weight in the documents
// containing it: what b adds to the log-odds of a typical email with it.
struct FeatureScore {
    std::int64_t bucket = 0;
    double score = 0, push = 0;
    std::vector<std::size_t> docs;  // training documents of each class containing the bucket
};

// The top features of each class, best first. gaps (if given) receives, per class, the sum of the
// scores of all buckets: the gap they explain.
inline std::vector<std::vector<FeatureScore>> feature_scores(FastText& model, const Corpus& c, std::size_t top,
                                                             std::vector<double>* gaps = nullptr) {
    const auto& E = model.embedding->weight.value();
    const auto& W = model.fc->weight.value();
    const std::size_t K = W.shape()[0], D = W.shape()[1], B = E.shape()[0];
    // per class: summed weight and document count of each bucket over the training documents
    std::vector<std::vector<double>> wsum(K, std::vector<double>(B, 0.0));
    std::vector<std::vector<std::uint32_t>> df(K, std::vector<std::uint32_t>(B, 0));
    std::vector<std::size_t> n_docs(K, 0);
    std::vector<std::int64_t> uniq;
    for (std::size_t i = 0; i < c.train.features.size(); ++i) {
        const auto y = std::size_t(c.train.labels[i]);
        const auto& f = c.train.features[i];
        ++n_docs[y];
        for (std::size_t k = 0; k < f.size(); ++k) wsum[y][std::size_t(f[k])] += c.train.weights[i][k];
        uniq = f;
        std::sort(uniq.begin(), uniq.end());
        uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
        for (auto b : uniq) ++df[y][std::size_t(b)];
    }
    std::vector<std::vector<FeatureScore>> result(K);
    if (gaps) gaps->assign(K, 0.0);
    for (std::size_t cls = 0; cls < K && K > 1; ++cls) {
        std::vector<double> dir(D, 0.0);  // W_c − mean of the other rows
        for (std::size_t j = 0; j < D; ++j) {
            double others = 0;
            for (std::size_t k = 0; k < K; ++k)
                if (k != cls) others += W(k, j);
            dir[j] = W(cls, j) - others / double(K - 1);
        }
        const double n_c = double(std::max<std::size_t>(1, n_docs[cls]));
        const double n_rest = double(std::max<std::size_t>(1, c.train.features.size() - n_docs[cls]));
        std::vector<FeatureScore> scored;
        double total = 0;
        for (std::size_t b = 0; b < B; ++b) {
            double w_c = wsum[cls][b], w_all = 0;
            std::size_t d_all = 0;
            for (std::size_t k = 0; k < K; ++k) w_all += wsum[k][b], d_all += df[k][b];
            if (d_all == 0) continue;
            double v = 0;
            for (std::size_t j = 0; j < D; ++j) v += dir[j] * E(b, j);
            const double contrast = w_c / n_c - (w_all - w_c) / n_rest;
            total += v * contrast;
            // Listed as a feature of c: the model pushes it towards c, and it discriminates — the share
            // of c's training emails that contain it is at least twice that of the others' (so "you",
            // in 81% of spam and 54% of ham, is not listed; "your", 77% against 31%, is). Seen in 3+.
            const double rate_c = double(df[cls][b]) / n_c, rate_rest = double(d_all - df[cls][b]) / n_rest;
            if (v <= 0 || contrast <= 0 || rate_c < 2 * rate_rest || d_all < 3 ||
                !c.bucket_names.count(std::int64_t(b)))
                continue;
            FeatureScore fs;
            fs.bucket = std::int64_t(b);
            fs.score = v * contrast;
            fs.push = v * w_all / double(d_all);
            for (std::size_t k = 0; k < K; ++k) fs.docs.push_back(df[k][b]);
            scored.push_back(std::move(fs));
        }
        if (gaps) (*gaps)[cls] = total;
        const std::size_t n = std::min(top, scored.size());
        std::partial_sort(scored.begin(), scored.begin() + std::ptrdiff_t(n), scored.end(),
                          [](const auto& x, const auto& y) { return x.score > y.score; });
        scored.resize(n);
        result[cls] = std::move(scored);
    }
    return result;
}

inline void print_top_tokens(FastText& model, const Corpus& c, std::size_t top, std::ostream& out) {
    const std::size_t K = c.class_names.size();
    std::vector<double> gaps;
    const auto scores = feature_scores(model, c, top, &gaps);
    std::vector<std::size_t> n_docs(K, 0);
    for (auto y : c.train.labels) ++n_docs[std::size_t(y)];
    out << "Features (at least twice as frequent in the class's training emails as in the others'):\n"
           "  score  its share of the gap between the mean log-odds (class vs the rest) of the class's\n"
           "         training emails and of the others' (the gap is the sum over all features)\n"
           "  push   the log-odds it adds, on average, to a training email that contains it\n"
           "  then   how many training emails of each class contain it (of";
    for (std::size_t k = 0; k < K; ++k) out << (k ? ", " : " ") << n_docs[k] << " " << c.class_names[k];
    out << ")\n";
    for (std::size_t cls = 0; cls < K && K > 1; ++cls) {
        out << "features pushing hardest towards '" << c.class_names[cls] << "' (gap " << std::fixed
            << std::setprecision(2) << gaps[cls] << std::defaultfloat << "):\n";
        out << "      " << std::left << std::setw(34) << "feature" << std::right << std::setw(8) << "score" << std::setw(9)
            << "push";
        for (std::size_t k = 0; k < K; ++k) out << std::setw(std::max<int>(7, int(c.class_names[k].size()) + 1)) << c.class_names[k];
        out << "\n";
        for (std::size_t r = 0; r < scores[cls].size(); ++r) {
            const auto& fs = scores[cls][r];
            std::string name = c.bucket_names.at(fs.bucket).first;
            if (name.size() > 33) name = name.substr(0, 30) + "...";
            out << "  " << std::setw(2) << r + 1 << ". " << std::left << std::setw(34) << name << std::right << std::fixed
                << std::setprecision(3) << std::setw(8) << fs.score << std::showpos << std::setprecision(2)
                << std::setw(9) << fs.push << std::noshowpos << std::defaultfloat;
            for (std::size_t k = 0; k < K; ++k)
                out << std::setw(std::max<int>(7, int(c.class_names[k].size()) + 1)) << fs.docs[k];
            out << "\n";
        }
    }
}

inline int train(const Options& o, const Corpus& c, std::ostream& out, std::ostream& err) {
    using namespace tapegrad;
    using clock = std::chrono::steady_clock;
    try {
        if (o.epochs < 1) throw ValueError("--epochs must be at least 1");
        if (o.batch_size < 1) throw ValueError("--batch-size must be at least 1");
        if (o.dim < 1) throw ValueError("--dim must be at least 1");
        if (o.threads < 0) throw ValueError("--threads must be non-negative");
        if (o.stop_after < 0) throw ValueError("--stop-after must be non-negative");
        if (c.train.labels.empty())
            throw ValueError("no training documents: the corpus has none left after the split (" +
                             std::to_string(c.skipped) + " skipped)");
        if (o.threads > 0) set_num_threads(o.threads);
        const std::size_t K = c.class_names.size();
        Generator init(o.seed);
        FastText model(o.buckets, o.dim, K, init);
        if (c.idf.size() != o.buckets)
            throw ValueError("the corpus was featurised with " + std::to_string(c.idf.size()) + " buckets, not " +
                             std::to_string(o.buckets));
        std::copy(c.idf.begin(), c.idf.end(), model.idf.mutable_value().begin());
        optim::SGD<float> opt(model.parameters(), o.lr);
        Generator shuffle(o.seed + 1);
        train::History history;
        int start = 0;
        if (!o.resume.empty()) {
            train::TrainState st = train::load_checkpoint(o.resume, model, opt);
            if (st.epoch >= o.epochs)
                throw ValueError("--resume: '" + o.resume + "' has already completed " + std::to_string(st.epoch) +
                                 " of --epochs " + std::to_string(o.epochs));
            shuffle.set_state(st.rng_state);
            history = st.history;
            start = int(st.epoch);
            out << "resumed from " << o.resume << " after epoch " << start << "\n";
        }
        out << "model: EmbeddingBag(" << o.buckets << ", " << o.dim
            << ", mode='sum', sparse=True) over tf-idf weights (1 + ln tf; headers and body L2-normalised apart) -> Linear("
            << o.dim
            << ", " << K << ")  (" << (o.buckets * o.dim + o.dim * K + K) << " parameters)\n"
            << "train " << c.train.labels.size() << " emails, test " << c.test.labels.size() << " emails"
            << (c.skipped ? ", " + std::to_string(c.skipped) + " skipped" : "") << "\n";
        const bool bar = !o.quiet && train::stdout_is_terminal() && &out == &std::cout;
        const std::size_t N = c.train.labels.size();
        std::vector<std::size_t> order(N);
        xt::xarray<std::int64_t> ids, off, y;
        xt::xarray<float> w;
        const int last = o.stop_after > 0 ? std::min(o.epochs, o.stop_after) : o.epochs;
        const std::size_t batches = (N + o.batch_size - 1) / o.batch_size;
        for (int epoch = start + 1; epoch <= last; ++epoch) {
            const auto t0 = clock::now();
            std::iota(order.begin(), order.end(), std::size_t(0));
            for (std::size_t i = N; i > 1; --i) std::swap(order[i - 1], order[shuffle.randint(i)]);
            train::ProgressBar progress(out, batches, bar, "epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs));
            double loss_sum = 0;
            std::size_t seen = 0;
            for (std::size_t b = 0; b < batches; ++b) {
                // linear decay within the run, step by step, as fastText does
                const double frac = (double(epoch - 1) * double(batches) + double(b)) / (double(o.epochs) * double(batches));
                opt.param_groups()[0].lr = o.lr * (1.0 - frac);
                const std::size_t lo = b * o.batch_size, hi = std::min(N, lo + o.batch_size);
                make_batch(c.train, order, lo, hi, ids, off, y, w);
                opt.zero_grad(true);
                Tensor<float> loss = cross_entropy(model.forward(ids, off, w), y);
                const float lv = loss.item();
                if (!std::isfinite(lv)) {
                    progress.finish();
                    err << "error: the training loss became " << lv << " at epoch " << epoch << "; the learning rate ("
                        << o.lr << ") is probably too large: try a smaller --lr."
                        << (o.save.empty() ? "" : " The last good checkpoint is kept in " + o.save + ".") << "\n";
                    return 3;
                }
                loss.backward();
                opt.step();
                loss_sum += double(lv) * double(hi - lo);
                seen += hi - lo;
                progress.update(b + 1, loss_sum / double(seen), seen);
            }
            progress.finish();
            const EvalResult ev = evaluate(model, c.test, nullptr);
            const double secs = std::chrono::duration<double>(clock::now() - t0).count();
            history["train_loss"].push_back(loss_sum / double(std::max<std::size_t>(1, seen)));
            history["test_loss"].push_back(ev.loss);
            history["test_accuracy"].push_back(ev.accuracy);
            history["seconds"].push_back(secs);
            out << "epoch " << std::setw(2) << epoch << "/" << o.epochs << "  train_loss " << std::fixed
                << std::setprecision(4) << history["train_loss"].back() << "  test_loss " << ev.loss
                << "  test_accuracy " << ev.accuracy << "  " << std::setprecision(2) << secs << "s\n"
                << std::defaultfloat << std::flush;
            if (!o.metrics.empty()) train::write_metrics_jsonl(o.metrics, history);
            if (!o.plot.empty()) train::write_svg_plot(o.plot, history, "tapegrad fastText spam filter");
            if (!o.save.empty()) {
                train::TrainState st;
                st.epoch = epoch;
                st.rng_state = shuffle.state();
                st.history = history;
                train::save_checkpoint(o.save, model, opt, st);
            }
        }
        if (last < o.epochs) {
            out << "stopped after epoch " << last << " of " << o.epochs << " (--stop-after)"
                << (o.save.empty() ? "" : "; continue with --resume " + o.save) << "\n";
            return 0;
        }
        train::ConfusionMatrix cm(c.class_names);
        Mistakes mistakes;
        const EvalResult ev = evaluate(model, c.test, &cm, &mistakes);
        out << "\nconfusion matrix on the " << c.test.labels.size() << " test emails:\n";
        cm.print(out);
        const auto spam_it = std::find(c.class_names.begin(), c.class_names.end(), "spam");
        if (spam_it != c.class_names.end()) {
            const std::size_t s = std::size_t(spam_it - c.class_names.begin());
            out << std::fixed << std::setprecision(4) << "spam: precision " << cm.precision(s) << "  recall "
                << cm.recall(s) << "  F1 " << cm.f1(s) << std::defaultfloat << "\n";
        }
        out << "final test accuracy " << std::fixed << std::setprecision(4) << ev.accuracy << std::defaultfloat << "\n";
        if (!mistakes.empty()) {
            // what the model said about the emails it got wrong, as --predict would print it
            out << "misclassified test emails (" << mistakes.size() << "):\n";
            for (std::size_t m = 0; m < std::min<std::size_t>(mistakes.size(), o.show_mistakes); ++m)
                out << "  " << c.test.paths[mistakes[m].first] << ": "
                    << describe_prediction(mistakes[m].second, c.class_names) << ", truly "
                    << c.class_names[std::size_t(c.test.labels[mistakes[m].first])] << "\n";
            if (mistakes.size() > o.show_mistakes) out << "  ... and " << mistakes.size() - o.show_mistakes << " more\n";
        }
        out << "\n";
        print_top_tokens(model, c, o.top_tokens, out);
        if (!o.metrics.empty()) out << "metrics: " << o.metrics << "\n";
        if (!o.plot.empty()) out << "plot: " << o.plot << "\n";
        if (!o.save.empty()) out << "checkpoint: " << o.save << "\n";
        return 0;
    } catch (const tapegrad::Error& e) {
        err << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::bad_alloc&) {
        err << "error: out of memory (are --buckets or --dim too large?)\n";
        return 2;
    }
}

// Loads a model saved by train (--save) and prints each email's class, its probability and its
// log-odds (describe_prediction).
inline int predict(const std::string& model_path, const std::vector<std::string>& files,
                   const std::vector<std::string>& class_names, std::ostream& out, std::ostream& err) {
    using namespace tapegrad;
    try {
        // the shapes in the file tell the model's size
        std::size_t buckets = 0, dim = 0, classes = 0;
        for (const auto& [name, a] : io::load_npz(model_path)) {
            if (name == "embedding.weight" && a.shape.size() == 2) buckets = a.shape[0], dim = a.shape[1];
            if (name == "fc.weight" && a.shape.size() == 2) classes = a.shape[0];
        }
        if (!buckets || !classes)
            throw IOError("predict: '" + model_path + "' does not hold a spam model (embedding.weight, fc.weight)");
        if (classes != class_names.size())
            throw ValueError("predict: the model has " + std::to_string(classes) + " classes, but " +
                             std::to_string(class_names.size()) + " class names were given");
        Generator g(0);
        FastText model(buckets, dim, classes, g);
        train::load_model(model_path, model);
        NoGradGuard ng;
        int status = 0;
        for (const auto& f : files) {
            std::error_code ec;
            if (!std::filesystem::is_regular_file(f, ec)) {
                err << "error: cannot read '" << f << "': expected an email file, found "
                    << (std::filesystem::exists(f, ec) ? "a directory or special file" : "nothing") << "\n";
                status = 2;
                continue;
            }
            std::ifstream in(f, std::ios::binary);
            if (!in) {
                err << "error: cannot read '" << f << "'\n";
                status = 2;
                continue;
            }
            std::string raw((std::istreambuf_iterator<char>(in)), {});
            Dataset one;
            one.add(spam_filter::parse_email(raw), buckets, 0, f);
            const auto& idf_t = model.idf.value();
            set_weights(one, std::vector<float>(idf_t.begin(), idf_t.end()));
            xt::xarray<std::int64_t> x, off, y;
            xt::xarray<float> w;
            make_batch(one, {0}, 0, 1, x, off, y, w);
            const auto logits = model.forward(x, off, w).value();
            std::vector<double> row(classes);
            for (std::size_t j = 0; j < classes; ++j) row[j] = double(logits(0, j));
            out << f << ": " << describe_prediction(row, class_names) << "\n";
        }
        return status;
    } catch (const tapegrad::Error& e) {
        err << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::bad_alloc&) {
        err << "error: out of memory (are --buckets or --dim too large?)\n";
        return 2;
    }
}

}  // namespace spam_classifier
