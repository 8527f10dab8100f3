// CSV reader: one pass splits the bytes into fields (unescaped into one arena), a second pass per
// column infers its type and converts. See csv.hpp for the format and the errors.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <locale.h>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "tapegrad/core/errors.hpp"
#include "tapegrad/data/csv.hpp"

namespace tapegrad {
namespace data {

const char* to_string(ColumnType t) { return t == ColumnType::Number ? "number" : "text"; }

CsvOptions::CsvOptions() : na_values_(default_na_values()) {}

const std::vector<std::string>& CsvOptions::default_na_values() {
    static const std::vector<std::string> v{"",     "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN",
                                            "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",    "NA",       "NULL",
                                            "NaN",  "None", "n/a",      "nan", "null"};
    return v;
}

std::size_t CsvColumn::missing_count() const { return static_cast<std::size_t>(std::count(missing.begin(), missing.end(), true)); }

namespace {

// What error messages call the input: 'x.csv'.
std::string squote(const std::string& s) { return "'" + s + "'"; }

// A printable rendering of one byte for messages.
std::string show_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", u);
    return buf;
}

// At most 40 bytes of a field, for messages.
std::string excerpt(std::string_view s) {
    std::string out(s.substr(0, 40));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return "'" + out + (s.size() > 40 ? "…'" : "'");
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

// Decimal number with optional surrounding spaces/tabs and sign; inf/infinity; nothing else.
bool parse_number(std::string_view s, double& out) {
    std::size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    if (b == e) return false;
    std::string_view t = s.substr(b, e - b);
    bool neg = false;
    if (t[0] == '+' || t[0] == '-') {
        neg = t[0] == '-';
        t.remove_prefix(1);
        if (t.empty() || t[0] == '+' || t[0] == '-') return false;
    }
    auto ieq = [](std::string_view a, const char* b) {
        const std::size_t n = std::strlen(b);
        if (a.size() != n) return false;
        for (std::size_t i = 0; i < n; ++i)
            if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
        return true;
    };
    if (ieq(t, "inf") || ieq(t, "infinity")) {
        out = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
        return true;
    }
    // digits, at most one '.', at least one digit, then an optional exponent with digits
    std::size_t i = 0, digits = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
    if (i < t.size() && t[i] == '.') {
        ++i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
    }
    if (digits == 0) return false;
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
        std::size_t ed = 0;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++ed;
        if (ed == 0) return false;
    }
    if (i != t.size()) return false;
    double v = 0;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v, std::chars_format::general);
    if (r.ec == std::errc::result_out_of_range) {
        // overflow → inf, underflow → 0 or a subnormal: strtod's answer, in the C locale whatever
        // the program's locale is (the syntax was checked above, so strtod reads all of it)
        static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", locale_t(0));
        const std::string copy(t);
        v = c_locale ? strtod_l(copy.c_str(), nullptr, c_locale) : std::strtod(copy.c_str(), nullptr);
    } else if (r.ec != std::errc() || r.ptr != t.data() + t.size()) {
        return false;
    }
    out = neg ? -v : v;
    return true;
}

struct Cell {
    std::size_t off, len;
};

class Parser {
public:
    Parser(std::string_view text, const CsvOptions& o, const std::string& fn, const std::string& name)
        : s_(text), o_(o), fn_(fn), name_(name) {}

    void run(std::vector<CsvColumn>& cols, std::vector<std::size_t>& row_lines);

private:
    [[noreturn]] void fail(std::size_t line, const std::string& column, const std::string& what) const {
        std::string m = fn_ + ": " + squote(name_);
        if (line) m += " line " + std::to_string(line);
        if (!column.empty()) m += std::string(line ? ", " : " ") + "column " + column;
        throw IOError(m + ": " + what);
    }
    std::string column_label(std::size_t c) const {
        if (c < names_.size()) return squote(names_[c]);
        return std::to_string(c + 1);
    }
    // Parses one record starting at pos_ into fields_ (cells in arena_); false at the end of input.
    bool record(std::size_t& start_line);

    std::string_view s_;
    const CsvOptions& o_;
    std::string fn_, name_;
    std::size_t pos_ = 0, line_ = 1;
    std::string arena_;
    std::vector<Cell> fields_;  // the current record's
    std::vector<std::string> names_;
};

bool Parser::record(std::size_t& start_line) {
    const char d = o_.delimiter();
    const std::size_t n = s_.size();
    // blank lines (outside quotes) are skipped
    while (pos_ < n && (s_[pos_] == '\n' || s_[pos_] == '\r')) {
        if (s_[pos_] == '\r' && pos_ + 1 < n && s_[pos_ + 1] == '\n') ++pos_;
        ++pos_;
        ++line_;
    }
    if (pos_ >= n) return false;
    start_line = line_;
    fields_.clear();
    for (;;) {
        const std::size_t c = fields_.size();
        Cell cell{arena_.size(), 0};
        if (pos_ < n && s_[pos_] == '"') {
            const std::size_t open_line = line_;
            ++pos_;
            for (;;) {
                if (pos_ >= n)
                    fail(open_line, column_label(c), "unterminated quoted field (the file ends inside it)");
                const char ch = s_[pos_];
                if (ch == '"') {
                    if (pos_ + 1 < n && s_[pos_ + 1] == '"') {
                        arena_ += '"';
                        pos_ += 2;
                        continue;
                    }
                    ++pos_;
                    break;
                }
                // a CR LF, lone CR or LF inside quotes is one line break of the file
                if (ch == '\n' || (ch == '\r' && !(pos_ + 1 < n && s_[pos_ + 1] == '\n'))) ++line_;
                // copy the run up to the next quote at once
                std::size_t e = pos_ + 1;
                while (e < n && s_[e] != '"' && s_[e] != '\n' && s_[e] != '\r') ++e;
                arena_.append(s_.data() + pos_, e - pos_);
                pos_ = e;
            }
            if (pos_ < n && s_[pos_] != d && s_[pos_] != '\n' && s_[pos_] != '\r')
                fail(line_, column_label(c), "unexpected character " + show_char(s_[pos_]) +
                                                 " after the closing quote (a quoted field must end at a delimiter or the end of the line)");
        } else {
            std::size_t e = pos_;
            while (e < n && s_[e] != d && s_[e] != '\n' && s_[e] != '\r') ++e;
            arena_.append(s_.data() + pos_, e - pos_);
            pos_ = e;
        }
        cell.len = arena_.size() - cell.off;
        fields_.push_back(cell);
        if (pos_ < n && s_[pos_] == d) {
            ++pos_;
            continue;
        }
        // end of record: a line ending or the end of input
        if (pos_ < n) {
            if (s_[pos_] == '\r' && pos_ + 1 < n && s_[pos_ + 1] == '\n') ++pos_;
            ++pos_;
            ++line_;
        }
        return true;
    }
}

void Parser::run(std::vector<CsvColumn>& cols, std::vector<std::size_t>& row_lines) {
    if (o_.delimiter() == '"' || o_.delimiter() == '\n' || o_.delimiter() == '\r')
        throw ValueError(fn_ + ": the delimiter cannot be " + show_char(o_.delimiter()));
    if (s_.size() > o_.max_bytes())
        fail(0, "", std::to_string(s_.size()) + " bytes is more than max_bytes (" + std::to_string(o_.max_bytes()) +
                        "); raise CsvOptions::max_bytes to read it");
    if (const void* z = std::memchr(s_.data(), 0, s_.size())) {
        const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(z) - s_.data());
        const std::size_t line = 1 + static_cast<std::size_t>(std::count(s_.begin(), s_.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
        fail(line, "", "a NUL byte at offset " + std::to_string(at) + ": this is a binary file, not CSV text");
    }
    if (s_.size() >= 3 && s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;

    std::size_t start = 0;
    if (!record(start)) fail(0, "", "empty file: No columns to parse from file");
    const std::size_t k = fields_.size();
    if (k > o_.max_cells())
        fail(start, "", std::to_string(k) + " columns is more than max_cells (" + std::to_string(o_.max_cells()) + ")");
    std::vector<Cell> cells;
    if (o_.header()) {
        std::unordered_map<std::string, std::size_t> seen;
        for (std::size_t c = 0; c < k; ++c) {
            std::string nm = arena_.substr(fields_[c].off, fields_[c].len);
            if (nm.empty()) nm = "Unnamed: " + std::to_string(c);  // pandas' name for a blank header
            auto [it, fresh] = seen.emplace(nm, c);
            if (!fresh)
                fail(start, "", "duplicate column name " + squote(nm) + " (columns " + std::to_string(it->second + 1) + " and " +
                                    std::to_string(c + 1) + ")");
            names_.push_back(std::move(nm));
        }
        arena_.clear();
    } else {
        for (std::size_t c = 0; c < k; ++c) names_.push_back(std::to_string(c));
        cells = fields_;
        row_lines.push_back(start);
    }
    while (record(start)) {
        if (fields_.size() != k) {
            const std::string col = fields_.size() < k ? column_label(fields_.size()) : "";
            fail(start, col, "expected " + std::to_string(k) + " fields, found " + std::to_string(fields_.size()));
        }
        if (cells.size() + k > o_.max_cells())
            fail(start, "", "more than max_cells (" + std::to_string(o_.max_cells()) +
                                ") fields in all; raise CsvOptions::max_cells to read it");
        cells.insert(cells.end(), fields_.begin(), fields_.end());
        row_lines.push_back(start);
    }

    const std::unordered_set<std::string_view> na(o_.na_values().begin(), o_.na_values().end());
    // most fields cannot be missing by their length alone: skip the hash for those
    std::vector<bool> na_len;
    for (const auto& v : o_.na_values()) {
        if (v.size() >= na_len.size()) na_len.resize(v.size() + 1, false);
        na_len[v.size()] = true;
    }
    auto is_na = [&](std::string_view v) { return v.size() < na_len.size() && na_len[v.size()] && na.count(v); };
    const std::size_t rows = row_lines.size();
    cols.resize(k);
    for (std::size_t c = 0; c < k; ++c) {
        CsvColumn& col = cols[c];
        col.name = names_[c];
        col.missing.assign(rows, false);
        col.numbers.assign(rows, std::numeric_limits<double>::quiet_NaN());
        bool numeric = true;
        for (std::size_t r = 0; r < rows; ++r) {
            const Cell& cell = cells[r * k + c];
            const std::string_view v(arena_.data() + cell.off, cell.len);
            if (is_na(v)) {
                col.missing[r] = true;
                continue;
            }
            if (numeric && !parse_number(v, col.numbers[r])) numeric = false;
        }
        if (!numeric) {
            col.type = ColumnType::String;
            col.numbers.clear();
            col.numbers.shrink_to_fit();
            col.strings.resize(rows);
            for (std::size_t r = 0; r < rows; ++r)
                if (!col.missing[r]) col.strings[r].assign(arena_.data() + cells[r * k + c].off, cells[r * k + c].len);
        }
    }
}

}  // namespace

CsvTable parse_csv(std::string_view text, const CsvOptions& options, const std::string& name) {
    CsvTable t;
    t.source_ = name;
    Parser(text, options, "read_csv", name).run(t.columns_, t.row_lines_);
    return t;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw IOError("read_csv: " + squote(path) + " is a directory, not a CSV file");
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > options.max_bytes())
        throw IOError("read_csv: " + squote(path) + " is " + std::to_string(size) + " bytes, more than max_bytes (" +
                      std::to_string(options.max_bytes()) + "); raise CsvOptions::max_bytes to read it");
    std::ifstream f(path, std::ios::binary);
    if (!f) throw IOError("read_csv: cannot open " + squote(path) + ": " + std::strerror(errno));
    // read in chunks up to max_bytes + 1 (pipes and special files have no size to trust)
    std::string text;
    char buf[1 << 16];
    while (f) {
        f.read(buf, sizeof buf);
        text.append(buf, static_cast<std::size_t>(f.gcount()));
        if (text.size() > options.max_bytes())
            throw IOError("read_csv: " + squote(path) + " is more than max_bytes (" + std::to_string(options.max_bytes()) +
                          ") bytes; raise CsvOptions::max_bytes to read it");
    }
    if (f.bad()) throw IOError("read_csv: cannot read " + squote(path));
    return parse_csv(text, options, path);
}

// ---- CsvTable ----

std::vector<std::string> CsvTable::column_names() const {
    std::vector<std::string> v;
    for (const auto& c : columns_) v.push_back(c.name);
    return v;
}

bool CsvTable::has_column(const std::string& name) const {
    return std::any_of(columns_.begin(), columns_.end(), [&](const CsvColumn& c) { return c.name == name; });
}

std::size_t CsvTable::column_index(const std::string& name) const {
    for (std::size_t i = 0; i < columns_.size(); ++i)
        if (columns_[i].name == name) return i;
    std::string have;
    for (std::size_t i = 0; i < columns_.size() && i < 20; ++i) have += (i ? ", '" : "'") + columns_[i].name + "'";
    if (columns_.size() > 20) have += ", …";
    throw ValueError("CsvTable: no column named '" + name + "' in " + squote(source_) + " (columns: " + have + ")");
}

const CsvColumn& CsvTable::column(const std::string& name) const { return columns_[column_index(name)]; }

const CsvColumn& CsvTable::column(std::size_t i) const {
    if (i >= columns_.size())
        throw IndexError("CsvTable::column: column " + std::to_string(i) + " out of range (" + std::to_string(columns_.size()) +
                         " columns)");
    return columns_[i];
}

std::size_t CsvTable::line_of_row(std::size_t r) const {
    if (r >= row_lines_.size())
        throw IndexError("CsvTable::line_of_row: row " + std::to_string(r) + " out of range (" + std::to_string(row_lines_.size()) +
                         " rows)");
    return row_lines_[r];
}

template <class T> xt::xarray<T> CsvTable::to_array(const std::vector<std::string>& names) const {
    std::vector<const CsvColumn*> cs;
    for (const auto& n : names) {
        const CsvColumn& c = column(n);
        if (c.type != ColumnType::Number) {
            std::size_t r = 0;
            while (r < c.size() && c.missing[r]) ++r;
            double ignored;
            while (r < c.size() && (c.missing[r] || parse_number(c.strings[r], ignored))) ++r;
            throw ValueError("CsvTable::to_array: column '" + n + "' of " + squote(source_) + " holds text, not numbers" +
                             (r < c.size() ? " (line " + std::to_string(row_lines_[r]) + ": " + excerpt(c.strings[r]) + ")" : ""));
        }
        for (std::size_t r = 0; r < c.size(); ++r)
            if (c.missing[r])
                throw ValueError("CsvTable::to_array: column '" + n + "' of " + squote(source_) + " has a missing value on line " +
                                 std::to_string(row_lines_[r]));
        cs.push_back(&c);
    }
    xt::xarray<T> a = xt::xarray<T>::from_shape({num_rows(), cs.size()});
    for (std::size_t r = 0; r < num_rows(); ++r)
        for (std::size_t j = 0; j < cs.size(); ++j) a(r, j) = static_cast<T>(cs[j]->numbers[r]);
    return a;
}

template <class T> xt::xarray<T> CsvTable::to_array_except(const std::vector<std::string>& except) const {
    for (const auto& e : except) column_index(e);  // a misspelt name is an error, not silently kept
    std::vector<std::string> names;
    for (const auto& c : columns_)
        if (c.type == ColumnType::Number && std::find(except.begin(), except.end(), c.name) == except.end()) names.push_back(c.name);
    return to_array<T>(names);
}

std::pair<xt::xarray<std::int64_t>, std::vector<std::string>> CsvTable::labels(const std::string& name) const {
    const CsvColumn& c = column(name);
    xt::xarray<std::int64_t> y = xt::xarray<std::int64_t>::from_shape({c.size()});
    for (std::size_t r = 0; r < c.size(); ++r)
        if (c.missing[r])
            throw ValueError("CsvTable::labels: column '" + name + "' of " + squote(source_) + " has a missing value on line " +
                             std::to_string(row_lines_[r]));
    std::vector<std::string> classes;
    if (c.type == ColumnType::String) {
        std::set<std::string> distinct(c.strings.begin(), c.strings.end());
        classes.assign(distinct.begin(), distinct.end());
        for (std::size_t r = 0; r < c.size(); ++r)
            y(r) = std::lower_bound(classes.begin(), classes.end(), c.strings[r]) - classes.begin();
        return {std::move(y), std::move(classes)};
    }
    std::int64_t top = -1;
    for (std::size_t r = 0; r < c.size(); ++r) {
        const double v = c.numbers[r];
        if (!(v >= 0 && v < 1e6 && v == std::floor(v)))
            throw ValueError("CsvTable::labels: column '" + name + "' of " + squote(source_) + " line " + std::to_string(row_lines_[r]) +
                             ": a class index must be an integer in [0, 1000000), got " + std::to_string(v));
        y(r) = static_cast<std::int64_t>(v);
        top = std::max(top, y(r));
    }
    for (std::int64_t i = 0; i <= top; ++i) classes.push_back(std::to_string(i));
    return {std::move(y), std::move(classes)};
}

template xt::xarray<float> CsvTable::to_array<float>(const std::vector<std::string>&) const;
template xt::xarray<double> CsvTable::to_array<double>(const std::vector<std::string>&) const;
template xt::xarray<float> CsvTable::to_array_except<float>(const std::vector<std::string>&) const;
template xt::xarray<double> CsvTable::to_array_except<double>(const std::vector<std::string>&) const;

}  // namespace data
}  // namespace tapegrad
