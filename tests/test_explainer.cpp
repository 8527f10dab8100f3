// The cross-entropy explainer (explain_cross_entropy_lib, examples/explain_cross_entropy/): the
// walkthrough's numbers, --json against the PyTorch fixtures, the text explanation on every
// fixture case, bad input.
#include <catch2/catch.hpp>

#include <cstdio>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "by_hand.hpp"
#include "cli.hpp"
#include "lessons.hpp"
#include "example_programs.hpp"
#include "fixture.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;

namespace {
using Run = test_programs::ProgramRun;

Run run(std::vector<std::string> args) { return test_programs::call_main(explain_ce::explain_main, "explain_cross_entropy", std::move(args)); }

// {"shape", "data"} → the nested list the command line takes (a bare value for shape []).
json nest(const json& shape, const json& data, std::size_t depth, std::size_t& k) {
    if (depth == shape.size()) return data[k++];
    json list = json::array();
    for (std::size_t i = 0; i < shape[depth].get<std::size_t>(); ++i) list.push_back(nest(shape, data, depth + 1, k));
    return list;
}
std::string nested(const json& t) {
    std::size_t k = 0;
    return nest(t["shape"], t["data"], 0, k).dump();
}

std::vector<std::string> flags(const json& c) {
    char eps[40];
    std::snprintf(eps, sizeof eps, "%.17g", c["label_smoothing"].get<double>());
    std::vector<std::string> a{"--logits", nested(c["input"]), "--target", nested(c["target"]),
                               "--ignore-index", std::to_string(c["ignore_index"].get<std::int64_t>()),
                               "--reduction", c["reduction"].get<std::string>(), "--label-smoothing", eps};
    if (!c["weight"].is_null()) a.insert(a.end(), {"--weight", nested(c["weight"])});
    return a;
}

// A nested list of the output back to {shape, values}.
void flatten(const json& j, std::size_t depth, std::vector<std::size_t>& shape, std::vector<double>& data) {
    if (!j.is_array()) {
        data.push_back(fixture::number(j));
        return;
    }
    if (shape.size() == depth) shape.push_back(j.size());
    for (const json& e : j) flatten(e, depth + 1, shape, data);
}
xt::xarray<double> output_array(const json& j, const json& expected_shape) {
    std::vector<std::size_t> shape;
    std::vector<double> data;
    flatten(j, 0, shape, data);
    REQUIRE(shape == expected_shape.get<std::vector<std::size_t>>());
    return explain_ce::to_array(shape, data);
}
}  // namespace

TEST_CASE("the walkthrough reproduces PyTorch's numbers and agrees with tapegrad", "[explainer]") {
    const Run r = run({});
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    for (const char* n : {"0.7842496947", "1.5684993894", "0.4643687841", "1.1041306053", "0.9441901500"})
        CHECK_THAT(r.out, Contains(n));
    CHECK_THAT(r.out, !Contains("DISAGREE"));
    CHECK_THAT(r.out, Contains("agree"));
    // every step of the lesson is there
    for (const char* s : {"row max m", "x - m", "exp(x - m)", "sum s", "p = exp / s", "log p", "divisor",
                          "p - one-hot", "tapegrad x.grad", "nll_loss(log_softmax(x, 1), t)", "ignore_index",
                          "reduction = 'none'", "reduction = 'sum'", "reduction = 'mean'"})
        CHECK_THAT(r.out, Contains(s));
}

TEST_CASE("explainer --json matches the PyTorch fixtures (loss and gradient, float64, 1e-10)", "[explainer]") {
    const json fx = fixture::load("cross_entropy.json");
    std::set<std::string> kinds;
    int cases = 0;
    for (const json& c : fx["cases"]) {
        INFO("case id " << c["id"] << ": " << c["target_kind"] << ", input shape " << c["input"]["shape"]
                        << ", reduction " << c["reduction"] << ", smoothing " << c["label_smoothing"]
                        << ", ignore_index " << c["ignore_index"] << ", weight " << (c["weight"].is_null() ? "no" : "yes"));
        std::vector<std::string> args = flags(c);
        args.push_back("--json");
        const Run r = run(args);
        INFO("err: " << r.err);
        REQUIRE(r.code == 0);
        CHECK(r.err.empty());
        const json out = json::parse(r.out);  // one JSON object and nothing else
        REQUIRE(out.size() == 3);
        CHECK(fixture::worst_rel_error(output_array(out["loss"], c["loss64"]["shape"]), fixture::array<double>(c["loss64"])) <= 1e-10);
        CHECK(fixture::worst_rel_error(output_array(out["grad"], c["grad64"]["shape"]), fixture::array<double>(c["grad64"])) <= 1e-10);
        const xt::xarray<double> sm = output_array(out["softmax"], c["input"]["shape"]);
        CHECK(sm.size() == c["input"]["data"].size());
        ++cases;
        const std::size_t rank = c["input"]["shape"].size();
        kinds.insert(c["target_kind"].get<std::string>());
        kinds.insert(c["reduction"].get<std::string>());
        kinds.insert(rank == 1 ? "unbatched" : rank == 2 ? "batched" : "K-dim");
        if (!c["weight"].is_null()) kinds.insert("weight");
        if (c["ignore_index"] != -100) kinds.insert("ignore");
        if (c["label_smoothing"] != 0.0) kinds.insert("smoothing");
        for (const json& v : c["input"]["data"])
            if (v.is_string()) kinds.insert("non-finite");
    }
    CHECK(cases >= 40);
    CHECK(kinds == std::set<std::string>{"index", "prob", "none", "sum", "mean", "unbatched", "batched", "K-dim",
                                         "weight", "ignore", "smoothing", "non-finite"});
}

TEST_CASE("the text explanation agrees with tapegrad on every fixture case", "[explainer]") {
    const json fx = fixture::load("cross_entropy.json");
    for (const json& c : fx["cases"]) {
        INFO("case id " << c["id"]);
        const Run r = run(flags(c));
        CHECK(r.code == 0);
        CHECK(r.err.empty());
        CHECK_THAT(r.out, Contains("Step 3. Gradient"));
        CHECK_THAT(r.out, !Contains("DISAGREE"));
    }
}

TEST_CASE("label smoothing and probability targets are explained", "[explainer]") {
    Run r = run({"--logits", "[[1, 2, 3]]", "--target", "[2]", "--label-smoothing", "0.1"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("smoothed y"));
    CHECK_THAT(r.out, Contains("eps/C"));
    r = run({"--logits", "[[1, 2, 3], [0, 0, \"-inf\"]]", "--target", "[[0.2, 0.3, 0.5], [0.5, 0.5, 0]]",
             "--weight", "[1, 2, 3]"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("target t"));
    CHECK_THAT(r.out, Contains("number of positions"));
    CHECK_THAT(r.out, !Contains("DISAGREE"));
    r = run({"--logits", "[[[1, 2], [3, 4]]]", "--target", "[[1, 0]]", "--reduction", "none"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("logits[0, :, 1]"));
}

TEST_CASE("explainer --json spells non-finite numbers as strings and 'none' losses as a list", "[explainer]") {
    Run r = run({"--logits", "[[1, \"inf\"], [0, 0]]", "--target", "[0, 1]", "--reduction", "none", "--json"});
    REQUIRE(r.code == 0);
    const json out = json::parse(r.out);
    CHECK(out["loss"][0] == "nan");
    CHECK(out["loss"][1].is_number());
    CHECK(out["grad"][0][0] == "nan");
    CHECK(out["softmax"][1][0].get<double>() == 0.5);
    r = run({"--logits", "[[1, 2]]", "--target", "[-100]", "--json"});  // every target ignored: nan, zero gradient
    REQUIRE(r.code == 0);
    CHECK(json::parse(r.out)["loss"] == "nan");
    CHECK(json::parse(r.out)["grad"] == json::parse("[[0.0, 0.0]]"));
}

TEST_CASE("bad input: 'error: <message>' on err, exit status 2, nothing on out", "[explainer]") {
    struct Bad {
        std::vector<std::string> args;
        const char* message;
    };
    const std::vector<Bad> bad{
        {{"--logits", "[[1, 2", "--target", "[0]"}, "malformed JSON"},
        {{"--logits", "[[1, 2], [3]]", "--target", "[0, 1]"}, "ragged"},
        {{"--logits", "[[1, 2], 3]", "--target", "[0, 1]"}, "ragged"},
        {{"--logits", "[[1, [2]]]", "--target", "[0]"}, "ragged"},
        {{"--logits", "[[1, \"two\"]]", "--target", "[0]"}, "not a number"},
        {{"--logits", "[[1, null]]", "--target", "[0]"}, "not a number"},
        {{"--logits", "[[1, 2, 3]]", "--target", "[5]"}, "Target 5 is out of bounds."},
        {{"--logits", "[[1, 2, 3]]", "--target", "[-3]"}, "Target -3 is out of bounds."},
        {{"--logits", "[[1, 2], [3, 4]]", "--target", "[0]"}, "Expected input batch_size (2) to match target batch_size (1)."},
        {{"--logits", "[[1, 2]]", "--target", "[0.5]"}, "must be integers"},
        {{"--logits", "[[1, 2]]", "--target", "[0]", "--weight", "[1, 2, 3]"}, "weight tensor"},
        {{"--logits", "[[1, 2]]", "--target", "[0]", "--reduction", "avg"}, "not a valid value for reduction"},
        {{"--logits", "[[1, 2]]", "--target", "[0]", "--label-smoothing", "1.5"}, "label_smoothing must be between 0.0 and 1.0"},
        {{"--logits", "[[1, 2]]", "--target", "[0]", "--ignore-index", "abc"}, "ignore-index"},
        {{"--logits", "[[1, 2]]", "--target", "[0]", "--bogus"}, "--bogus"},
        {{"--logits", "[[1, 2]]"}, "--target"},
        {{"--logits", "[]", "--target", "[]"}, "empty"},
        {{"--logits", "3", "--target", "0"}, "at least 1 dimension"},
        {{"--logits", "[[1, 2]]", "--target", "[[0.5, 0.5]]", "--ignore-index", "1"}, "ignore_index"},
    };
    for (const Bad& b : bad) {
        INFO(b.args[1] << " / expected message: " << b.message);
        const Run r = run(b.args);
        CHECK(r.code == 2);
        CHECK(r.out.empty());
        CHECK_THAT(r.err, StartsWith("error: "));
        CHECK_THAT(r.err, Contains(b.message));
    }
}

TEST_CASE("explainer --help prints usage and exits 0", "[explainer]") {
    const Run r = run({"--help"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("--logits"));
    CHECK_THAT(r.out, Contains("--label-smoothing"));
}

TEST_CASE("the agreement check can fail", "[explainer]") {
    using explain_ce::agree;
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    CHECK(agree(xt::xarray<double>{1.0, nan, inf}, xt::xarray<double>{1.0 + 1e-12, nan, inf}));
    CHECK_FALSE(agree(xt::xarray<double>{1.0}, xt::xarray<double>{1.0 + 1e-6}));
    CHECK_FALSE(agree(xt::xarray<double>{nan}, xt::xarray<double>{0.0}));
    CHECK_FALSE(agree(xt::xarray<double>{inf}, xt::xarray<double>{-inf}));
    std::ostringstream os;
    explain_ce::Lesson lesson{os};
    CHECK(lesson.mark(true) == std::string("agree"));
    CHECK(lesson.mark(false) == std::string("DISAGREE"));
    CHECK_FALSE(lesson.all_agree);
}

TEST_CASE("huge class counts: tables and lists are abbreviated, the text stays small", "[explainer]") {
    std::string logits = "[[", target = "[";
    const std::size_t C = 5000, N = 30;
    for (std::size_t n = 0; n < N; ++n) {
        logits += n ? "], [" : "";
        for (std::size_t c = 0; c < C; ++c) logits += (c ? ", " : "") + std::to_string((c * 7 + n) % 11);
        target += (n ? ", " : "") + std::to_string(n * 97 % C);
    }
    logits += "]]";
    target += "]";
    const auto r = run({"--logits", logits, "--target", target, "--reduction", "none"});
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("4982 classes left out here (--json prints every number)") &&
                          Contains("class 4999") && !Contains("class 2500"));
    CHECK_THAT(r.out, Contains("(12 more; --json prints every number)"));  // the 30 per-sample losses
    CHECK(r.out.size() < 400 * 1000);  // ~13 KB a position at most, instead of ~1 MB
    CHECK_THAT(r.out, Contains("agree") && !Contains("DISAGREE"));
}
