#pragma once
// The explainer's command line, as a function the program's main() and the tests both call.
//
//   explain_main(argc, argv, out, err)
//     no arguments   a guided walk through five examples (basic loss, log_softmax + nll_loss,
//                    class weights, ignore_index, the three reductions)
//     --logits JSON --target JSON [--weight JSON] [--ignore-index N] [--reduction R]
//     [--label-smoothing X]      explains that case step by step
//     --json                     prints {"loss", "grad", "softmax"} from the library instead
//   Returns 0 on success, 1 when the by-hand numbers and tapegrad's disagree, 2 on bad input
//   (with "error: <message>" on err).
#include <ostream>

namespace explain_ce {

int explain_main(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace explain_ce
