// Replays every input the fuzzers ever crashed on (tests/fuzz/regressions/<harness>/) and the seed
// corpora (tests/fuzz/corpus/<harness>/) through the harnesses' own entry points
// (tests/fuzz/fuzz_targets.hpp), in the ordinary test build: a fixed bug stays fixed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "fuzz/fuzz_targets.hpp"

namespace fs = std::filesystem;

namespace {
std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> v;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return v;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename().string().front() != '.') v.push_back(e.path());
    std::sort(v.begin(), v.end());
    return v;
}

void replay(const std::string& kind) {
    const fs::path root = fs::path(TAPEGRAD_SOURCE_DIR) / "tests" / "fuzz" / kind;
    std::size_t n = 0;
    for (const auto& [name, entry] : tapegrad_fuzz::targets()) {
        for (const auto& p : files_in(root / name)) {
            INFO(kind << " input " << p.string());
            std::ifstream f(p, std::ios::binary);
            const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
            CHECK_NOTHROW(entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
            ++n;
        }
    }
    if (kind == "corpus") CHECK(n >= 4);
}
}  // namespace

TEST_CASE("fuzz regressions: every saved crash input replays cleanly", "[fuzz]") { replay("regressions"); }

TEST_CASE("fuzz seed corpora replay cleanly", "[fuzz]") { replay("corpus"); }

// The seeds must stay valid inputs as the formats evolve (regenerate them with
// `tools/build-fuzzers.sh --seeds`), or the fuzzers start from the error paths only.
TEST_CASE("fuzz seeds: the seed checkpoint and IDX files still load", "[fuzz]") {
    const fs::path corpus = fs::path(TAPEGRAD_SOURCE_DIR) / "tests" / "fuzz" / "corpus";
    tapegrad_fuzz::FixedModel m;
    const auto st = tapegrad::train::load_checkpoint((corpus / "npz" / "checkpoint.npz").string(), *m.model, *m.opt);
    CHECK(st.epoch == 1);
    CHECK(m.opt->momentum_buffer(m.model->parameters()[0]) != nullptr);
    CHECK_NOTHROW(tapegrad::train::load_model((corpus / "npz" / "model.npz").string(), *m.model));
    CHECK(tapegrad::io::load_npz((corpus / "npz" / "dtypes.npz").string()).size() == 5);
    for (const char* f : {"images-idx3-ubyte", "images-idx3-ubyte.gz"})
        CHECK(tapegrad::data::read_idx((corpus / "idx" / f).string()).shape == std::vector<std::size_t>{2, 3, 3});
}

// The hand-written email seeds (tests/fuzz/corpus/email/) must keep reaching the text paths: each
// yields a subject and body tokens, and the MIME-specific ones decode what they are there for.
TEST_CASE("fuzz seeds: the seed emails still parse to text", "[fuzz]") {
    const fs::path dir = fs::path(TAPEGRAD_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "email";
    std::map<std::string, spam_filter::Email> parsed;
    for (const auto& p : files_in(dir)) {
        INFO("seed " << p.string());
        std::ifstream f(p, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        spam_filter::Email e = spam_filter::parse_email(bytes);
        CHECK(!e.subject.empty());
        CHECK(!spam_filter::tokenize(e.body).empty());
        parsed[p.filename().string()] = std::move(e);
    }
    REQUIRE(parsed.size() >= 8);
    auto has = [](const std::string& s, const char* what) { return s.find(what) != std::string::npos; };
    CHECK(has(parsed["02-quoted-printable.eml"].body, "soft line break, and"));
    CHECK(has(parsed["03-base64-text.eml"].body, "invoice #4711"));
    CHECK(has(parsed["04-html.eml"].body, "Viagra & Cialis"));
    CHECK(!has(parsed["04-html.eml"].body, "document.write"));
    CHECK(has(parsed["05-multipart-nested.eml"].body, "The forwarded text."));
    CHECK(!has(parsed["05-multipart-nested.eml"].body, "PDF"));
    CHECK(parsed["06-encoded-word-subject.eml"].subject.rfind("Gr\xC3\xBC\xC3\x9F" "e aus M\xC3\xBCnchen und Caf\xE9", 0) == 0);
    CHECK(has(parsed["07-missing-boundary.eml"].body, "boundary guessed"));
    CHECK(parsed["08-mbox-from.eml"].header_names.front() == "return-path");
}
