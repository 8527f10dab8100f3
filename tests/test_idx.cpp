// Tests for the IDX (MNIST) reader: small files written on the fly cover every rejection path;
// the real Fashion-MNIST files are checked when the dataset package is installed.
#include <catch2/catch.hpp>

#include "temp_dir.hpp"
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tapegrad/data/idx.hpp"

namespace fs = std::filesystem;
namespace data = tapegrad::data;
using tapegrad::IOError;
using Catch::Matchers::Contains;

namespace {

using Bytes = std::vector<std::uint8_t>;

using test_util::TempDir;

Bytes idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims, const Bytes& payload) {
    Bytes b = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
    for (std::uint32_t d : dims) {
        b.push_back(static_cast<std::uint8_t>(d >> 24));
        b.push_back(static_cast<std::uint8_t>(d >> 16));
        b.push_back(static_cast<std::uint8_t>(d >> 8));
        b.push_back(static_cast<std::uint8_t>(d));
    }
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

Bytes iota_bytes(std::size_t n, std::uint8_t start = 0) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i * 7);
    return b;
}

void write_plain(const std::string& path, const Bytes& b) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    REQUIRE(f.good());
}

void write_gzip(const std::string& path, const Bytes& b) {
    gzFile gz = gzopen(path.c_str(), "wb");
    REQUIRE(gz != nullptr);
    if (!b.empty()) REQUIRE(gzwrite(gz, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
    REQUIRE(gzclose(gz) == Z_OK);
}

Bytes read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The IOError message of f(); fails the test if f returns or throws anything else.
template <class F>
std::string io_error_of(F&& f) {
    try {
        f();
    } catch (const IOError& e) {
        return e.what();
    }
    FAIL("expected tapegrad::IOError, nothing was thrown");
    return {};
}

// Either an IOError or a result that is internally consistent and equal to `expected`.
enum class Outcome { Error, Same, Different };
Outcome read_outcome(const std::string& path, const tapegrad::data::IdxArray* expected) {
    try {
        tapegrad::data::IdxArray a = tapegrad::data::read_idx(path);
        std::size_t n = 1;
        for (std::size_t d : a.shape) n *= d;
        if (a.shape.empty() || a.shape.size() > 4 || n != a.data.size() || a.dtype_code != 0x08)
            return Outcome::Different;
        if (expected && a.shape == expected->shape && a.data == expected->data) return Outcome::Same;
        return Outcome::Different;
    } catch (const IOError&) {
        return Outcome::Error;
    }
}

}  // namespace

TEST_CASE("read_idx reads valid plain ubyte files of 1 to 4 dims", "[idx]") {
    TempDir dir;
    const std::vector<std::vector<std::uint32_t>> shapes = {{5}, {3, 2}, {2, 3, 4}, {2, 1, 3, 2}};
    for (const auto& dims : shapes) {
        std::size_t n = 1;
        for (auto d : dims) n *= d;
        const Bytes payload = iota_bytes(n, 3);
        const std::string p = dir.file("plain.idx");
        write_plain(p, idx_bytes(0x08, dims, payload));
        const tapegrad::data::IdxArray a = tapegrad::data::read_idx(p);
        REQUIRE(a.shape == std::vector<std::size_t>(dims.begin(), dims.end()));
        REQUIRE(a.data == payload);
        REQUIRE(a.dtype_code == 0x08);
    }
}

TEST_CASE("read_idx reads gzip files and detects gzip by content, not by name", "[idx]") {
    TempDir dir;
    const Bytes payload = iota_bytes(2 * 3 * 4);
    const Bytes file = idx_bytes(0x08, {2, 3, 4}, payload);
    write_gzip(dir.file("real.gz"), file);
    write_gzip(dir.file("gzip-without-suffix"), file);
    write_plain(dir.file("plain-named.gz"), file);
    for (const char* name : {"real.gz", "gzip-without-suffix", "plain-named.gz"}) {
        INFO(name);
        const tapegrad::data::IdxArray a = tapegrad::data::read_idx(dir.file(name));
        REQUIRE(a.shape == std::vector<std::size_t>{2, 3, 4});
        REQUIRE(a.data == payload);
    }
    // A gzip payload larger than the reader's first buffer guess exercises buffer growth.
    const Bytes big = iota_bytes(std::size_t{20} << 20);
    write_gzip(dir.file("big.gz"), idx_bytes(0x08, {20, 1024, 1024}, big));
    REQUIRE(tapegrad::data::read_idx(dir.file("big.gz")).data == big);
}

TEST_CASE("read_idx rejects a file truncated at any point, plain or gzip", "[idx]") {
    TempDir dir;
    const Bytes file = idx_bytes(0x08, {2, 3, 4}, iota_bytes(24));  // 16-byte header + 24 bytes
    const std::string p = dir.file("cut");
    for (std::size_t cut = 0; cut < file.size(); ++cut) {
        INFO("cut at " << cut);
        const Bytes part(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(cut));
        write_plain(p, part);
        REQUIRE(read_outcome(p, nullptr) == Outcome::Error);
        write_gzip(p, part);
        REQUIRE(read_outcome(p, nullptr) == Outcome::Error);
    }

    SECTION("messages say where the file ended") {
        write_plain(p, Bytes(file.begin(), file.begin() + 2));
        std::string msg = io_error_of([&] { tapegrad::data::read_idx(p); });
        CHECK_THAT(msg, Contains("read_idx") && Contains(p) &&
                            Contains("truncated header: expected 4 bytes of magic number, file has 2"));
        write_plain(p, Bytes(file.begin(), file.begin() + 10));
        msg = io_error_of([&] { tapegrad::data::read_idx(p); });
        CHECK_THAT(msg, Contains("truncated header: 3 dimensions need 16 header bytes, file has 10"));
        write_plain(p, Bytes(file.begin(), file.begin() + 21));
        msg = io_error_of([&] { tapegrad::data::read_idx(p); });
        CHECK_THAT(msg, Contains("truncated: header says 24 bytes of data, file has 5"));
        write_gzip(p, Bytes(file.begin(), file.begin() + 21));
        msg = io_error_of([&] { tapegrad::data::read_idx(p); });
        CHECK_THAT(msg, Contains("truncated: header says 24 bytes of data, decompressed data has 5"));
    }

    SECTION("a cut gzip stream is an error even when the IDX bytes inside are complete") {
        write_gzip(p, file);
        const Bytes gz = read_bytes(p);
        for (std::size_t cut = 0; cut < gz.size(); ++cut) {
            INFO("gzip cut at " << cut << " of " << gz.size());
            write_plain(p, Bytes(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(cut)));
            REQUIRE(read_outcome(p, nullptr) == Outcome::Error);
        }
        write_plain(p, Bytes(gz.begin(), gz.end() - 4));  // only the ISIZE trailer is missing
        CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }), Contains("gzip") && Contains(p));
    }
}

TEST_CASE("read_idx rejects bad magic and bad dimension counts", "[idx]") {
    TempDir dir;
    const std::string p = dir.file("bad");
    Bytes file = idx_bytes(0x08, {4}, iota_bytes(4));
    file[0] = 0x50;  // "PK.." — e.g. a zip handed to the wrong reader
    write_plain(p, file);
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }),
               Contains(p) && Contains("bad magic number") && Contains("found first bytes 0x50 0x00"));
    file[0] = 0;
    file[1] = 0x01;
    write_gzip(p, file);
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }), Contains("bad magic number"));

    for (std::uint8_t ndim : {0, 5, 255}) {
        Bytes f = {0, 0, 0x08, ndim};
        f.resize(4 + 4 * 8, 1);
        write_plain(p, f);
        CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }),
                   Contains("expected 1 to 4 dimensions, header says " + std::to_string(ndim)));
    }
}

TEST_CASE("read_idx names unsupported and invalid element types", "[idx]") {
    TempDir dir;
    const std::string p = dir.file("typed");
    const std::vector<std::pair<std::uint8_t, std::string>> unsupported = {
        {0x09, "0x09 (int8)"},    {0x0B, "0x0B (int16)"},   {0x0C, "0x0C (int32)"},
        {0x0D, "0x0D (float32)"}, {0x0E, "0x0E (float64)"},
    };
    for (const auto& [code, text] : unsupported) {
        write_plain(p, idx_bytes(code, {2}, iota_bytes(8)));
        CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }),
                   Contains(p) && Contains("unsupported element type " + text +
                                           "; tapegrad reads ubyte (0x08) IDX files"));
    }
    for (std::uint8_t code : {0x00, 0x07, 0x0A, 0x0F, 0xFF}) {
        write_plain(p, idx_bytes(code, {2}, iota_bytes(2)));
        CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }), Contains("invalid element type"));
    }
}

TEST_CASE("read_idx rejects zero, oversized and overflowing dimensions before allocating", "[idx]") {
    TempDir dir;
    const std::string p = dir.file("dims");

    write_plain(p, idx_bytes(0x08, {3, 0, 2}, {}));
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }),
               Contains("dimension 1 is 0: expected every dimension > 0"));

    write_plain(p, idx_bytes(0x08, {0x80000001u}, {}));
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }),
               Contains("dimension 0 is 2147483649: expected at most 2^31"));

    // 2^31 four times is 2^124: the product itself overflows size_t.
    write_plain(p, idx_bytes(0x08, {0x80000000u, 0x80000000u, 0x80000000u, 0x80000000u}, {}));
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }), Contains("overflow size_t"));
    write_gzip(p, idx_bytes(0x08, {0x80000000u, 0x80000000u, 0x80000000u}, {}));
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }), Contains("overflow size_t"));

    // Representable but absurd claims hit the 1 GiB cap.
    write_plain(p, idx_bytes(0x08, {0x80000000u, 0x80000000u}, {}));
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }), Contains("expected at most 1 GiB"));
    write_gzip(p, idx_bytes(0x08, {0x40000001u}, iota_bytes(10)));
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }), Contains("expected at most 1 GiB"));

    // Exactly 1 GiB claimed by a tiny gzip: allowed by the cap, so it must fail on the data
    // without the reader having allocated the claimed gigabyte.
    write_gzip(p, idx_bytes(0x08, {1024, 1024, 1024}, iota_bytes(100)));
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }),
               Contains("truncated: header says 1073741824 bytes of data, decompressed data has 100"));
}

TEST_CASE("read_idx rejects trailing bytes after the payload", "[idx]") {
    TempDir dir;
    const std::string p = dir.file("trailing");
    Bytes file = idx_bytes(0x08, {2, 3, 4}, iota_bytes(24));
    file.insert(file.end(), {1, 2, 3});
    write_plain(p, file);
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }),
               Contains(p) && Contains("trailing data: header says 24 bytes of data, file has 27"));
    write_gzip(p, file);
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }),
               Contains("trailing data: header says 24 bytes of data, decompressed data has 27"));
    file.resize(file.size() + 100000, 9);  // more than the reader counts exactly
    write_gzip(p, file);
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(p); }), Contains("decompressed data has at least"));
}

TEST_CASE("read_idx reports missing files and directories as IOError", "[idx]") {
    TempDir dir;
    const std::string missing = dir.file("no-such-file-idx3-ubyte");
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(missing); }),
               Contains("read_idx") && Contains(missing) && Contains("No such file"));
    CHECK_THAT(io_error_of([&] { tapegrad::data::read_idx(dir.path.string()); }), Contains("expected a regular file"));
}

TEST_CASE("read_idx never crashes on corrupted or random input", "[idx]") {
    TempDir dir;
    const std::string p = dir.file("fuzz");
    const Bytes file = idx_bytes(0x08, {3, 5, 7}, iota_bytes(105));
    write_plain(p, file);
    const tapegrad::data::IdxArray original = tapegrad::data::read_idx(p);

    // Every single-byte flip of the gzip form either fails or (gzip header fields such as mtime
    // are not checksummed) decodes to exactly the original.
    write_gzip(p, file);
    const Bytes gz = read_bytes(p);
    int errors = 0;
    for (std::size_t i = 0; i < gz.size(); ++i) {
        for (std::uint8_t mask : {0x01, 0x80, 0xFF}) {
            Bytes m = gz;
            m[i] ^= mask;
            write_plain(p, m);
            const Outcome o = read_outcome(p, &original);
            INFO("gzip byte " << i << " ^ " << int(mask));
            REQUIRE(o != Outcome::Different);
            errors += o == Outcome::Error;
        }
    }
    CHECK(errors > static_cast<int>(gz.size()));

    // Random headers and payloads, plain and gzip: only consistency and "no crash" are checked.
    std::mt19937 rng(12345);
    for (int iter = 0; iter < 600; ++iter) {
        Bytes b(rng() % 64);
        for (auto& x : b) x = static_cast<std::uint8_t>(rng());
        if (iter % 3 != 0 && b.size() >= 4) {  // mostly plausible headers so the deeper checks run
            b[0] = b[1] = 0;
            b[2] = 0x08;
            b[3] = static_cast<std::uint8_t>(rng() % 6);
            for (std::size_t k = 4; k < b.size() && k < 20; ++k)
                if ((k % 4) != 3) b[k] = static_cast<std::uint8_t>(rng() % 2 ? 0 : b[k]);
        }
        if (iter % 2) write_gzip(p, b); else write_plain(p, b);
        REQUIRE(read_outcome(p, nullptr) != Outcome::Different);
    }
}

TEST_CASE("load_mnist_split scales pixels to [0,1] and widens labels", "[idx]") {
    TempDir dir;
    const Bytes pixels = {0, 255, 128, 1, 2, 3, 254, 255, 0, 10, 20, 30};
    write_plain(dir.file("train-images-idx3-ubyte"), idx_bytes(0x08, {3, 2, 2}, pixels));
    write_gzip(dir.file("train-labels-idx1-ubyte.gz"), idx_bytes(0x08, {3}, {9, 0, 4}));
    const tapegrad::data::MnistSplit s =
        tapegrad::data::load_mnist_split(dir.file("train-images-idx3-ubyte"), dir.file("train-labels-idx1-ubyte.gz"));
    REQUIRE(s.images.dimension() == 2);
    REQUIRE(s.images.shape()[0] == 3);
    REQUIRE(s.images.shape()[1] == 4);
    for (std::size_t i = 0; i < pixels.size(); ++i)
        REQUIRE(s.images.data()[i] == static_cast<float>(pixels[i]) / 255.0f);
    REQUIRE(s.images(0, 0) == 0.0f);
    REQUIRE(s.images(0, 1) == 1.0f);
    REQUIRE(s.labels.dimension() == 1);
    REQUIRE(s.labels.shape()[0] == 3);
    REQUIRE(s.labels(0) == 9);
    REQUIRE(s.labels(1) == 0);
    REQUIRE(s.labels(2) == 4);
}

TEST_CASE("load_mnist_split rejects count mismatches and wrong ranks", "[idx]") {
    TempDir dir;
    const std::string images = dir.file("train-images-idx3-ubyte");
    const std::string labels = dir.file("train-labels-idx1-ubyte.gz");
    write_plain(images, idx_bytes(0x08, {3, 2, 2}, iota_bytes(12)));
    write_gzip(labels, idx_bytes(0x08, {2}, {1, 2}));
    CHECK_THAT(io_error_of([&] { tapegrad::data::load_mnist_split(images, labels); }),
               Contains("load_mnist_split: count mismatch: train-images has 3 images, train-labels has 2 labels") &&
                   Contains(images) && Contains(labels));

    write_gzip(labels, idx_bytes(0x08, {3, 1}, {1, 2, 3}));
    CHECK_THAT(io_error_of([&] { tapegrad::data::load_mnist_split(images, labels); }),
               Contains(labels) && Contains("expected a 1-D (N,) label file, found shape [3, 1]"));
    write_plain(images, idx_bytes(0x08, {12}, iota_bytes(12)));
    CHECK_THAT(io_error_of([&] { tapegrad::data::load_mnist_split(images, labels); }),
               Contains(images) && Contains("expected a 3-D (N, rows, cols) image file, found shape [12]"));
}

TEST_CASE("load_mnist finds plain or .gz files and names what is missing", "[idx]") {
    TempDir dir;
    write_plain(dir.file("t10k-images-idx3-ubyte"), idx_bytes(0x08, {2, 2, 2}, iota_bytes(8)));
    write_gzip(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes(0x08, {2}, {3, 7}));
    const tapegrad::data::MnistSplit s = tapegrad::data::load_mnist(dir.path.string(), false);
    REQUIRE(s.images.shape()[0] == 2);
    REQUIRE(s.images.shape()[1] == 4);
    REQUIRE(s.labels(1) == 7);
    CHECK_THAT(io_error_of([&] { tapegrad::data::load_mnist(dir.path.string(), true); }),
               Contains("load_mnist") && Contains(dir.path.string()) &&
                   Contains("expected train-images-idx3-ubyte or train-images-idx3-ubyte.gz"));
}

TEST_CASE("load_mnist loads the installed Fashion-MNIST", "[idx]") {
    const std::string root = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(root)) {
        WARN("SKIPPED: " << root << " not found (install dataset-fashion-mnist)");
        return;
    }
    for (bool train : {true, false}) {
        INFO((train ? "train" : "test") << " split");
        const tapegrad::data::MnistSplit s = tapegrad::data::load_mnist(root, train);
        const std::size_t n = train ? 60000 : 10000;
        REQUIRE(s.images.shape()[0] == n);
        REQUIRE(s.images.shape()[1] == 28 * 28);
        REQUIRE(s.labels.shape()[0] == n);
        const auto [lo, hi] = std::minmax_element(s.images.data(), s.images.data() + s.images.size());
        REQUIRE(*lo == 0.0f);
        REQUIRE(*hi == 1.0f);
        std::array<std::size_t, 10> per_class{};
        for (std::size_t i = 0; i < n; ++i) {
            const std::int64_t y = s.labels(i);
            REQUIRE(y >= 0);
            REQUIRE(y <= 9);
            ++per_class[static_cast<std::size_t>(y)];
        }
        for (std::size_t c : per_class) REQUIRE(c == n / 10);  // Fashion-MNIST is exactly balanced
    }
}
