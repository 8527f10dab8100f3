#pragma once
// The explainer's output: the numbers of by_hand.hpp as tables of classes, with the prose that
// says why each step is what it is, and tapegrad's numbers beside them marked 'agree' or 'DISAGREE'.
//
//   walkthrough(out)       seven guided examples (basic loss, log_softmax + nll_loss, class weights,
//                          ignore_index, the three reductions, softmax + CE vs sigmoid + BCE, label
//                          smoothing as a mix), then tapegrad beside PyTorch
//   explain_user(pr, out)  the user's own case, step by step
//   print_json(lib, out)   {"loss", "grad", "softmax"} of the library, one line of JSON
// walkthrough and explain_user return 0 when every check agrees, 1 otherwise.
#include <ostream>
#include <string>

#include "by_hand.hpp"

namespace explain_ce {

// Counts the checks of one lesson and remembers whether all of them agreed.
struct Lesson {
    std::ostream& out;
    bool all_agree = true;
    int checks = 0;
    std::string mark(bool ok) {
        ++checks;
        all_agree = all_agree && ok;
        return ok ? "agree" : "DISAGREE";
    }
};

int walkthrough(std::ostream& out);

int explain_user(const Problem& pr, std::ostream& out);

// Non-finite numbers are written as the strings "nan", "inf", "-inf" (JSON has no such numbers),
// finite ones round-trip exact.
void print_json(const LibResult& lib, std::ostream& out);

}  // namespace explain_ce
