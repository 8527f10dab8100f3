#pragma once
// How messages and reprs print numbers, so that they read as torch's do.
#include <string>

namespace tapegrad {
namespace detail {
// A double as Python's repr prints it ("1.0", "0.1", "1e-08", "1.5e+16", "nan", "-inf"): the
// shortest digits that read back as x, positional for decimal exponents −4 … 15. torch's error
// messages and its modules' extra_repr print hyper-parameters this way.
std::string py_float(double x);
// A double as C++'s ostream prints it ("0.1", "-1", "1e-05"): what torch's C++-side checks print.
std::string cpp_float(double x);
}  // namespace detail
}  // namespace tapegrad
