#include "tapegrad/io/atomic_file.hpp"
#include "tapegrad/io/fnv.hpp"
#include "tapegrad/io/npz.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <string_view>

// .npy data is little endian and tapegrad copies it with memcpy.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "tapegrad's npz I/O assumes a little-endian host");

namespace tapegrad {
namespace io {
namespace {

constexpr const char* kChecksumMember = "__checksum__.npy";
// A member claiming more than this is refused before anything is allocated for it.
constexpr std::uint64_t kMaxMemberBytes = std::uint64_t{2} << 30;
// numpy 1.x arrays have at most 32 dims; it also keeps every header far below 64 KiB.
constexpr std::size_t kMaxDims = 32;
// Upper bound on zip member names we write; the zip format itself stops at 65535.
constexpr std::size_t kMaxNameBytes = 4096;

struct DescrInfo {
    const char* descr;
    std::size_t itemsize;
};
constexpr DescrInfo kDescrs[] = {{"<f4", 4}, {"<f8", 8}, {"<i8", 8}, {"<u8", 8}, {"|u1", 1}};

// 0 for a descr tapegrad does not read.
std::size_t itemsize_of(std::string_view descr) {
    for (const auto& d : kDescrs)
        if (descr == d.descr) return d.itemsize;
    return 0;
}

// Byte size of a shape, or false when it cannot be represented. Zero dims are treated as 1 in the
// overflow test because xtensor still multiplies every extent into its (signed) strides.
bool nbytes_of(const std::vector<std::size_t>& shape, std::size_t itemsize, std::size_t& out) {
    std::size_t prod = itemsize;
    bool zero = false;
    for (std::size_t d : shape) {
        if (d == 0) zero = true;
        if (__builtin_mul_overflow(prod, std::max<std::size_t>(d, 1), &prod)) return false;
    }
    if (prod > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max())) return false;
    out = zero ? 0 : prod;
    return true;
}


std::string hex64(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// NPY 1.0 header: magic, version, little-endian length, dict padded with spaces so data starts at
// a multiple of 64 bytes (numpy's alignment), ending in '\n'.
std::string npy_header(const std::string& descr, const std::vector<std::size_t>& shape) {
    std::string dims;
    for (std::size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
    if (shape.size() == 1) dims += ",";
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
    const std::size_t unpadded = 10 + dict.size() + 1;
    dict.append((64 - unpadded % 64) % 64, ' ');
    dict += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(dict.size() & 0xFF);
    out += static_cast<char>((dict.size() >> 8) & 0xFF);
    return out + dict;
}

std::string zip_code_str(int code) {
    zip_error_t err;
    zip_error_init_with_code(&err, code);
    std::string s = zip_error_strerror(&err);
    zip_error_fini(&err);
    return s;
}

// ---- strict parser for the header dict numpy writes -------------------------------------------

class HeaderParser {
public:
    HeaderParser(std::string_view text, const std::string& where) : s_(text), where_(where) {}

    // Fills descr/fortran/shape; throws IOError on anything numpy itself would not write.
    void parse(std::string& descr, bool& fortran, std::vector<std::size_t>& shape) {
        bool seen_descr = false, seen_fortran = false, seen_shape = false;
        ws();
        expect('{');
        while (true) {
            ws();
            if (peek() == '}') break;
            const std::string key = str();
            ws();
            expect(':');
            ws();
            if (key == "descr") {
                dup(seen_descr, key);
                descr = str();
            } else if (key == "fortran_order") {
                dup(seen_fortran, key);
                fortran = boolean();
            } else if (key == "shape") {
                dup(seen_shape, key);
                shape = tuple();
            } else {
                fail("expected only keys 'descr', 'fortran_order', 'shape', found key '" + key + "'");
            }
            ws();
            if (peek() == ',') {
                ++i_;
                continue;
            }
            if (peek() != '}') fail_at("',' or '}'");
        }
        ++i_;
        ws();
        if (i_ != s_.size()) fail_at("end of header");
        if (!seen_descr || !seen_fortran || !seen_shape)
            fail(std::string("expected keys 'descr', 'fortran_order' and 'shape', missing '") +
                 (!seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape") + "'");
    }

private:
    [[noreturn]] void fail(const std::string& what) const { throw IOError(where_ + ": .npy header: " + what); }
    [[noreturn]] void fail_at(const char* expected) const {
        if (i_ >= s_.size()) fail(std::string("expected ") + expected + ", found end of header");
        const unsigned char c = static_cast<unsigned char>(s_[i_]);
        char found[16];
        if (c >= 0x20 && c < 0x7f)
            std::snprintf(found, sizeof found, "'%c'", c);
        else
            std::snprintf(found, sizeof found, "byte 0x%02X", c);
        fail(std::string("expected ") + expected + " at offset " + std::to_string(i_) + ", found " + found);
    }
    int peek() const { return i_ < s_.size() ? static_cast<unsigned char>(s_[i_]) : -1; }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    void expect(char c) {
        if (peek() != static_cast<unsigned char>(c)) {
            const char e[4] = {'\'', c, '\'', 0};
            fail_at(e);
        }
        ++i_;
    }
    void dup(bool& seen, const std::string& key) {
        if (seen) fail("key '" + key + "' appears twice");
        seen = true;
    }
    // A quoted string without escapes: every key and descr numpy writes is one.
    std::string str() {
        const int q = peek();
        if (q != '\'' && q != '"') fail_at("a quoted string");
        const std::size_t start = ++i_;
        while (i_ < s_.size() && s_[i_] != q) {
            const unsigned char c = static_cast<unsigned char>(s_[i_]);
            if (c == '\\' || c < 0x20 || c >= 0x7f) fail_at("a plain ASCII string");
            ++i_;
        }
        if (i_ >= s_.size()) fail("unterminated string starting at offset " + std::to_string(start - 1));
        return std::string(s_.substr(start, i_++ - start));
    }
    bool boolean() {
        if (s_.substr(i_, 4) == "True") {
            i_ += 4;
            return true;
        }
        if (s_.substr(i_, 5) == "False") {
            i_ += 5;
            return false;
        }
        fail_at("True or False");
    }
    std::size_t integer() {
        if (peek() < '0' || peek() > '9') fail_at("a non-negative integer");
        if (peek() == '0' && i_ + 1 < s_.size() && s_[i_ + 1] >= '0' && s_[i_ + 1] <= '9')
            fail_at("an integer without leading zeros");
        std::size_t v = 0;
        while (peek() >= '0' && peek() <= '9') {
            if (__builtin_mul_overflow(v, std::size_t{10}, &v) ||
                __builtin_add_overflow(v, static_cast<std::size_t>(s_[i_] - '0'), &v))
                fail("dimension at offset " + std::to_string(i_) + " does not fit in 64 bits");
            ++i_;
        }
        return v;
    }
    std::vector<std::size_t> tuple() {
        std::vector<std::size_t> dims;
        expect('(');
        ws();
        if (peek() == ')') {
            ++i_;
            return dims;
        }
        while (true) {
            if (dims.size() == kMaxDims) fail("expected at most 32 dimensions, found more");
            dims.push_back(integer());
            ws();
            if (peek() == ')') {
                // Python reads "(5)" as the int 5, not a tuple.
                if (dims.size() == 1) fail("shape '(" + std::to_string(dims[0]) + ")' is not a tuple: expected '(" +
                                           std::to_string(dims[0]) + ",)'");
                ++i_;
                return dims;
            }
            expect(',');
            ws();
            if (peek() == ')') {
                ++i_;
                return dims;
            }
        }
    }

    std::string_view s_;
    std::string where_;
    std::size_t i_ = 0;
};

// raw = one whole .npy member; on success its data section is moved into the result.
NpyArray parse_npy(std::vector<char>& raw, const std::string& where) {
    auto fail = [&](const std::string& what) -> void { throw IOError(where + ": " + what); };
    const auto* u = reinterpret_cast<const unsigned char*>(raw.data());
    if (raw.size() < 10)
        fail("truncated .npy header: expected at least 10 bytes, member has " + std::to_string(raw.size()));
    if (std::memcmp(raw.data(), "\x93NUMPY", 6) != 0) fail("bad magic: expected \\x93NUMPY, not an .npy member");
    std::size_t prefix = 0, hlen = 0;
    if (u[6] == 1 && u[7] == 0) {
        prefix = 10;
        hlen = std::size_t{u[8]} | (std::size_t{u[9]} << 8);
    } else if (u[6] == 2 && u[7] == 0) {
        if (raw.size() < 12)
            fail("truncated .npy 2.0 header: expected at least 12 bytes, member has " + std::to_string(raw.size()));
        prefix = 12;
        hlen = std::size_t{u[8]} | (std::size_t{u[9]} << 8) | (std::size_t{u[10]} << 16) | (std::size_t{u[11]} << 24);
    } else {
        fail("unsupported .npy version " + std::to_string(u[6]) + "." + std::to_string(u[7]) +
             ": expected 1.0 or 2.0");
    }
    if (hlen > raw.size() - prefix)
        fail("header length " + std::to_string(hlen) + " exceeds the " + std::to_string(raw.size() - prefix) +
             " bytes left in the member");

    NpyArray out;
    bool fortran = false;
    HeaderParser(std::string_view(raw.data() + prefix, hlen), where).parse(out.dtype, fortran, out.shape);
    const std::size_t itemsize = itemsize_of(out.dtype);
    if (itemsize == 0)
        fail("unsupported dtype '" + out.dtype + "': expected one of '<f4', '<f8', '<i8', '<u8', '|u1'");
    if (fortran) fail("expected 'fortran_order': False, found True (tapegrad reads C-order arrays only)");
    std::size_t need = 0;
    if (!nbytes_of(out.shape, itemsize, need))
        fail("shape " + shape_str(out.shape) + " of '" + out.dtype + "' overflows the address space");
    const std::size_t data_off = prefix + hlen;
    const std::size_t have = raw.size() - data_off;
    if (have != need)
        fail("data is " + std::to_string(have) + " bytes, expected " + std::to_string(need) + " for shape " +
             shape_str(out.shape) + " of '" + out.dtype + "'");
    // Shift in place rather than copy, so a large member never exists twice in memory.
    raw.erase(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(data_off));
    out.bytes = std::move(raw);
    return out;
}

// Owns the archive handle so every early throw discards it.
struct ZipHandle {
    zip_t* za = nullptr;
    ~ZipHandle() {
        if (za != nullptr) zip_discard(za);
    }
};
struct ZipFileHandle {
    zip_file_t* zf = nullptr;
    ~ZipFileHandle() {
        if (zf != nullptr) zip_fclose(zf);
    }
};

}  // namespace

namespace detail {

NpyArray make_npy(const char* descr, const std::vector<std::size_t>& shape, const void* data, std::size_t nbytes) {
    NpyArray out;
    out.dtype = descr;
    out.shape = shape;
    if (nbytes > 0) {
        const char* p = static_cast<const char*>(data);
        out.bytes.assign(p, p + nbytes);
    }
    return out;
}

std::size_t check_npy(const NpyArray& a, const char* descr, std::size_t itemsize, const std::string& name) {
    if (a.dtype != descr)
        throw IOError("from_npy: array '" + name + "': expected dtype '" + descr + "', found '" + a.dtype + "'");
    std::size_t need = 0;
    if (!nbytes_of(a.shape, itemsize, need))
        throw IOError("from_npy: array '" + name + "': shape " + shape_str(a.shape) + " overflows the address space");
    if (a.bytes.size() != need)
        throw IOError("from_npy: array '" + name + "': expected " + std::to_string(need) + " bytes for shape " +
                      shape_str(a.shape) + " of '" + a.dtype + "', found " + std::to_string(a.bytes.size()));
    return need;
}

void copy_npy_bytes(const NpyArray& a, void* dst, std::size_t nbytes) {
    if (nbytes > 0) std::memcpy(dst, a.bytes.data(), nbytes);
}

}  // namespace detail

void save_npz(const std::string& path, const std::vector<std::pair<std::string, NpyArray>>& arrays) {
    auto fail = [&](const std::string& what) -> void { throw IOError("save_npz: '" + path + "': " + what); };

    // Everything checkable is checked before the filesystem is touched.
    std::set<std::string> seen;
    std::vector<std::string> headers;
    headers.reserve(arrays.size());
    for (const auto& [name, a] : arrays) {
        if (name.empty()) fail("array names must be non-empty, found an empty name");
        if (name.size() > kMaxNameBytes)
            fail("array name of " + std::to_string(name.size()) + " bytes: expected at most 4096");
        if (name.find('\0') != std::string::npos) {
            std::string shown;  // the NUL shown as \0, so the message is not cut there
            for (char c : name) shown += c == '\0' ? std::string("\\0") : std::string(1, c);
            fail("array name '" + shown + "' contains a NUL byte");
        }
        if (name + ".npy" == kChecksumMember) fail("array name '__checksum__' is reserved for the checksum member");
        if (!seen.insert(name).second) fail("array name '" + name + "' appears twice");
        const std::size_t itemsize = itemsize_of(a.dtype);
        if (itemsize == 0)
            fail("array '" + name + "': unsupported dtype '" + a.dtype +
                 "': expected one of '<f4', '<f8', '<i8', '<u8', '|u1'");
        if (a.shape.size() > kMaxDims)
            fail("array '" + name + "': expected at most 32 dimensions, found " + std::to_string(a.shape.size()));
        std::size_t need = 0;
        if (!nbytes_of(a.shape, itemsize, need))
            fail("array '" + name + "': shape " + shape_str(a.shape) + " overflows the address space");
        if (a.bytes.size() != need)
            fail("array '" + name + "': expected " + std::to_string(need) + " bytes for shape " + shape_str(a.shape) +
                 " of '" + a.dtype + "', found " + std::to_string(a.bytes.size()));
        headers.push_back(npy_header(a.dtype, a.shape));
        // load_npz refuses larger members, so never write a checkpoint that cannot be read back.
        if (headers.back().size() + need > kMaxMemberBytes)
            fail("array '" + name + "' is " + std::to_string(need) + " bytes: expected at most 2 GiB per array");
    }

    std::uint64_t sum = kFnv1aOffset;
    for (std::size_t i = 0; i < arrays.size(); ++i) {
        const std::string member = arrays[i].first + ".npy";
        sum = fnv1a64_bytes(member.data(), member.size(), sum);
        sum = fnv1a64_bytes(headers[i].data(), headers[i].size(), sum);
        sum = fnv1a64_bytes(arrays[i].second.bytes.data(), arrays[i].second.bytes.size(), sum);
    }
    const std::string sum_header = npy_header("<u8", {1});
    char sum_bytes[8];
    std::memcpy(sum_bytes, &sum, 8);

    replace_file_atomically("save_npz", path, [&](const std::string& tmp) {
        ZipHandle zh;
        int zerr = 0;
        zh.za = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &zerr);
        if (zh.za == nullptr) fail("cannot create temporary archive '" + tmp + "': " + zip_code_str(zerr));

        // Header and data go in as two fragments so the array bytes are never copied.
        auto add = [&](const std::string& member, const std::string& header, const char* data, std::size_t n) {
            zip_buffer_fragment_t frags[2] = {
                {reinterpret_cast<zip_uint8_t*>(const_cast<char*>(header.data())), header.size()},
                {reinterpret_cast<zip_uint8_t*>(const_cast<char*>(data)), n}};
            zip_source_t* src = zip_source_buffer_fragment(zh.za, frags, n > 0 ? 2 : 1, 0);
            if (src == nullptr) fail("cannot add member '" + member + "': " + zip_strerror(zh.za));
            const zip_int64_t idx = zip_file_add(zh.za, member.c_str(), src, ZIP_FL_ENC_GUESS);
            if (idx < 0) {
                zip_source_free(src);
                fail("cannot add member '" + member + "': " + zip_strerror(zh.za));
            }
            // Stored like np.savez: checkpoints are mostly incompressible floats and load faster.
            if (zip_set_file_compression(zh.za, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0) != 0)
                fail("cannot set compression for member '" + member + "': " + zip_strerror(zh.za));
        };
        for (std::size_t i = 0; i < arrays.size(); ++i)
            add(arrays[i].first + ".npy", headers[i], arrays[i].second.bytes.data(), arrays[i].second.bytes.size());
        add(kChecksumMember, sum_header, sum_bytes, 8);

        if (zip_close(zh.za) != 0) fail("writing temporary archive '" + tmp + "' failed: " + zip_strerror(zh.za));
        zh.za = nullptr;  // zip_close freed it
    });
}

std::vector<std::pair<std::string, NpyArray>> load_npz(const std::string& path) {
    auto fail = [&](const std::string& what) -> void { throw IOError("load_npz: '" + path + "': " + what); };

    struct stat fst {};
    if (::stat(path.c_str(), &fst) != 0) fail(std::string("cannot open: expected an .npz file, found: ") + std::strerror(errno));
    if (!S_ISREG(fst.st_mode)) fail("expected a regular .npz file, found a directory or special file");
    const std::uint64_t file_size = static_cast<std::uint64_t>(fst.st_size);
    // libzip opens a 0-byte file as an empty archive; for a checkpoint that is a lost write.
    if (file_size == 0) fail("expected a zip (.npz) archive, found an empty (0-byte) file");

    ZipHandle zh;
    int zerr = 0;
    // CHECKCONS compares every local header with the central directory, so a corrupted member name
    // (not covered by any CRC) is caught instead of silently renaming an array.
    zh.za = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (zh.za == nullptr) fail("expected a zip (.npz) archive, found: " + zip_code_str(zerr));

    const zip_int64_t n = zip_get_num_entries(zh.za, 0);
    if (n < 0) fail(std::string("cannot list members: ") + zip_strerror(zh.za));

    std::vector<std::pair<std::string, NpyArray>> out;
    std::set<std::string> names;
    std::uint64_t sum = kFnv1aOffset;
    bool have_sum = false;
    std::uint64_t stored_sum = 0;
    for (zip_int64_t i = 0; i < n; ++i) {
        const auto idx = static_cast<zip_uint64_t>(i);
        const char* cname = zip_get_name(zh.za, idx, ZIP_FL_ENC_RAW);
        if (cname == nullptr) fail("cannot read the name of member " + std::to_string(i) + ": " + zip_strerror(zh.za));
        const std::string member = cname;
        const std::string where = "load_npz: '" + path + "': member '" + member + "'";
        if (member.size() <= 4 || member.compare(member.size() - 4, 4, ".npy") != 0)
            throw IOError(where + ": expected a name 'NAME.npy', found one without the .npy suffix or empty NAME");
        if (!names.insert(member).second) throw IOError(where + ": appears twice in the archive");
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(zh.za, idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
            throw IOError(where + ": cannot read its size: " + zip_strerror(zh.za));
        if (st.size > kMaxMemberBytes)
            throw IOError(where + ": uncompressed size " + std::to_string(st.size) +
                          " bytes: expected at most 2 GiB per member");
        const auto size = static_cast<std::size_t>(st.size);

        ZipFileHandle zf;
        zf.zf = zip_fopen_index(zh.za, idx, 0);
        if (zf.zf == nullptr) throw IOError(where + ": cannot open: " + zip_strerror(zh.za));
        // Grow towards the declared size instead of trusting it: a forged size in a tiny file then
        // costs at most a few times the file size, not 2 GiB.
        std::vector<char> raw;
        const std::uint64_t guess = std::max<std::uint64_t>(std::uint64_t{64} << 20, file_size * 8);
        raw.resize(static_cast<std::size_t>(std::min<std::uint64_t>(size, guess)));
        std::size_t filled = 0;
        while (true) {
            while (filled < raw.size()) {
                const zip_int64_t r = zip_fread(zf.zf, raw.data() + filled, raw.size() - filled);
                if (r < 0) throw IOError(where + ": read failed: " + zip_file_strerror(zf.zf));
                if (r == 0) break;
                filled += static_cast<std::size_t>(r);
            }
            if (filled < raw.size())
                throw IOError(where + ": truncated: expected " + std::to_string(size) + " bytes, found " +
                              std::to_string(filled));
            if (filled == size) break;
            raw.resize(size - raw.size() < raw.size() ? size : raw.size() * 2);
        }
        char probe;
        const zip_int64_t extra = zip_fread(zf.zf, &probe, 1);
        if (extra < 0) throw IOError(where + ": read failed: " + zip_file_strerror(zf.zf));
        if (extra > 0) throw IOError(where + ": expected " + std::to_string(size) + " bytes, found more");

        if (member == kChecksumMember) {
            NpyArray c = parse_npy(raw, where);
            if (c.dtype != "<u8" || c.shape != std::vector<std::size_t>{1})
                throw IOError(where + ": expected a '<u8' array of shape [1], found '" + c.dtype + "' of shape " +
                              shape_str(c.shape));
            std::memcpy(&stored_sum, c.bytes.data(), 8);
            have_sum = true;
            continue;
        }
        sum = fnv1a64_bytes(member.data(), member.size(), sum);
        sum = fnv1a64_bytes(raw.data(), raw.size(), sum);
        NpyArray a = parse_npy(raw, where);
        out.emplace_back(member.substr(0, member.size() - 4), std::move(a));
    }
    if (have_sum && sum != stored_sum)
        fail("checksum mismatch: file is corrupt (expected FNV-1a " + hex64(stored_sum) + " from '" +
             kChecksumMember + "', computed " + hex64(sum) + ")");
    return out;
}

}  // namespace io
}  // namespace tapegrad
