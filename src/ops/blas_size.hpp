#pragma once
// BLAS takes sizes as `int` (OpenBLAS's LP64 interface): a count above INT_MAX cast to int wraps
// (negative, or small), and the call then does nothing or the wrong thing without a word. Every
// size passed to BLAS goes through one of these (private; not installed).
#include <climits>
#include <cstddef>
#include <string>

#include "tapegrad/core/errors.hpp"

namespace tapegrad {
namespace detail {

constexpr std::size_t kBlasIntMax = static_cast<std::size_t>(INT_MAX);

// n as a BLAS int, or ShapeError naming the op and the dimension when it does not fit.
inline int blas_int(const char* op, const char* what, std::size_t n) {
    if (n > kBlasIntMax)
        throw ShapeError(std::string(op) + ": " + what + " = " + std::to_string(n) +
                         " is larger than BLAS can take (at most 2^31 - 1 = " + std::to_string(kBlasIntMax) + ")");
    return static_cast<int>(n);
}

// Calls f(offset, count) for consecutive chunks of [0, n), each of count ≤ limit (BLAS's INT_MAX
// by default), so an element-wise BLAS call (axpy, scal) covers any n.
template <class F> void for_each_blas_chunk(std::size_t n, F&& f, std::size_t limit = kBlasIntMax) {
    if (limit == 0) limit = 1;
    if (limit > kBlasIntMax) limit = kBlasIntMax;
    for (std::size_t off = 0; off < n; off += limit) {
        const std::size_t count = n - off < limit ? n - off : limit;
        f(off, static_cast<int>(count));
    }
}

}  // namespace detail
}  // namespace tapegrad
