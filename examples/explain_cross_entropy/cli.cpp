// The command line (see cli.hpp): read the flags, then run the walkthrough, the user's case, or
// the library's numbers as JSON.
#include "cli.hpp"

#include <cstdint>
#include <exception>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "by_hand.hpp"
#include "lessons.hpp"
#include "page.hpp"

namespace explain_ce {

int explain_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
    CLI::App app{"Explains F.cross_entropy step by step with real numbers (tapegrad).\n"
                 "Without arguments: a guided walkthrough of five examples.",
                 "explain_cross_entropy"};
    UserInput in;
    bool json = false;
    app.add_option("--logits", in.logits, "input logits, a nested JSON list: (C), (N, C) or (N, C, d1, ...)");
    app.add_option("--target", in.target,
                   "class indices (integers, shape (), (N) or (N, d1, ...)) or probabilities (the logits' shape)");
    app.add_option("--weight", in.weight, "class weights, a JSON list of C numbers");
    app.add_option("--ignore-index", in.ignore_index, "target value to ignore (default -100)");
    app.add_option("--reduction", in.reduction, "mean | sum | none (default mean)");
    app.add_option("--label-smoothing", in.label_smoothing, "label smoothing in [0, 1] (default 0)");
    app.add_flag("--json", json, "print {\"loss\", \"grad\", \"softmax\"} as one JSON object instead");
    std::string html;
    app.add_option("--html", html, "also write the lesson as one self-contained web page to FILE");
    try {
        if (argc <= 1) return walkthrough(out);
        app.parse(argc, argv);
        if (!html.empty() && in.logits.empty() && in.target.empty() && !json) {  // --html alone: the walkthrough as a page
            std::ostringstream text;
            const int rc = walkthrough(text);
            out << text.str();
            write_page(html, text.str(), walkthrough_problem());
            out << "page: " << html << "\n";
            return rc;
        }
        if (in.logits.empty() || in.target.empty())
            throw InputError("--logits and --target are both required (run without arguments for the walkthrough)");
        const Problem pr = read_problem(in);
        const LibResult lib = run_library(pr);  // validates everything before anything is printed
        if (json) {
            print_json(lib, out);
            return 0;
        }
        if (html.empty()) return explain_user(pr, out);
        std::ostringstream text;
        const int rc = explain_user(pr, text);
        out << text.str();
        write_page(html, text.str(), pr);
        out << "page: " << html << "\n";
        return rc;
    } catch (const CLI::CallForHelp&) {
        out << app.help();
        return 0;
    } catch (const CLI::ParseError& e) {
        err << "error: " << e.what() << "\n" << "run with --help for usage\n";
        return 2;
    } catch (const std::exception& e) {  // tapegrad::Error, InputError, JSON errors
        err << "error: " << e.what() << "\n";
        return 2;
    }
}

}  // namespace explain_ce
