// The backprop explainer (explain_backprop_lib, examples/explain_backprop/): the lesson's checks, the
// += of the reused tensor, --json against gradients computed here with tapegrad, the --graph
// picture (run as a process), bad flags.
#include <catch2/catch.hpp>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tapegrad/tapegrad.hpp>

#include "backprop_cli.hpp"
#include "example_programs.hpp"
#include "backprop_lesson.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;
using namespace tapegrad;

namespace {
using Run = test_programs::ProgramRun;

Run run(std::vector<std::string> args) { return test_programs::call_main(explain_bp::explain_main, "explain_backprop", std::move(args)); }

// A nested JSON list (0-, 1- or 2-d) back to an array, row-major.
std::vector<double> flat(const json& j) {
    std::vector<double> v;
    if (!j.is_array()) return {j.get<double>()};
    for (const json& e : j)
        for (double d : flat(e)) v.push_back(d);
    return v;
}
std::vector<double> flat(const xt::xarray<double>& a) { return std::vector<double>(a.begin(), a.end()); }

void check_close(const std::vector<double>& a, const std::vector<double>& b, double tol = 1e-12) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("element " << i << ": " << a[i] << " vs " << b[i]);
        CHECK(std::abs(a[i] - b[i]) <= tol);
    }
}

// The lesson's network built here, independently of lesson.cpp, with the same values.
struct Direct {
    explain_bp::Network net = explain_bp::tiny_network();
    Tensor<double> x{net.x}, W1{net.W1, true}, b1{net.b1, true}, W2{net.W2, true}, b2{net.b2, true};
    Tensor<double> h, loss;
    Direct() {
        h = relu(linear(x, W1, b1));
        h.retain_grad();
        Tensor<double> h2 = add(h, mul(h, net.reuse_scale));
        loss = cross_entropy(linear(h2, W2, b2), net.y);
    }
};
}  // namespace

TEST_CASE("explain_backprop: the lesson runs, every entry agrees, the += of the reused tensor shows", "[explain_backprop]") {
    const Run r = run({});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    CHECK_THAT(r.out, Contains("1. The forward pass"));
    CHECK_THAT(r.out, Contains("REVERSE tape order"));
    for (const char* op : {"linear", "relu", "mul_scalar", "add", "cross_entropy"}) CHECK_THAT(r.out, Contains(op));
    // h is read by mul_scalar and by add: its second contribution is an explicit +=
    CHECK_THAT(r.out, Contains("h.grad += "));
    CHECK_THAT(r.out, Contains("h: 2 contributions"));
    CHECK_THAT(r.out, !Contains("DISAGREE"));
    CHECK_THAT(r.out, Contains("gradcheck(loss as a function of W1, b1, W2, b2; eps 1e-6, atol 1e-5, rtol 1e-3): ok"));
    CHECK_THAT(r.out, Contains("--graph FILE.svg"));

    const explain_bp::Lesson L = explain_bp::build_lesson();
    REQUIRE(L.steps.size() == 6);
    std::size_t checks = 0, accumulations = 0;
    for (const auto& s : L.steps) {
        INFO(s.op << " #" << s.seq);
        CHECK(s.agree);
        CHECK(s.max_error < 1e-6);
        for (const auto& o : s.outgoing) {
            CHECK(o.agree);
            ++checks;
            if (o.accumulated) {
                ++accumulations;
                CHECK(o.to == "h");
                CHECK(s.op == "mul_scalar");  // add runs first in reverse order; mul_scalar adds the second part
            }
        }
    }
    CHECK(checks == 10);  // cross_entropy: logits; linear: h2, W2, b2; add: h, hs; mul_scalar: h; relu: z1; linear: W1, b1
    CHECK(accumulations == 1);
    CHECK(L.gradcheck_ok);
    CHECK(L.gradcheck_checked > 0);
    CHECK(L.loss_after < L.loss_before);
    CHECK(L.all_agree());
    // tape order: each step's seq larger than the one before
    for (std::size_t i = 1; i < L.steps.size(); ++i) CHECK(L.steps[i].seq > L.steps[i - 1].seq);
}

TEST_CASE("explain_backprop --json: parameter gradients as tapegrad computes them, h's gradient as a sum", "[explain_backprop]") {
    const Run r = run({"--json"});
    REQUIRE(r.code == 0);
    const json j = json::parse(r.out);
    REQUIRE(j["entries"].size() == 6);
    CHECK(j["gradcheck"]["ok"] == true);
    for (const json& e : j["entries"]) {
        CHECK(e["check"] == "agree");
        CHECK(e["check_max_error"].get<double>() < 1e-6);
        CHECK(e.contains("incoming_grad"));
        CHECK(e.contains("output"));
    }
    CHECK(j["entries"].back()["op"] == "cross_entropy");
    CHECK(flat(j["entries"].back()["incoming_grad"]) == std::vector<double>{1.0});

    Direct d;
    const double loss = d.loss.value()();
    d.loss.backward();
    CHECK(std::abs(j["loss_before"].get<double>() - loss) <= 1e-15);
    check_close(flat(j["parameters"]["W1"]["grad"]), flat(d.W1.grad()));
    check_close(flat(j["parameters"]["b1"]["grad"]), flat(d.b1.grad()));
    check_close(flat(j["parameters"]["W2"]["grad"]), flat(d.W2.grad()));
    check_close(flat(j["parameters"]["b2"]["grad"]), flat(d.b2.grad()));
    // SGD with lr 0.1, by hand
    std::vector<double> after = flat(d.W1.value()), g = flat(d.W1.grad());
    for (std::size_t i = 0; i < after.size(); ++i) after[i] -= 0.1 * g[i];
    check_close(flat(j["parameters"]["W1"]["after"]), after);
    CHECK(j["loss_after"].get<double>() < j["loss_before"].get<double>());

    // h: the contribution from add plus the one from mul_scalar, equal to tapegrad's retained gradient
    std::vector<std::vector<double>> parts;
    for (const json& e : j["entries"])
        for (const json& o : e["outgoing"])
            if (o["to"] == "h") parts.push_back(flat(o["grad"]));
    REQUIRE(parts.size() == 2);
    std::vector<double> sum(parts[0].size());
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] = parts[0][i] + parts[1][i];
    check_close(sum, flat(d.h.grad()));
    bool seen = false;
    for (const json& e : j["entries"])
        for (const json& o : e["outgoing"])
            if (o["accumulated"] == true) {
                seen = true;
                check_close(flat(o["accumulation"]["sum"]), flat(d.h.grad()));
            }
    CHECK(seen);
    // the reuse is real: h's gradient is not either part alone
    CHECK(flat(d.h.grad()) != parts[0]);
    CHECK(flat(d.h.grad()) != parts[1]);
}

TEST_CASE("explain_backprop --graph writes an SVG with one node group per entry and leaf", "[explain_backprop]") {
    test_util::TempDir tmp;
    const std::string svg_path = tmp.file("graph.svg");
    const auto r = test_programs::run_program(test_programs::example_binary("explain_backprop"), {"--graph", svg_path},
                                              tmp.path);
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains(svg_path));
    const std::string svg = test_programs::slurp(svg_path);
    CHECK_THAT(svg, Contains("<svg"));
    Direct d;
    const Graph<double> g = graph_of(d.loss);
    std::regex node_group("<g id=\"node[0-9]+\" class=\"node\">");
    const auto n = std::distance(std::sregex_iterator(svg.begin(), svg.end(), node_group), std::sregex_iterator());
    CHECK(g.entries.size() == 6);
    CHECK(g.leaves.size() == 5);  // x, W1, b1, W2, b2
    CHECK(std::size_t(n) == g.entries.size() + g.leaves.size());
    for (const char* name : {"W1", "b1", "W2", "b2", "cross_entropy", "mul_scalar"}) CHECK_THAT(svg, Contains(name));
}

TEST_CASE("explain_backprop: a bad flag is exit status 2 with error", "[explain_backprop]") {
    const Run r = run({"--no-such-flag"});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, StartsWith("error:"));
    CHECK(r.out.empty());
    test_util::TempDir tmp;
    const auto p = test_programs::run_program(test_programs::example_binary("explain_backprop"), {"--graph"}, tmp.path);
    CHECK(p.code == 2);
    CHECK_THAT(p.err, StartsWith("error:"));
    // a picture that cannot be written is bad input too
    const Run w = run({"--graph", tmp.file("no/such/dir/g.svg")});
    CHECK(w.code == 2);
    CHECK_THAT(w.err, StartsWith("error:"));
}
