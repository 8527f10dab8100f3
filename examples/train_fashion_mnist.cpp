// Trains an MLP on Fashion-MNIST (what `make demo` runs). See --help.
#include <CLI/CLI.hpp>

#include "image_classifier.hpp"

int main(int argc, char** argv) {
    image_classifier::Options o;
    CLI::App app{"Train an MLP classifier on Fashion-MNIST (or MNIST) with tapegrad."};
    std::string hidden = "256,128";
    app.add_option("--data", o.data, "folder with the four IDX files (.gz or plain)")->capture_default_str();
    app.add_option("--epochs", o.epochs, "epochs in the whole run (the schedule's horizon)")->capture_default_str()->check(CLI::Range(1, 100000));
    app.add_option("--batch-size", o.batch_size, "mini-batch size")->capture_default_str()->check(CLI::Range(1, 1 << 20));
    app.add_option("--lr", o.lr, "initial learning rate")->capture_default_str()->check(CLI::Range(0.0, 1e9));
    app.add_option("--momentum", o.momentum, "SGD momentum (Nesterov)")->capture_default_str()->check(CLI::Range(0.0, 1e9));
    app.add_option("--weight-decay", o.weight_decay, "L2 weight decay")->capture_default_str()->check(CLI::Range(0.0, 1e9));
    app.add_option("--schedule", o.schedule, "learning-rate schedule: cosine, step or none")->capture_default_str();
    app.add_option("--step-size", o.step_size, "StepLR: epochs between decays")->capture_default_str()->check(CLI::Range(1, 100000));
    app.add_option("--gamma", o.gamma, "StepLR: decay factor")->capture_default_str();
    app.add_option("--hidden", hidden, "hidden layer sizes, comma separated")->capture_default_str();
    app.add_option("--seed", o.seed, "seed for initialisation and shuffling")->capture_default_str()->check(CLI::Range(0.0, 1e18));
    app.add_option("--threads", o.threads, "OpenBLAS threads (0: its default)")->capture_default_str()->check(CLI::Range(0, 256));
    app.add_option("--metrics", o.metrics, "write per-epoch metrics as JSON lines to FILE");
    app.add_option("--save", o.save, "write a checkpoint (.npz) to FILE after every epoch");
    app.add_option("--resume", o.resume, "continue the run saved in FILE");
    app.add_option("--stop-after", o.stop_after, "end the run after epoch N, as if interrupted")->check(CLI::Range(0, 100000));
    app.add_option("--plot", o.plot, "write an SVG with the loss and accuracy curves to FILE");
    app.add_flag("--no-normalize{false}", o.normalize, "do not normalise inputs by the training mean/std");
    app.add_flag("--plain-sgd{false}", o.nesterov, "classical momentum instead of Nesterov");
    app.add_flag("--quiet", o.quiet, "no progress bar");
    try {
        app.parse(argc, argv);
        o.hidden.clear();
        std::stringstream ss(hidden);
        std::string part;
        auto bad = [&] {
            return CLI::ValidationError("--hidden", "expected layer sizes from 1 to 65536 like 256,128, got '" + hidden + "'");
        };
        while (std::getline(ss, part, ',')) {
            // digits only: std::stoul would wrap "-1" to 2^64 - 1
            if (part.empty() || part.size() > 5 || part.find_first_not_of("0123456789") != std::string::npos) throw bad();
            const unsigned long v = std::stoul(part);
            if (v == 0 || v > 65536) throw bad();
            o.hidden.push_back(v);
        }
        if (!hidden.empty() && hidden.back() == ',') throw bad();
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    image_classifier::Data data;
    try {
        const auto t0 = std::chrono::steady_clock::now();
        data = image_classifier::load(o.data);
        std::cout << "loaded " << o.data << " in " << std::fixed << std::setprecision(2)
                  << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << "s\n"
                  << std::defaultfloat;
    } catch (const tapegrad::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
    return image_classifier::train(o, std::move(data), std::cout, std::cerr);
}
