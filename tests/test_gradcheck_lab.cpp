// examples/gradcheck_lab: the step sweep shows the V (truncation error falling, round-off rising),
// float64 beats float32 and Richardson beats central at their best steps, the plot has the four
// curves, and the wrong op of the demonstration model is named.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

#include "example_programs.hpp"
#include "lab.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;

TEST_CASE("gradcheck_lab: the error against the step is a V whose bottom sits near epsilon^(1/3)", "[gradcheck_lab]") {
    const gradcheck_lab::Sweep s = gradcheck_lab::step_sweep();
    REQUIRE(s.curves.size() == 4);
    const auto& c64 = s.curves[0];
    const auto& c32 = s.curves[1];
    const auto& r64 = s.curves[2];
    CHECK(c64.best_step >= 1e-7);
    CHECK(c64.best_step <= 1e-4);
    CHECK(c32.best_step >= 1e-4);
    CHECK(c32.best_step <= 1e-1);
    CHECK(c64.best_error < 1e-9);
    CHECK(c32.best_error > 100 * c64.best_error);  // float32 cannot resolve what float64 does
    CHECK(r64.best_error < c64.best_error);        // Richardson: a lower bottom
    CHECK(r64.best_step > c64.best_step);          // at a larger step
    // both arms of the V: a step 100x too large or 1e6x too small costs orders of magnitude
    auto at = [&](const gradcheck_lab::Curve& c, double h) {
        for (std::size_t i = 0; i < s.steps.size(); ++i)
            if (std::abs(std::log10(s.steps[i]) - std::log10(h)) < 1e-9) return c.error[i];
        FAIL("no step " << h);
        return 0.0;
    };
    CHECK(at(c64, 1e-3) > 1000 * c64.best_error);
    CHECK(at(c64, 1e-12) > 1000 * c64.best_error);
}

TEST_CASE("gradcheck_lab: the program writes the plot, names the wrong op's parameter and the op", "[gradcheck_lab]") {
    test_util::TempDir dir;
    const std::string plot = (dir.path / "lab.svg").string();
    const auto r = test_programs::call_main(gradcheck_lab::lab_main, "gradcheck_lab", {"--plot", plot});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("best step and error") && Contains("plot: " + plot));
    CHECK_THAT(r.out, Contains("2.weight  [4]") && Contains("FAILED (1 entries out of tolerance)"));
    CHECK_THAT(r.out, Contains("at input element 1 (index [1] of [4])"));
    // check_graph names the op itself: wrong_scale, its weight (input 1), element 1
    CHECK_THAT(r.out, Contains("3. Which op? check_graph"));
    CHECK_THAT(r.out, Contains("first failure: 'wrong_scale' (tape entry #") && Contains(", input 1, element 1 at [1]"));
    std::ifstream f(plot);
    const std::string svg((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(svg.rfind("<svg", 0) == 0);
    const std::regex curve("<polyline class=\"curve\"");
    CHECK(std::distance(std::sregex_iterator(svg.begin(), svg.end(), curve), std::sregex_iterator()) == 4);
    const auto bad = test_programs::call_main(gradcheck_lab::lab_main, "gradcheck_lab",
                                              {"--plot", (dir.path / "no/such/dir/p.svg").string()});
    CHECK(bad.code == 2);
    CHECK_THAT(bad.err, Contains("error:"));
}
