#pragma once
// A CSV reader for small tabular data sets (RFC 4180), with pandas.read_csv's defaults where they
// apply: a header line, ',' between fields, pandas' strings for missing values, one type per
// column inferred from its values (numbers, else text).
//
//   data::CsvTable t = data::read_csv("iris.csv");
//   xt::xarray<float> x = t.to_array<float>({"sepal_length", "sepal_width"});   // (rows, 2)
//   auto [y, classes] = t.labels("species");                                      // int64 (rows)
//
// The format read:
//   - fields separated by the delimiter; records end with LF, CRLF or a lone CR; the last record
//     may lack its line ending; a UTF-8 byte-order mark at the start is skipped;
//   - a field that starts with '"' is quoted: it may hold delimiters, CR and LF, and "" stands for
//     one '"'; after the closing quote only a delimiter or the end of the record may follow.
//     A '"' inside an unquoted field is an ordinary character (5'10" reads as itself);
//   - empty lines (outside quotes) are skipped, as pandas' skip_blank_lines;
//   - every record has exactly as many fields as the header (fewer or more is an error — pandas
//     errors on more and pads fewer with NaN; here both are refused so a shifted row cannot pass);
//   - missing values: a field equal to one of na_values (pandas' default list, "" included; quoted
//     or not). A number column holds NaN there, a text column "", and missing() says which.
//   - a column is numeric when every non-missing field is a decimal number (leading/trailing
//     spaces and tabs allowed, an optional sign, "inf"/"infinity" with any case; out-of-range
//     values become ±inf or 0 as strtod gives); otherwise it is a text column with the fields as
//     written. A column with no value at all is numeric (all NaN), as in pandas.
//
// Errors are IOError naming the file, the line and the column:
//   "read_csv: 'x.csv' line 7, column 'age': expected 5 fields, found 4"
//   "read_csv: 'x.csv' line 3, column 'name': unterminated quoted field (the file ends inside it)"
//   "read_csv: 'x.csv': empty file: No columns to parse from file"
//   "read_csv: 'x.csv' line 1: duplicate column name 'age' (columns 2 and 5)"
// Bounded: a file larger than max_bytes is refused before it is read, one holding a NUL byte is
// refused as binary, and more than max_cells fields in all is refused — memory stays within about
// (file size + 16 bytes per field) while reading. Any byte sequence is a table or an IOError:
// no crash, no undefined behaviour (fuzzed: tests/fuzz/fuzz_csv.cpp).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

namespace tapegrad {
namespace data {

enum class ColumnType { Number, String };
const char* to_string(ColumnType t);

// Options with chained setters, as libtorch's: read_csv(path, CsvOptions().delimiter(';')).
struct CsvOptions {
    CsvOptions();
    CsvOptions& delimiter(char v) { delimiter_ = v; return *this; }
    // false: there is no header line; columns are named "0", "1", … (pandas' header=None).
    CsvOptions& header(bool v) { header_ = v; return *this; }
    // The strings read as missing, replacing the default list (pandas' keep_default_na=False + na_values).
    CsvOptions& na_values(std::vector<std::string> v) { na_values_ = std::move(v); return *this; }
    CsvOptions& max_bytes(std::size_t v) { max_bytes_ = v; return *this; }
    CsvOptions& max_cells(std::size_t v) { max_cells_ = v; return *this; }

    char delimiter() const { return delimiter_; }
    bool header() const { return header_; }
    const std::vector<std::string>& na_values() const { return na_values_; }
    std::size_t max_bytes() const { return max_bytes_; }
    std::size_t max_cells() const { return max_cells_; }
    // pandas' default missing-value strings: "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN",
    // "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null".
    static const std::vector<std::string>& default_na_values();

private:
    char delimiter_ = ',';
    bool header_ = true;
    std::vector<std::string> na_values_;
    std::size_t max_bytes_ = std::size_t(1) << 30;  // 1 GiB
    std::size_t max_cells_ = std::size_t(1) << 27;  // 134 million fields
};

struct CsvColumn {
    std::string name;
    ColumnType type = ColumnType::Number;
    std::vector<double> numbers;       // ColumnType::Number: one per row, NaN where missing
    std::vector<std::string> strings;  // ColumnType::String: one per row, "" where missing
    std::vector<bool> missing;         // one per row
    std::size_t size() const { return missing.size(); }
    std::size_t missing_count() const;
};

class CsvTable {
public:
    std::size_t num_rows() const { return row_lines_.size(); }
    std::size_t num_columns() const { return columns_.size(); }
    std::vector<std::string> column_names() const;
    bool has_column(const std::string& name) const;
    // ValueError naming the columns there are when name is not one of them.
    std::size_t column_index(const std::string& name) const;
    const CsvColumn& column(const std::string& name) const;
    const CsvColumn& column(std::size_t i) const;  // IndexError when out of range
    // The line of the file on which data row r starts (1-based, the header being line 1).
    std::size_t line_of_row(std::size_t r) const;
    const std::string& source() const { return source_; }

    // The named numeric columns side by side: (num_rows, columns.size()). ValueError for a text
    // column or a missing value, naming the column and the line.
    template <class T> xt::xarray<T> to_array(const std::vector<std::string>& columns) const;
    // Every numeric column but those in except (e.g. the label), in file order.
    template <class T> xt::xarray<T> to_array_except(const std::vector<std::string>& except) const;
    // Class indices of one column (num_rows): a text column's distinct values sorted (byte order)
    // become 0, 1, …; a numeric column must hold non-negative integers, used as they are (names
    // "0" … "max"). ValueError on a missing value or, for numbers, one that is not an integer in
    // [0, 1000000).
    std::pair<xt::xarray<std::int64_t>, std::vector<std::string>> labels(const std::string& column) const;

private:
    friend CsvTable parse_csv(std::string_view, const CsvOptions&, const std::string&);
    std::string source_;
    std::vector<CsvColumn> columns_;
    std::vector<std::size_t> row_lines_;
};

// Reads a file (IOError when it cannot be opened or read, or is not a table as described above).
CsvTable read_csv(const std::string& path, const CsvOptions& options = CsvOptions());
// The same from text in memory; name is what error messages call it (read_csv passes the path).
CsvTable parse_csv(std::string_view text, const CsvOptions& options = CsvOptions(), const std::string& name = "<string>");

}  // namespace data
}  // namespace tapegrad
