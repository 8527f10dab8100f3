// retain_grad / retain_grads, graph_of, and viz::to_dot / render_svg: the recorded graph read back
// from the tape, and drawn with one node per entry (checked on the DOT text and on the SVG that
// Graphviz lays out).
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;
using Catch::Matchers::Contains;

namespace {
// A tiny model: h = relu(x·W1ᵀ + b1), logits = h·W2ᵀ + b2, with h used twice (h + h·0.5).
struct Tiny {
    nn::Sequential<double> m;
    Tensor<double> x{{1.0, -2.0}, {0.5, 3.0}};
    xt::xarray<std::int64_t> y{1, 0};
    Tiny() {
        Generator g(4);
        m.push_back(std::make_shared<nn::Linear<double>>(2, 3, true, g));
        m.push_back(std::make_shared<nn::ReLU<double>>());
        m.push_back(std::make_shared<nn::Linear<double>>(3, 2, true, g));
    }
};

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
    return n;
}
}  // namespace

TEST_CASE("retain_grad keeps a non-leaf's gradient, summed over passes, and zero_grad clears it", "[viz][graph]") {
    Tensor<double> a({1.0, 2.0}, true);
    Tensor<double> h = mul(a, a);  // h = a², dh = upstream
    h.retain_grad();
    Tensor<double> z = sum(h * Tensor<double>({3.0, 4.0}));
    CHECK_FALSE(h.has_grad());
    CHECK_THROWS_WITH(h.grad(), Contains("retains its gradient, but no backward pass has reached it yet"));
    z.backward(Tensor<double>(), true);
    CHECK(h.grad() == xt::xarray<double>({3.0, 4.0}));
    CHECK(a.grad() == xt::xarray<double>({6.0, 16.0}));
    z.backward();
    CHECK(h.grad() == xt::xarray<double>({6.0, 8.0}));  // summed, as a leaf's
    h.zero_grad();
    CHECK(h.grad() == xt::xarray<double>({0.0, 0.0}));
    // without retain_grad a non-leaf keeps nothing, as before
    Tensor<double> h2 = mul(a, a);
    sum(h2).backward();
    CHECK_FALSE(h2.has_grad());
    // a leaf: retain_grad is a no-op
    CHECK_FALSE(Tensor<double>(a).retain_grad().retains_grad());
}

TEST_CASE("graph_of lists the entries behind a tensor in recording order, with inputs and leaves", "[viz][graph]") {
    Tiny t;
    Tensor<double> logits = t.m.forward(t.x);
    Tensor<double> loss = cross_entropy(logits, t.y);
    Graph<double> g = graph_of(loss);
    REQUIRE(g.entries.size() >= 4);
    for (std::size_t i = 1; i < g.entries.size(); ++i) CHECK(g.entries[i - 1].seq < g.entries[i].seq);
    CHECK(g.entries.back().output.same(loss));
    CHECK(g.entries.back().op == loss.grad_fn());
    // every parameter and the input are leaves; nothing else is
    std::set<const void*> leaves;
    for (const auto& l : g.leaves) leaves.insert(l.impl());
    for (const auto& [name, p] : t.m.named_parameters()) CHECK(leaves.count(p.impl()) == 1);
    CHECK(leaves.count(t.x.impl()) == 1);
    CHECK(g.leaves.size() == t.m.named_parameters().size() + 1);
    // each input of each entry is a leaf or the output of an earlier entry
    std::set<const void*> made;
    for (const auto& e : g.entries) {
        for (const auto& in : e.inputs)
            if (in.defined()) CHECK((leaves.count(in.impl()) == 1 || made.count(in.impl()) == 1));
        made.insert(e.output.impl());
    }
    // a leaf has no entries; a released graph is refused with advice
    CHECK(graph_of(t.x).entries.empty());
    loss.backward();
    CHECK_THROWS_WITH(graph_of(loss), Contains("released by backward()") && Contains("retain_graph=true"));
}

TEST_CASE("viz::to_dot: one node per entry and per leaf, names, values, gradients and backward steps", "[viz]") {
    Tiny t;
    Tensor<double> h = t.m.forward(t.x);
    Tensor<double> twice = h + h * Tensor<double>::scalar(0.5);  // h used twice: its gradient is a sum
    Tensor<double> loss = cross_entropy(twice, t.y);
    retain_grads(loss);
    loss.backward(Tensor<double>(), true);
    const Graph<double> g = graph_of(loss);
    const std::string dot =
        viz::to_dot(loss, viz::DotOptions().parameters(t.m.named_parameters()).name(t.x, "x").title("tiny"));
    CHECK(count(dot, "shape=box") == g.entries.size());
    CHECK(count(dot, "shape=ellipse") == g.leaves.size());
    for (const auto& [name, p] : t.m.named_parameters()) CHECK_THAT(dot, Contains("\"" + name + "  "));
    CHECK_THAT(dot, Contains("\"x  [2, 2]"));
    CHECK_THAT(dot, Contains("backward step 1\\l"));  // the loss's entry runs first
    CHECK_THAT(dot, Contains("backward step " + std::to_string(g.entries.size())));
    // the retained gradient of the loss (1) and of the first Linear's weight are printed
    CHECK_THAT(dot, Contains("grad  1.0000"));
    CHECK_THAT(dot, Contains("grad  " + format_array(t.m.named_parameters()[0].second.grad(), 4)));
    // edges: one per defined input
    std::size_t inputs = 0;
    for (const auto& e : g.entries)
        for (const auto& in : e.inputs) inputs += in.defined();
    CHECK(count(dot, " -> ") == inputs);
    // big tensors get a summary, not every value
    const std::string small = viz::to_dot(loss, viz::DotOptions().max_values(2));
    CHECK_THAT(small, Contains("mean ") && Contains(", norm "));
}

TEST_CASE("viz::render_svg: Graphviz lays the DOT out in-process, one SVG node group per graph node", "[viz]") {
    Tiny t;
    Tensor<double> loss = cross_entropy(t.m.forward(t.x), t.y);
    const Graph<double> g = graph_of(loss);
    const std::string svg = viz::render_svg(viz::to_dot(g));
    CHECK(svg.rfind("<?xml", 0) == 0);
    CHECK_THAT(svg, Contains("<svg"));
    std::regex node_group("<g id=\"node[0-9]+\" class=\"node\">");
    const auto n = std::distance(std::sregex_iterator(svg.begin(), svg.end(), node_group), std::sregex_iterator());
    CHECK(std::size_t(n) == g.entries.size() + g.leaves.size());
    CHECK(count(svg, "class=\"edge\"") > 0);
    CHECK_THROWS_AS(viz::render_svg("digraph { a -> "), ValueError);
    CHECK_THROWS_WITH(viz::render_svg("not dot at all {"), Contains("render_svg: expected Graphviz DOT text"));
}
