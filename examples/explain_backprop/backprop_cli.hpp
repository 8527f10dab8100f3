#pragma once
// (named backprop_*.hpp: the tests see every example folder, and explain_cross_entropy has a cli.hpp)
// The backprop explainer's command line, as a function the program's main() and the tests call.
//
//   explain_main(argc, argv, out, err)
//     no arguments       the lesson (backprop_lesson.hpp) as text
//     --graph FILE.svg   also writes the graph picture (viz::write_svg)
//     --json             the lesson's data as one JSON object instead of text
//     --html FILE        also writes the lesson as one self-contained web page (html_page.hpp)
//   Returns 0 when every check agrees, 1 when one disagrees, 2 on bad flags or a file that cannot
//   be written (with "error: <message>" on err).
#include <ostream>

namespace explain_bp {

int explain_main(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace explain_bp
