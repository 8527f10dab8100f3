// The command line (see backprop_cli.hpp): read the flags, build the lesson, print it as text or JSON.
#include "backprop_cli.hpp"

#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "backprop_lesson.hpp"

namespace explain_bp {

int explain_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
    CLI::App app{"Explains backpropagation on a tiny network with real numbers (tapegrad):\n"
                 "the forward pass, the backward pass entry by entry, numerical checks, gradcheck, one SGD step.",
                 "explain_backprop"};
    std::string graph;
    bool json = false;
    app.add_option("--graph", graph, "write the graph picture (values and gradients) as SVG to this file");
    app.add_flag("--json", json, "print the lesson's data as one JSON object instead of text");
    try {
        app.parse(argc, argv);
        const Lesson lesson = build_lesson(graph);  // writes the picture when asked
        if (json)
            out << to_json(lesson).dump(2) << "\n";
        else
            print_lesson(lesson, out);
        return lesson.all_agree() ? 0 : 1;
    } catch (const CLI::CallForHelp&) {
        out << app.help();
        return 0;
    } catch (const CLI::ParseError& e) {
        err << "error: " << e.what() << "\n" << "run with --help for usage\n";
        return 2;
    } catch (const std::exception& e) {  // tapegrad::Error (a file that cannot be written, …)
        err << "error: " << e.what() << "\n";
        return 2;
    }
}

}  // namespace explain_bp
