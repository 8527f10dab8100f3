// The cross-entropy explainer: every step of F.cross_entropy with real numbers, checked against
// tapegrad's own loss and backward().
//
//   explain_cross_entropy                       a guided walkthrough of seven examples
//   explain_cross_entropy --logits '[[1, 2, 3]]' --target '[2]' [--weight '[1, 2, 3]']
//       [--ignore-index N] [--reduction mean|sum|none] [--label-smoothing X]
//                                               your own case, step by step
//   ... --json                                  {"loss", "grad", "softmax"} as JSON instead
//   explain_cross_entropy --loss binary_cross_entropy_with_logits [--input ... --target ...]
//                                               any of the other losses (other_losses.cpp)
//   ... --compare '--label-smoothing 0.1'       two settings side by side (compare.cpp)
//
// How it runs (explain_main, in cli.cpp so that the tests can call it too):
//   1. CLI11 reads the flags; without any, the walkthrough is printed (lessons.cpp).
//   2. read_problem turns the JSON lists into arrays: a Problem (by_hand.cpp).
//   3. run_library computes cross_entropy and backward() with tapegrad (by_hand.cpp).
//   4. --json prints the library's numbers (lessons.cpp); otherwise explain_user computes every
//      step by hand (by_hand.cpp) and prints it beside tapegrad's, marked 'agree' or 'DISAGREE'.
// Exit status: 0, 1 when by hand and tapegrad disagree, 2 on bad input ("error: ..." on stderr).
#include <iostream>

#include "cli.hpp"

int main(int argc, char** argv) { return explain_ce::explain_main(argc, argv, std::cout, std::cerr); }
