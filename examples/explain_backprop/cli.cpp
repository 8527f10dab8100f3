// The command line (see backprop_cli.hpp): read the flags, build the lesson, print it as text or JSON.
#include "backprop_cli.hpp"

#include <cstdio>
#include <exception>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "backprop_lesson.hpp"
#include "html_page.hpp"

namespace explain_bp {

int explain_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
    CLI::App app{"Explains backpropagation on a tiny network with real numbers (tapegrad):\n"
                 "the forward pass, the backward pass entry by entry, numerical checks, gradcheck, one SGD step.",
                 "explain_backprop"};
    std::string graph;
    bool json = false;
    app.add_option("--graph", graph, "write the graph picture (values and gradients) as SVG to this file");
    app.add_flag("--json", json, "print the lesson's data as one JSON object instead of text");
    std::string html;
    app.add_option("--html", html, "also write the lesson as one self-contained web page (text, picture, loss) to FILE");
    try {
        app.parse(argc, argv);
        if (json && !html.empty()) throw CLI::ValidationError("--html", "--json prints data; --html writes the lesson's page: one or the other");
        const Lesson lesson = build_lesson(graph, /*keep_svg=*/!html.empty());  // writes the picture when asked
        if (json) {
            out << to_json(lesson).dump(2) << "\n";
            return lesson.all_agree() ? 0 : 1;
        }
        std::ostringstream text;
        print_lesson(lesson, text);
        out << text.str();
        if (!html.empty()) {
            char loss[128];
            std::snprintf(loss, sizeof loss, "loss = %.6f\nafter one SGD step (lr 0.1): %.6f", lesson.loss_before,
                          lesson.loss_after);
            examples::write_html_page(html, "Backpropagation, step by step",
                                      {{"The lesson", text.str(), ""},
                                       {"The graph tapegrad recorded, after backward", "", lesson.graph_svg},
                                       {"Final loss", loss, ""}});
            out << "page: " << html << "\n";
        }
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
