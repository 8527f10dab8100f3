// examples/train_csv: the encoder in process (train_csv_lib), the program as a user runs it on tables
// the tests write (numbers, text, missing values; a label with names).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tapegrad/tapegrad.hpp>

#include "example_programs.hpp"
#include "tabular.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using namespace tapegrad;
namespace fs = std::filesystem;

namespace {
// 3 classes: "low" / "mid" / "high" by a noisy numeric score; a text column "colour" that agrees
// with the class 80% of the time; a numeric column with missing values; an id column to drop.
std::string make_table(std::size_t rows, std::uint64_t seed, bool with_label = true) {
    Generator g(seed);
    std::ostringstream s;
    s << "id,score,colour,noise" << (with_label ? ",target" : "") << "\n";
    const char* names[] = {"low", "mid", "high"};
    const char* colours[] = {"red", "green", "blue"};
    for (std::size_t i = 0; i < rows; ++i) {
        const std::size_t c = g.randint(3);
        const double score = 10.0 * double(c) + 2.0 * g.normal();
        const std::size_t colour = g.randint(5) == 0 ? g.randint(3) : c;
        s << i << "," << score << "," << (i % 17 == 3 ? "" : colours[colour]) << ","
          << (i % 7 == 0 ? std::string("NA") : std::to_string(g.normal()));
        if (with_label) s << "," << names[c];
        s << "\n";
    }
    return s.str();
}
void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }
test_programs::ProgramRun run_train_csv(const std::vector<std::string>& args, const fs::path& scratch) {
    return test_programs::run_program(test_programs::example_binary("train_csv"), args, scratch);
}
double final_accuracy(const std::string& out) {
    const auto at = out.find("final test accuracy ");
    return at == std::string::npos ? -1.0 : std::stod(out.substr(at + 20));
}
}  // namespace

TEST_CASE("train_csv's encoder: training statistics only, one-hot with rare values pooled, missing values filled", "[train_csv]") {
    const auto t = data::parse_csv("x,c,y\n1,a,p\n2,a,q\n3,b,p\nNA,a,q\n100,,p\n7,zz,q\n");
    const train_csv::Split split{{0, 1, 2, 3}, {4, 5}};
    const auto e = train_csv::Encoder::fit(t, "y", {}, split.train, /*min_count=*/2);
    REQUIRE(e.features().size() == 2);
    const auto& x = e.features()[0];
    CHECK(x.numeric);
    CHECK(x.mean == Approx(2.0));                   // rows 0-2: the missing row 3 and test row 4 are not used
    CHECK(x.std == Approx(std::sqrt(2.0 / 3.0)));   // population std, as StandardScaler
    const auto& c = e.features()[1];
    CHECK_FALSE(c.numeric);
    CHECK(c.categories == std::vector<std::string>{"a"});  // "b" seen once < min_count: pooled
    CHECK(c.fill == "a");
    CHECK(e.width() == 3);  // x, c=a, c=(other)
    std::vector<std::size_t> missing;
    const auto train = e.transform(t, split.train, &missing);
    CHECK(missing == std::vector<std::size_t>{1, 0});
    CHECK(train(3, 0) == 0.0f);  // a missing number: the training mean, standardised to 0
    CHECK(train(2, 1) == 0.0f);
    CHECK(train(2, 2) == 1.0f);  // "b" → (other)
    const auto test = e.transform(t, split.test, &missing);
    CHECK(missing == std::vector<std::size_t>{0, 1});
    CHECK(test(0, 0) == Approx((100.0 - 2.0) / std::sqrt(2.0 / 3.0)));
    CHECK(test(0, 1) == 1.0f);  // a missing text: the commonest training value "a"
    CHECK(test(1, 2) == 1.0f);  // "zz", never seen: (other)
    // the encoder survives its JSON round trip, and a malformed one is refused
    const auto back = train_csv::Encoder::from_json(e.to_json());
    CHECK((back.transform(t, split.test) == test));
    CHECK_THROWS_AS(train_csv::Encoder::from_json(nlohmann::json::parse(R"([{"column": "x"}])")), ValueError);
    // columns that do not exist are named with the ones that do
    CHECK_THROWS_WITH(train_csv::Encoder::fit(t, "nope", {}, split.train, 1), Contains("nope") && Contains("x"));
    CHECK_THROWS_WITH(train_csv::Encoder::fit(t, "y", {"ghost"}, split.train, 1), Contains("ghost"));
    // the split: seeded, disjoint, ceil(n·fraction) test rows
    const auto s1 = train_csv::split_rows(10, 0.25, 3), s2 = train_csv::split_rows(10, 0.25, 3);
    CHECK(s1.test == s2.test);
    CHECK(s1.test.size() == 3);
    CHECK(s1.train.size() == 7);
    CHECK_THROWS_AS(train_csv::split_rows(1, 0.5, 0), ValueError);
}

TEST_CASE("train_csv learns a table with numbers, text and missing values, and predicts from the saved model", "[train_csv]") {
    test_util::TempDir dir;
    write(dir.path / "t.csv", make_table(600, 1));
    const std::string model = dir.file("m.npz"), metrics = dir.file("m.jsonl"), split = dir.file("split.json");
    const auto r = run_train_csv({"--csv", dir.file("t.csv"), "--label", "target", "--drop", "id", "--epochs", "30",
                              "--quiet", "--save", model, "--metrics", metrics, "--split-out", split},
                             dir.path);
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("3 classes of 'target'") && Contains("train 480, test 120") &&
                          Contains("2 numeric, 1 text column (one-hot into 4): 6 inputs") &&
                          Contains("missing values filled in") && Contains("colour") && Contains("noise") &&
                          Contains("confusion matrix") && Contains("high") && Contains("low") && Contains("mid"));
    CHECK(final_accuracy(r.out) > 0.9);
    {  // --metrics: JSON lines with test_accuracy; --split-out: the rows of each part
        std::ifstream m(metrics);
        std::size_t lines = 0;
        for (std::string l; std::getline(m, l); ++lines) CHECK(nlohmann::json::parse(l).contains("test_accuracy"));
        CHECK(lines == 30);
        const auto s = nlohmann::json::parse(test_programs::slurp(split));
        CHECK(s["train"].size() == 480);
        CHECK(s["test"].size() == 120);
    }
    // --predict on a table without the label column: one label per row, agreeing with the truth
    write(dir.path / "new.csv", make_table(50, 1, /*with_label=*/false));
    const auto p = run_train_csv({"--model", model, "--predict", dir.file("new.csv")}, dir.path);
    INFO(p.err);
    REQUIRE(p.code == 0);
    std::istringstream truth(make_table(50, 1)), predicted(p.out);
    std::string line, label;
    std::getline(truth, line);  // header
    std::size_t n = 0, right = 0;
    while (std::getline(truth, line) && std::getline(predicted, label)) {
        ++n;
        right += line.substr(line.rfind(',') + 1) == label;
    }
    CHECK(n == 50);
    CHECK(right >= 45);
    CHECK_FALSE(std::getline(predicted, label));  // exactly one line per row
}

TEST_CASE("train_csv with Adam, dropout and batch norm resumes bit-identically", "[train_csv]") {
    test_util::TempDir dir;
    write(dir.path / "t.csv", make_table(200, 2));
    const std::vector<std::string> base{"--csv",       dir.file("t.csv"), "--label", "target", "--epochs", "4",
                                        "--dropout",   "0.3",             "--batch-norm", "--optimizer", "adam",
                                        "--quiet"};
    auto with = [&](std::vector<std::string> more) {
        auto a = base;
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    const std::string straight = dir.file("straight.npz"), ck = dir.file("ck.npz");
    REQUIRE(run_train_csv(with({"--save", straight}), dir.path).code == 0);
    REQUIRE(run_train_csv(with({"--save", ck, "--stop-after", "2"}), dir.path).code == 0);
    const auto r = run_train_csv(with({"--save", ck, "--resume", ck}), dir.path);
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(test_programs::check_same_checkpoints(straight, ck) > 10);
    // another optimizer on resume is refused
    const auto other = run_train_csv(with({"--save", ck, "--resume", ck, "--optimizer", "sgd", "--epochs", "4"}), dir.path);
    CHECK(other.code == 2);
}

TEST_CASE("train_csv: bad tables and flags exit 2 with a message naming the problem", "[train_csv][bad_input][cli]") {
    test_util::TempDir dir;
    write(dir.path / "t.csv", make_table(60, 3));
    write(dir.path / "one.csv", "a,b\n1,x\n2,x\n3,x\n");
    write(dir.path / "empty.csv", "");
    write(dir.path / "junk.npz", "junk");
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::string t = dir.file("t.csv");
    const std::vector<Case> cases{
        {{"--csv", dir.file("one.csv"), "--label", "b"}, "--label 'b' has a single class ('x'): nothing to classify"},
        {{"--csv", dir.file("empty.csv"), "--label", "b"}, "empty file"},
        {{"--csv", t, "--label", "nope"}, "nope"},
        {{"--csv", t, "--label", "target", "--drop", "ghost"}, "ghost"},
        {{"--csv", dir.file("missing.csv"), "--label", "target"}, "read_csv"},
        {{"--csv", t}, "--csv FILE and --label COLUMN are needed"},
        {{"--csv", t, "--label", "target", "--optimizer", "lbfgs"}, "--optimizer"},
        {{"--csv", t, "--label", "target", "--test-fraction", "1.5"}, "--test-fraction"},
        {{"--predict", t}, "--predict needs --model"},
        {{"--predict", t, "--model", dir.file("junk.npz")}, "load_npz"},
    };
    for (const auto& c : cases) {
        INFO(c.args[0] << " " << c.args[1]);
        const auto r = run_train_csv(c.args, dir.path);
        CHECK(r.code == 2);
        CHECK_THAT(r.err, Contains(c.message));
    }
}
