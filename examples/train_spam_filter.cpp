// A spam filter on the SpamAssassin corpus: fastText-style EmbeddingBag → Linear. See --help.
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "spam_classifier.hpp"

int main(int argc, char** argv) {
    spam_classifier::Options o;
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    o.data = (xdg && *xdg ? std::string(xdg) : std::string(home ? home : ".") + "/.cache") + "/tapegrad/spam-assassin";
    std::vector<std::string> predict;
    std::string model_path;
    std::vector<std::string> class_names{"ham", "spam"};
    CLI::App app{"Train a spam filter (EmbeddingBag + Linear) on the SpamAssassin corpus with tapegrad,\n"
                 "or classify emails with a saved model (--predict)."};
    app.add_option("--data", o.data, "corpus folder (third_party/fetch-spamassassin.sh prints it)")->capture_default_str();
    app.add_option("--epochs", o.epochs, "epochs")->capture_default_str()->check(CLI::Range(1, 100000));
    app.add_option("--batch-size", o.batch_size, "emails per batch")->capture_default_str()->check(CLI::Range(1, 1 << 20));
    app.add_option("--lr", o.lr, "initial learning rate (decays linearly to 0)")->capture_default_str()->check(CLI::Range(0.0, 1e9));
    app.add_option("--dim", o.dim, "embedding dimension")->capture_default_str()->check(CLI::Range(1, 4096));
    app.add_option("--buckets", o.buckets, "hash buckets for unigrams and bigrams")->capture_default_str()->check(CLI::Range(1, 1 << 24));
    app.add_option("--seed", o.seed, "seed")->capture_default_str()->check(CLI::Range(0.0, 1e18));
    app.add_option("--threads", o.threads, "OpenBLAS threads")->capture_default_str()->check(CLI::Range(0, 256));
    app.add_option("--metrics", o.metrics, "write per-epoch metrics as JSON lines to FILE");
    app.add_option("--save", o.save, "write a checkpoint (.npz) to FILE after every epoch");
    app.add_option("--resume", o.resume, "continue the run saved in FILE");
    app.add_option("--stop-after", o.stop_after, "end the run after epoch N, as if interrupted")->check(CLI::Range(0, 100000));
    app.add_option("--plot", o.plot, "write an SVG with the loss and accuracy curves to FILE");
    app.add_flag("--any-folders{false}", o.spamassassin, "one class per folder instead of SpamAssassin's ham/spam map");
    app.add_flag("--quiet", o.quiet, "no progress bar");
    app.add_option("--predict", predict,
                   "classify these email files with the model in --model: prints each one's class, its probability "
                   "(0.999987; past six nines as 1 - 3.2e-09) and log-odds")
        ->expected(1, -1);
    app.add_option("--model", model_path, "model for --predict (a file written by --save)");
    app.add_option("--classes", class_names, "class names for --predict, in label order")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;  // usage errors exit 2, like the other examples
    }
    if (!predict.empty()) {
        if (model_path.empty()) model_path = o.save;
        if (model_path.empty()) {
            std::cerr << "error: --predict needs --model FILE (a checkpoint written with --save)\n";
            return 2;
        }
        return spam_classifier::predict(model_path, predict, class_names, std::cout, std::cerr);
    }
    spam_classifier::Corpus corpus;
    try {
        const auto t0 = std::chrono::steady_clock::now();
        auto tc = spam_filter::load_text_folders(
            o.data, o.spamassassin ? spam_filter::spamassassin_classes() : std::map<std::string, std::string>{});
        for (const auto& w : tc.warnings) std::cerr << "warning: " << w << "\n";
        corpus = spam_classifier::featurize(tc, o.buckets);
        std::cout << "loaded and featurised " << o.data << " in " << std::fixed << std::setprecision(2)
                  << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << "s\n"
                  << std::defaultfloat;
    } catch (const tapegrad::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        if (dynamic_cast<const tapegrad::IOError*>(&e))
            std::cerr << "(fetch the corpus with third_party/fetch-spamassassin.sh, or pass --data DIR)\n";
        return 2;
    }
    return spam_classifier::train(o, corpus, std::cout, std::cerr);
}
