// The explainers' --html pages, opened in a real browser (headless chromium): the page loads from
// the file alone (no network), logs no console error, and shows the picture and the final loss.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "example_programs.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using test_programs::example_binary;
using test_programs::open_in_chromium;
using test_programs::run_program;

namespace {
std::string read_file(const fs::path& p) {
    std::ifstream f(p);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
// What every page must be: self-contained, and whole in the browser.
void check_page(const fs::path& page, const fs::path& scratch, const std::string& final_loss) {
    const std::string html = read_file(page);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK_THAT(html, Contains("name=\"viewport\""));  // phones get the page's width, not a desktop's
    // nothing from the network: no scripts, style sheets, fonts or images fetched from anywhere
    CHECK_FALSE(std::regex_search(html, std::regex("(src|href)=\"(https?:)?//")));
    CHECK_FALSE(std::regex_search(html, std::regex("@import|url\\(")));
    const auto b = open_in_chromium(page, scratch);
    INFO(b.err);
    REQUIRE(b.code == 0);
    CHECK_THAT(b.out, Contains("</html>"));
    CHECK_FALSE(std::regex_search(b.err, std::regex("CONSOLE|Uncaught")));
    CHECK_THAT(b.out, Contains("<svg") && Contains("class=\"node\""));  // the graph picture, laid out
    CHECK_THAT(b.out, Contains("Final loss") && Contains("loss = " + final_loss));
}
}  // namespace

TEST_CASE("explain_cross_entropy --html writes a page chromium opens: lesson, graph and final loss", "[html][explainer]") {
    test_util::TempDir dir;
    const fs::path walk = dir.path / "walkthrough.html", mine = dir.path / "mine.html";
    auto r = run_program(example_binary("explain_cross_entropy"), {"--html", walk.string()}, dir.path);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("page: " + walk.string()));
    check_page(walk, dir.path, "0.784250");  // the walkthrough's first case: mean loss of [[2, .5, 1], [.5, 2, 1.5]], [0, 2]
    r = run_program(example_binary("explain_cross_entropy"),
                    {"--logits", "[[1, 2, 3], [0, 0, 5]]", "--target", "[2, 0]", "--label-smoothing", "0.1", "--json"},
                    dir.path);
    REQUIRE(r.code == 0);
    const auto loss = nlohmann::json::parse(r.out)["loss"].get<double>();
    r = run_program(example_binary("explain_cross_entropy"),
                    {"--logits", "[[1, 2, 3], [0, 0, 5]]", "--target", "[2, 0]", "--label-smoothing", "0.1", "--html",
                     mine.string()},
                    dir.path);
    REQUIRE(r.code == 0);
    char want[32];
    std::snprintf(want, sizeof want, "%.6f", loss);
    check_page(mine, dir.path, want);
    CHECK_THAT(read_file(mine), Contains("label_smoothing = 0.1"));
    // a page that cannot be written: exit 2, in words, and no half-written file
    r = run_program(example_binary("explain_cross_entropy"), {"--html", (dir.path / "no/such/dir/p.html").string()},
                    dir.path);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("error:"));
}

TEST_CASE("explain_cross_entropy --loss NAME --html: the other losses' pages open in chromium too", "[html][explainer]") {
    test_util::TempDir dir;
    for (const char* loss : {"binary_cross_entropy_with_logits", "kl_div"}) {
        INFO(loss);
        const fs::path page = dir.path / (std::string(loss) + ".html");
        auto r = run_program(example_binary("explain_cross_entropy"), {"--loss", loss, "--json"}, dir.path);
        REQUIRE(r.code == 0);
        char want[32];
        std::snprintf(want, sizeof want, "%.6f", nlohmann::json::parse(r.out)["loss"].get<double>());
        r = run_program(example_binary("explain_cross_entropy"), {"--loss", loss, "--html", page.string()}, dir.path);
        INFO(r.err);
        REQUIRE(r.code == 0);
        check_page(page, dir.path, want);
        CHECK_THAT(read_file(page), Contains(std::string(loss) + " of your input, step by step"));
    }
}

TEST_CASE("explain_backprop --html writes a page chromium opens: lesson, graph and loss", "[html][explain_backprop]") {
    test_util::TempDir dir;
    const fs::path page = dir.path / "backprop.html";
    auto r = run_program(example_binary("explain_backprop"), {"--json"}, dir.path);
    REQUIRE(r.code == 0);
    char want[32];
    std::snprintf(want, sizeof want, "%.6f", nlohmann::json::parse(r.out)["loss_before"].get<double>());
    r = run_program(example_binary("explain_backprop"), {"--html", page.string()}, dir.path);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("page: " + page.string()));
    check_page(page, dir.path, want);
    const std::string html = read_file(page);
    CHECK_THAT(html, Contains("h.grad +=") && Contains("gradcheck") && Contains("after one SGD step"));
    // one picture node per tape entry and leaf: the page's SVG is the one --graph writes
    const fs::path svg = dir.path / "backprop.svg";
    r = run_program(example_binary("explain_backprop"), {"--graph", svg.string()}, dir.path);
    REQUIRE(r.code == 0);
    const std::regex node("class=\"node\"");
    const std::string s = read_file(svg);
    const auto count = [&](const std::string& t) { return std::distance(std::sregex_iterator(t.begin(), t.end(), node), std::sregex_iterator()); };
    CHECK(count(html) == count(s));
    CHECK(count(html) > 10);
    // bad: a page that cannot be written, and --json with --html
    r = run_program(example_binary("explain_backprop"), {"--html", (dir.path / "no/such/dir/p.html").string()}, dir.path);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("error:"));
    r = run_program(example_binary("explain_backprop"), {"--json", "--html", page.string()}, dir.path);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("one or the other"));
}
