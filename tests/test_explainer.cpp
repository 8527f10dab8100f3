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
#include "compare.hpp"
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

// ---------------------------------------------------------------- --loss NAME: the other losses

namespace {
// A nested list cannot spell a shape with a 0 before its last dim: [] is (0), never (0, 3).
bool spellable(const json& c) {
    for (const auto& [name, t] : c["inputs"].items()) {
        const auto s = t["shape"].get<std::vector<std::size_t>>();
        for (std::size_t d = 0; d + 1 < s.size(); ++d)
            if (s[d] == 0) return false;
    }
    return true;
}

std::vector<std::string> loss_flags(const json& c) {
    std::vector<std::string> a{"--loss", c["loss"].get<std::string>(), "--input", nested(c["inputs"]["input"]),
                               "--target", nested(c["inputs"]["target"]), "--reduction",
                               c["args"]["reduction"].get<std::string>()};
    if (c["inputs"].contains("weight")) a.insert(a.end(), {"--weight", nested(c["inputs"]["weight"])});
    if (c["inputs"].contains("pos_weight")) a.insert(a.end(), {"--pos-weight", nested(c["inputs"]["pos_weight"])});
    char v[40];
    if (c["args"].contains("beta")) std::snprintf(v, sizeof v, "%.17g", c["args"]["beta"].get<double>()), a.insert(a.end(), {"--beta", v});
    if (c["args"].contains("delta")) std::snprintf(v, sizeof v, "%.17g", c["args"]["delta"].get<double>()), a.insert(a.end(), {"--delta", v});
    if (c["args"].value("log_target", false)) a.push_back("--log-target");
    return a;
}
}  // namespace

TEST_CASE("explainer --loss NAME --json matches the PyTorch fixtures of every loss (float64, 1e-10)", "[explainer]") {
    const json fx = fixture::load("explain_losses.json");
    std::set<std::string> losses, kinds;
    int cases = 0;
    for (const json& c : fx["cases"]) {
        if (!spellable(c)) continue;
        ++cases;
        std::vector<std::string> args = loss_flags(c);
        INFO("case: " << c["loss"] << " " << c["args"] << " input shape " << c["inputs"]["input"]["shape"]);
        args.push_back("--json");
        const Run r = run(args);
        INFO("err: " << r.err);
        REQUIRE(r.code == 0);
        CHECK(r.err.empty());
        const json out = json::parse(r.out);
        REQUIRE(out.size() == 2);
        CHECK(fixture::worst_rel_error(output_array(out["loss"], c["out"]["shape"]), fixture::array<double>(c["out"])) <= 1e-10);
        CHECK(fixture::worst_rel_error(output_array(out["grad"], c["grad"]["shape"]), fixture::array<double>(c["grad"])) <= 1e-10);
        losses.insert(c["loss"].get<std::string>());
        kinds.insert(c["args"]["reduction"].get<std::string>());
        for (const char* k : {"weight", "pos_weight"})
            if (c["inputs"].contains(k)) kinds.insert(k);
        if (c["inputs"]["input"]["shape"] != c["out"]["shape"] && c["args"]["reduction"] == "none") kinds.insert("broadcast or per-sample");
        for (const json& v : c["inputs"]["input"]["data"])
            if (v.is_string()) kinds.insert("non-finite");
    }
    CHECK(cases >= 550);  // of 558: the 3 others have a (0, n) input
    CHECK(losses.size() == 9);
    CHECK(kinds == std::set<std::string>{"none", "mean", "sum", "batchmean", "weight", "pos_weight", "broadcast or per-sample",
                                         "non-finite"});
}

TEST_CASE("explainer --loss NAME: the text explanation agrees with tapegrad on every fixture case", "[explainer]") {
    const json fx = fixture::load("explain_losses.json");
    for (const json& c : fx["cases"]) {
        if (!spellable(c)) continue;
        INFO("case: " << c["loss"] << " " << c["args"] << " input " << c["inputs"]["input"]["shape"] << " target "
                      << c["inputs"]["target"]["shape"]);
        const Run r = run(loss_flags(c));
        INFO(r.out << r.err);
        CHECK(r.code == 0);
        CHECK(r.err.empty());
        CHECK_THAT(r.out, Contains("Step 3. Gradient") && Contains("agree") && !Contains("DISAGREE"));
    }
}

TEST_CASE("explainer --loss NAME without a case explains an example of it, formula and steps", "[explainer]") {
    const std::vector<std::pair<std::string, std::string>> formula{
        {"binary_cross_entropy", "log(1 - x), >= -100"},
        {"binary_cross_entropy_with_logits", "log(e^-m + e^(-x-m))"},
        {"mse_loss", "2 d"},
        {"l1_loss", "sign(d)"},
        {"smooth_l1_loss", "|d| < beta ?"},
        {"huber_loss", "|d| < delta ?"},
        {"kl_div", "p log p (0 at p = 0)"},
        {"soft_margin_loss", "-t x"},
        {"multilabel_soft_margin_loss", "loss of the sample = (1/C) * sum"},
    };
    for (const auto& [name, part] : formula) {
        INFO(name);
        const Run r = run({"--loss", name});
        CHECK(r.code == 0);
        CHECK_THAT(r.out, StartsWith(name + " of your input, step by step"));
        CHECK_THAT(r.out, Contains(part) && Contains("Step 2. Reduction 'mean'") && Contains("All 3 checks agree."));
    }
    // the options each loss takes
    Run r = run({"--loss", "smooth_l1_loss", "--beta", "0.25", "--reduction", "sum"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("beta = 0.25") && Contains("linear") && Contains("quadratic"));
    r = run({"--loss", "kl_div", "--reduction", "batchmean"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("input.size(0) = 2"));
    r = run({"--loss", "binary_cross_entropy_with_logits", "--pos-weight", "[1, 3, 1]", "--weight", "[[1], [2]]"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("lw = 1 + (pw - 1) t") && Contains("weight w") && !Contains("DISAGREE"));
    // broadcasting: the input's gradient is summed over the copies
    r = run({"--loss", "mse_loss", "--input", "[1, 2, 3]", "--target", "[[0, 0, 0], [1, 1, 1]]"});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("is broadcast to [2, 3]") && Contains("Summed back to the input's shape [3]"));
    CHECK_THAT(r.out, !Contains("DISAGREE"));
}

TEST_CASE("explainer --loss NAME: bad input is exit status 2 with the reason, torch's words for torch's errors", "[explainer]") {
    struct Bad {
        std::vector<std::string> args;
        const char* message;
    };
    const std::vector<Bad> bad{
        {{"--loss", "hinge_loss"}, "--loss"},
        {{"--loss", "mse_loss", "--beta", "2"}, "--beta is an option of smooth_l1_loss; --loss mse_loss does not take it"},
        {{"--loss", "mse_loss", "--weight", "[1]"}, "--weight is an option of"},
        {{"--loss", "l1_loss", "--label-smoothing", "0.1"}, "--label-smoothing is an option of cross_entropy"},
        {{"--loss", "binary_cross_entropy", "--pos-weight", "[1]"}, "--pos-weight is an option of binary_cross_entropy_with_logits"},
        {{"--loss", "huber_loss", "--log-target"}, "--log-target is an option of kl_div"},
        {{"--delta", "2", "--logits", "[[1, 2]]", "--target", "[0]"}, "--delta is not an option of cross_entropy"},
        {{"--loss", "mse_loss", "--input", "[1, 2]"}, "--input and --target go together"},
        {{"--loss", "mse_loss", "--input", "[1, 2", "--target", "[1, 2]"}, "--input: malformed JSON"},
        {{"--loss", "mse_loss", "--input", "[1, 2]", "--target", "[1, 2, 3]"}, "mse_loss: "},
        {{"--loss", "binary_cross_entropy", "--input", "[1.5]", "--target", "[1]"}, "all elements of input should be between 0 and 1"},
        {{"--loss", "binary_cross_entropy_with_logits", "--input", "[1, 2]", "--target", "[1]"}, "must be the same as input size"},
        {{"--loss", "smooth_l1_loss", "--beta", "-1"}, "does not support negative values for beta"},
        {{"--loss", "huber_loss", "--delta", "0"}, "does not support non-positive values for delta"},
        {{"--loss", "mse_loss", "--reduction", "batchmean"}, "not a valid value for reduction"},
        {{"--loss", "multilabel_soft_margin_loss", "--input", "1", "--target", "1"}, "Dimension specified as -1"},
    };
    for (const Bad& b : bad) {
        INFO(b.args[0] << " " << b.args[1] << " / expected message: " << b.message);
        const Run r = run(b.args);
        CHECK(r.code == 2);
        CHECK(r.out.empty());
        CHECK_THAT(r.err, StartsWith("error: ") && Contains(b.message));
    }
}

TEST_CASE("explainer --compare: two settings side by side, terms, gradient rows and what changed", "[explainer]") {
    const std::vector<std::string> ce{"--logits", "[[2, 0.5, 1], [0.5, 2, 1.5]]", "--target", "[0, 2]"};
    auto with = [&](std::vector<std::string> more) {
        std::vector<std::string> a = ce;
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    Run r = run(with({"--compare", "--label-smoothing 0.1"}));
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("A: cross_entropy, reduction 'mean'") && Contains("label_smoothing 0.1"));
    CHECK_THAT(r.out, Contains("B - A") && Contains("sample 1") && Contains("label_smoothing 0 -> 0.1"));
    CHECK_THAT(r.out, Contains("setting A: agree, setting B: agree"));
    // B's numbers are those of the setting run on its own
    r = run(with({"--compare", "--label-smoothing 0.1", "--json"}));
    REQUIRE(r.code == 0);
    const json both = json::parse(r.out);
    const json a = json::parse(run(with({"--json"})).out), b = json::parse(run(with({"--label-smoothing", "0.1", "--json"})).out);
    CHECK(both["a"]["loss"] == a["loss"]);
    CHECK(both["b"]["loss"] == b["loss"]);
    CHECK(both["b"]["grad"] == b["grad"]);
    CHECK(both["a"]["loss"] != both["b"]["loss"]);
    // a JSON list with spaces in quotes, and several flags at once
    r = run(with({"--compare", "--weight '[1, 2, 3]' --reduction sum"}));
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("weight: each term is multiplied by its class's weight") && Contains("reduction 'mean' -> 'sum'"));
    // the other losses too
    r = run({"--loss", "binary_cross_entropy_with_logits", "--compare", "--pos-weight [1, 3, 1]"});
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("pos_weight multiplies the positive part") && Contains("[1, 1]"));
    r = run({"--loss", "huber_loss", "--compare", "--delta 0.3"});
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("The switch between the quadratic part"));
    // bad input
    for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {with({"--compare", "--weight [1, 2"}), "unclosed '['"},
             {with({"--compare", "--label-smoothing 'x"}), "unclosed '"},
             {with({"--compare", "--bogus 1"}), "--compare: "},
             {with({"--compare", "--help"}), "not --help itself"},
             {with({"--compare", "--label-smoothing 2"}), "label_smoothing must be between 0.0 and 1.0"},
             {with({"--compare", "--logits [[1, 2]] --target [0]"}), "different shapes"},
             {{"--compare", "--label-smoothing 0.1"}, "--compare needs a case"},
             {with({"--compare", "--reduction sum", "--html", "x.html"}), "--html takes one setting"}}) {
        INFO(message);
        r = run(args);
        CHECK(r.code == 2);
        CHECK(r.out.empty());
        CHECK_THAT(r.err, StartsWith("error: ") && Contains(message));
    }
}

TEST_CASE("split_options splits as a shell would for JSON lists", "[explainer]") {
    using explain_ce::split_options;
    CHECK(split_options("--weight [1, 2, 3] --reduction  sum") == std::vector<std::string>{"--weight", "[1, 2, 3]", "--reduction", "sum"});
    CHECK(split_options("--target '[[0.5, 0.5]]' \"--label-smoothing\" 0.1") ==
          std::vector<std::string>{"--target", "[[0.5, 0.5]]", "--label-smoothing", "0.1"});
    CHECK(split_options("--x ''") == std::vector<std::string>{"--x", ""});
    CHECK(split_options("  ").empty());
    CHECK_THROWS_AS(split_options("--w [1, 2]]"), explain_ce::InputError);
}

TEST_CASE("the walkthrough's lessons 6 and 7: sigmoid + BCE vs softmax + CE, label smoothing as a mix", "[explainer]") {
    const Run r = run({});
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("Example 6: softmax + cross-entropy, or sigmoid + binary cross-entropy?"));
    CHECK_THAT(r.out, Contains("bce_with_logits grad") && Contains("sums to 2.2343"));
    CHECK_THAT(r.out, Contains("binary_cross_entropy(sigmoid([40]), [0])        = 100.0000000000"));
    CHECK_THAT(r.out, Contains("Example 7: label smoothing is a mix with the uniform distribution"));
    CHECK_THAT(r.out, Contains("0.8342496947   agree") && Contains("log(28) = 3.3322"));
    CHECK_THAT(r.out, !Contains("DISAGREE") && !Contains("-0.0000000000"));
}
