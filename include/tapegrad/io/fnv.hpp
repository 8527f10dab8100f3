#pragma once
// FNV-1a, 64 bit: h = 14695981039346656037; for each byte b: h = (h ^ b) · 1099511628211 mod 2^64.
// Stable across platforms and runs, so what it hashes can be stored: the .npz checksum member,
// hashed text features. fnv1a64("") = 0xcbf29ce484222325, fnv1a64("a") = 0xaf63dc4c8601ec8c.
// Incremental: fnv1a64(b, fnv1a64(a)) hashes the concatenation a + b.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tapegrad {
namespace io {

constexpr std::uint64_t kFnv1aOffset = 14695981039346656037ull;

inline std::uint64_t fnv1a64_bytes(const void* data, std::size_t n, std::uint64_t h = kFnv1aOffset) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}
inline std::uint64_t fnv1a64(std::string_view s, std::uint64_t h = kFnv1aOffset) noexcept {
    return fnv1a64_bytes(s.data(), s.size(), h);
}

}  // namespace io
}  // namespace tapegrad
