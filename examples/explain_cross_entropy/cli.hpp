#pragma once
// The explainer's command line, as a function the program's main() and the tests both call.
//
//   explain_main(argc, argv, out, err)
//     no arguments   a guided walk through seven examples (basic loss, log_softmax + nll_loss,
//                    class weights, ignore_index, the three reductions, softmax + cross-entropy
//                    vs sigmoid + BCE, label smoothing as a mix with the uniform distribution)
//     --logits JSON --target JSON [--weight JSON] [--ignore-index N] [--reduction R]
//     [--label-smoothing X]      explains that case step by step
//     --loss NAME [--input JSON --target JSON] [--weight JSON] [--pos-weight JSON] [--reduction R]
//     [--beta X] [--delta X] [--log-target]   the same for another loss (torch.nn.functional's
//                    name; --input is --logits' other name); without a case, an example of it
//     --json                     prints {"loss", "grad", "softmax"} from the library instead
//                                ({"loss", "grad"} for the other losses)
//     --compare 'OPTIONS'        the case again with OPTIONS on top, side by side
//     --html FILE                the lesson as a self-contained web page too
//   Returns 0 on success, 1 when the by-hand numbers and tapegrad's disagree, 2 on bad input
//   (with "error: <message>" on err).
#include <ostream>

namespace explain_ce {

int explain_main(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace explain_ce
