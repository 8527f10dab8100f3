// The cross-entropy explainer: every step of F.cross_entropy with real numbers, checked against
// tapegrad's own loss and backward(). Without arguments, a guided walkthrough; with
// --logits/--target (and --weight, --ignore-index, --reduction, --label-smoothing) your own case;
// --json for machine-readable output. The logic is in explain_cross_entropy.hpp (shared with tests).
#include <iostream>

#include "explain_cross_entropy.hpp"

int main(int argc, char** argv) { return explain_main(argc, argv, std::cout, std::cerr); }
