// What the spam filter says about its data and itself (see report.hpp).
#include "report.hpp"
#include "training_run.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <numeric>
#include <sstream>

#include <tapegrad/io/npz.hpp>
#include <tapegrad/train/checkpoint.hpp>

namespace spam_filter {
using namespace tapegrad;

double log_odds(const std::vector<double>& logits, std::size_t k) {
    double mx = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < logits.size(); ++j)
        if (j != k) mx = std::max(mx, logits[j]);
    if (!std::isfinite(mx)) return std::numeric_limits<double>::infinity();  // one class only
    double sum = 0;
    for (std::size_t j = 0; j < logits.size(); ++j)
        if (j != k) sum += std::exp(logits[j] - mx);
    return logits[k] - (mx + std::log(sum));
}

std::string format_probability(double lo) {
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

std::string describe_prediction(const std::vector<double>& logits, const std::vector<std::string>& class_names) {
    const std::size_t k = std::size_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    const double lo = log_odds(logits, k);
    std::ostringstream os;
    os << class_names.at(k) << " (p=" << format_probability(lo) << ", log-odds " << std::showpos << std::fixed
       << std::setprecision(2) << lo << ")";
    return os.str();
}


EvalResult evaluate(FastText& model, const Dataset& d, tapegrad::train::ConfusionMatrix* cm,
                           Mistakes* mistakes) {
    NoGradGuard ng;
    // --distributed, without a list of mistakes to make: each rank takes its contiguous part of the
    // set and the sums are added up over the ranks (the final report, with its list, runs whole)
    const bool split = mistakes == nullptr && distributed::world_size() > 1;
    const std::size_t ranks = split ? std::size_t(distributed::world_size()) : 1, r = split ? std::size_t(distributed::rank()) : 0;
    std::vector<std::size_t> order(d.labels.size() * (r + 1) / ranks - d.labels.size() * r / ranks);
    std::iota(order.begin(), order.end(), d.labels.size() * r / ranks);
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
    if (split) examples::sum_over_ranks(loss, correct, cm);
    const double n = double(std::max<std::size_t>(1, d.labels.size()));
    return {loss / n, double(correct) / n};
}


std::vector<std::vector<FeatureScore>> feature_scores(FastText& model, const Corpus& c, std::size_t top,
                                                             std::vector<double>* gaps) {
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

void print_top_features(FastText& model, const Corpus& c, std::size_t top, std::ostream& out) {
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

void print_final_report(FastText& model, const Corpus& c, std::size_t show_mistakes, std::size_t top_features,
                        std::ostream& out) {
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
        for (std::size_t m = 0; m < std::min(mistakes.size(), show_mistakes); ++m)
            out << "  " << c.test.paths[mistakes[m].first] << ": "
                << describe_prediction(mistakes[m].second, c.class_names) << ", truly "
                << c.class_names[std::size_t(c.test.labels[mistakes[m].first])] << "\n";
        if (mistakes.size() > show_mistakes) out << "  ... and " << mistakes.size() - show_mistakes << " more\n";
    }
    out << "\n";
    print_top_features(model, c, top_features, out);
}

int predict(const std::string& model_path, const std::vector<std::string>& files,
            const std::vector<std::string>& class_names, std::ostream& out, std::ostream& err) {
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
            std::string raw, why;
            bool truncated = false;
            if (!read_document(f, kMaxDocumentBytes, raw, truncated, why)) {  // as training reads the corpus
                err << "error: cannot classify '" << f << "': " << why << "\n";
                status = 2;
                continue;
            }
            if (truncated)
                err << "warning: '" << f << "': longer than " << kMaxDocumentBytes
                    << " bytes; classified by its first " << kMaxDocumentBytes << " (as training reads emails)\n";
            Dataset one;
            one.add(parse_email(raw), buckets, 0, f);
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

}  // namespace spam_filter
