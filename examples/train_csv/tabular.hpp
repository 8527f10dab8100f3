#pragma once
// From a CSV table to the numbers an MLP eats, as scikit-learn's ColumnTransformer of a
// StandardScaler and a OneHotEncoder after SimpleImputers would do it, fitted on the training rows
// only:
//   numeric column  missing values → the training mean; then (x − mean) / std (std of the training
//                   rows, population form as StandardScaler; a constant column gets std 1)
//   text column     missing values → the most frequent training value; then one-hot over the
//                   training values seen at least min_count times, the rarer ones (and any value
//                   first seen after training) pooled into one "(other)" column
// The encoder is saved in the model's checkpoint (to_json / from_json), so --predict needs nothing
// but the model file.
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tapegrad/tapegrad.hpp>

namespace train_csv {

struct Feature {
    std::string column;
    bool numeric = true;
    double mean = 0, std = 1;                // numeric
    std::vector<std::string> categories;     // text: one-hot columns, in this order
    bool other = false;                      // text: an "(other)" column follows them
    std::string fill;                        // text: the value a missing field takes
    std::size_t width() const { return numeric ? 1 : categories.size() + (other ? 1 : 0); }
};

class Encoder {
public:
    // Fits on the rows `train` of the table, every column but `label` and those in `drop` (each of
    // which must exist: ValueError naming the columns there are). ValueError when no feature is left.
    static Encoder fit(const tapegrad::data::CsvTable& table, const std::string& label,
                       const std::vector<std::string>& drop, const std::vector<std::size_t>& train,
                       std::size_t min_count);

    // The feature matrix (rows.size(), width()) of the given rows. Every feature column must be in
    // the table (ValueError naming the one that is not); a numeric feature given text in a table
    // to predict is an error too. missing_counts (if given) gets, per feature, how many of these
    // rows had it missing.
    xt::xarray<float> transform(const tapegrad::data::CsvTable& table, const std::vector<std::size_t>& rows,
                                std::vector<std::size_t>* missing_counts = nullptr) const;

    std::size_t width() const;
    const std::vector<Feature>& features() const { return features_; }
    // "4 numeric, 2 text columns (one-hot into 9): 13 inputs"
    std::string summary() const;

    nlohmann::json to_json() const;
    // ValueError when j is not what to_json wrote.
    static Encoder from_json(const nlohmann::json& j);

private:
    std::vector<Feature> features_;
};

// The rows of a table cut into a training and a test part.
struct Split {
    std::vector<std::size_t> train, test;  // row numbers (0-based data rows), each part in file order
};
// A seeded shuffle of rows 0..n−1: the first ceil(n·test_fraction) go to test (as scikit-learn's
// train_test_split rounds), the rest to train. ValueError when either part would be empty.
Split split_rows(std::size_t n, double test_fraction, std::uint64_t seed);
// {"train": [...], "test": [...]} to path, atomically (for tools/sklearn_tables.py baseline).
void write_split(const std::string& path, const Split& split);

// y[rows]
xt::xarray<std::int64_t> take(const xt::xarray<std::int64_t>& y, const std::vector<std::size_t>& rows);

// "missing values filled in: age 12 (train 9, test 3), …" — or nothing when there were none.
void print_missing(const Encoder& e, const std::vector<std::size_t>& train, const std::vector<std::size_t>& test,
                   std::ostream& out);

}  // namespace train_csv
