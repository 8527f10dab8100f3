#pragma once
// What the spam filter says about its data and itself: test-set evaluation, each prediction's
// probability and log-odds, the features that separate the classes, the end-of-run report, and
// --predict on email files.
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/train/report.hpp>

#include "model.hpp"

namespace spam_filter {

struct EvalResult {
    double loss = 0, accuracy = 0;
};

// Misclassified documents: index into the dataset and the document's logits.
using Mistakes = std::vector<std::pair<std::size_t, std::vector<double>>>;

// Mean cross-entropy and accuracy of the model on d (no tape); fills the confusion matrix and the
// list of mistakes when given.
EvalResult evaluate(FastText& model, const Dataset& d, tapegrad::train::ConfusionMatrix* cm,
                    Mistakes* mistakes = nullptr);

// The log-odds of class k against the others, ln p_k − ln(1 − p_k), from one row of logits: in
// double, as logit_k − logsumexp of the other logits, so it stays exact where p_k rounds to 1.
double log_odds(const std::vector<double>& logits, std::size_t k);

// The probability sigmoid(lo) of a log-odds, with as many digits as it takes to tell it from 1
// (or 0): 0.9800, 0.999987, and past six nines "1 - 3.2e-09" (1 − p itself is computed as
// sigmoid(−lo), never by subtraction, so it keeps its precision).
std::string format_probability(double lo);

// "spam (p=0.999987, log-odds +11.26)": the class with the largest logit, its probability and
// log-odds against the others.
std::string describe_prediction(const std::vector<double>& logits, const std::vector<std::string>& class_names);

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
std::vector<std::vector<FeatureScore>> feature_scores(FastText& model, const Corpus& c, std::size_t top,
                                                      std::vector<double>* gaps = nullptr);
// The table of feature_scores, class by class.
void print_top_features(FastText& model, const Corpus& c, std::size_t top, std::ostream& out);

// The end of a run: the confusion matrix on the test set, spam's precision, recall and F1, the
// final accuracy, the first `show_mistakes` misclassified emails as --predict would describe them,
// and the top features of each class.
void print_final_report(FastText& model, const Corpus& c, std::size_t show_mistakes, std::size_t top_features,
                        std::ostream& out);

// --predict: loads a model saved by the trainer (--save) and prints, for each email file, its
// class, probability and log-odds (describe_prediction). Each file is read as the trainer reads the
// corpus (read_document: at most 1 MiB, longer ones truncated with a warning); a file that cannot
// be read, is not a regular file, is empty or is binary is reported on err and counted. Returns 0,
// or 2 when the model cannot be used or any file was refused (the others are still classified).
int predict(const std::string& model_path, const std::vector<std::string>& files,
            const std::vector<std::string>& class_names, std::ostream& out, std::ostream& err);

}  // namespace spam_filter
