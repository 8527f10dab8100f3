// The command line (see cli.hpp): read the flags, then run the walkthrough, the user's case, a
// comparison of two settings, or the library's numbers as JSON.
#include "cli.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "by_hand.hpp"
#include "compare.hpp"
#include "lessons.hpp"
#include "other_losses.hpp"
#include "page.hpp"

namespace explain_ce {

namespace {

const char* const kCaseFlags[] = {"--loss",      "--input", "--target",          "--weight", "--pos-weight",
                                  "--ignore-index", "--reduction", "--label-smoothing", "--beta", "--delta",
                                  "--log-target"};

// The flags that describe one case; --compare parses its OPTIONS with them again, on top of A's.
void add_case_options(CLI::App& app, UserInput& in) {
    app.add_option("--loss", in.loss, "the loss, torch.nn.functional's name (default cross_entropy)")
        ->check(CLI::IsMember(loss_names()));
    app.add_option("--input,--logits", in.logits,
                   "the input, a nested JSON list; for cross_entropy the logits: (C), (N, C) or (N, C, d1, ...)");
    app.add_option("--target", in.target,
                   "the target; for cross_entropy class indices (integers, shape (), (N) or (N, d1, ...)) or "
                   "probabilities (the logits' shape)");
    app.add_option("--weight", in.weight, "weights, a JSON list (cross_entropy: one per class)");
    app.add_option("--pos-weight", in.pos_weight, "binary_cross_entropy_with_logits: weight of the positive term per class");
    app.add_option("--ignore-index", in.ignore_index, "cross_entropy: target value to ignore (default -100)");
    app.add_option("--reduction", in.reduction, "mean | sum | none (kl_div also batchmean; default mean)");
    app.add_option("--label-smoothing", in.label_smoothing, "cross_entropy: label smoothing in [0, 1] (default 0)");
    app.add_option("--beta", in.beta, "smooth_l1_loss: where the quadratic part ends (default 1)");
    app.add_option("--delta", in.delta, "huber_loss: where the quadratic part ends (default 1)");
    app.add_flag("--log-target", in.log_target, "kl_div: the target holds log-probabilities");
}

void note_given(const CLI::App& app, UserInput& in) {
    for (const char* f : kCaseFlags)
        if (app.count(f) > 0) in.given.insert(f);
}

bool no_case(const UserInput& in) { return in.logits.empty() && in.target.empty(); }

// The lesson's text for one setting, and the page when --html is given.
int explain_case(const UserInput& in, const std::string& html, std::ostream& out) {
    std::ostringstream text;
    int rc;
    if (in.loss == "cross_entropy") {
        const Problem pr = read_problem(in);
        run_library(pr);  // validates everything before anything is printed
        rc = explain_user(pr, text);
        out << text.str();
        if (!html.empty()) write_page(html, text.str(), pr);
    } else {
        const LossProblem p = read_loss_problem(in);
        rc = explain_loss(p, text);
        out << text.str();
        if (!html.empty()) write_loss_page(html, text.str(), p);
    }
    if (!html.empty()) out << "page: " << html << "\n";
    return rc;
}

}  // namespace

int explain_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
    CLI::App app{"Explains F.cross_entropy, and every other loss with --loss, step by step with real numbers "
                 "(tapegrad).\nWithout arguments: a guided walkthrough.",
                 "explain_cross_entropy"};
    UserInput in;
    add_case_options(app, in);
    bool json = false;
    app.add_flag("--json", json,
                 "print the library's numbers as one JSON object instead: {\"loss\", \"grad\", \"softmax\"} for "
                 "cross_entropy, {\"loss\", \"grad\"} for the others");
    std::string html, compare;
    app.add_option("--html", html, "also write the lesson as one self-contained web page to FILE");
    app.add_option("--compare", compare,
                   "explain the case under a second setting too, side by side: OPTIONS are flags applied on top "
                   "of the first, e.g. --compare '--label-smoothing 0.1'");
    try {
        if (argc <= 1) return walkthrough(out);
        app.parse(argc, argv);
        note_given(app, in);
        if (!compare.empty()) {
            UserInput b = in;
            CLI::App second{"--compare's OPTIONS", "--compare"};
            add_case_options(second, b);
            std::vector<std::string> args = split_options(compare);
            std::reverse(args.begin(), args.end());  // CLI11 takes a vector last argument first
            try {
                second.parse(args);
            } catch (const CLI::CallForHelp&) {
                throw InputError("--compare: OPTIONS are the case's flags (--help lists them), not --help itself");
            } catch (const CLI::ParseError& e) {
                throw InputError(std::string("--compare: ") + e.what());
            }
            note_given(second, b);
            if (in.loss == "cross_entropy" && b.loss == "cross_entropy" && no_case(in))
                throw InputError("--compare needs a case: --logits and --target (or --loss NAME for its example)");
            if (!html.empty()) throw InputError("--compare prints to the terminal; --html takes one setting");
            if (json) {
                compare_json(in, b, out);
                return 0;
            }
            return explain_compare(in, b, compare, out);
        }
        if (in.loss == "cross_entropy" && no_case(in)) {
            if (json || html.empty())
                throw InputError("--logits and --target are both required (run without arguments for the walkthrough)");
            std::ostringstream text;  // --html alone: the walkthrough as a page
            const int rc = walkthrough(text);
            out << text.str();
            write_page(html, text.str(), walkthrough_problem());
            out << "page: " << html << "\n";
            return rc;
        }
        if (json) {
            if (in.loss == "cross_entropy") {
                print_json(run_library(read_problem(in)), out);
            } else {
                const LibResult lib = run_loss_library(read_loss_problem(in));
                print_loss_json(lib, out);
            }
            return 0;
        }
        return explain_case(in, html, out);
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
