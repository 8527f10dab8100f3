#pragma once
// The tape as a picture. to_dot writes Graphviz DOT of the graph that produced a tensor: one box per
// tape entry (op name, place on the tape, output shape; the values when the tensor is small, a
// summary when not; the gradient when one was kept — see retain_grads in core/graph.hpp), one
// ellipse per leaf (named by named_parameters() when given), edges in data-flow order, and each
// entry's step in the backward pass ("backward 1" runs first). render_svg lays it out with Graphviz's
// library in-process (no `dot` program needed); the DOT text works with `dot -Tsvg` as well.
//
//   auto loss = cross_entropy(model(x), y);
//   retain_grads(loss);                           // keep every intermediate gradient
//   loss.backward(Tensor<float>(), /*retain_graph=*/true);
//   std::string svg = viz::render_svg(viz::to_dot(loss, viz::DotOptions().parameters(model.named_parameters())));
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/core/graph.hpp"
#include "tapegrad/core/tensor.hpp"

namespace tapegrad {
namespace viz {

struct DotOptions {
    // Values (and gradients) of tensors with at most this many elements are printed in full;
    // bigger ones get shape, mean and norm. Default 16.
    DotOptions& max_values(std::size_t n) { max_values_ = n; return *this; }
    DotOptions& precision(int digits) { precision_ = digits; return *this; }
    DotOptions& show_values(bool on) { show_values_ = on; return *this; }
    DotOptions& show_grads(bool on) { show_grads_ = on; return *this; }
    DotOptions& title(std::string t) { title_ = std::move(t); return *this; }
    // Names for leaves: a module's named_parameters(), and any other tensor ("x", "target").
    template <class T> DotOptions& parameters(const std::vector<std::pair<std::string, Tensor<T>>>& named) {
        for (const auto& [n, t] : named) names_[t.impl()] = n;
        return *this;
    }
    template <class T> DotOptions& name(const Tensor<T>& t, std::string n) {
        names_[t.impl()] = std::move(n);
        return *this;
    }

    std::size_t max_values_ = 16;
    int precision_ = 4;
    bool show_values_ = true, show_grads_ = true;
    std::string title_;
    std::map<const void*, std::string> names_;
};

// DOT text of root's graph (graph_of(root)). Throws what graph_of throws.
template <class T> std::string to_dot(const Tensor<T>& root, const DotOptions& options = DotOptions());
template <class T> std::string to_dot(const Graph<T>& graph, const DotOptions& options = DotOptions());

// The picture as SVG text, laid out by Graphviz's "dot" in-process. ValueError naming Graphviz's
// complaint when the text is not DOT it can lay out.
std::string render_svg(const std::string& dot);
// render_svg written to a file atomically (a temporary beside it, then renamed).
void write_svg(const std::string& dot, const std::string& path);

}  // namespace viz
}  // namespace tapegrad
