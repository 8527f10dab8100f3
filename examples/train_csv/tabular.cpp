// From a CSV table to an MLP's inputs (see tabular.hpp).
#include "tabular.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <numeric>
#include <ostream>

#include <tapegrad/io/atomic_file.hpp>

namespace train_csv {
using tapegrad::ValueError;
using tapegrad::data::ColumnType;
using tapegrad::data::CsvTable;

namespace {
std::string shortest(double v) {
    char buf[64];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}
}  // namespace

Encoder Encoder::fit(const CsvTable& table, const std::string& label, const std::vector<std::string>& drop,
                     const std::vector<std::size_t>& train, std::size_t min_count) {
    table.column_index(label);  // ValueError naming the columns when it is not one
    for (const auto& d : drop) table.column_index(d);
    Encoder e;
    for (std::size_t c = 0; c < table.num_columns(); ++c) {
        const auto& col = table.column(c);
        if (col.name == label || std::find(drop.begin(), drop.end(), col.name) != drop.end()) continue;
        Feature f;
        f.column = col.name;
        f.numeric = col.type == ColumnType::Number;
        if (f.numeric) {
            double sum = 0, sq = 0;
            std::size_t n = 0;
            for (std::size_t r : train)
                if (!col.missing[r] && std::isfinite(col.numbers[r])) sum += col.numbers[r], ++n;
            f.mean = n ? sum / double(n) : 0.0;
            for (std::size_t r : train)
                if (!col.missing[r] && std::isfinite(col.numbers[r])) sq += (col.numbers[r] - f.mean) * (col.numbers[r] - f.mean);
            f.std = n ? std::sqrt(sq / double(n)) : 0.0;
            if (!(f.std > 0)) f.std = 1.0;  // a constant column: centred, not scaled (StandardScaler)
        } else {
            std::map<std::string, std::size_t> counts;
            for (std::size_t r : train)
                if (!col.missing[r]) ++counts[col.strings[r]];
            std::size_t best = 0;
            for (const auto& [v, n] : counts) {
                if (n > best) best = n, f.fill = v;  // the most frequent; ties: the first in byte order
                if (n >= min_count) f.categories.push_back(v);  // the rarer ones go to (other)
            }
            f.other = true;  // always: values first seen after training go there too
        }
        e.features_.push_back(std::move(f));
    }
    if (e.features_.empty())
        throw ValueError("train_csv: no feature column left (the table has only '" + label + "'" +
                         (drop.empty() ? std::string() : " and the dropped ones") + ")");
    return e;
}

xt::xarray<float> Encoder::transform(const CsvTable& table, const std::vector<std::size_t>& rows,
                                     std::vector<std::size_t>* missing_counts) const {
    xt::xarray<float> x = xt::zeros<float>({rows.size(), width()});
    if (missing_counts) missing_counts->assign(features_.size(), 0);
    std::size_t at = 0;
    for (std::size_t k = 0; k < features_.size(); ++k) {
        const Feature& f = features_[k];
        const auto& col = table.column(table.column_index(f.column));
        if (f.numeric && col.type != ColumnType::Number) {
            std::size_t r = 0;
            while (r < col.size() && col.missing[r]) ++r;
            throw ValueError("train_csv: column '" + f.column + "' was numeric in training, but line " +
                             std::to_string(table.line_of_row(r)) + " holds '" + col.strings[r] + "'");
        }
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const std::size_t r = rows[i];
            const bool missing = col.missing[r] || (f.numeric && col.type == ColumnType::Number && std::isnan(col.numbers[r]));
            if (missing && missing_counts) ++(*missing_counts)[k];
            if (f.numeric) {
                const double v = missing ? f.mean : col.type == ColumnType::Number ? col.numbers[r] : f.mean;
                x(i, at) = float((v - f.mean) / f.std);
            } else {
                // a numeric column where text was expected: its values as written are the categories
                const std::string v = missing ? f.fill
                                      : col.type == ColumnType::String ? col.strings[r]
                                                                       : shortest(col.numbers[r]);
                const auto it = std::lower_bound(f.categories.begin(), f.categories.end(), v);
                if (it != f.categories.end() && *it == v)
                    x(i, at + std::size_t(it - f.categories.begin())) = 1.0f;
                else
                    x(i, at + f.categories.size()) = 1.0f;  // (other)
            }
        }
        at += f.width();
    }
    return x;
}

std::size_t Encoder::width() const {
    std::size_t w = 0;
    for (const auto& f : features_) w += f.width();
    return w;
}

std::string Encoder::summary() const {
    std::size_t numeric = 0, text = 0, onehot = 0;
    for (const auto& f : features_) (f.numeric ? numeric : text) += 1, onehot += f.numeric ? 0 : f.width();
    std::string s = std::to_string(numeric) + " numeric";
    if (text) s += ", " + std::to_string(text) + " text column" + (text > 1 ? "s" : "") + " (one-hot into " + std::to_string(onehot) + ")";
    else s += " column" + std::string(numeric > 1 ? "s" : "");
    return s + ": " + std::to_string(width()) + " inputs";
}

nlohmann::json Encoder::to_json() const {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& f : features_) {
        if (f.numeric)
            j.push_back({{"column", f.column}, {"numeric", true}, {"mean", f.mean}, {"std", f.std}});
        else
            j.push_back({{"column", f.column}, {"numeric", false}, {"categories", f.categories}, {"other", f.other}, {"fill", f.fill}});
    }
    return j;
}

Encoder Encoder::from_json(const nlohmann::json& j) {
    Encoder e;
    try {
        if (!j.is_array() || j.empty()) throw ValueError("expected a non-empty list of features");
        for (const auto& fj : j) {
            Feature f;
            f.column = fj.at("column").get<std::string>();
            f.numeric = fj.at("numeric").get<bool>();
            if (f.numeric) {
                f.mean = fj.at("mean").get<double>();
                f.std = fj.at("std").get<double>();
                if (!std::isfinite(f.mean) || !(f.std > 0) || !std::isfinite(f.std))
                    throw ValueError("feature '" + f.column + "': mean and std must be finite, std > 0");
            } else {
                f.categories = fj.at("categories").get<std::vector<std::string>>();
                f.other = fj.at("other").get<bool>();
                f.fill = fj.at("fill").get<std::string>();
                if (!std::is_sorted(f.categories.begin(), f.categories.end()) || f.width() == 0)
                    throw ValueError("feature '" + f.column + "': categories must be sorted and not empty");
            }
            e.features_.push_back(std::move(f));
        }
    } catch (const nlohmann::json::exception& ex) {
        throw ValueError(std::string("train_csv: the model's encoder is malformed: ") + ex.what());
    } catch (const ValueError& ex) {
        throw ValueError(std::string("train_csv: the model's encoder is malformed: ") + ex.what());
    }
    return e;
}

Split split_rows(std::size_t n, double test_fraction, std::uint64_t seed) {
    const auto n_test = std::size_t(std::ceil(double(n) * test_fraction));
    if (n_test == 0 || n_test >= n)
        throw ValueError("train_csv: " + std::to_string(n) + " rows cannot be split with --test-fraction " +
                         std::to_string(test_fraction) + " into a training and a test part that are both non-empty");
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t(0));
    tapegrad::Generator gen(seed);
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[gen.randint(i)]);  // Fisher–Yates
    Split s;
    s.test.assign(order.begin(), order.begin() + std::ptrdiff_t(n_test));
    s.train.assign(order.begin() + std::ptrdiff_t(n_test), order.end());
    std::sort(s.test.begin(), s.test.end());
    std::sort(s.train.begin(), s.train.end());
    return s;
}

void write_split(const std::string& path, const Split& split) {
    tapegrad::io::write_file_atomically(path, nlohmann::json{{"train", split.train}, {"test", split.test}}.dump() + "\n");
}

xt::xarray<std::int64_t> take(const xt::xarray<std::int64_t>& y, const std::vector<std::size_t>& rows) {
    xt::xarray<std::int64_t> out = xt::xarray<std::int64_t>::from_shape({rows.size()});
    for (std::size_t i = 0; i < rows.size(); ++i) out(i) = y(rows[i]);
    return out;
}

void print_missing(const Encoder& e, const std::vector<std::size_t>& train, const std::vector<std::size_t>& test,
                   std::ostream& out) {
    std::string list;
    for (std::size_t k = 0; k < e.features().size(); ++k)
        if (train[k] + test[k] > 0)
            list += (list.empty() ? "" : ", ") + e.features()[k].column + " " + std::to_string(train[k] + test[k]) +
                    " (train " + std::to_string(train[k]) + ", test " + std::to_string(test[k]) + ")";
    if (!list.empty())
        out << "missing values filled in (numbers: the training mean; text: the commonest training value): " << list
            << "\n";
}

}  // namespace train_csv
