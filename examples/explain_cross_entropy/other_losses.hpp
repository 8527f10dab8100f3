#pragma once
// explain_cross_entropy --loss NAME: every loss of tapegrad/ops/losses.hpp explained as
// cross-entropy is — each element's loss by hand in double following torch's formula, the
// reduction, the gradient w.r.t. the input, and tapegrad's numbers beside them, 'agree' or
// 'DISAGREE'.
//
//   read_loss_problem(input)   the flags → a LossProblem, or an InputError (a flag the loss does
//                              not take, malformed JSON)
//   run_loss_library(problem)  tapegrad's loss and the gradient of its sum w.r.t. the input
//   loss_by_hand(problem)      every element's intermediate numbers, the reduction, the gradient
//   explain_loss(problem, out) the step-by-step text; 0 when all agree, 1 otherwise
#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "by_hand.hpp"

namespace explain_ce {

// torch.nn.functional's names of the losses --loss takes, cross_entropy first.
const std::vector<std::string>& loss_names();

struct LossProblem {
    std::string name;  // one of loss_names() but cross_entropy
    xt::xarray<double> input, target, weight, pos_weight;
    bool has_weight = false, has_pos_weight = false;
    std::string reduction = "mean";  // kl_div also takes "batchmean"
    double beta = 1, delta = 1;
    bool log_target = false;
};

// Throws InputError for a flag the loss does not take (--pos-weight outside
// binary_cross_entropy_with_logits, --beta outside smooth_l1_loss, ...) and for bad JSON.
LossProblem read_loss_problem(const UserInput& in);

// The loss on a float64 tensor x (the problem's input as a leaf that requires grad), through
// tapegrad's function of that name: tapegrad's errors for bad shapes or values.
tapegrad::Tensor<double> call_loss(const LossProblem& p, const tapegrad::Tensor<double>& x);

// loss as returned, grad = d(sum of loss)/d(input); softmax stays empty.
LibResult run_loss_library(const LossProblem& p);

// The loss by hand. Elements are those of the broadcast shape of input, target and weights;
// rows of the printed tables follow its last dim (for multilabel_soft_margin_loss: one sample).
struct ElementHand {
    tapegrad::Shape shape;                       // the broadcast shape
    std::vector<std::string> labels;             // the quantities shown per element, in order
    std::vector<std::vector<double>> values;     // values[k][i]: quantity k of element i
    std::vector<double> term;                    // each element's loss (weighted)
    std::vector<double> local;                   // d(reduced loss)/d(element's input), before the scale
    std::vector<double> per;                     // what 'none' returns (per sample for multilabel_soft_margin_loss)
    tapegrad::Shape per_shape;
    double total = 0, divisor = 1, scale = 1;    // Σ per; the reduction's divisor; 1/divisor or 1
    std::string divisor_text;                    // why the divisor is what it is
    xt::xarray<double> loss, grad;               // grad summed back to the input's shape
    std::vector<double> contrib;                 // scale·local per element (before that sum)
};

ElementHand loss_by_hand(const LossProblem& p);

int explain_loss(const LossProblem& p, std::ostream& out);

// {"loss", "grad"}: one line of JSON, non-finite numbers as the strings "nan", "inf", "-inf".
void print_loss_json(const LibResult& lib, std::ostream& out);

// "[i, j]": the multi-index of flat element i of an array of shape B ("value" when B is 0-d).
std::string index_name(const tapegrad::Shape& B, std::size_t i);

// One-line description of the case ("binary_cross_entropy_with_logits, reduction 'mean', pos_weight ...").
std::string describe(const LossProblem& p);

}  // namespace explain_ce
