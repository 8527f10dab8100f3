#pragma once
// The backprop lesson's data: everything the text, the JSON (and later an HTML page) show, computed
// once by build_lesson on a tiny network in double precision:
//
//   x (2 samples, 2 inputs), y = class indices
//   z1     = linear(x, W1, b1)          (2, 3)
//   h      = relu(z1)
//   hs     = h · 0.5                    h is used twice: here and in the next line,
//   h2     = h + hs                     so its gradient is the sum of two contributions
//   logits = linear(h2, W2, b2)         (2, 2)
//   loss   = cross_entropy(logits, y)   mean over the two samples
//
// The entries come from graph_of(loss) (tape order); the backward pass is replayed in reverse:
// each entry's outgoing gradients come from re-running that op alone in tapegrad on copies of its
// inputs and calling backward with the entry's incoming gradient (the retained gradient of its
// output), and are checked against central differences of that op's forward.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xarray.hpp>

namespace explain_bp {

using Array = xt::xarray<double>;

// The network's values (the tests build the same network from them).
struct Network {
    Array x, W1, b1, W2, b2;
    xt::xarray<std::int64_t> y;
    double reuse_scale = 0.5;  // hs = h · reuse_scale
    double lr = 0.1;           // the SGD step's learning rate
};
Network tiny_network();

struct Accumulation {    // a tensor's second (or later) gradient contribution: grad += contribution
    Array before, contribution, sum;
};

struct Outgoing {        // the gradient an entry sends to one input
    std::string to;      // the input's name ("W1", "h", …)
    Array grad;          // analytic: the op's backward in tapegrad, run on this entry alone
    Array numeric;       // central differences of the entry's own forward
    double max_error = 0;
    bool agree = false;
    bool accumulated = false;  // not the tensor's first contribution: see accumulation
    Accumulation accumulation;
};

struct Step {            // one tape entry
    std::string op, name;        // op as grad_fn() names it; name of its output ("z1", "loss", …)
    std::uint64_t seq = 0;
    std::vector<std::string> inputs;  // input names, in the op's argument order
    Array output, incoming;           // incoming: the retained gradient of the output
    std::string formula;              // the local derivative, as a formula
    std::string local;                // ... and as numbers
    std::vector<Outgoing> outgoing;   // only inputs that require a gradient
    double max_error = 0;             // the worst over outgoing
    bool agree = true;
};

struct Param {
    std::string name;
    Array before, grad, after;
};

struct Total {           // a tensor's summed contributions against tapegrad's own gradient
    std::string name;
    std::size_t contributions = 0;
    Array sum, tapegrad;
    bool agree = false;
};

struct Lesson {
    Network net;
    std::vector<Step> steps;      // tape order (the backward pass runs them in reverse)
    std::vector<Total> totals;    // every tensor that received a gradient
    std::vector<Param> params;
    bool gradcheck_ok = false;
    double gradcheck_max_error = 0;
    std::size_t gradcheck_checked = 0;
    std::string gradcheck_report;
    double loss_before = 0, loss_after = 0;
    std::string graph_file;       // "" when no picture was asked for
    std::string graph_svg;        // the picture itself, when keep_svg was asked for
    bool all_agree() const;
};

// The lesson; writes the graph picture (SVG) to graph_svg when it is not empty, and keeps the
// SVG text in Lesson::graph_svg when keep_svg (for the web page).
Lesson build_lesson(const std::string& graph_svg = "", bool keep_svg = false);
void print_lesson(const Lesson& lesson, std::ostream& out);
nlohmann::json to_json(const Lesson& lesson);

}  // namespace explain_bp
