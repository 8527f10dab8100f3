#pragma once
// The example programs as the tests run them: as processes, the way a user runs them, with small
// data sets the tests write (IDX folders of synthetic images; see also test_spam.cpp's corpus).
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <tapegrad/core/random.hpp>
#include <tapegrad/io/npz.hpp>

namespace test_programs {
namespace fs = std::filesystem;

// build/examples/<name>
inline fs::path example_binary(const std::string& name) { return fs::path(TAPEGRAD_EXAMPLES_DIR) / name; }

// Checks that two checkpoints hold the same arrays under the same names, byte for byte, apart
// from timings ("seconds"); returns how many arrays were compared.
inline std::size_t check_same_checkpoints(const std::string& x, const std::string& y) {
    const auto a = tapegrad::io::load_npz(x), b = tapegrad::io::load_npz(y);
    REQUIRE(a.size() == b.size());
    std::size_t compared = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].first.find("seconds") != std::string::npos) continue;
        INFO(a[i].first);
        CHECK(a[i].first == b[i].first);
        CHECK(a[i].second.bytes == b[i].second.bytes);
        ++compared;
    }
    return compared;
}

struct ProgramRun {
    int code;  // the exit status, or 128 + signal when it died of one
    std::string out, err;
};

inline std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

inline std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Runs exe with args under `timeout` (seconds), stdin from /dev/null, its output captured through
// files in scratch (a folder the caller owns).
inline ProgramRun run_program(const fs::path& exe, const std::vector<std::string>& args, const fs::path& scratch,
                              int timeout_seconds = 120) {
    static int counter = 0;
    const std::string tag = std::to_string(++counter);
    const fs::path out = scratch / ("stdout." + tag), err = scratch / ("stderr." + tag);
    std::string cmd = "timeout " + std::to_string(timeout_seconds) + " " + shell_quote(exe.string());
    for (const auto& a : args) cmd += " " + shell_quote(a);
    cmd += " </dev/null >" + shell_quote(out.string()) + " 2>" + shell_quote(err.string());
    const int status = std::system(cmd.c_str());
    int code = -1;
    if (status != -1) code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return {code, slurp(out), slurp(err)};
}

// An explainer's explain_main(argc, argv, out, err) called in this process, as its program would be:
// argv[0] is `name`, then args; its exit status and what it wrote on out and err.
inline ProgramRun call_main(int (*main_fn)(int, char**, std::ostream&, std::ostream&), const std::string& name,
                            std::vector<std::string> args) {
    args.insert(args.begin(), name);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::ostringstream out, err;
    const int code = main_fn(int(args.size()), argv.data(), out, err);
    return {code, out.str(), err.str()};
}

// A page opened in a real browser: Debian's chromium, headless, printing the DOM it built (out) and
// its log (err, where the page's console messages would appear as "CONSOLE"). install-deps installs it.
inline ProgramRun open_in_chromium(const fs::path& page, const fs::path& scratch) {
    return run_program("/usr/bin/chromium",
                       {"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr",
                        "--v=0", "--user-data-dir=" + (scratch / "chromium-profile").string(), "--dump-dom",
                        "file://" + fs::absolute(page).string()},
                       scratch, 60);
}

// An IDX ubyte file: magic 00 00 08 ndim, big-endian dims, payload.
inline void write_idx(const fs::path& p, const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& payload) {
    fs::create_directories(p.parent_path());
    std::string b = {0, 0, 8, static_cast<char>(dims.size())};
    for (std::uint32_t d : dims)
        for (int s = 24; s >= 0; s -= 8) b += static_cast<char>((d >> s) & 0xFF);
    b.append(payload.begin(), payload.end());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << b;
}

// A folder in the MNIST layout with four classes of 8×8 "images": a bright quadrant per class
// (top-left, top-right, bottom-left, bottom-right), plus noise. Easy to learn, hard to fake.
inline void write_synthetic_images(const fs::path& dir, std::size_t n_train, std::size_t n_test, std::uint64_t seed) {
    tapegrad::Generator g(seed);
    for (const char* split : {"train", "t10k"}) {
        const std::size_t n = std::string(split) == "train" ? n_train : n_test;
        std::vector<std::uint8_t> px(n * 64), lab(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t c = g.randint(4);
            lab[i] = std::uint8_t(c);
            for (std::size_t r = 0; r < 8; ++r)
                for (std::size_t col = 0; col < 8; ++col) {
                    const bool lit = (r / 4) == c / 2 && (col / 4) == c % 2;
                    const double v = std::clamp((lit ? 0.7 : 0.2) + 0.25 * g.normal(), 0.0, 1.0);
                    px[i * 64 + r * 8 + col] = std::uint8_t(std::lround(v * 255));
                }
        }
        write_idx(dir / (std::string(split) + "-images-idx3-ubyte"), {std::uint32_t(n), 8, 8}, px);
        write_idx(dir / (std::string(split) + "-labels-idx1-ubyte"), {std::uint32_t(n)}, lab);
    }
}

// The class names of those images, as train_fashion_mnist's --classes takes them.
inline const char* kSyntheticClasses = "top-left,top-right,bottom-left,bottom-right";

}  // namespace test_programs
