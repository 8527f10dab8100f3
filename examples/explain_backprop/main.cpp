// The backprop explainer: a tiny network's forward and backward pass, entry by entry, with real
// numbers, each step checked numerically, then gradcheck and one SGD step.
//
//   explain_backprop                       the lesson, to read top to bottom
//   explain_backprop --graph FILE.svg      ... and the graph picture (values and gradients)
//   explain_backprop --json                the same data as one JSON object
//
// Exit status: 0, 1 when a check disagrees, 2 on bad flags ("error: ..." on stderr).
#include <iostream>

#include "backprop_cli.hpp"

int main(int argc, char** argv) { return explain_bp::explain_main(argc, argv, std::cout, std::cerr); }
