// Progress bar, confusion matrix, metrics and SVG plot.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "tapegrad/core/errors.hpp"
#include <nlohmann/json.hpp>

#include "tapegrad/core/shape.hpp"
#include "tapegrad/io/atomic_file.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/train/report.hpp"

namespace tapegrad {
namespace train {

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

ProgressBar::ProgressBar(std::ostream& os, std::size_t total, bool enabled, const std::string& label)
    : os_(os), total_(total), enabled_(enabled), label_(label), start_(std::chrono::steady_clock::now()), last_draw_() {}

void ProgressBar::update(std::size_t done, double running_loss, std::size_t samples) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    // redraw at most ~20 times a second, and always at the end
    if (done < total_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
    last_draw_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? double(samples) / secs : 0;
    const double eta = done ? secs * double(total_ - done) / double(done) : 0;
    const int width = 30;
    const int fill = total_ ? int(double(width) * double(done) / double(total_)) : width;
    std::ostringstream line;
    line << '\r' << label_ << " [" << std::string(std::size_t(fill), '=') << (fill < width ? ">" : "")
         << std::string(std::size_t(std::max(0, width - fill - 1)), ' ') << "] " << done << '/' << total_ << "  loss "
         << std::fixed << std::setprecision(4) << running_loss << "  " << std::setprecision(0) << rate
         << " samples/s  ETA " << std::setprecision(1) << eta << "s   ";
    os_ << line.str() << std::flush;
}

void ProgressBar::finish() {
    if (!enabled_) return;
    os_ << '\r' << std::string(100, ' ') << '\r' << std::flush;
}

ConfusionMatrix::ConfusionMatrix(std::vector<std::string> names) : names_(std::move(names)), k_(names_.size()), m_(k_ * k_, 0) {
    if (k_ == 0) throw ValueError("ConfusionMatrix: at least one class is needed");
}

void ConfusionMatrix::add(std::int64_t t, std::int64_t p) {
    if (t < 0 || p < 0 || std::size_t(t) >= k_ || std::size_t(p) >= k_)
        throw IndexError("ConfusionMatrix::add: class out of range (target " + std::to_string(t) + ", predicted " +
                         std::to_string(p) + ", " + std::to_string(k_) + " classes)");
    ++m_[std::size_t(t) * k_ + std::size_t(p)];
}

namespace {
std::vector<std::string> numbered(std::size_t k) {
    std::vector<std::string> v;
    for (std::size_t i = 0; i < k; ++i) v.push_back(std::to_string(i));
    return v;
}
void check_same_shape(const char* fn, const xt::xarray<std::int64_t>& p, const xt::xarray<std::int64_t>& t) {
    if (p.dimension() != t.dimension() || !std::equal(p.shape().begin(), p.shape().end(), t.shape().begin()))
        throw ShapeError(std::string(fn) + ": predictions " + shape_str_of(p.shape()) + " and targets " + shape_str_of(t.shape()) +
                         " must have the same shape");
}
}  // namespace

ConfusionMatrix::ConfusionMatrix(std::size_t num_classes) : ConfusionMatrix(numbered(num_classes)) {}

void ConfusionMatrix::update(const xt::xarray<std::int64_t>& p, const xt::xarray<std::int64_t>& t) {
    check_same_shape("ConfusionMatrix::update", p, t);
    const std::int64_t k = static_cast<std::int64_t>(k_);
    for (std::size_t i = 0; i < p.size(); ++i) {  // every pair checked before anything is counted
        const std::int64_t a = t.data()[i], b = p.data()[i];
        if (a < 0 || a >= k || b < 0 || b >= k)
            throw IndexError("ConfusionMatrix::update: class out of range at position " + std::to_string(i) + " (target " +
                             std::to_string(a) + ", predicted " + std::to_string(b) + "; " + std::to_string(k_) + " classes)");
    }
    for (std::size_t i = 0; i < p.size(); ++i) ++m_[std::size_t(t.data()[i]) * k_ + std::size_t(p.data()[i])];
}

template <class T> void ConfusionMatrix::update(const Tensor<T>& logits, const xt::xarray<std::int64_t>& targets) {
    update(predictions_of(logits), targets);
}

ConfusionMatrix ConfusionMatrix::from_predictions(const xt::xarray<std::int64_t>& predictions, const xt::xarray<std::int64_t>& targets,
                                                  std::vector<std::string> class_names) {
    ConfusionMatrix cm(std::move(class_names));
    cm.update(predictions, targets);
    return cm;
}

double accuracy(const xt::xarray<std::int64_t>& p, const xt::xarray<std::int64_t>& t) {
    check_same_shape("accuracy", p, t);
    if (p.size() == 0) return std::nan("");
    std::size_t hit = 0;
    for (std::size_t i = 0; i < p.size(); ++i) hit += p.data()[i] == t.data()[i];
    return double(hit) / double(p.size());
}

template <class T> xt::xarray<std::int64_t> predictions_of(const Tensor<T>& logits) {
    if (!logits.defined()) throw ValueError("accuracy: the logits tensor is undefined");
    if (logits.dim() == 0) throw ShapeError("accuracy: logits must have a class dimension, got a 0-d tensor");
    if (logits.size(logits.dim() == 1 ? 0 : 1) == 0)
        throw ShapeError("accuracy: logits " + shape_str(logits.shape()) + " have no classes to pick from");
    return argmax(logits, logits.dim() == 1 ? 0 : 1);
}

template <class T> double accuracy(const Tensor<T>& logits, const xt::xarray<std::int64_t>& targets) {
    const xt::xarray<std::int64_t> p = predictions_of(logits);
    if (p.dimension() != targets.dimension() || !std::equal(p.shape().begin(), p.shape().end(), targets.shape().begin()))
        throw ShapeError("accuracy: logits " + shape_str(logits.shape()) + " do not match targets " + shape_str_of(targets.shape()) +
                         " (expected (N, C, d1, …) against (N, d1, …), or (C) against ())");
    return accuracy(p, targets);
}
template <class T> double accuracy(const xt::xarray<T>& logits, const xt::xarray<std::int64_t>& targets) {
    NoGradGuard no_grad;
    return accuracy(Tensor<T>(logits), targets);
}

template double accuracy(const Tensor<float>&, const xt::xarray<std::int64_t>&);
template double accuracy(const Tensor<double>&, const xt::xarray<std::int64_t>&);
template double accuracy(const xt::xarray<float>&, const xt::xarray<std::int64_t>&);
template double accuracy(const xt::xarray<double>&, const xt::xarray<std::int64_t>&);
template xt::xarray<std::int64_t> predictions_of(const Tensor<float>&);
template xt::xarray<std::int64_t> predictions_of(const Tensor<double>&);
template void ConfusionMatrix::update(const Tensor<float>&, const xt::xarray<std::int64_t>&);
template void ConfusionMatrix::update(const Tensor<double>&, const xt::xarray<std::int64_t>&);

std::size_t ConfusionMatrix::total() const {
    std::size_t s = 0;
    for (auto v : m_) s += v;
    return s;
}
double ConfusionMatrix::accuracy() const {
    std::size_t c = 0;
    for (std::size_t i = 0; i < k_; ++i) c += m_[i * k_ + i];
    return total() ? double(c) / double(total()) : 0.0;
}
void ConfusionMatrix::check_class(const char* fn, std::size_t c) const {
    if (c >= k_)
        throw IndexError(std::string("ConfusionMatrix::") + fn + ": class " + std::to_string(c) + " out of range (" +
                         std::to_string(k_) + " classes)");
}
std::size_t ConfusionMatrix::count(std::size_t target, std::size_t predicted) const {
    check_class("count", target);
    check_class("count", predicted);
    return m_[target * k_ + predicted];
}
double ConfusionMatrix::class_accuracy(std::size_t c) const {
    check_class("class_accuracy", c);
    std::size_t row = 0;
    for (std::size_t j = 0; j < k_; ++j) row += m_[c * k_ + j];
    return row ? double(m_[c * k_ + c]) / double(row) : 0.0;
}
double ConfusionMatrix::precision(std::size_t c) const {
    check_class("precision", c);
    std::size_t col = 0;
    for (std::size_t i = 0; i < k_; ++i) col += m_[i * k_ + c];
    return col ? double(m_[c * k_ + c]) / double(col) : 0.0;
}
double ConfusionMatrix::f1(std::size_t c) const {
    const double p = precision(c), r = recall(c);
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

void ConfusionMatrix::print(std::ostream& os) const {
    std::size_t w = 4;
    for (auto& n : names_) w = std::max(w, n.size());
    std::size_t cw = 6;
    for (auto v : m_) cw = std::max(cw, std::to_string(v).size() + 1);
    os << std::string(w, ' ') << "   predicted →\n";
    os << "true ↓" << std::string(w > 6 ? w - 6 : 0, ' ') << "  ";  // the arrow is one column, three bytes
    for (std::size_t j = 0; j < k_; ++j) os << std::setw(int(cw)) << j;
    os << "   accuracy\n";
    for (std::size_t i = 0; i < k_; ++i) {
        os << std::left << std::setw(int(w)) << names_[i] << std::right << "  ";
        for (std::size_t j = 0; j < k_; ++j) os << std::setw(int(cw)) << m_[i * k_ + j];
        os << "   " << std::fixed << std::setprecision(4) << class_accuracy(i) << "  (" << i << ")\n";
    }
    os << "overall accuracy " << std::fixed << std::setprecision(4) << accuracy() << " (" << total() << " samples)\n";
}

namespace {
// JSON has no NaN or infinity: those are written as the strings "nan", "inf", "-inf".
nlohmann::ordered_json json_number(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    return v;
}
std::size_t epochs_of(const History& h) {
    std::size_t n = 0;
    for (auto& [k, v] : h) n = std::max(n, v.size());
    return n;
}
}  // namespace

void write_metrics_jsonl(const std::string& path, const History& h) {
    std::string text;
    for (std::size_t e = 0; e < epochs_of(h); ++e) {
        nlohmann::ordered_json line;
        line["epoch"] = e + 1;
        for (auto& [k, v] : h)
            if (e < v.size()) line[k] = json_number(v[e]);
        text += line.dump() + "\n";
    }
    io::write_file_atomically(path, text);
}

void write_svg_plot(const std::string& path, const History& h, const std::string& title) {
    const std::size_t n = epochs_of(h);
    const int W = 960, H = 430, panel_w = 400, panel_h = 280, top = 60;
    const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"};
    std::ostringstream os;
    os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
       << ' ' << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
       << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
       << "<text x=\"" << W / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">" << title << "</text>\n";
    auto panel = [&](int x0, const std::string& suffix, const std::string& ylabel) {
        std::vector<std::pair<std::string, const std::vector<double>*>> series;
        for (auto& [k, v] : h)
            if (k.size() >= suffix.size() && k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0)
                series.emplace_back(k, &v);
        double lo = INFINITY, hi = -INFINITY;
        for (auto& s : series)
            for (double v : *s.second)
                if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
        if (!(lo <= hi)) lo = 0, hi = 1;
        if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
        const double pad = 0.05 * (hi - lo);
        lo -= pad;
        hi += pad;
        auto X = [&](double e) { return x0 + (n > 1 ? (e - 1) / double(n - 1) : 0.5) * panel_w; };
        auto Y = [&](double v) { return top + panel_h - (v - lo) / (hi - lo) * panel_h; };
        os << "<rect x=\"" << x0 << "\" y=\"" << top << "\" width=\"" << panel_w << "\" height=\"" << panel_h
           << "\" fill=\"none\" stroke=\"#888\"/>\n";
        for (int t = 0; t <= 4; ++t) {
            double v = lo + (hi - lo) * t / 4.0;
            os << "<line x1=\"" << x0 << "\" x2=\"" << x0 + panel_w << "\" y1=\"" << Y(v) << "\" y2=\"" << Y(v)
               << "\" stroke=\"#eee\"/><text x=\"" << x0 - 6 << "\" y=\"" << Y(v) + 4 << "\" text-anchor=\"end\">"
               << std::setprecision(3) << v << "</text>\n";
        }
        for (std::size_t e = 1; e <= n; e += std::max<std::size_t>(1, n / 10))
            os << "<text x=\"" << X(double(e)) << "\" y=\"" << top + panel_h + 16 << "\" text-anchor=\"middle\">" << e
               << "</text>\n";
        os << "<text x=\"" << x0 + panel_w / 2 << "\" y=\"" << top + panel_h + 34 << "\" text-anchor=\"middle\">epoch</text>\n"
           << "<text x=\"" << x0 + panel_w / 2 << "\" y=\"" << top - 8 << "\" text-anchor=\"middle\">" << ylabel << "</text>\n";
        for (std::size_t s = 0; s < series.size(); ++s) {
            const auto& v = *series[s].second;
            const char* col = colors[s % 5];
            os << "<polyline fill=\"none\" stroke=\"" << col << "\" stroke-width=\"2\" points=\"";
            for (std::size_t e = 0; e < v.size(); ++e)
                if (std::isfinite(v[e])) os << X(double(e + 1)) << ',' << Y(v[e]) << ' ';
            os << "\"/>\n";
            for (std::size_t e = 0; e < v.size(); ++e)
                if (std::isfinite(v[e]))
                    os << "<circle cx=\"" << X(double(e + 1)) << "\" cy=\"" << Y(v[e]) << "\" r=\"3\" fill=\"" << col << "\"/>\n";
            // legend under the panel, so it never hides a curve
            const int ly = top + panel_h + 48 + 18 * int(s);
            os << "<rect x=\"" << x0 + 10 << "\" y=\"" << ly - 10 << "\" width=\"12\" height=\"12\" fill=\"" << col
               << "\"/><text x=\"" << x0 + 28 << "\" y=\"" << ly << "\">" << series[s].first;
            if (!v.empty()) os << " (last " << std::setprecision(4) << v.back() << ")";
            os << "</text>\n";
        }
    };
    panel(60, "_loss", "loss");
    panel(60 + panel_w + 60, "accuracy", "accuracy");
    os << "</svg>\n";
    io::write_file_atomically(path, os.str());
}

}  // namespace train
}  // namespace tapegrad
