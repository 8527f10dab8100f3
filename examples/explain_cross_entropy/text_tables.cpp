// How the explainer prints numbers (see text_tables.hpp).
#include "text_tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iomanip>

#include <tapegrad/tapegrad.hpp>

namespace explain_ce {

using Json = nlohmann::json;

// ---------------------------------------------------------------- numbers

// 10 decimals, as the lesson prints them; nan/inf/-inf spelled out; no "-0.0000000000".
std::string num(double v, int decimals) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) v = 0;  // drops the sign of -0
    char buf[64];
    std::snprintf(buf, sizeof buf, std::abs(v) >= 1e12 ? "%.*e" : "%.*f", decimals, v);
    if (buf[0] == '-' && std::strspn(buf + 1, "0.") == std::strlen(buf + 1)) return buf + 1;  // a tiny negative: "0.0000000000"
    return buf;
}

// A non-finite number as "nan" / "inf" / "-inf", a finite one as itself (dumped round-trip exact).
Json json_number(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    return v;
}

namespace {
Json nested_at(const xt::xarray<double>& a, std::size_t depth, std::size_t offset) {
    if (depth == a.dimension()) return json_number(a.data()[offset]);
    std::size_t stride = 1;
    for (std::size_t d = depth + 1; d < a.dimension(); ++d) stride *= a.shape()[d];
    Json list = Json::array();
    for (std::size_t i = 0; i < a.shape()[depth]; ++i) list.push_back(nested_at(a, depth + 1, offset + i * stride));
    return list;
}
}  // namespace

Json nested_json(const xt::xarray<double>& a) { return nested_at(a, 0, 0); }

// ---------------------------------------------------------------- printing

void Table::add(const std::string& label, const std::vector<double>& v, const std::string& note) {
        Row r{label, {}, note};
        for (double x : v) r.cells.push_back(num(x));
        rows.push_back(std::move(r));
    }
void Table::add_text(const std::string& label, const std::vector<std::string>& cells, const std::string& note) {
    rows.push_back(Row{label, cells, note});
}

void Table::print(std::ostream& out, const std::string& indent) const {
    constexpr std::size_t kHead = 12, kTail = 6;
    if (rows.empty()) return;
    const std::size_t C = rows[0].cells.size();
    std::vector<std::size_t> shown;
    for (std::size_t c = 0; c < C; ++c)
        if (C <= kHead + kTail || c < kHead || c >= C - kTail) shown.push_back(c);
    std::size_t lw = 0, cw = 13;
    for (std::size_t c : shown)
        if (c < columns.size()) cw = std::max(cw, columns[c].size());
    for (const Row& r : rows) {
        lw = std::max(lw, r.label.size());
        for (std::size_t c : shown)
            if (c < r.cells.size()) cw = std::max(cw, r.cells[c].size());
    }
    cw += 2;
    const std::size_t per = std::max<std::size_t>(1, std::min<std::size_t>(6, (96 - lw) / cw));
    // chunks of `per` columns that never straddle the left-out classes
    std::vector<std::pair<std::size_t, std::size_t>> chunks;
    for (std::size_t i0 = 0; i0 < shown.size();) {
        std::size_t i1 = i0 + 1;
        while (i1 < shown.size() && i1 - i0 < per && shown[i1] == shown[i1 - 1] + 1) ++i1;
        chunks.emplace_back(i0, i1);
        i0 = i1;
    }
    for (auto [i0, i1] : chunks) {
        if (i0 > 0) out << "\n";
        if (i0 > 0 && shown[i0] != shown[i0 - 1] + 1)
            out << indent << "... " << shown[i0] - shown[i0 - 1] - 1
                << (columns.empty() ? " classes" : " columns")
                << " left out here (--json prints every number)\n\n";
        out << indent << std::string(lw, ' ');
        for (std::size_t i = i0; i < i1; ++i) out << std::setw(int(cw)) << (shown[i] < columns.size() ? columns[shown[i]] : "class " + std::to_string(shown[i]));
        out << "\n";
        for (const Row& r : rows) {
            out << indent << std::left << std::setw(int(lw)) << r.label << std::right;
            for (std::size_t i = i0; i < i1; ++i)
                out << std::setw(int(cw)) << (shown[i] < r.cells.size() ? r.cells[shown[i]] : "");
            if (i1 == shown.size() && !r.note.empty()) out << "   " << r.note;
            out << "\n";
        }
    }
    }


std::string short_num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

// A list of numbers; a long one keeps its first and last entries around "... (N more) ...".
std::string list_str(const std::vector<double>& v) {
    std::string s = "[";
    const std::size_t n = v.size(), head = 12, tail = 6;
    for (std::size_t i = 0; i < n; ++i) {
        if (n > head + tail && i == head) {
            s += ", ... (" + std::to_string(n - head - tail) + " more; --json prints every number)";
            i = n - tail - 1;
            continue;
        }
        s += (i ? ", " : "") + num(v[i]);
    }
    return s + "]";
}

// The array in full when small; a huge one by its size and range (the tables show its numbers).
std::string echo_array(const xt::xarray<double>& a, int precision) {
    if (a.size() <= 64) return tapegrad::format_array(a, precision);
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (double v : a) lo = std::min(lo, v), hi = std::max(hi, v);
    return "(" + std::to_string(a.size()) + " numbers from " + short_num(lo) + " to " + short_num(hi) +
           "; --json prints every number)";
}

std::string array_str(const xt::xarray<double>& a) {
    return a.dimension() == 0 ? num(a()) : echo_array(a, 10);
}

void heading(std::ostream& out, const std::string& title, char rule) {
    out << "\n" << title << "\n" << std::string(title.size(), rule) << "\n";
}

}  // namespace explain_ce
