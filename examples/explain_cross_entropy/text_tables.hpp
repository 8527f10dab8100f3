#pragma once
// How the explainer prints numbers: fixed decimals, tables of rows under column headings (classes
// or elements), abbreviated lists and arrays, headings, and JSON with non-finite numbers as strings.
// Shared by the cross-entropy lessons, the other losses and --compare.
#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xarray.hpp>

namespace explain_ce {

// 10 decimals, as the lessons print them; nan/inf/-inf spelled out; no "-0.0000000000".
std::string num(double v, int decimals = 10);
// %.6g
std::string short_num(double v);
// A list of numbers; a long one keeps its first and last entries around "... (N more) ...".
std::string list_str(const std::vector<double>& v);
// The array in full when small; a huge one by its size and range (the tables show its numbers).
std::string echo_array(const xt::xarray<double>& a, int precision);
// A 0-d array as its number, any other as echo_array with 10 decimals.
std::string array_str(const xt::xarray<double>& a);
void heading(std::ostream& out, const std::string& title, char rule = '-');

// A non-finite number as "nan" / "inf" / "-inf", a finite one as itself (dumped round-trip exact).
nlohmann::json json_number(double v);
nlohmann::json nested_json(const xt::xarray<double>& a);

// Rows of numbers under "class 0, class 1, ..." (or the given column names), right-aligned,
// wrapped 6 columns at a time; an optional note after each row. Huge column counts are
// abbreviated: the first 12 and the last 6, and a line saying how many are left out (--json
// prints every number), so the text stays readable and linear.
struct Table {
    struct Row {
        std::string label;
        std::vector<std::string> cells;
        std::string note;
    };
    std::vector<Row> rows;
    std::vector<std::string> columns;  // empty: "class 0", "class 1", ...
    void add(const std::string& label, const std::vector<double>& v, const std::string& note = "");
    void add_text(const std::string& label, const std::vector<std::string>& cells, const std::string& note = "");
    void print(std::ostream& out, const std::string& indent) const;
};

}  // namespace explain_ce
