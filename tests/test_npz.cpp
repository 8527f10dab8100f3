// Tests for .npz read/write: round trips, the exact NPY header numpy expects, atomic replacement,
// corruption handling (every result is IOError or the original arrays) and numpy interop.
#include <catch2/catch.hpp>
#include <unistd.h>
#include <zip.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tapegrad/io/npz.hpp"

namespace fs = std::filesystem;
namespace io = tapegrad::io;
using tapegrad::IOError;
using tapegrad::io::NpyArray;
using Catch::Matchers::Contains;
using Arrays = std::vector<std::pair<std::string, io::NpyArray>>;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        for (int attempt = 0;; ++attempt) {
            path = fs::temp_directory_path() /
                   ("tapegrad_npz_test_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
            if (fs::create_directory(path)) break;
            if (attempt > 100) throw std::runtime_error("cannot create a temp dir under " + path.string());
        }
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
    std::vector<std::string> listing() const {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }
};

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}
void write_file(const std::string& path, const std::string& s) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(s.data(), static_cast<std::streamsize>(s.size()));
    REQUIRE(f.good());
}

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

bool same(const Arrays& a, const Arrays& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].first != b[i].first || a[i].second.dtype != b[i].second.dtype ||
            a[i].second.shape != b[i].second.shape || a[i].second.bytes != b[i].second.bytes)
            return false;
    }
    return true;
}

// Deterministic values that exercise sign, fraction and extreme magnitudes per type.
template <class T>
xt::xarray<T> sample(const std::vector<std::size_t>& shape) {
    auto x = xt::xarray<T>::from_shape(shape);
    for (std::size_t i = 0; i < x.size(); ++i) {
        if constexpr (std::is_floating_point_v<T>)
            x.data()[i] = static_cast<T>(i) * T(0.375) - T(2.5) + (i == 1 ? std::numeric_limits<T>::max() : T(0));
        else if constexpr (std::is_signed_v<T>)
            x.data()[i] = static_cast<T>(i) * 1000000007 - (i == 2 ? std::numeric_limits<T>::max() : 5);
        else
            x.data()[i] = std::numeric_limits<T>::max() - static_cast<T>(i) * 3;
    }
    return x;
}

template <class T>
void check_roundtrip(const TempDir& dir, const std::vector<std::size_t>& shape, const char* descr) {
    const xt::xarray<T> x = sample<T>(shape);
    const std::string p = dir.file("rt.npz");
    tapegrad::io::save_npz(p, {{"x", tapegrad::io::to_npy(x)}});
    const Arrays loaded = tapegrad::io::load_npz(p);
    REQUIRE(loaded.size() == 1);
    REQUIRE(loaded[0].first == "x");
    REQUIRE(loaded[0].second.dtype == descr);
    REQUIRE(loaded[0].second.shape == shape);
    const xt::xarray<T> y = tapegrad::io::from_npy<T>(loaded[0].second, p + ":x");
    REQUIRE(y.dimension() == shape.size());
    REQUIRE(std::vector<std::size_t>(y.shape().begin(), y.shape().end()) == shape);
    if (x.size() > 0) REQUIRE(std::memcmp(y.data(), x.data(), x.size() * sizeof(T)) == 0);
}

// Writes a zip with the given raw members, for crafting malformed .npz files.
void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& members,
               bool deflate = false) {
    int err = 0;
    zip_t* za = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    REQUIRE(za != nullptr);
    for (const auto& [name, data] : members) {
        zip_source_t* src = zip_source_buffer(za, data.data(), data.size(), 0);
        REQUIRE(src != nullptr);
        const zip_int64_t idx = zip_file_add(za, name.c_str(), src, ZIP_FL_ENC_GUESS);
        REQUIRE(idx >= 0);
        REQUIRE(zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                                         0) == 0);
    }
    REQUIRE(zip_close(za) == 0);
}

std::string npy_v1(const std::string& dict, const std::string& data) {
    std::string h = dict;
    while ((10 + h.size() + 1) % 64) h += ' ';
    h += '\n';
    std::string out = "\x93NUMPY\x01";
    out += '\0';
    out += static_cast<char>(h.size() & 0xFF);
    out += static_cast<char>(h.size() >> 8);
    return out + h + data;
}

// Reads one member's raw bytes with libzip.
std::string member_bytes(const std::string& path, const std::string& name) {
    int err = 0;
    zip_t* za = zip_open(path.c_str(), ZIP_RDONLY, &err);
    REQUIRE(za != nullptr);
    zip_stat_t st;
    REQUIRE(zip_stat(za, name.c_str(), 0, &st) == 0);
    zip_file_t* zf = zip_fopen(za, name.c_str(), 0);
    REQUIRE(zf != nullptr);
    std::string s(st.size, '\0');
    REQUIRE(zip_fread(zf, s.data(), s.size()) == static_cast<zip_int64_t>(s.size()));
    zip_fclose(zf);
    zip_discard(za);
    return s;
}

bool have_python_numpy() { return std::system("/usr/bin/python3 -c \"import numpy\" >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("npz round trips every dtype and shapes (), (5,), (3,4), (2,3,4)", "[npz]") {
    TempDir dir;
    const std::vector<std::vector<std::size_t>> shapes = {{}, {5}, {3, 4}, {2, 3, 4}, {0, 3}};
    for (const auto& shape : shapes) {
        INFO("shape rank " << shape.size());
        check_roundtrip<float>(dir, shape, "<f4");
        check_roundtrip<double>(dir, shape, "<f8");
        check_roundtrip<std::int64_t>(dir, shape, "<i8");
        check_roundtrip<std::uint64_t>(dir, shape, "<u8");
    }

    SECTION("|u1 arrays and several arrays keep their order") {
        io::NpyArray u8{"|u1", {2, 3}, {'\x00', '\x01', '\x7f', '\x80', '\xfe', '\xff'}};
        const Arrays arrays = {{"zeta", tapegrad::io::to_npy(sample<float>({3}))},
                               {"alpha", u8},
                               {"mid/dle", tapegrad::io::to_npy(sample<std::int64_t>({}))}};
        tapegrad::io::save_npz(dir.file("multi.npz"), arrays);
        REQUIRE(same(tapegrad::io::load_npz(dir.file("multi.npz")), arrays));
    }
    SECTION("an empty list round trips") {
        tapegrad::io::save_npz(dir.file("empty.npz"), {});
        REQUIRE(tapegrad::io::load_npz(dir.file("empty.npz")).empty());
    }
}

TEST_CASE("save_npz writes NPY 1.0 headers padded to 64 bytes", "[npz]") {
    TempDir dir;
    const std::string p = dir.file("hdr.npz");
    tapegrad::io::save_npz(p, {{"m", tapegrad::io::to_npy(sample<float>({3, 4}))},
                           {"v", tapegrad::io::to_npy(sample<double>({5}))},
                           {"s", tapegrad::io::to_npy(sample<std::uint64_t>({}))}});
    const std::vector<std::pair<std::string, std::string>> expect = {
        {"m.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"},
        {"v.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }"},
        {"s.npy", "{'descr': '<u8', 'fortran_order': False, 'shape': (), }"},
        {"__checksum__.npy", "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }"}};
    for (const auto& [member, dict] : expect) {
        INFO(member);
        const std::string raw = member_bytes(p, member);
        REQUIRE(raw.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
        const std::size_t hlen = static_cast<unsigned char>(raw[8]) | (static_cast<unsigned char>(raw[9]) << 8);
        REQUIRE((10 + hlen) % 64 == 0);
        const std::string header = raw.substr(10, hlen);
        REQUIRE(header.compare(0, dict.size(), dict) == 0);
        REQUIRE(header.back() == '\n');
        REQUIRE(header.find_first_not_of(' ', dict.size()) == hlen - 1);
    }
}

TEST_CASE("save_npz replaces files atomically and leaves no temp files", "[npz]") {
    TempDir dir;
    const std::string p = dir.file("ckpt.npz");
    const Arrays a = {{"w", tapegrad::io::to_npy(sample<float>({3, 4}))}};
    const Arrays b = {{"w", tapegrad::io::to_npy(sample<double>({2, 3, 4}))}, {"step", tapegrad::io::to_npy(sample<std::int64_t>({}))}};
    tapegrad::io::save_npz(p, a);
    tapegrad::io::save_npz(p, b);
    REQUIRE(same(tapegrad::io::load_npz(p), b));
    REQUIRE(dir.listing() == std::vector<std::string>{"ckpt.npz"});

    SECTION("a save rejected for bad input leaves the old file untouched") {
        io::NpyArray bad{"<f4", {3, 4}, std::vector<char>(47)};
        CHECK_THAT(io_error_of([&] { tapegrad::io::save_npz(p, {{"w", bad}}); }),
                   Contains("save_npz") && Contains(p) && Contains("expected 48 bytes") && Contains("found 47"));
        CHECK_THAT(io_error_of([&] { tapegrad::io::save_npz(p, {{"w", a[0].second}, {"w", a[0].second}}); }),
                   Contains("'w' appears twice"));
        CHECK_THAT(io_error_of([&] { tapegrad::io::save_npz(p, {{"__checksum__", a[0].second}}); }), Contains("reserved"));
        CHECK_THAT(io_error_of([&] { tapegrad::io::save_npz(p, {{"", a[0].second}}); }), Contains("non-empty"));
        CHECK_THAT(io_error_of([&] { tapegrad::io::save_npz(p, {{"h", io::NpyArray{"<f2", {1}, {0, 0}}}}); }),
                   Contains("unsupported dtype '<f2'"));
        REQUIRE(same(tapegrad::io::load_npz(p), b));
        REQUIRE(dir.listing() == std::vector<std::string>{"ckpt.npz"});
    }
    SECTION("a failed rename removes the temp file") {
        fs::create_directories(dir.path / "occupied" / "child");  // rename() cannot replace a non-empty dir
        CHECK_THAT(io_error_of([&] { tapegrad::io::save_npz(dir.file("occupied"), a); }),
                   Contains("cannot rename temporary file"));
        REQUIRE(dir.listing() == std::vector<std::string>{"ckpt.npz", "occupied"});
    }
    SECTION("a missing directory is an IOError") {
        CHECK_THAT(io_error_of([&] { tapegrad::io::save_npz(dir.file("no/such/dir.npz"), a); }),
                   Contains("save_npz") && Contains("no/such/dir.npz"));
        REQUIRE(dir.listing() == std::vector<std::string>{"ckpt.npz"});
    }
    SECTION("a stale temp file from an earlier crash is overwritten") {
        write_file(p + ".tmp." + std::to_string(::getpid()), "garbage from a crashed save");
        tapegrad::io::save_npz(p, a);
        REQUIRE(same(tapegrad::io::load_npz(p), a));
        REQUIRE(dir.listing() == std::vector<std::string>{"ckpt.npz"});
    }
}

TEST_CASE("load_npz turns truncation and bit flips into IOError, never wrong data", "[npz]") {
    TempDir dir;
    const std::string p = dir.file("orig.npz");
    const Arrays arrays = {{"w", tapegrad::io::to_npy(sample<float>({3, 4}))},
                           {"b", tapegrad::io::to_npy(sample<double>({5}))},
                           {"n", tapegrad::io::to_npy(sample<std::int64_t>({}))}};
    tapegrad::io::save_npz(p, arrays);
    const std::string bytes = read_file(p);
    const std::string q = dir.file("mutated.npz");

    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        write_file(q, bytes.substr(0, cut));
        INFO("truncated to " << cut << " of " << bytes.size() << " bytes");
        REQUIRE_THROWS_AS(tapegrad::io::load_npz(q), IOError);
    }

    int errors = 0, harmless = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        for (unsigned char mask : {0x01, 0x10, 0x80, 0xFF}) {
            std::string m = bytes;
            m[i] = static_cast<char>(m[i] ^ mask);
            write_file(q, m);
            INFO("byte " << i << " of " << bytes.size() << " xor " << int(mask));
            Arrays got;
            try {
                got = tapegrad::io::load_npz(q);
            } catch (const IOError&) {
                ++errors;
                continue;
            }
            REQUIRE(same(got, arrays));
            ++harmless;
        }
    }
    WARN("single-byte flips: " << errors << " rejected with IOError, " << harmless
                               << " harmless (zip fields that do not affect the data)");
    CHECK(errors > harmless);

    // Multi-byte random damage, same contract.
    std::mt19937 rng(7);
    for (int iter = 0; iter < 400; ++iter) {
        std::string m = bytes;
        const int k = 1 + static_cast<int>(rng() % 8);
        for (int j = 0; j < k; ++j) m[rng() % m.size()] = static_cast<char>(rng());
        write_file(q, m);
        Arrays got;
        try {
            got = tapegrad::io::load_npz(q);
        } catch (const IOError&) {
            continue;
        }
        INFO("random damage iteration " << iter);
        REQUIRE(same(got, arrays));
    }
}

TEST_CASE("load_npz parses NPY headers strictly", "[npz]") {
    TempDir dir;
    const std::string p = dir.file("crafted.npz");
    const std::string f4x2(8, '\0');
    auto load_error = [&](const std::vector<std::pair<std::string, std::string>>& members) {
        write_zip(p, members);
        return io_error_of([&] { tapegrad::io::load_npz(p); });
    };
    const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";

    // Control: the crafted writer itself produces loadable files (no checksum member).
    write_zip(p, {{"a.npy", npy_v1(ok, f4x2)}});
    REQUIRE(tapegrad::io::load_npz(p).at(0).second.shape == std::vector<std::size_t>{2});
    write_zip(p, {{"a.npy", npy_v1(ok, f4x2)}}, /*deflate=*/true);
    REQUIRE(tapegrad::io::load_npz(p).at(0).first == "a");
    {  // NPY 2.0 has a 4-byte header length
        std::string h = ok;
        while ((12 + h.size() + 1) % 64) h += ' ';
        h += '\n';
        std::string v2 = std::string("\x93NUMPY\x02\x00", 8) + static_cast<char>(h.size()) + std::string(3, '\0');
        write_zip(p, {{"v2.npy", v2 + h + f4x2}});
        REQUIRE(tapegrad::io::load_npz(p).at(0).second.bytes.size() == 8);
    }

    CHECK_THAT(load_error({{"a.txt", npy_v1(ok, f4x2)}}), Contains(p) && Contains("'a.txt'") && Contains(".npy suffix"));
    CHECK_THAT(load_error({{".npy", npy_v1(ok, f4x2)}}), Contains("empty NAME"));
    CHECK_THAT(load_error({{"a.npy", "PK" + npy_v1(ok, f4x2)}}), Contains("member 'a.npy'") && Contains("bad magic"));
    CHECK_THAT(load_error({{"a.npy", "\x93NUM"}}), Contains("truncated .npy header"));
    {
        std::string v3 = npy_v1(ok, f4x2);
        v3[6] = 3;
        CHECK_THAT(load_error({{"a.npy", v3}}), Contains("unsupported .npy version 3.0: expected 1.0 or 2.0"));
        std::string longhdr = npy_v1(ok, f4x2);
        longhdr[9] = 0x40;  // header length 16K+ in a ~80-byte member
        CHECK_THAT(load_error({{"a.npy", longhdr}}), Contains("exceeds the"));
    }
    const std::vector<std::pair<std::string, std::string>> bad_dicts = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", "fortran_order': False, found True"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", "unsupported dtype '>f4'"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", "unsupported dtype '<f2'"},
        {"{'descr': '|b1', 'fortran_order': False, 'shape': (8,), }", "unsupported dtype '|b1'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "data is 8 bytes, expected 12"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", "is not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (02,), }", "leading zeros"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", "non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, }", "missing 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }", "found key 'extra'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", "'descr' appears twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ", "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", "expected end of header"},
        {"{'descr': '<f4\\', 'fortran_order': False, 'shape': (2,), }", "plain ASCII string"},
        {"{'descr': '<f4', 'fortran_order': false, 'shape': (2,), }", "True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "does not fit in 64 bits"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", "overflows"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }",
         "at most 32 dimensions"},
    };
    for (const auto& [dict, expected] : bad_dicts) {
        INFO(dict);
        CHECK_THAT(load_error({{"a.npy", npy_v1(dict, f4x2)}}),
                   Contains("load_npz") && Contains(p) && Contains("member 'a.npy'") && Contains(expected));
    }

    SECTION("checksum member") {
        tapegrad::io::save_npz(p, {{"a", io::NpyArray{"<f4", {2}, std::vector<char>(8)}}});
        std::string good = member_bytes(p, "__checksum__.npy");
        std::string wrong = good;
        wrong.back() ^= 0x40;
        CHECK_THAT(load_error({{"a.npy", member_bytes(p, "a.npy")}, {"__checksum__.npy", wrong}}),
                   Contains(p) && Contains("checksum mismatch: file is corrupt"));
        CHECK_THAT(load_error({{"a.npy", npy_v1(ok, std::string(8, '\1'))}, {"__checksum__.npy", good}}),
                   Contains("checksum mismatch: file is corrupt"));
        CHECK_THAT(load_error({{"a.npy", npy_v1(ok, f4x2)}, {"__checksum__.npy", npy_v1(ok, f4x2)}}),
                   Contains("expected a '<u8' array of shape [1]"));
        // The checksum covers member names, so renaming a member is detected too.
        CHECK_THAT(load_error({{"b.npy", member_bytes(p, "a.npy")}, {"__checksum__.npy", good}}),
                   Contains("checksum mismatch"));
    }
}

TEST_CASE("load_npz refuses absurd member sizes before allocating", "[npz]") {
    TempDir dir;
    const std::string p = dir.file("huge.npz");
    // A small deflated member whose declared uncompressed size is patched to 3 GiB in both the
    // local header and the central directory, so the archive stays self-consistent.
    std::string dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (1000,), }";
    write_zip(p, {{"a.npy", npy_v1(dict, std::string(1000, 'x'))}}, /*deflate=*/true);
    std::string z = read_file(p);
    const char three_gib[4] = {0, 0, 0, '\xC0'};  // 0xC0000000, little endian
    REQUIRE(z.compare(0, 4, "PK\x03\x04") == 0);
    z.replace(22, 4, three_gib, 4);
    const std::size_t cd = z.find("PK\x01\x02");
    REQUIRE(cd != std::string::npos);
    z.replace(cd + 24, 4, three_gib, 4);
    write_file(p, z);
    CHECK_THAT(io_error_of([&] { tapegrad::io::load_npz(p); }),
               Contains(p) && Contains("3221225472") && Contains("expected at most 2 GiB"));
}

TEST_CASE("from_npy checks the dtype and size exactly", "[npz]") {
    const io::NpyArray f = tapegrad::io::to_npy(sample<float>({3, 4}));
    CHECK_THAT(io_error_of([&] { tapegrad::io::from_npy<double>(f, "ckpt.npz:w"); }),
               Contains("from_npy") && Contains("'ckpt.npz:w'") && Contains("expected dtype '<f8', found '<f4'"));
    CHECK_THAT(io_error_of([&] { tapegrad::io::from_npy<std::int64_t>(f, "w"); }), Contains("expected dtype '<i8'"));
    CHECK_THAT(io_error_of([&] { tapegrad::io::from_npy<std::uint64_t>(f, "w"); }), Contains("expected dtype '<u8'"));
    io::NpyArray shortened = f;
    shortened.bytes.pop_back();
    CHECK_THAT(io_error_of([&] { tapegrad::io::from_npy<float>(shortened, "w"); }),
               Contains("expected 48 bytes for shape [3, 4] of '<f4', found 47"));
    io::NpyArray overflow{"<f4", {std::size_t{1} << 40, std::size_t{1} << 40}, {}};
    CHECK_THAT(io_error_of([&] { tapegrad::io::from_npy<float>(overflow, "w"); }), Contains("overflows"));
}

TEST_CASE("load_npz reports missing and non-zip files", "[npz]") {
    TempDir dir;
    const std::string missing = dir.file("missing.npz");
    CHECK_THAT(io_error_of([&] { tapegrad::io::load_npz(missing); }),
               Contains("load_npz") && Contains(missing) && Contains("No such file"));
    write_file(dir.file("text.npz"), "this is not a zip archive at all");
    CHECK_THAT(io_error_of([&] { tapegrad::io::load_npz(dir.file("text.npz")); }),
               Contains(dir.file("text.npz")) && Contains("expected a zip (.npz) archive"));
    write_file(dir.file("empty.npz"), "");
    REQUIRE_THROWS_AS(tapegrad::io::load_npz(dir.file("empty.npz")), IOError);
    CHECK_THAT(io_error_of([&] { tapegrad::io::load_npz(dir.path.string()); }), Contains("expected a regular .npz file"));
}

TEST_CASE("numpy.load reads what save_npz writes, and load_npz reads np.savez output", "[npz]") {
    if (!have_python_numpy()) {
        WARN("SKIPPED: /usr/bin/python3 with numpy not available");
        return;
    }
    TempDir dir;
    const std::string p = dir.file("for_numpy.npz");
    auto f32 = xt::xarray<float>::from_shape({3, 4});
    for (std::size_t i = 0; i < f32.size(); ++i) f32.data()[i] = static_cast<float>(i) * 0.25f - 1.0f;
    auto f64 = xt::xarray<double>::from_shape({2, 3, 4});
    for (std::size_t i = 0; i < f64.size(); ++i) f64.data()[i] = static_cast<double>(i) / 3.0;
    auto i64 = xt::xarray<std::int64_t>::from_shape({5});
    for (std::size_t i = 0; i < i64.size(); ++i) i64.data()[i] = static_cast<std::int64_t>(i) * -123456789012LL;
    auto u64 = xt::xarray<std::uint64_t>::from_shape(std::vector<std::size_t>{});
    u64() = std::numeric_limits<std::uint64_t>::max();
    io::NpyArray u8{"|u1", {7}, {}};
    for (int i = 0; i < 7; ++i) u8.bytes.push_back(static_cast<char>(i * 37 % 256));
    tapegrad::io::save_npz(p, {{"f32", tapegrad::io::to_npy(f32)},
                           {"f64", tapegrad::io::to_npy(f64)},
                           {"i64", tapegrad::io::to_npy(i64)},
                           {"u64", tapegrad::io::to_npy(u64)},
                           {"u8", u8},
                           {"empty", tapegrad::io::to_npy(xt::xarray<float>::from_shape({0, 3}))}});

    const std::string script = dir.file("check.py");
    const std::string from_numpy = dir.file("from_numpy.npz");
    const std::string from_numpy_z = dir.file("from_numpy_compressed.npz");
    write_file(script, R"PY(
import sys
import numpy as np
path, out, outz = sys.argv[1], sys.argv[2], sys.argv[3]
with np.load(path) as z:
    print("files:", z.files)
    assert z.files == ["f32", "f64", "i64", "u64", "u8", "empty", "__checksum__"], z.files
    def check(name, dtype, shape, expected):
        a = z[name]
        print(name, a.dtype.str, a.shape)
        assert a.dtype.str == dtype, (name, a.dtype.str)
        assert a.shape == shape, (name, a.shape)
        assert np.array_equal(a, np.asarray(expected, dtype=dtype).reshape(shape)), (name, a)
    check("f32", "<f4", (3, 4), np.arange(12, dtype=np.float32) * np.float32(0.25) - np.float32(1))
    check("f64", "<f8", (2, 3, 4), np.arange(24) / 3.0)
    check("i64", "<i8", (5,), np.arange(5, dtype=np.int64) * -123456789012)
    check("u64", "<u8", (), np.uint64(2**64 - 1))
    check("u8", "|u1", (7,), [i * 37 % 256 for i in range(7)])
    check("empty", "<f4", (0, 3), np.zeros((0, 3)))
    assert z["__checksum__"].dtype.str == "<u8" and z["__checksum__"].shape == (1,)
arrays = dict(w=np.arange(12, dtype=np.float32).reshape(3, 4) / 7, n=np.arange(5, dtype=np.int64) - 2,
              img=np.arange(4, dtype=np.uint8).reshape(2, 2), s=np.float64(2.5), u=np.array([1, 2**63], dtype=np.uint64))
np.savez(out, **arrays)
np.savez_compressed(outz, **arrays)
print("ok")
)PY");
    const std::string log = dir.file("python.log");
    const std::string cmd = "/usr/bin/python3 '" + script + "' '" + p + "' '" + from_numpy + "' '" + from_numpy_z +
                            "' >'" + log + "' 2>&1";
    const int rc = std::system(cmd.c_str());
    INFO("python output:\n" << read_file(log));
    REQUIRE(rc == 0);

    for (const std::string& f : {from_numpy, from_numpy_z}) {
        INFO(f);
        const Arrays got = tapegrad::io::load_npz(f);
        REQUIRE(got.size() == 5);
        REQUIRE(got[0].first == "w");
        REQUIRE(got[1].first == "n");
        REQUIRE(got[2].first == "img");
        REQUIRE(got[3].first == "s");
        REQUIRE(got[4].first == "u");
        const auto w = tapegrad::io::from_npy<float>(got[0].second, f + ":w");
        REQUIRE(w.shape()[0] == 3);
        REQUIRE(w.shape()[1] == 4);
        REQUIRE(w(2, 3) == 11.0f / 7.0f);
        const auto n = tapegrad::io::from_npy<std::int64_t>(got[1].second, f + ":n");
        REQUIRE(n(0) == -2);
        REQUIRE(n(4) == 2);
        REQUIRE(got[2].second.dtype == "|u1");
        REQUIRE(got[2].second.bytes == std::vector<char>{0, 1, 2, 3});
        const auto s = tapegrad::io::from_npy<double>(got[3].second, f + ":s");
        REQUIRE(s.dimension() == 0);
        REQUIRE(s() == 2.5);
        const auto u = tapegrad::io::from_npy<std::uint64_t>(got[4].second, f + ":u");
        REQUIRE(u(1) == (std::uint64_t{1} << 63));
    }
}
