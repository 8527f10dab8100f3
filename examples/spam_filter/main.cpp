// Trains a spam filter on the SpamAssassin corpus, fastText-style: each email a bag of hashed words
// and word pairs with tf-idf weights, EmbeddingBag → Linear → cross-entropy, plain SGD with the
// learning rate decaying linearly to 0. The model, the optimizer and the loop, read top to bottom;
// the plumbing (flags every trainer has, resume, progress, metrics, plot, checkpoints, the NaN stop)
// is in ../common/training_run.hpp, the emails and features in model.hpp, the report in report.hpp.
// With --predict it classifies email files with a saved model instead. See --help.
#include <algorithm>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <numeric>

#include <CLI/CLI.hpp>
#include <tapegrad/tapegrad.hpp>

#include "corpus.hpp"
#include "model.hpp"
#include "report.hpp"
#include "training_run.hpp"

using namespace tapegrad;

// $XDG_CACHE_HOME/tapegrad/spam-assassin, where third_party/fetch-spamassassin.sh puts the corpus.
std::string default_data_dir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    return (xdg && *xdg ? std::string(xdg) : std::string(home ? home : ".") + "/.cache") + "/tapegrad/spam-assassin";
}

int main(int argc, char** argv) {
    // ---- the run's settings
    examples::RunFlags run_flags;
    run_flags.epochs = 10;
    run_flags.threads = 1;  // the batches are tiny: one thread is fastest
    std::string data_dir = default_data_dir(), model_path;
    std::size_t batch_size = 1, dim = 64, buckets = std::size_t(1) << 18, top_features = 20;
    double lr = 0.5;
    bool spamassassin = true;  // map easy-ham-*/hard-ham-* → ham, spam-* → spam
    std::vector<std::string> predict_files, class_names{"ham", "spam"};

    CLI::App app{"Train a spam filter (EmbeddingBag + Linear) on the SpamAssassin corpus with tapegrad,\n"
                 "or classify emails with a saved model (--predict)."};
    run_flags.add_to(app);
    run_flags.add_distributed_to(app);
    app.add_option("--data", data_dir, "corpus folder (third_party/fetch-spamassassin.sh prints it)")->capture_default_str();
    app.add_option("--batch-size", batch_size, "emails per batch")->capture_default_str()->check(CLI::Range(1, 1 << 20));
    app.add_option("--lr", lr, "initial learning rate (decays linearly to 0)")->capture_default_str()->check(CLI::Range(0.0, 1e9));
    app.add_option("--dim", dim, "embedding dimension")->capture_default_str()->check(CLI::Range(1, 4096));
    app.add_option("--buckets", buckets, "hash buckets for unigrams and bigrams")->capture_default_str()->check(CLI::Range(1, 1 << 24));
    app.add_flag("--any-folders{false}", spamassassin, "one class per folder instead of SpamAssassin's ham/spam map");
    app.add_option("--top-features", top_features, "features listed per class at the end")->capture_default_str()->check(CLI::Range(0, 100000));
    app.add_option("--predict", predict_files,
                   "classify these email files with the model in --model: prints each one's class, its probability "
                   "(0.999987; past six nines as 1 - 3.2e-09) and log-odds")
        ->expected(1, -1);
    app.add_option("--model", model_path, "model for --predict (a file written by --save)");
    app.add_option("--classes", class_names, "class names for --predict, in label order")->capture_default_str();
    if (int status = examples::parse_command_line(app, argc, argv); status >= 0) return status;

    if (!predict_files.empty()) {
        if (model_path.empty()) model_path = run_flags.save;
        if (model_path.empty()) {
            std::cerr << "error: --predict needs --model FILE (a checkpoint written with --save)\n";
            return examples::kBadInput;
        }
        return spam_filter::predict(model_path, predict_files, class_names, std::cout, std::cerr);
    }
    using examples::setting;  // what a checkpoint records and --resume must agree with
    run_flags.settings = {{"--batch-size", setting(batch_size)}, {"--lr", setting(lr)},
                          {"--dim", setting(dim)},               {"--buckets", setting(buckets)},
                          {"--any-folders", setting(!spamassassin)}};

    examples::DistributedRun mpi;  // --distributed: MPI for the run's life
    return examples::exit_status_of(std::cerr, [&] {
        mpi.start(run_flags.distributed);  // --distributed: this process becomes one of mpirun's N ranks
        // ---- data: every email parsed and hashed into bags of feature ids with tf-idf weights
        const auto t0 = std::chrono::steady_clock::now();
        spam_filter::TextCorpus texts;
        try {
            texts = spam_filter::load_text_folders(data_dir, spamassassin ? spam_filter::spamassassin_classes()
                                                                          : std::map<std::string, std::string>{});
        } catch (const IOError& e) {
            throw IOError(std::string(e.what()) +
                          "\n(fetch the corpus with third_party/fetch-spamassassin.sh, or pass --data DIR)");
        }
        for (const auto& w : texts.warnings) std::cerr << "warning: " << w << "\n";
        const spam_filter::Corpus corpus = spam_filter::featurize(texts, buckets);
        if (corpus.train.labels.empty())
            throw ValueError("no training documents: the corpus has none left after the split (" +
                             std::to_string(corpus.skipped) + " skipped)");
        std::cout << "loaded and featurised " << data_dir << " in " << std::fixed << std::setprecision(2)
                  << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << "s\n"
                  << std::defaultfloat;

        // ---- the model: EmbeddingBag(buckets, dim, sum, sparse) → Linear(dim, classes)
        const std::size_t classes = corpus.class_names.size();
        Generator init(run_flags.seed);
        spam_filter::FastText model(buckets, dim, classes, init);
        std::copy(corpus.idf.begin(), corpus.idf.end(), model.idf.mutable_value().begin());

        // ---- the optimizer: plain SGD; its learning rate is set before every step below
        optim::SGD<float> opt(model.parameters(), lr);
        Generator shuffle(run_flags.seed + 1);
        examples::TrainingRun run(run_flags, "tapegrad fastText spam filter", model, opt, /*scheduler=*/nullptr,
                                  shuffle, std::cout, std::cerr);
        std::cout << "model: EmbeddingBag(" << buckets << ", " << dim
                  << ", mode='sum', sparse=True) over tf-idf weights (1 + ln tf; headers and body L2-normalised "
                     "apart) -> Linear("
                  << dim << ", " << classes << ")  (" << (buckets * dim + dim * classes + classes) << " parameters)\n"
                  << "train " << corpus.train.labels.size() << " emails, test " << corpus.test.labels.size()
                  << " emails" << (corpus.skipped ? ", " + std::to_string(corpus.skipped) + " skipped" : "") << "\n";

        // ---- the training loop
        // --distributed: each rank takes its 1/N of every epoch's permutation (the same on every rank)
        const std::size_t n_all = corpus.train.labels.size(), ranks = std::size_t(distributed::world_size());
        const std::size_t n = data::distributed_num_samples(n_all, ranks), batches = (n + batch_size - 1) / batch_size;
        std::vector<std::size_t> order(n_all);
        xt::xarray<std::int64_t> ids, offsets, y;
        xt::xarray<float> weights;
        for (int epoch = run.first_epoch(); epoch <= run.last_epoch(); ++epoch) {
            std::iota(order.begin(), order.end(), std::size_t(0));  // a new permutation (Fisher-Yates)
            for (std::size_t i = n_all; i > 1; --i) std::swap(order[i - 1], order[shuffle.randint(i)]);
            const std::vector<std::size_t> mine = data::distributed_split(order, ranks, std::size_t(distributed::rank()));
            auto progress = run.progress(epoch, batches);
            for (std::size_t b = 0; b < batches; ++b) {
                // the learning rate falls linearly to 0 over the whole run, step by step, as fastText's
                const double done = double(epoch - 1) * double(batches) + double(b);
                opt.param_groups()[0].lr = lr * (1.0 - done / (double(run_flags.epochs) * double(batches)));
                const std::size_t lo = b * batch_size, hi = std::min(n, lo + batch_size);
                spam_filter::make_batch(corpus.train, mine, lo, hi, ids, offsets, y, weights);
                opt.zero_grad(/*set_to_none=*/true);
                Tensor<float> loss = cross_entropy(model.forward(ids, offsets, weights), y);
                if (!run.loss_is_finite(loss.item(), epoch, b)) return run.diverged();
                if (run.graph_wanted()) retain_grads(loss);  // --graph: this step is drawn, gradients and all
                // the embedding's gradient is row-sparse: only these emails' rows
                loss.backward(Tensor<float>(), /*retain_graph=*/run.graph_wanted());
                run.write_graph(loss);  // --graph FILE.svg, after the first step only
                distributed::allreduce_gradients(model);  // --distributed: the average (the embedding's stays row-sparse)
                opt.step();
                progress.add(loss.item(), hi - lo);
            }
            const auto test = spam_filter::evaluate(model, corpus.test, nullptr);
            if (!run.end_epoch(epoch, progress, {{"test_loss", test.loss}, {"test_accuracy", test.accuracy}}))
                return run.diverged();
        }

        // ---- how well it does, which emails it gets wrong, and which words it learned
        if (!run.stopped_early())
            spam_filter::print_final_report(model, corpus, /*show_mistakes=*/20, top_features, std::cout);
        run.print_files();
        return examples::kOk;
    });
}
