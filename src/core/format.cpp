// detail::py_float: a double as Python's repr prints it (see format.hpp).
#include "tapegrad/core/format.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace tapegrad {
namespace detail {
std::string py_float(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    if (x == 0) return std::signbit(x) ? "-0.0" : "0.0";
    // the shortest digits that read back as x, placed as Python's repr places them: positional for
    // exponents -4 … 15, scientific ("1e-08", "1.5e+16") otherwise
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
    std::string sci(buf, r.ptr);
    const auto e = sci.find('e');
    std::string mant = sci.substr(0, e);
    const int exp10 = std::stoi(sci.substr(e + 1));
    std::string sign;
    if (mant[0] == '-') sign = "-", mant = mant.substr(1);
    std::string digits;
    for (char c : mant)
        if (c != '.') digits += c;
    if (exp10 < -4 || exp10 >= 16) {
        std::string m = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
        char eb[16];
        std::snprintf(eb, sizeof eb, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
        return sign + m + eb;
    }
    std::string out;
    if (exp10 < 0) {
        out = "0." + std::string(std::size_t(-exp10 - 1), '0') + digits;
    } else {
        const std::size_t point = std::size_t(exp10) + 1;
        if (digits.size() <= point)
            out = digits + std::string(point - digits.size(), '0') + ".0";
        else
            out = digits.substr(0, point) + "." + digits.substr(point);
    }
    return sign + out;
}
std::string cpp_float(double x) {
    std::ostringstream os;
    os << x;
    return os.str();
}
}  // namespace detail
}  // namespace tapegrad
