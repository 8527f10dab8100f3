#pragma once
// Entry points of the libFuzzer harnesses (tests/fuzz/fuzz_*.cpp), shared with the regression test
// (tests/test_fuzz_regressions.cpp) so a saved crash replays through exactly the same code.
//
// Each takes arbitrary bytes and checks the contract of the code under test:
//   - malformed input is reported as a tapegrad::Error (IOError, ValueError, ...): caught here;
//   - for the explainer, bad input is exit status 2 with "error: ..." on err;
//   - anything else that escapes (std::bad_alloc, std::length_error, nlohmann exceptions, ...) and
//     every broken invariant (FuzzInvariant) propagates out of the entry point: libFuzzer reports it
//     as a crash (uncaught exception -> abort), Catch2 as a failed test. ASan/UBSan/LSan findings
//     and timeouts are reported by the fuzzing runtime itself.
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include "email.hpp"
#include <tapegrad/data/csv.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/train/checkpoint.hpp>
#include <tapegrad/io/fnv.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/tapegrad.hpp>

#include "cli.hpp"

namespace tapegrad_fuzz {

// A broken postcondition of the code under test (never thrown for merely malformed input).
struct FuzzInvariant : std::logic_error {
    using std::logic_error::logic_error;
};

inline void require(bool ok, const std::string& what) {
    if (!ok) throw FuzzInvariant("fuzz invariant violated: " + what);
}

// One scratch file per (process, tag), on tmpfs when available; removed at exit.
class ScratchFile {
public:
    explicit ScratchFile(const std::string& tag) {
        std::error_code ec;
        std::filesystem::path dir = "/dev/shm";
        if (!std::filesystem::is_directory(dir, ec) || ::access(dir.c_str(), W_OK) != 0)
            dir = std::filesystem::temp_directory_path();
        path_ = (dir / ("tapegrad-fuzz-" + std::to_string(::getpid()) + "-" + tag)).string();
    }
    ~ScratchFile() { std::remove(path_.c_str()); }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;

    const std::string& path() const { return path_; }
    void write(const void* data, std::size_t size) const {
        std::FILE* f = std::fopen(path_.c_str(), "wb");
        if (f == nullptr) throw std::runtime_error("fuzz harness: cannot create scratch file " + path_);
        const bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
        if (std::fclose(f) != 0 || !ok) throw std::runtime_error("fuzz harness: cannot write scratch file " + path_);
    }

private:
    std::string path_;
};

// ------------------------------------------------------------------------------------------ IDX

inline std::vector<std::uint8_t> idx_bytes(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& payload) {
    std::vector<std::uint8_t> b{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
    for (std::uint32_t d : dims)
        for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

// The whole input is one IDX file (plain or gzip) -> read_idx. A file that reads as (N, r, c) is
// also loaded as images with a generated label file of N labels, and one that reads as (N,) as
// labels with generated N×1×1 images, through load_mnist_split.
inline void idx(const std::uint8_t* data, std::size_t size) {
    static ScratchFile file("idx"), other("idx-other");
    file.write(data, size);
    tapegrad::data::IdxArray a;
    try {
        a = tapegrad::data::read_idx(file.path());
    } catch (const tapegrad::Error&) {
        return;
    }
    require(a.shape.size() >= 1 && a.shape.size() <= 4, "read_idx: 1 to 4 dims");
    std::size_t n = 1;
    for (std::size_t d : a.shape) {
        require(d >= 1 && d <= (std::size_t{1} << 31), "read_idx: every dim in [1, 2^31]");
        n *= d;
    }
    require(n == a.data.size(), "read_idx: data.size() == product(shape)");
    require(a.dtype_code == 0x08, "read_idx: dtype_code 0x08");
    const bool plain = size < 2 || data[0] != 0x1f || data[1] != 0x8b;
    if (plain) {
        require(size == 4 + 4 * a.shape.size() + n, "read_idx: plain file size == header + payload");
        require(std::memcmp(data + size - n, a.data.data(), n) == 0, "read_idx: payload == the file's bytes");
    }

    if (a.shape.size() == 3 && n <= (std::size_t{1} << 20)) {
        std::vector<std::uint8_t> labels(a.data.begin(), a.data.begin() + static_cast<std::ptrdiff_t>(a.shape[0]));
        const auto lab = idx_bytes({static_cast<std::uint32_t>(a.shape[0])}, labels);
        other.write(lab.data(), lab.size());
        tapegrad::data::MnistSplit s = tapegrad::data::load_mnist_split(file.path(), other.path());  // must not throw
        const std::size_t pixels = a.shape[1] * a.shape[2];
        require(s.images.dimension() == 2 && s.images.shape()[0] == a.shape[0] && s.images.shape()[1] == pixels,
                "load_mnist_split: images (N, rows*cols)");
        for (std::size_t i = 0; i < n; ++i)
            require(s.images.data()[i] == float(a.data[i]) / 255.0f, "load_mnist_split: pixel / 255");
        require(s.labels.dimension() == 1 && s.labels.size() == a.shape[0], "load_mnist_split: labels (N,)");
        for (std::size_t i = 0; i < a.shape[0]; ++i) require(s.labels(i) == labels[i], "load_mnist_split: label bytes");
    } else if (a.shape.size() == 1 && n <= (std::size_t{1} << 20)) {
        const auto img = idx_bytes({static_cast<std::uint32_t>(n), 1, 1}, a.data);
        other.write(img.data(), img.size());
        tapegrad::data::MnistSplit s = tapegrad::data::load_mnist_split(other.path(), file.path());  // must not throw
        require(s.labels.size() == n, "load_mnist_split: N labels");
        for (std::size_t i = 0; i < n; ++i) require(s.labels(i) == a.data[i], "load_mnist_split: label bytes");
    }
}

// ----------------------------------------------------------------------------- npz / checkpoints

// The fixed model every fuzzed checkpoint is loaded into: 0.weight (2, 3), 0.bias (2,),
// 2.weight (2, 2), 2.bias (2,); float, SGD with momentum.
struct FixedModel {
    tapegrad::Generator gen{0};
    std::shared_ptr<tapegrad::nn::Sequential<float>> model;
    std::unique_ptr<tapegrad::optim::SGD<float>> opt;
    FixedModel() {
        using namespace tapegrad;
        model = std::make_shared<nn::Sequential<float>>();
        model->push_back(std::make_shared<nn::Linear<float>>(3, 2, true, gen));
        model->push_back(std::make_shared<nn::ReLU<float>>());
        model->push_back(std::make_shared<nn::Linear<float>>(2, 2, true, gen));
        opt = std::make_unique<optim::SGD<float>>(model->parameters(), 0.1, 0.9);
    }
    // Parameters, momentum buffers and learning rates, for "nothing changed" comparisons.
    struct Snapshot {
        std::vector<xt::xarray<float>> params, bufs;
        std::vector<bool> has_buf;
        std::vector<double> lrs;
        bool operator==(const Snapshot& o) const {
            return params == o.params && bufs == o.bufs && has_buf == o.has_buf && lrs == o.lrs;
        }
    };
    Snapshot snapshot() const {
        Snapshot s;
        for (const auto& p : model->parameters()) s.params.push_back(p.value());
        for (const auto& p : model->parameters()) {
            const auto* b = opt->momentum_buffer(p);
            s.has_buf.push_back(b != nullptr);
            s.bufs.push_back(b ? *b : xt::xarray<float>());
        }
        for (const auto& g : opt->param_groups()) s.lrs.push_back(g.lr);
        return s;
    }
};

inline std::size_t npy_itemsize(const std::string& dtype) {
    if (dtype == "<f4") return 4;
    if (dtype == "<f8" || dtype == "<i8" || dtype == "<u8") return 8;
    if (dtype == "|u1") return 1;
    return 0;
}

// Bit-exact comparison of a loaded array with its NpyArray.
template <class T> bool same_bytes(const xt::xarray<T>& a, const tapegrad::io::NpyArray& n) {
    return a.size() * sizeof(T) == n.bytes.size() && (a.size() == 0 || std::memcmp(a.data(), n.bytes.data(), n.bytes.size()) == 0);
}

// path holds the fuzzed archive: load_npz, io::from_npy on every array, load_model and
// load_checkpoint into FixedModel (which must stay untouched whenever they throw, and must hold
// exactly the file's arrays when they succeed), Generator::set_state on the loaded rng_state.
inline void check_npz_file(const std::string& path) {
    std::vector<std::pair<std::string, tapegrad::io::NpyArray>> arrays;
    try {
        arrays = tapegrad::io::load_npz(path);
    } catch (const tapegrad::Error&) {
        return;
    }
    std::map<std::string, const tapegrad::io::NpyArray*> byname;
    for (const auto& [name, a] : arrays) {
        require(!name.empty(), "load_npz: non-empty names");
        require(name + ".npy" != "__checksum__.npy", "load_npz: checksum member not returned");
        require(byname.emplace(name, &a).second, "load_npz: unique names");
        const std::size_t item = npy_itemsize(a.dtype);
        require(item != 0, "load_npz: dtype is one of the five supported ('" + a.dtype + "')");
        std::size_t n = item;
        bool zero = false;
        for (std::size_t d : a.shape) {
            zero = zero || d == 0;
            require(!__builtin_mul_overflow(n, std::max<std::size_t>(d, 1), &n), "load_npz: shape product fits");
        }
        require(a.bytes.size() == (zero ? 0 : n), "load_npz: bytes.size() == product(shape) * itemsize");
        try {
            if (a.dtype == "<f4") require(same_bytes(tapegrad::io::from_npy<float>(a, name), a), "from_npy<float>");
            if (a.dtype == "<f8") require(same_bytes(tapegrad::io::from_npy<double>(a, name), a), "from_npy<double>");
            if (a.dtype == "<i8") require(same_bytes(tapegrad::io::from_npy<std::int64_t>(a, name), a), "from_npy<int64>");
            if (a.dtype == "<u8") require(same_bytes(tapegrad::io::from_npy<std::uint64_t>(a, name), a), "from_npy<uint64>");
        } catch (const tapegrad::Error& e) {
            require(false, std::string("from_npy threw on an array load_npz accepted: ") + e.what());
        }
    }

    {
        FixedModel m;
        const auto before = m.snapshot();
        bool ok = true;
        try {
            tapegrad::train::load_model(path, *m.model);
        } catch (const tapegrad::Error&) {
            ok = false;
        }
        if (!ok) {
            require(m.snapshot() == before, "load_model threw but changed the model");
        } else {
            for (const auto& [name, p] : m.model->named_parameters()) {
                auto it = byname.find(name);
                require(it != byname.end(), "load_model succeeded without parameter " + name);
                require(same_bytes(p.value(), *it->second), "load_model: parameter " + name + " == file");
            }
        }
    }
    {
        FixedModel m;
        const auto before = m.snapshot();
        tapegrad::train::TrainState st;
        bool ok = true;
        try {
            st = tapegrad::train::load_checkpoint(path, *m.model, *m.opt);
        } catch (const tapegrad::Error&) {
            ok = false;
        }
        if (!ok) {
            require(m.snapshot() == before, "load_checkpoint threw but changed the model or optimizer");
            return;
        }
        for (const auto& [name, p] : m.model->named_parameters()) {
            auto it = byname.find(name);
            require(it != byname.end(), "load_checkpoint succeeded without parameter " + name);
            require(same_bytes(p.value(), *it->second), "load_checkpoint: parameter " + name + " == file");
            auto b = byname.find("optimizer.momentum_buffer." + name);
            if (b != byname.end()) {
                const auto* buf = m.opt->momentum_buffer(p);
                require(buf != nullptr, "load_checkpoint: momentum buffer of " + name + " set");
                require(same_bytes(*buf, *b->second), "load_checkpoint: momentum buffer == file");
            }
        }
        auto e = byname.find("epoch");
        require(e != byname.end() && e->second->bytes.size() == 8 &&
                    std::memcmp(&st.epoch, e->second->bytes.data(), 8) == 0,
                "load_checkpoint: epoch == file");
        for (std::size_t g = 0; g < st.lrs.size(); ++g)
            require(std::memcmp(&st.lrs[g], &m.opt->param_groups()[g].lr, sizeof(double)) == 0,
                    "load_checkpoint: lr restored");
        tapegrad::Generator gen(0);
        try {
            gen.set_state(st.rng_state);
        } catch (const tapegrad::Error&) {
        }
    }
}

// The whole input is an .npz file.
inline void npz(const std::uint8_t* data, std::size_t size) {
    static ScratchFile file("npz");
    file.write(data, size);
    check_npz_file(file.path());
}

// Structure-aware variant: the input describes the members, the harness writes a valid zip (so
// libzip's CRCs hold) with, optionally, the right tapegrad checksum, and the mutations reach the
// .npy parser and the checkpoint logic instead of dying at a CRC or checksum mismatch.
//   byte 0: flags   bit0 append a correct __checksum__.npy   bit1 deflate instead of store
//                   bit2 put the checksum member first
//   then records:   u8 name length, name bytes, u16 (LE) data length, data bytes
// A record cut short ends the list; a NUL in a name ends the name; a repeated name is skipped.
struct Member {
    std::string name;
    std::string bytes;
};

inline std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

// The checksum member io::save_npz writes for these members (an .npy of one '<u8').
inline Member checksum_member(const std::vector<Member>& members) {
    std::uint64_t sum = 14695981039346656037ull;
    for (const auto& m : members) {
        if (m.name == "__checksum__.npy") continue;
        sum = fnv1a(sum, m.name.data(), m.name.size());
        sum = fnv1a(sum, m.bytes.data(), m.bytes.size());
    }
    std::string dict = "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }";
    dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
    dict += '\n';
    std::string npy = std::string("\x93NUMPY\x01\x00", 8);
    npy += static_cast<char>(dict.size() & 0xFF);
    npy += static_cast<char>(dict.size() >> 8);
    npy += dict;
    npy.append(reinterpret_cast<const char*>(&sum), 8);
    return {"__checksum__.npy", npy};
}

inline std::vector<Member> parse_members(const std::uint8_t* data, std::size_t size, unsigned& flags) {
    std::vector<Member> out;
    flags = size > 0 ? data[0] : 0;
    std::size_t i = 1;
    while (i < size) {
        const std::size_t nl = data[i++];
        if (i + nl + 2 > size) break;
        std::string name(reinterpret_cast<const char*>(data + i), nl);
        i += nl;
        const std::size_t dl = std::size_t{data[i]} | (std::size_t{data[i + 1]} << 8);
        i += 2;
        if (i + dl > size) break;
        name = name.c_str();  // what zip_file_add will store
        bool dup = false;
        for (const auto& m : out) dup = dup || m.name == name;
        if (!dup) out.push_back({name, std::string(reinterpret_cast<const char*>(data + i), dl)});
        i += dl;
    }
    return out;
}

// Serialises members into the record format above (make_seeds and tests use it).
inline std::string members_to_records(const std::vector<Member>& members, unsigned flags) {
    std::string out(1, static_cast<char>(flags));
    for (const auto& m : members) {
        if (m.name.size() > 255 || m.bytes.size() > 65535) throw std::length_error("member too large for a record");
        out += static_cast<char>(m.name.size());
        out += m.name;
        out += static_cast<char>(m.bytes.size() & 0xFF);
        out += static_cast<char>(m.bytes.size() >> 8);
        out += m.bytes;
    }
    return out;
}

inline void write_zip(const std::string& path, const std::vector<Member>& members, bool deflate) {
    std::remove(path.c_str());
    int err = 0;
    zip_t* za = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (za == nullptr) throw std::runtime_error("fuzz harness: zip_open failed");
    for (const auto& m : members) {
        zip_source_t* src = zip_source_buffer(za, m.bytes.data(), m.bytes.size(), 0);
        zip_int64_t idx = src ? zip_file_add(za, m.name.c_str(), src, ZIP_FL_ENC_GUESS) : -1;
        if (idx < 0) {
            if (src) zip_source_free(src);
            continue;  // e.g. a name libzip refuses
        }
        zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
    if (zip_close(za) != 0) {
        zip_discard(za);
        throw std::runtime_error("fuzz harness: zip_close failed");
    }
}

inline void npz_members(const std::uint8_t* data, std::size_t size) {
    static ScratchFile file("npz-members");
    unsigned flags = 0;
    std::vector<Member> members = parse_members(data, size, flags);
    if (flags & 1) {
        Member c = checksum_member(members);
        for (auto it = members.begin(); it != members.end();)
            it = it->name == c.name ? members.erase(it) : it + 1;
        if (flags & 4)
            members.insert(members.begin(), c);
        else
            members.push_back(c);
    }
    write_zip(file.path(), members, (flags & 2) != 0);
    check_npz_file(file.path());
}

// ------------------------------------------------------------------------------------ explainer

// Input lines (split on '\n'): logits, target, then optional weight, ignore-index, reduction,
// label-smoothing, "text" for the step-by-step explanation instead of --json, the --loss name and
// --compare's options. Empty optional lines are left out of the command line.
inline void explain(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> f(1);
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == '\n')
            f.emplace_back();
        else
            f.back() += static_cast<char>(data[i]);
    }
    f.resize(std::max<std::size_t>(f.size(), 9));
    const bool text = f[6] == "text";
    std::vector<std::string> args{"explain_cross_entropy", "--logits=" + f[0], "--target=" + f[1]};
    if (!f[2].empty()) args.push_back("--weight=" + f[2]);
    if (!f[3].empty()) args.push_back("--ignore-index=" + f[3]);
    if (!f[4].empty()) args.push_back("--reduction=" + f[4]);
    if (!f[5].empty()) args.push_back("--label-smoothing=" + f[5]);
    if (!f[7].empty()) args.push_back("--loss=" + f[7]);
    if (!f[8].empty()) args.push_back("--compare=" + f[8]);
    if (!text) args.push_back("--json");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::ostringstream out, err;
    const int rc = explain_ce::explain_main(static_cast<int>(args.size()), argv.data(), out, err);
    require(rc == 0 || rc == 1 || rc == 2, "explain_main returns 0, 1 or 2, got " + std::to_string(rc));
    if (rc == 2) {
        require(err.str().rfind("error: ", 0) == 0, "explain_main: status 2 comes with 'error: ...'");
        return;
    }
    require(err.str().empty(), "explain_main: nothing on err when it succeeds");
    if (!text) {
        require(rc == 0, "explain_main --json returns 0 when it succeeds");
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(out.str());
        } catch (const nlohmann::json::exception& e) {
            require(false, std::string("explain_main --json printed malformed JSON: ") + e.what());
        }
        if (!f[8].empty())
            require(j.is_object() && j.size() == 2 && j.contains("a") && j.contains("b") && j["a"].contains("loss") &&
                        j["b"].contains("grad"),
                    "explain_main --compare --json prints {a: {loss, grad}, b: {loss, grad}}");
        else if (f[7].empty() || f[7] == "cross_entropy")
            require(j.is_object() && j.contains("loss") && j.contains("grad") && j.contains("softmax"),
                    "explain_main --json prints {loss, grad, softmax}");
        else
            require(j.is_object() && j.size() == 2 && j.contains("loss") && j.contains("grad"),
                    "explain_main --loss NAME --json prints {loss, grad}");
    }
}

// ---------------------------------------------------------------------------------------- email

// Every token obeys tokenize's documented rule: non-empty, at most kMaxTokenBytes bytes, only
// lower-case ASCII letters, digits, bytes >= 0x80 and inner apostrophes; no separator sequence
// (UTF-8 U+00A0, U+2000..U+202F) inside.
inline void check_token(std::string_view t, const std::string& where) {
    require(!t.empty(), where + ": empty token");
    require(t.size() <= spam_filter::kMaxTokenBytes, where + ": token longer than kMaxTokenBytes");
    require(t.front() != '\'' && t.back() != '\'', where + ": apostrophe at a token's edge");
    for (std::size_t i = 0; i < t.size(); ++i) {
        const auto c = static_cast<unsigned char>(t[i]);
        require(!(c >= 'A' && c <= 'Z'), where + ": ASCII upper-case byte in a token");
        require(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'',
                where + ": non-word ASCII byte in a token");
        if (c == 0xC2) require(!(i + 1 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0xA0), where + ": U+00A0 inside a token");
        if (c == 0xE2 && i + 2 < t.size())
            require(!(static_cast<unsigned char>(t[i + 1]) == 0x80 && static_cast<unsigned char>(t[i + 2]) >= 0x80 &&
                      static_cast<unsigned char>(t[i + 2]) <= 0xAF),
                    where + ": U+2000..U+202F inside a token");
    }
}

inline std::vector<std::string> checked_tokens(std::string_view text, const std::string& where) {
    std::vector<std::string> toks = spam_filter::tokenize(text);
    for (const auto& t : toks) check_token(t, where);
    return toks;
}

// feature_strings as documented, rebuilt from tokenize.
inline std::vector<std::string> expected_features(const spam_filter::Email& e) {
    std::vector<std::string> out;
    auto stream = [&out](const std::vector<std::string>& toks, const std::string& prefix) {
        for (std::size_t i = 0; i < toks.size(); ++i) {
            out.push_back(prefix + toks[i]);
            if (i > 0) out.push_back(prefix + toks[i - 1] + " " + toks[i]);
        }
    };
    stream(checked_tokens(e.subject, "tokenize(subject)"), "s:");
    for (const auto& n : e.header_names) out.push_back("h:" + n);
    for (const auto& [n, v] : e.header_values)
        for (const auto& t : checked_tokens(v, "tokenize(header value)")) out.push_back(n + ":" + t);
    stream(checked_tokens(e.body, "tokenize(body)"), "");
    return out;
}

// A harness-side base64 encoder (standard alphabet, '=' padding) for the round trip.
inline std::string base64_encode(std::string_view s) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= s.size(); i += 3) {
        const std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(s[i])} << 16) |
                                (std::uint32_t{static_cast<unsigned char>(s[i + 1])} << 8) | static_cast<unsigned char>(s[i + 2]);
        for (int k = 18; k >= 0; k -= 6) out += a[(v >> k) & 63];
    }
    if (i < s.size()) {
        std::uint32_t v = std::uint32_t{static_cast<unsigned char>(s[i])} << 16;
        if (i + 1 < s.size()) v |= std::uint32_t{static_cast<unsigned char>(s[i + 1])} << 8;
        out += a[(v >> 18) & 63];
        out += a[(v >> 12) & 63];
        out += i + 1 < s.size() ? a[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// The whole input is one raw email (RFC 822 / MIME, or anything): parse_email, tokenize on the
// subject, From, header values and body, feature_strings, hashed_features with 2^18 and 7 buckets;
// and the exposed decoders on the raw bytes. Nothing may throw (email.hpp: "never throws on
// content"), so every exception propagates as a crash. Checked:
//   - tokens: check_token above; feature_strings == the documented rule rebuilt from tokenize;
//   - hashed_features(e, b)[i] == fnv1a64(feature_strings(e)[i]) % b, so the sizes match and
//     every id is in [0, b);
//   - Email: at most 256 header values of at most 4096 bytes; subject/from/body no longer than
//     the input (every byte comes from a distinct input byte; decoding only shrinks);
//   - decoders: output no longer than the input (quoted-printable, encoded words, strip_html:
//     every rule maps n input bytes to at most n output bytes) and at most 3/4 of it for base64
//     (6 bits per alphabet character); decode_base64(base64(x)) == x and
//     decode_quoted_printable("=XX" for every byte of x) == x.
inline void email(const std::uint8_t* data, std::size_t size) {
    namespace td = spam_filter;
    const std::string_view raw(reinterpret_cast<const char*>(data), size);

    const td::Email e = td::parse_email(raw);
    require(e.subject.size() <= size, "parse_email: subject no longer than the input");
    require(e.from.size() <= size, "parse_email: from no longer than the input");
    require(e.body.size() <= size, "parse_email: body no longer than the input");
    require(e.header_values.size() <= 256, "parse_email: at most 256 header values");
    require(e.header_values.size() <= e.header_names.size(), "parse_email: header_values only for named headers");
    for (const auto& [n, v] : e.header_values) {
        require(v.size() <= 4096, "parse_email: header value of at most 4096 bytes ('" + n + "' has " +
                                      std::to_string(v.size()) + ")");
        require(n != "subject" && n != "message-id" && n != "date",
                "parse_email: no value kept for subject/routing header '" + n + "'");
        if (n == "received") {  // the protocols only: tokens without digits, space-joined
            std::string joined;
            for (const auto& t : spam_filter::tokenize(v)) {
                require(std::none_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }),
                        "parse_email: a Received word with a digit");
                joined += (joined.empty() ? "" : " ") + t;
            }
            require(joined == v, "parse_email: Received value == its tokens joined by single spaces");
            require(v.size() <= size, "parse_email: Received value no longer than the input");
        }
    }
    for (const auto& n : e.header_names)
        for (char c : n) require(!(c >= 'A' && c <= 'Z'), "parse_email: header names lower-cased");
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
    require(e.subject.empty() || (!space(e.subject.front()) && !space(e.subject.back())), "parse_email: subject trimmed");
    require(e.from.empty() || (!space(e.from.front()) && !space(e.from.back())), "parse_email: from trimmed");

    checked_tokens(e.from, "tokenize(from)");
    const std::vector<std::string> features = td::feature_strings(e);
    require(features == expected_features(e), "feature_strings == the documented unigram/bigram rule over tokenize");
    for (const std::size_t buckets : {std::size_t{1} << 18, std::size_t{7}}) {
        const std::vector<std::int64_t> ids = td::hashed_features(e, buckets);
        require(ids.size() == features.size(), "hashed_features(e, b).size() == feature_strings(e).size()");
        for (std::size_t i = 0; i < ids.size(); ++i) {
            require(ids[i] >= 0 && static_cast<std::size_t>(ids[i]) < buckets, "hashed_features: id in [0, buckets)");
            require(static_cast<std::uint64_t>(ids[i]) == tapegrad::io::fnv1a64(features[i]) % buckets,
                    "hashed_features[i] == fnv1a64(feature_strings[i]) % buckets");
        }
    }

    require(td::decode_quoted_printable(raw).size() <= size, "decode_quoted_printable: output <= input");
    require(td::decode_base64(raw).size() * 4 <= size * 3, "decode_base64: output <= 3/4 of the input");
    require(td::decode_encoded_words(raw).size() <= size, "decode_encoded_words: output <= input");
    const std::string text = td::strip_html(raw);
    require(text.size() <= size, "strip_html: output <= input");
    checked_tokens(text, "tokenize(strip_html)");
    checked_tokens(raw, "tokenize(raw)");

    require(td::decode_base64(base64_encode(raw)) == raw, "decode_base64(base64(x)) == x");
    std::string qp;
    qp.reserve(3 * size);
    for (unsigned char c : raw) {
        static const char* hex = "0123456789ABCDEF";
        qp += '=';
        qp += hex[c >> 4];
        qp += (c & 1) ? hex[c & 15] : static_cast<char>(std::tolower(hex[c & 15]));  // both cases
    }
    require(td::decode_quoted_printable(qp) == raw, "decode_quoted_printable(=XX...) == x");
}

// -------------------------------------------------------------------------------------------- CSV

// The table written back as CSV text that must read as the same table: every text field quoted,
// numbers with 17 significant digits, missing values as empty fields.
inline std::string write_csv(const tapegrad::data::CsvTable& t, bool header, char delim) {
    auto quote = [](const std::string& s) {
        std::string q = "\"";
        for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    };
    std::string out;
    const std::size_t k = t.num_columns();
    if (header)
        for (std::size_t j = 0; j < k; ++j) out += quote(t.column(j).name) + (j + 1 < k ? std::string(1, delim) : "\n");
    for (std::size_t r = 0; r < t.num_rows(); ++r)
        for (std::size_t j = 0; j < k; ++j) {
            const auto& c = t.column(j);
            if (c.missing[r]) {
                out += "\"\"";
            } else if (c.type == tapegrad::data::ColumnType::String) {
                out += quote(c.strings[r]);
            } else {
                char buf[40];
                std::snprintf(buf, sizeof buf, "%.17g", c.numbers[r]);
                out += buf;
            }
            out += j + 1 < k ? std::string(1, delim) : "\n";
        }
    return out;
}

// The whole input is CSV text, read twice: with the defaults, and headerless with ';' and no
// missing-value strings. Checked for each table:
//   - shapes: every column has num_rows() entries of its type, names are unique, and
//     num_rows() · max(1, columns − 1) <= input size (a row spends at least a byte per delimiter);
//   - text fields are no longer than the input in all; a missing number is NaN;
//   - line_of_row() increases and stays within the number of line breaks + 1;
//   - to_array on every numeric column without missing values succeeds;
//   - writing the table back (write_csv) and reading it with the same options gives the same
//     table: names, types, missing flags, numbers bit for bit (NaN aside), strings byte for byte.
inline void csv(const std::uint8_t* data, std::size_t size) {
    namespace td = tapegrad::data;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const td::CsvOptions variants[2] = {td::CsvOptions(), td::CsvOptions().header(false).delimiter(';').na_values({})};
    for (int v = 0; v < 2; ++v) {
        const td::CsvOptions& o = variants[v];
        td::CsvTable t;
        try {
            t = td::parse_csv(text, o, "fuzz.csv");
        } catch (const tapegrad::Error&) {
            continue;
        }
        const std::size_t rows = t.num_rows(), k = t.num_columns();
        require(k >= 1, "parse_csv: at least one column");
        require(rows * std::max<std::size_t>(1, k - 1) <= size, "parse_csv: rows · max(1, k − 1) <= input size");
        std::set<std::string> names;
        std::size_t text_bytes = 0;
        std::vector<std::string> clean;  // numeric columns without missing values
        for (std::size_t j = 0; j < k; ++j) {
            const auto& c = t.column(j);
            require(names.insert(c.name).second, "parse_csv: unique column names");
            require(c.missing.size() == rows, "parse_csv: one missing flag per row");
            if (c.type == td::ColumnType::Number) {
                require(c.numbers.size() == rows && c.strings.empty(), "parse_csv: a number column holds numbers");
                for (std::size_t r = 0; r < rows; ++r)
                    require(!c.missing[r] || std::isnan(c.numbers[r]), "parse_csv: a missing number is NaN");
                if (c.missing_count() == 0) clean.push_back(c.name);
            } else {
                require(c.strings.size() == rows && c.numbers.empty(), "parse_csv: a text column holds strings");
                for (const auto& s : c.strings) text_bytes += s.size();
            }
        }
        require(text_bytes <= size, "parse_csv: text no longer than the input");
        const std::size_t breaks = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n') + std::count(text.begin(), text.end(), '\r'));
        for (std::size_t r = 0; r < rows; ++r) {
            require(t.line_of_row(r) <= breaks + 1, "parse_csv: line_of_row within the input's lines");
            require(r == 0 || t.line_of_row(r) > t.line_of_row(r - 1), "parse_csv: line_of_row increases");
        }
        const auto a = t.to_array<double>(clean);  // must not throw
        require(a.shape()[0] == rows && a.shape()[1] == clean.size(), "to_array: (rows, columns)");

        const std::string again = write_csv(t, o.header(), o.delimiter());
        td::CsvTable u;
        try {
            u = td::parse_csv(again, o, "again.csv");
        } catch (const tapegrad::Error& e) {
            require(false, std::string("parse_csv(write_csv(table)) threw: ") + e.what());
        }
        require(u.num_rows() == rows && u.num_columns() == k, "round trip: same shape");
        for (std::size_t j = 0; j < k; ++j) {
            const auto &c = t.column(j), &d = u.column(j);
            require(c.name == d.name && c.type == d.type && c.missing == d.missing, "round trip: same names, types, missing flags");
            require(c.strings == d.strings, "round trip: same strings");
            for (std::size_t r = 0; r < c.numbers.size(); ++r)
                require(c.missing[r] || std::memcmp(&c.numbers[r], &d.numbers[r], sizeof(double)) == 0, "round trip: same numbers");
        }
    }
}

// name -> entry point, for the regression test.
inline const std::map<std::string, std::function<void(const std::uint8_t*, std::size_t)>>& targets() {
    static const std::map<std::string, std::function<void(const std::uint8_t*, std::size_t)>> t{
        {"idx", idx}, {"npz", npz}, {"npz_members", npz_members}, {"explain", explain}, {"email", email}, {"csv", csv}};
    return t;
}

}  // namespace tapegrad_fuzz
