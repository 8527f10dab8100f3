// viz::to_dot (the graph of a tensor as Graphviz DOT) and render_svg (Graphviz's library, in-process).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <sstream>

#include "tapegrad/core/errors.hpp"
#include "tapegrad/core/sparse_grad.hpp"
#include "tapegrad/io/atomic_file.hpp"
#include "tapegrad/viz/dot.hpp"

// last: Graphviz's headers define macros (SQRT2, …) that clash with xtensor's names
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

namespace tapegrad {
namespace viz {
namespace {

// DOT string contents: quotes and backslashes escaped, line breaks as \l (left-justified lines).
std::string esc(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (c == '\n') {
            o += "\\l";
            continue;
        }
        o += c;
    }
    return o;
}

template <class T> std::string describe(const xt::xarray<T>& a, const DotOptions& opt) {
    if (a.size() <= opt.max_values_) return format_array(a, opt.precision_);
    double sum = 0, sq = 0;
    for (T v : a) sum += double(v), sq += double(v) * double(v);
    std::ostringstream os;
    os.precision(opt.precision_);
    os << "mean " << sum / double(a.size()) << ", norm " << std::sqrt(sq);
    return os.str();
}

template <class T> void tensor_lines(std::ostringstream& os, const Tensor<T>& t, const DotOptions& opt) {
    os << shape_str(t.shape()) << "\n";
    if (opt.show_values_) os << "value " << describe(t.value(), opt) << "\n";
    if (!opt.show_grads_ || !t.has_grad()) return;
    if (const auto& sp = t.impl()->sparse) {  // row-sparse: described as it is (grad() would make it dense)
        os << "grad  row-sparse, " << sp->rows.size() << " rows, " << describe(sp->values, opt) << "\n";
        return;
    }
    os << "grad  " << describe(t.grad(), opt) << "\n";
}
}  // namespace

template <class T> std::string to_dot(const Graph<T>& g, const DotOptions& opt) {
    std::ostringstream os;
    os << "digraph tape {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n";
    if (!opt.title_.empty()) os << "  label=\"" << esc(opt.title_) << "\"; labelloc=t;\n";
    std::map<const void*, std::string> id;  // tensor → the DOT node that shows it
    for (std::size_t i = 0; i < g.leaves.size(); ++i) {
        const Tensor<T>& t = g.leaves[i];
        const std::string n = "leaf" + std::to_string(i);
        id[t.impl()] = n;
        auto it = opt.names_.find(t.impl());
        std::ostringstream label;
        label << (it != opt.names_.end() ? it->second : std::string(t.requires_grad() ? "leaf" : "constant")) << "  ";
        tensor_lines(label, t, opt);
        os << "  " << n << " [shape=ellipse, " << (t.requires_grad() ? "style=filled, fillcolor=\"#dbeafe\"" : "style=dashed")
           << ", label=\"" << esc(label.str()) << "\"];\n";
    }
    const std::size_t E = g.entries.size();
    for (std::size_t k = 0; k < E; ++k) {
        const GraphEntry<T>& e = g.entries[k];
        const std::string n = "entry" + std::to_string(e.seq);
        if (e.output.defined()) id[e.output.impl()] = n;
        std::ostringstream label;
        label << e.op << "   tape #" << e.seq << "   backward step " << (E - k) << "\n";
        auto it = e.output.defined() ? opt.names_.find(e.output.impl()) : opt.names_.end();
        if (it != opt.names_.end()) label << it->second << "  ";
        if (e.output.defined()) tensor_lines(label, e.output, opt);
        const bool root = e.output.defined() && g.root.defined() && e.output.same(g.root);
        os << "  " << n << " [shape=box, style=\"rounded,filled\", fillcolor=\"" << (root ? "#fde68a" : "#f3f4f6")
           << "\", label=\"" << esc(label.str()) << "\"];\n";
    }
    // edges: each input into the entry that reads it, numbered by argument when there are several
    for (const GraphEntry<T>& e : g.entries) {
        const std::string to = "entry" + std::to_string(e.seq);
        for (std::size_t i = 0; i < e.inputs.size(); ++i) {
            if (!e.inputs[i].defined()) continue;
            auto it = id.find(e.inputs[i].impl());
            if (it == id.end()) continue;  // an input of the other precision: not drawn
            os << "  " << it->second << " -> " << to;
            if (e.inputs.size() > 1) os << " [label=\"" << i << "\", fontsize=8]";
            os << ";\n";
        }
    }
    os << "}\n";
    return os.str();
}

template <class T> std::string to_dot(const Tensor<T>& root, const DotOptions& options) {
    return to_dot(graph_of(root), options);
}

std::string render_svg(const std::string& dot) {
    static std::mutex m;  // Graphviz keeps global state: one layout at a time
    std::lock_guard<std::mutex> lock(m);
    agseterr(AGMAX);  // keep errors for aglasterr() instead of printing them
    std::unique_ptr<GVC_t, int (*)(GVC_t*)> gvc(gvContext(), gvFreeContext);
    if (!gvc) throw ValueError("render_svg: Graphviz could not create a context");
    Agraph_t* g = agmemread(dot.c_str());
    auto last = [] {  // aglasterr() hands over a malloc'd copy of the message: ours to free
        char* e = aglasterr();
        std::string msg(e ? e : "no message");
        std::free(e);
        return msg;
    };
    if (!g) throw ValueError("render_svg: expected Graphviz DOT text, Graphviz says: " + last());
    std::unique_ptr<Agraph_t, int (*)(Agraph_t*)> graph(g, agclose);
    if (gvLayout(gvc.get(), g, "dot") != 0)
        throw ValueError("render_svg: Graphviz's dot layout failed: " + last());
    char* buf = nullptr;
    unsigned int len = 0;
    const int rc = gvRenderData(gvc.get(), g, "svg", &buf, &len);
    gvFreeLayout(gvc.get(), g);
    if (rc != 0 || !buf) {
        if (buf) gvFreeRenderData(buf);
        throw ValueError("render_svg: Graphviz could not render SVG (is its core plugin installed? libgvc6): " + last());
    }
    std::string svg(buf, len);
    gvFreeRenderData(buf);
    return svg;
}

void write_svg(const std::string& dot, const std::string& path) { io::write_file_atomically(path, render_svg(dot)); }

template std::string to_dot(const Graph<float>&, const DotOptions&);
template std::string to_dot(const Graph<double>&, const DotOptions&);
template std::string to_dot(const Tensor<float>&, const DotOptions&);
template std::string to_dot(const Tensor<double>&, const DotOptions&);

}  // namespace viz
}  // namespace tapegrad
