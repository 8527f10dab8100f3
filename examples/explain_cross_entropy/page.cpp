// write_page: see page.hpp.
#include "page.hpp"

#include <tapegrad/tapegrad.hpp>

#include "html_page.hpp"
#include "other_losses.hpp"

namespace explain_ce {

void write_page(const std::string& path, const std::string& lesson_text, const Problem& pr) {
    using namespace tapegrad;
    Tensor<double> x(pr.logits, true);
    const Tensor<double> w = pr.has_weight ? Tensor<double>(pr.weight) : Tensor<double>();
    const std::ptrdiff_t class_dim = pr.logits.dimension() == 1 ? 0 : 1;
    // index targets without smoothing: the two steps cross_entropy fuses, so the picture shows both
    Tensor<double> loss = !pr.prob && pr.eps == 0
                              ? nll_loss(log_softmax(x, class_dim), pr.index, w, pr.ignore_index, pr.reduction)
                              : (pr.prob ? cross_entropy(x, Tensor<double>(pr.probs), w, pr.ignore_index, pr.reduction, pr.eps)
                                         : cross_entropy(x, pr.index, w, pr.ignore_index, pr.reduction, pr.eps));
    const Tensor<double> total = loss.numel() == 1 ? loss : sum(loss);  // reduction 'none': backward of the sum
    retain_grads(total);
    total.backward(Tensor<double>(), /*retain_graph=*/true);
    const std::string svg = viz::render_svg(viz::to_dot(
        total, viz::DotOptions().name(x, "logits x").title("the graph, after backward: values and gradients")));
    examples::write_html_page(path, "Cross-entropy, step by step",
                              {{"The lesson", lesson_text, ""},
                               {"The graph tapegrad recorded", "", svg},
                               {"Final loss", "loss = " + format_array(loss.value(), 6), ""}});
}

void write_loss_page(const std::string& path, const std::string& lesson_text, const LossProblem& p) {
    using namespace tapegrad;
    Tensor<double> x(p.input, true);
    const Tensor<double> loss = call_loss(p, x);
    const Tensor<double> total = loss.numel() == 1 ? loss : sum(loss);  // reduction 'none': backward of the sum
    retain_grads(total);
    total.backward(Tensor<double>(), /*retain_graph=*/true);
    const std::string svg = viz::render_svg(viz::to_dot(
        total, viz::DotOptions().name(x, "input x").title("the graph, after backward: values and gradients")));
    examples::write_html_page(path, p.name + ", step by step",
                              {{"The lesson", lesson_text, ""},
                               {"The graph tapegrad recorded", "", svg},
                               {"Final loss", "loss = " + format_array(loss.value(), 6), ""}});
}

}  // namespace explain_ce
