#pragma once
// NumPy .npy/.npz interchange: checkpoints tapegrad writes open with numpy.load, and .npz files
// numpy writes (np.savez / np.savez_compressed) load here. Every failure is tapegrad::IOError.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tapegrad/core/errors.hpp"
#include "tapegrad/core/shape.hpp"

namespace tapegrad {
namespace io {

// One array as numpy stores it; the bytes are exactly an .npy member's data section.
struct NpyArray {
    std::string dtype;               // numpy descr: "<f4", "<f8", "<i8", "<u8" or "|u1"
    std::vector<std::size_t> shape;  // () for a 0-d scalar, (5,) for 1-D, ...
    std::vector<char> bytes;         // product(shape) * itemsize bytes, C order, little endian
};

namespace detail {
// Only these element types have a numpy descr tapegrad reads and writes; the primary template's
// nullptr turns any other T into a readable static_assert rather than a link error.
template <class T>
struct NpyDescr {
    static constexpr const char* value = nullptr;
};
template <>
struct NpyDescr<float> {
    static constexpr const char* value = "<f4";
};
template <>
struct NpyDescr<double> {
    static constexpr const char* value = "<f8";
};
template <>
struct NpyDescr<std::int64_t> {
    static constexpr const char* value = "<i8";
};
template <>
struct NpyDescr<std::uint64_t> {
    static constexpr const char* value = "<u8";
};
template <>
struct NpyDescr<std::uint8_t> {
    static constexpr const char* value = "|u1";
};

// shape + n*itemsize bytes of little-endian C-order data -> NpyArray (non-template so the
// endianness assumption lives in one .cpp).
NpyArray make_npy(const char* descr, const std::vector<std::size_t>& shape, const void* data, std::size_t nbytes);
// Checks a.dtype == descr and a.bytes.size() == product(a.shape) * itemsize; returns the byte count.
std::size_t check_npy(const NpyArray& a, const char* descr, std::size_t itemsize, const std::string& name);
// Copies nbytes checked by check_npy into dst.
void copy_npy_bytes(const NpyArray& a, void* dst, std::size_t nbytes);
}  // namespace detail

// xarray of float/double/int64/uint64/uint8, any shape -> NpyArray with the matching descr.
template <class T>
NpyArray to_npy(const xt::xarray<T>& a) {
    static_assert(detail::NpyDescr<T>::value != nullptr, "to_npy supports float, double, std::int64_t, std::uint64_t, std::uint8_t");
    // npy data is C order; xarray<T>'s storage is contiguous in its static layout.
    static_assert(xt::xarray<T>::static_layout == xt::layout_type::row_major,
                  "to_npy needs row-major xarray storage");
    std::vector<std::size_t> shape(a.shape().begin(), a.shape().end());
    return detail::make_npy(detail::NpyDescr<T>::value, shape, a.data(), a.size() * sizeof(T));
}

// NpyArray whose dtype is exactly T's descr -> xarray<T> of the same shape; name_for_errors
// (e.g. "model.npz:fc1.weight") is quoted in the IOError on a dtype or size mismatch.
template <class T>
xt::xarray<T> from_npy(const NpyArray& a, const std::string& name_for_errors) {
    static_assert(detail::NpyDescr<T>::value != nullptr, "from_npy supports float, double, std::int64_t, std::uint64_t, std::uint8_t");
    const std::size_t nbytes = detail::check_npy(a, detail::NpyDescr<T>::value, sizeof(T), name_for_errors);
    auto out = xt::xarray<T>::from_shape(a.shape);
    detail::copy_npy_bytes(a, out.data(), nbytes);
    return out;
}

// (name, array) list -> .npz at path with members "name.npy" plus "__checksum__.npy"; written to
// path + ".tmp.<pid>" then renamed, so an existing file at path is replaced whole or not at all.
void save_npz(const std::string& path, const std::vector<std::pair<std::string, NpyArray>>& arrays);

// .npz at path -> (name, array) in file order without the ".npy" suffix and without the checksum
// member; the checksum is verified when present (numpy-written files have none).
std::vector<std::pair<std::string, NpyArray>> load_npz(const std::string& path);

}  // namespace io
}  // namespace tapegrad
