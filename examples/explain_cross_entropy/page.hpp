#pragma once
// --html FILE: the lesson as one self-contained web page — the text as printed, the graph of the
// case (log_softmax → nll_loss, or cross_entropy when the targets are probabilities or smoothed)
// drawn by tapegrad::viz with its values and gradients, and the final loss.
#include <string>

#include "by_hand.hpp"

namespace explain_ce {

// The problem every example of the walkthrough starts from.
Problem walkthrough_problem();

void write_page(const std::string& path, const std::string& lesson_text, const Problem& pr);

// The same for --loss NAME: the graph is the loss's one node on the input.
struct LossProblem;
void write_loss_page(const std::string& path, const std::string& lesson_text, const LossProblem& p);

}  // namespace explain_ce
