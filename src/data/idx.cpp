#include "tapegrad/data/idx.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace tapegrad {
namespace data {
namespace {

// A header may claim up to 2^124 bytes; this bounds what a tiny (or gzip-bomb) file can make us
// allocate. The largest real IDX file (EMNIST byclass) is ~550 MB.
constexpr std::size_t kMaxPayload = std::size_t{1} << 30;
constexpr std::uint64_t kMaxDim = std::uint64_t{1} << 31;
// gzip input starts its buffer at min(claim, max(16 MiB, 8 x compressed size)) and grows
// geometrically, instead of trusting the header's claim: memory stays proportional to the input
// file or to data actually decompressed, while real IDX files (ratio 2-10x) get one allocation.
constexpr std::size_t kMinGzipBuffer = std::size_t{16} << 20;
constexpr std::uint64_t kGzipRatioGuess = 8;

[[noreturn]] void fail(const char* fn, const std::string& path, const std::string& what) {
    throw IOError(std::string(fn) + ": '" + path + "': " + what);
}

std::string hex_byte(unsigned b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", b & 0xFFu);
    return buf;
}

const char* idx_type_name(unsigned code) {
    switch (code) {
        case 0x08: return "ubyte";
        case 0x09: return "int8";
        case 0x0B: return "int16";
        case 0x0C: return "int32";
        case 0x0D: return "float32";
        case 0x0E: return "float64";
        default: return nullptr;
    }
}

// Members own the handles so a constructor that throws half-way still releases them.
struct FdHandle {
    int fd = -1;
    ~FdHandle() {
        if (fd >= 0) ::close(fd);
    }
};
struct GzHandle {
    gzFile gz = nullptr;
    ~GzHandle() {
        if (gz != nullptr) gzclose(gz);
    }
};

// One open IDX file, plain or gzip, so header parsing does not care which.
class IdxInput {
public:
    explicit IdxInput(const std::string& path) : path_(path) {
        // O_NONBLOCK: opening a FIFO must not wait for a writer (regular files ignore the flag)
        fd_.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd_.fd < 0)
            fail("read_idx", path_, std::string("cannot open: expected a readable IDX file, found: ") +
                                        std::strerror(errno));
        struct stat st {};
        if (::fstat(fd_.fd, &st) != 0)
            fail("read_idx", path_, std::string("cannot stat: ") + std::strerror(errno));
        // Directories, FIFOs and devices have no trustworthy size and can block forever.
        if (!S_ISREG(st.st_mode))
            fail("read_idx", path_, "expected a regular file, found a directory or special file");
        file_size_ = static_cast<std::uint64_t>(st.st_size);

        unsigned char magic[2] = {0, 0};
        ssize_t got;
        do {
            got = ::pread(fd_.fd, magic, 2, 0);
        } while (got < 0 && errno == EINTR);
        if (got < 0) fail("read_idx", path_, std::string("read error: ") + std::strerror(errno));
        if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            gz_.gz = gzdopen(fd_.fd, "rb");
            if (gz_.gz == nullptr) fail("read_idx", path_, "zlib could not open the gzip stream (out of memory)");
            fd_.fd = -1;  // owned by the gzFile now; gzclose closes it
            // A larger window means fewer read syscalls and inflate calls.
            gzbuffer(gz_.gz, 256 * 1024);
        }
    }
    IdxInput(const IdxInput&) = delete;
    IdxInput& operator=(const IdxInput&) = delete;

    bool is_gzip() const { return gz_.gz != nullptr; }
    std::uint64_t file_size() const { return file_size_; }
    // Wording for "found N bytes" in messages: for gzip, N counts decompressed bytes.
    const char* has() const { return is_gzip() ? "decompressed data has" : "file has"; }

    // Reads up to n bytes; fewer only at end of data. Throws on I/O errors and corrupt gzip.
    std::size_t read(void* buf, std::size_t n) {
        auto* p = static_cast<unsigned char*>(buf);
        std::size_t total = 0;
        while (total < n) {
            std::size_t want = std::min<std::size_t>(n - total, std::size_t{1} << 30);
            if (is_gzip()) {
                int r = gzread(gz_.gz, p + total, static_cast<unsigned>(want));
                // gzread reports a cut-off stream as a plain end of data (0) and leaves Z_BUF_ERROR
                // in gzerror, so end of data is only trusted once the error state is clean.
                int errnum = Z_OK;
                const char* msg = r <= 0 ? gzerror(gz_.gz, &errnum) : "";
                if (r < 0 || (r == 0 && errnum != Z_OK)) {
                    std::string detail = errnum == Z_ERRNO     ? std::strerror(errno)
                                         : errnum == Z_BUF_ERROR ? "compressed data ends before the gzip trailer"
                                                                 : msg;
                    fail("read_idx", path_,
                         "expected a complete gzip stream, found a corrupt or truncated one (zlib: " + detail + ")");
                }
                if (r == 0) break;
                total += static_cast<std::size_t>(r);
            } else {
                ssize_t r = ::read(fd_.fd, p + total, want);
                if (r < 0) {
                    if (errno == EINTR) continue;
                    fail("read_idx", path_, std::string("read error: ") + std::strerror(errno));
                }
                if (r == 0) break;
                total += static_cast<std::size_t>(r);
            }
        }
        return total;
    }

private:
    std::string path_;
    FdHandle fd_;
    GzHandle gz_;
    std::uint64_t file_size_ = 0;
};

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

// Reads the payload of a gzip file without trusting `claimed` for the allocation size.
void read_gzip_payload(IdxInput& in, const std::string& path, std::size_t claimed, std::vector<std::uint8_t>& out) {
    std::size_t filled = 0;
    const std::uint64_t guess = std::max<std::uint64_t>(kMinGzipBuffer, in.file_size() * kGzipRatioGuess);
    out.resize(static_cast<std::size_t>(std::min<std::uint64_t>(claimed, guess)));
    while (true) {
        std::size_t got = in.read(out.data() + filled, out.size() - filled);
        filled += got;
        if (filled < out.size()) {  // end of stream before the header's count
            fail("read_idx", path,
                 "truncated: header says " + std::to_string(claimed) + " bytes of data, " + in.has() + " " +
                     std::to_string(filled));
        }
        if (filled == claimed) break;
        out.resize(claimed - out.size() < out.size() ? claimed : out.size() * 2);
    }
    // Count a bounded amount of excess so the message is exact for small garbage without
    // decompressing an arbitrarily large tail.
    std::array<unsigned char, 65536> scratch;
    std::size_t extra = in.read(scratch.data(), scratch.size());
    if (extra > 0) {
        std::string found = extra < scratch.size() ? std::to_string(claimed + extra)
                                                   : "at least " + std::to_string(claimed + extra);
        fail("read_idx", path,
             "trailing data: header says " + std::to_string(claimed) + " bytes of data, " + in.has() + " " +
                 found);
    }
}

std::string display_name(const std::string& path) {
    // "dir/train-images-idx3-ubyte.gz" -> "train-images": the part people recognise.
    std::string name = std::filesystem::path(path).filename().string();
    auto strip = [&](const std::string& suffix) {
        if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            name.resize(name.size() - suffix.size());
    };
    strip(".gz");
    for (const char* s : {"-idx1-ubyte", "-idx2-ubyte", "-idx3-ubyte", "-idx4-ubyte"}) strip(s);
    return name;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
    IdxInput in(path);

    unsigned char head[4];
    std::size_t got = in.read(head, 4);
    if (got < 4)
        fail("read_idx", path,
             "truncated header: expected 4 bytes of magic number, " + std::string(in.has()) + " " +
                 std::to_string(got));
    if (head[0] != 0 || head[1] != 0)
        fail("read_idx", path,
             "bad magic number: expected 00 00 <type> <ndim>, found first bytes " + hex_byte(head[0]) + " " +
                 hex_byte(head[1]) + " (not an IDX file)");
    const unsigned type = head[2];
    if (type != 0x08) {
        if (const char* name = idx_type_name(type))
            fail("read_idx", path,
                 "unsupported element type " + hex_byte(type) + " (" + name +
                     "); tapegrad reads ubyte (0x08) IDX files");
        fail("read_idx", path,
             "invalid element type " + hex_byte(type) + ": expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E");
    }
    const unsigned ndim = head[3];
    if (ndim < 1 || ndim > 4)
        fail("read_idx", path, "expected 1 to 4 dimensions, header says " + std::to_string(ndim));

    unsigned char dims_raw[16];
    const std::size_t dims_bytes = 4u * ndim;
    got = in.read(dims_raw, dims_bytes);
    if (got < dims_bytes)
        fail("read_idx", path,
             "truncated header: " + std::to_string(ndim) + " dimensions need " + std::to_string(4 + dims_bytes) +
                 " header bytes, " + in.has() + " " + std::to_string(4 + got));

    IdxArray out;
    out.dtype_code = 0x08;
    out.shape.resize(ndim);
    std::size_t claimed = 1;
    bool overflow = false;
    for (unsigned i = 0; i < ndim; ++i) {
        const std::uint32_t d = be32(dims_raw + 4 * i);
        if (d == 0)
            fail("read_idx", path, "dimension " + std::to_string(i) + " is 0: expected every dimension > 0");
        if (d > kMaxDim)
            fail("read_idx", path,
                 "dimension " + std::to_string(i) + " is " + std::to_string(d) + ": expected at most 2^31");
        out.shape[i] = d;
        overflow = overflow || __builtin_mul_overflow(claimed, std::size_t{d}, &claimed);
    }
    if (overflow)
        fail("read_idx", path, "dimensions " + shape_str(out.shape) + " overflow size_t: expected a product that fits");
    if (claimed > kMaxPayload)
        fail("read_idx", path,
             "header says " + std::to_string(claimed) + " bytes of data " + shape_str(out.shape) +
                 ": expected at most 1 GiB (1073741824 bytes)");

    const std::size_t header_bytes = 4 + dims_bytes;
    if (in.is_gzip()) {
        read_gzip_payload(in, path, claimed, out.data);
    } else {
        // file_size() >= header_bytes here, since the header was read in full.
        const std::uint64_t present = in.file_size() - header_bytes;
        if (present != claimed)
            fail("read_idx", path,
                 std::string(present < claimed ? "truncated" : "trailing data") + ": header says " +
                     std::to_string(claimed) + " bytes of data, file has " + std::to_string(present));
        out.data.resize(claimed);
        got = in.read(out.data.data(), claimed);
        if (got != claimed)  // only if the file shrank after fstat
            fail("read_idx", path,
                 "truncated: header says " + std::to_string(claimed) + " bytes of data, file has " +
                     std::to_string(got));
    }
    return out;
}

MnistBytes load_mnist_split_bytes(const std::string& images_path, const std::string& labels_path) {
    IdxArray img = read_idx(images_path);
    IdxArray lab = read_idx(labels_path);
    if (img.shape.size() != 3)
        fail("load_mnist_split", images_path,
             "expected a 3-D (N, rows, cols) image file, found shape " + shape_str(img.shape));
    if (lab.shape.size() != 1)
        fail("load_mnist_split", labels_path, "expected a 1-D (N,) label file, found shape " + shape_str(lab.shape));
    if (img.shape[0] != lab.shape[0])
        throw IOError("load_mnist_split: count mismatch: " + display_name(images_path) + " has " +
                      std::to_string(img.shape[0]) + " images, " + display_name(labels_path) + " has " +
                      std::to_string(lab.shape[0]) + " labels ('" + images_path + "', '" + labels_path + "')");

    const std::size_t n = img.shape[0];
    const std::size_t pixels = img.shape[1] * img.shape[2];  // cannot overflow: product checked in read_idx
    MnistBytes split;
    split.images = xt::xarray<std::uint8_t>::from_shape({n, pixels});
    std::copy(img.data.begin(), img.data.end(), split.images.data());
    split.labels = xt::xarray<std::int64_t>::from_shape({n});
    std::int64_t* ldst = split.labels.data();
    for (std::size_t i = 0; i < n; ++i) ldst[i] = lab.data[i];
    return split;
}

namespace {
MnistSplit to_float(MnistBytes&& b) {
    // A lookup is exact (v / 255.0f correctly rounded) and as fast as a multiply here.
    float table[256];
    for (int v = 0; v < 256; ++v) table[v] = static_cast<float>(v) / 255.0f;
    MnistSplit split;
    split.images = xt::xarray<float>::from_shape({b.images.shape()[0], b.images.shape()[1]});
    float* dst = split.images.data();
    const std::uint8_t* src = b.images.data();
    for (std::size_t i = 0, total = b.images.size(); i < total; ++i) dst[i] = table[src[i]];
    split.labels = std::move(b.labels);
    return split;
}
}  // namespace

MnistSplit load_mnist_split(const std::string& images_path, const std::string& labels_path) {
    return to_float(load_mnist_split_bytes(images_path, labels_path));
}

MnistSplit load_mnist(const std::string& dir, bool train) { return to_float(load_mnist_bytes(dir, train)); }

MnistBytes load_mnist_bytes(const std::string& dir, bool train) {
    const std::string prefix = train ? "train" : "t10k";
    {
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec))
            throw IOError("load_mnist: '" + dir + "': expected a directory holding the IDX files, but " +
                          (std::filesystem::exists(dir, ec) ? "it is not a directory" : "it does not exist"));
    }
    // Prefer the uncompressed file when both exist: it loads several times faster.
    auto find = [&](const std::string& stem) {
        std::error_code ec;
        for (const std::string& name : {stem, stem + ".gz"}) {
            std::filesystem::path p = std::filesystem::path(dir) / name;
            if (std::filesystem::is_regular_file(p, ec)) return p.string();
        }
        throw IOError("load_mnist: '" + dir + "': expected " + stem + " or " + stem +
                      ".gz in this directory, found neither");
    };
    const std::string images = find(prefix + "-images-idx3-ubyte");
    const std::string labels = find(prefix + "-labels-idx1-ubyte");
    return load_mnist_split_bytes(images, labels);
}

}  // namespace data
}  // namespace tapegrad
