// Trains a classifier on any CSV table with a header: pick the label column, and the rest become the
// inputs of an MLP (numbers standardised, text one-hot encoded, missing values filled in: see
// tabular.hpp). The model, the optimizer (SGD, Adam or AdamW) and the loop, read top to bottom; the
// plumbing (flags every trainer has, resume, progress, metrics, plot, checkpoints, the NaN stop) is
// in ../common/training_run.hpp. With --model and --predict it labels the rows of another table.
//
//   train_csv --csv iris.csv --label target --save iris.npz
//   train_csv --model iris.npz --predict new_flowers.csv
#include <iomanip>
#include <iostream>
#include <numeric>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <tapegrad/tapegrad.hpp>

#include "tabular.hpp"
#include "training_run.hpp"

using namespace tapegrad;

// The settings a model needs to be rebuilt (kept in every checkpoint): its layers and its encoder.
struct Architecture {
    std::vector<std::size_t> hidden;
    double dropout = 0;
    bool batch_norm = false;
};

// Linear → [BatchNorm1d] → ReLU → [Dropout] for each hidden width, then Linear to the classes.
nn::Sequential<float> make_mlp(std::size_t inputs, const Architecture& a, std::size_t classes, Generator& init,
                               std::shared_ptr<Generator> masks) {
    nn::Sequential<float> model;
    std::size_t width = inputs;
    for (std::size_t h : a.hidden) {
        model.push_back(std::make_shared<nn::Linear<float>>(width, h, true, init));
        if (a.batch_norm) model.push_back(std::make_shared<nn::BatchNorm1d<float>>(h));
        model.push_back(std::make_shared<nn::ReLU<float>>());
        if (a.dropout > 0) model.push_back(std::make_shared<nn::Dropout<float>>(a.dropout, masks));
        width = h;
    }
    model.push_back(std::make_shared<nn::Linear<float>>(width, classes, true, init));
    return model;
}

// --model FILE --predict CSV: one predicted label per row of CSV, on out.
int predict(const std::string& model_path, const std::string& csv_path, std::ostream& out) {
    const auto settings = train::load_settings(model_path);
    for (const char* key : {"encoder", "classes", "--hidden", "--dropout", "--batch-norm"})
        if (!settings.count(key))
            throw IOError("train_csv --predict: '" + model_path + "' is not a model written by train_csv --save (no '" +
                          key + "' setting)");
    const auto encoder = train_csv::Encoder::from_json(nlohmann::json::parse(settings.at("encoder"), nullptr, false));
    const auto classes = nlohmann::json::parse(settings.at("classes"), nullptr, false);
    if (!classes.is_array() || classes.size() < 2)
        throw IOError("train_csv --predict: '" + model_path + "': malformed 'classes' setting");
    Architecture a;
    a.dropout = std::stod(settings.at("--dropout"));
    a.batch_norm = settings.at("--batch-norm") == "true";
    for (const auto& h : nlohmann::json::parse("[" + settings.at("--hidden") + "]")) a.hidden.push_back(h.get<std::size_t>());
    Generator g(0);
    auto model = make_mlp(encoder.width(), a, classes.size(), g, nullptr);
    train::load_model(model_path, model);
    model.eval();

    const data::CsvTable table = data::read_csv(csv_path);
    std::vector<std::size_t> rows(table.num_rows());
    std::iota(rows.begin(), rows.end(), std::size_t(0));
    NoGradGuard no_grad;
    const auto predicted = argmax(model(Tensor<float>(encoder.transform(table, rows))), 1);
    for (std::size_t i = 0; i < rows.size(); ++i) out << classes.at(std::size_t(predicted(i))).get<std::string>() << "\n";
    return examples::kOk;
}

int main(int argc, char** argv) {
    // ---- the run's settings
    examples::RunFlags run_flags;
    run_flags.epochs = 100;
    std::string csv, label, optimizer = "adam", split_out, model_path, predict_csv;
    std::vector<std::string> drop;
    Architecture arch;
    arch.hidden = {64, 32};
    double test_fraction = 0.2, lr = 0, weight_decay = -1;
    std::size_t batch_size = 32, min_count = 3;

    CLI::App app{"Train an MLP classifier on a CSV table with tapegrad, or label a table with a saved model."};
    run_flags.add_to(app);
    run_flags.add_distributed_to(app);
    app.add_option("--csv", csv, "the table (a header line, then one row per example)");
    app.add_option("--label", label, "the column to predict");
    app.add_option("--drop", drop, "columns not to use (ids, leaks), comma separated")->delimiter(',');
    app.add_option("--test-fraction", test_fraction, "rows held out for testing")->capture_default_str()->check(CLI::Range(0.01, 0.99));
    app.add_option("--hidden", arch.hidden, "hidden layer sizes, comma separated")->delimiter(',')->capture_default_str()->check(CLI::Range(1, 65536));
    app.add_option("--dropout", arch.dropout, "dropout after each hidden layer")->capture_default_str()->check(CLI::Range(0.0, 0.99));
    app.add_flag("--batch-norm", arch.batch_norm, "BatchNorm1d after each hidden Linear");
    app.add_option("--optimizer", optimizer, "sgd (momentum 0.9), adam or adamw")->capture_default_str()->check(CLI::IsMember({"sgd", "adam", "adamw"}));
    app.add_option("--lr", lr, "learning rate (default: 1e-3 for adam/adamw, 0.05 for sgd)")->check(CLI::Range(0.0, 1e9));
    app.add_option("--weight-decay", weight_decay, "weight decay (default: 1e-2 for adamw, else 0)")->check(CLI::Range(0.0, 1e9));
    app.add_option("--batch-size", batch_size, "mini-batch size")->capture_default_str()->check(CLI::Range(1, 1 << 20));
    app.add_option("--min-count", min_count, "text values seen fewer times in training are pooled as (other)")->capture_default_str()->check(CLI::Range(1, 1 << 30));
    app.add_option("--split-out", split_out, "write the train and test row numbers (0-based) as JSON to FILE");
    app.add_option("--model", model_path, "model for --predict (a file written by --save)");
    app.add_option("--predict", predict_csv, "label every row of this CSV with the model in --model, one label per line");
    if (int status = examples::parse_command_line(app, argc, argv); status >= 0) return status;
    if (!predict_csv.empty())
        return examples::exit_status_of(std::cerr, [&] {
            if (model_path.empty()) throw ValueError("--predict needs --model FILE (a checkpoint written with --save)");
            return predict(model_path, predict_csv, std::cout);
        });
    if (lr == 0) lr = optimizer == "sgd" ? 0.05 : 1e-3;
    if (weight_decay < 0) weight_decay = optimizer == "adamw" ? 1e-2 : 0.0;

    examples::DistributedRun mpi;  // --distributed: MPI for the run's life
    return examples::exit_status_of(std::cerr, [&] {
        mpi.start(run_flags.distributed);  // --distributed: this process becomes one of mpirun's N ranks
        if (csv.empty() || label.empty()) throw ValueError("train_csv: --csv FILE and --label COLUMN are needed to train");
        // ---- data: the table, the label's classes, a seeded train/test split, the encoder fitted on train
        const data::CsvTable table = data::read_csv(csv);
        const auto [y_all, classes] = table.labels(label);
        if (classes.size() < 2)
            throw ValueError("train_csv: --label '" + label + "' has a single class" +
                             (classes.empty() ? std::string() : " ('" + classes[0] + "')") + ": nothing to classify");
        const auto split = train_csv::split_rows(table.num_rows(), test_fraction, run_flags.seed);
        const auto encoder = train_csv::Encoder::fit(table, label, drop, split.train, min_count);
        std::vector<std::size_t> missing_train, missing_test;
        xt::xarray<float> x_train = encoder.transform(table, split.train, &missing_train);
        xt::xarray<float> x_test = encoder.transform(table, split.test, &missing_test);
        const auto y_train = train_csv::take(y_all, split.train), y_test = train_csv::take(y_all, split.test);
        std::cout << "loaded " << csv << ": " << table.num_rows() << " rows, " << classes.size() << " classes of '"
                  << label << "'; train " << split.train.size() << ", test " << split.test.size() << "\n"
                  << "inputs: " << encoder.summary() << "\n";
        train_csv::print_missing(encoder, missing_train, missing_test, std::cout);
        if (!split_out.empty() && distributed::rank() == 0) train_csv::write_split(split_out, split);

        using examples::setting;  // what a checkpoint records: --resume must agree, --predict rebuilds from it
        run_flags.settings = {{"--label", label},
                              {"--drop", setting(drop)},
                              {"--test-fraction", setting(test_fraction)},
                              {"--hidden", setting(arch.hidden)},
                              {"--dropout", setting(arch.dropout)},
                              {"--batch-norm", setting(arch.batch_norm)},
                              {"--optimizer", optimizer},
                              {"--lr", setting(lr)},
                              {"--weight-decay", setting(weight_decay)},
                              {"--batch-size", setting(batch_size)},
                              {"--min-count", setting(min_count)},
                              {"encoder", encoder.to_json().dump()},
                              {"classes", nlohmann::json(classes).dump()}};

        data::DataLoader<float> loader(data::TensorDataset<float>(x_train, y_train), batch_size, /*shuffle=*/true,
                                       run_flags.seed + 1);
        loader.set_distributed(distributed::world_size(), distributed::rank());  // --distributed: this rank's 1/N
        // Dropout draws its masks from the loader's generator, whose state every checkpoint keeps:
        // a resumed run draws the same masks as an uninterrupted one.
        std::shared_ptr<Generator> masks(&loader.generator(), [](Generator*) {});

        // ---- the model
        Generator init(run_flags.seed);
        nn::Sequential<float> model = make_mlp(encoder.width(), arch, classes.size(), init, masks);

        // ---- the optimizer
        std::unique_ptr<optim::Optimizer<float>> opt;
        if (optimizer == "sgd")
            opt = std::make_unique<optim::SGD<float>>(model.parameters(), optim::SGDOptions(lr).momentum(0.9).weight_decay(weight_decay));
        else if (optimizer == "adam")
            opt = std::make_unique<optim::Adam<float>>(model.parameters(), optim::AdamOptions(lr).weight_decay(weight_decay));
        else
            opt = std::make_unique<optim::AdamW<float>>(model.parameters(), optim::AdamWOptions(lr).weight_decay(weight_decay));

        examples::TrainingRun run(run_flags, "tapegrad MLP on " + csv, model, *opt, /*scheduler=*/nullptr, loader.generator(),
                                  std::cout, std::cerr);
        std::cout << "model: " << model << "\n" << optimizer << " lr " << lr << " weight decay " << weight_decay
                  << ", batch " << batch_size << ", epochs " << run_flags.epochs << "\n";

        // ---- the training loop
        const Tensor<float> test_inputs(x_test);
        for (int epoch = run.first_epoch(); epoch <= run.last_epoch(); ++epoch) {
            model.train();  // dropout on, batch norm on batch statistics
            auto progress = run.progress(epoch, loader.num_batches());
            std::size_t batch = 0;
            for (auto& [x, y] : loader) {  // a new permutation of the training rows each epoch
                opt->zero_grad(/*set_to_none=*/true);
                Tensor<float> loss = cross_entropy(model(x), y);
                if (!run.loss_is_finite(loss.item(), epoch, batch++)) return run.diverged();
                loss.backward();
                distributed::allreduce_gradients(model);  // --distributed: the average over the ranks
                opt->step();
                progress.add(loss.item(), y.size());
            }
            distributed::broadcast_buffers(model);  // --distributed: rank 0's batch-norm statistics everywhere
            model.eval();  // dropout off, batch norm on its running statistics
            NoGradGuard no_grad;
            const Tensor<float> logits = model(test_inputs);
            const double test_loss = cross_entropy(logits, y_test).item();
            if (!run.end_epoch(epoch, progress, {{"test_loss", test_loss}, {"test_accuracy", train::accuracy(logits, y_test)}}))
                return run.diverged();
        }

        // ---- how well it does, class by class
        if (!run.stopped_early()) {
            model.eval();
            NoGradGuard no_grad;
            const Tensor<float> logits = model(test_inputs);
            train::ConfusionMatrix cm(classes);
            cm.update(logits, y_test);
            std::cout << "\nconfusion matrix on the " << y_test.size() << " test rows:\n";
            cm.print(std::cout);
            std::cout << "final test accuracy " << std::fixed << std::setprecision(4) << cm.accuracy() << "\n";
        }
        run.print_files();
        return examples::kOk;
    });
}
