#pragma once
// What a training program shows and writes: a progress bar, a confusion matrix, per-epoch
// metrics as JSON lines, and an SVG plot of the curves. Files are written atomically.
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace train {

// A one-line progress bar redrawn in place on a terminal: batches done, running loss, samples/s,
// ETA. When the stream is not a terminal (or quiet) it draws nothing.
class ProgressBar {
public:
    ProgressBar(std::ostream& os, std::size_t total, bool enabled, const std::string& label = "");
    void update(std::size_t done, double running_loss, std::size_t samples);
    void finish();  // clears the line

private:
    std::ostream& os_;
    std::size_t total_;
    bool enabled_;
    std::string label_;
    std::chrono::steady_clock::time_point start_, last_draw_;
};
// True when standard output is a terminal.
bool stdout_is_terminal();

// ---- metrics usable from any program ----
// The fraction of positions where the prediction equals the target ((preds == target).mean()).
// predictions and targets have the same shape; NaN when they are empty (torch's mean of nothing).
// ShapeError on a shape mismatch.
double accuracy(const xt::xarray<std::int64_t>& predictions, const xt::xarray<std::int64_t>& targets);
// From logits (or probabilities): input (N, C) or (N, C, d1, …) against targets (N) / (N, d1, …),
// or (C) against a 0-d target, as cross_entropy takes them; the prediction is argmax over the class
// dimension (the first maximum on ties, a NaN counting as the maximum — tapegrad's argmax, as torch's).
template <class T> double accuracy(const Tensor<T>& logits, const xt::xarray<std::int64_t>& targets);
template <class T> double accuracy(const xt::xarray<T>& logits, const xt::xarray<std::int64_t>& targets);
// The predicted classes of logits shaped as above (argmax over the class dimension).
template <class T> xt::xarray<std::int64_t> predictions_of(const Tensor<T>& logits);

class ConfusionMatrix {
public:
    explicit ConfusionMatrix(std::vector<std::string> class_names);
    // Classes named "0", "1", …, "num_classes − 1".
    explicit ConfusionMatrix(std::size_t num_classes);
    // One sample: note the order (target, predicted), as sklearn's confusion_matrix(y_true, y_pred).
    void add(std::int64_t target, std::int64_t predicted);
    // A batch, in torchmetrics' order (preds, target) — the same order as accuracy(): predicted
    // classes of the targets' shape, or logits as accuracy() takes them. All-or-nothing: when a
    // class is out of range (IndexError) or the shapes differ (ShapeError), nothing is counted.
    void update(const xt::xarray<std::int64_t>& predictions, const xt::xarray<std::int64_t>& targets);
    template <class T> void update(const Tensor<T>& logits, const xt::xarray<std::int64_t>& targets);
    // A matrix filled from one batch of predictions (preds, target order, as update).
    static ConfusionMatrix from_predictions(const xt::xarray<std::int64_t>& predictions,
                                            const xt::xarray<std::int64_t>& targets, std::vector<std::string> class_names);
    std::size_t num_classes() const { return k_; }
    const std::vector<std::string>& class_names() const { return names_; }
    std::size_t count(std::size_t target, std::size_t predicted) const;  // IndexError when out of range
    double accuracy() const;
    double class_accuracy(std::size_t c) const;  // recall of class c
    double precision(std::size_t c) const;
    double recall(std::size_t c) const { return class_accuracy(c); }
    double f1(std::size_t c) const;
    std::size_t total() const;
    // Rows = true class, columns = predicted, with names and per-class accuracy.
    void print(std::ostream& os) const;

private:
    void check_class(const char* fn, std::size_t c) const;
    std::vector<std::string> names_;
    std::size_t k_;
    std::vector<std::size_t> m_;
};

// Per-epoch history: name → one value per epoch ("train_loss", "test_loss", "test_accuracy", …).
using History = std::map<std::string, std::vector<double>>;

// One JSON object per line per epoch, keys sorted plus "epoch" (1-based), written atomically.
void write_metrics_jsonl(const std::string& path, const History& h);
// An SVG with two panels: losses (every key ending in "_loss") and accuracies (every key ending
// in "accuracy") against the epoch; viewable in a browser. Written atomically.
void write_svg_plot(const std::string& path, const History& h, const std::string& title);

}  // namespace train
}  // namespace tapegrad
