// Trains an MLP on Fashion-MNIST (what `make demo` runs): the model, the optimizer and the training
// loop, read top to bottom. The plumbing (flags every trainer has, resume, progress, metrics, plot,
// checkpoints, the NaN stop) is in ../common/training_run.hpp; the data set's specifics in
// fashion_mnist.hpp. See --help.
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <tapegrad/tapegrad.hpp>

#include "fashion_mnist.hpp"
#include "training_run.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
    // ---- the run's settings
    examples::RunFlags run_flags;
    run_flags.epochs = 15;
    std::string data_dir = "/usr/share/datasets/fashion-mnist", schedule = "cosine", model_kind = "mlp", optimizer = "sgd";
    std::size_t batch_size = 64;
    double lr = 0.05, momentum = 0.9, weight_decay = 5e-4, gamma = 0.1;
    int step_size = 5;
    std::vector<std::size_t> hidden{256, 128};
    bool normalize = true, nesterov = true, augment = false;
    double label_smoothing = 0.0;
    std::size_t validation = 0;
    std::vector<std::string> classes = fashion_mnist::class_names();

    CLI::App app{"Train an MLP (or a CNN) classifier on Fashion-MNIST (or MNIST) with tapegrad."};
    run_flags.add_to(app);
    run_flags.add_distributed_to(app);
    app.add_option("--model", model_kind, "mlp (Linear/ReLU, --hidden) or cnn (two conv blocks, see README)")->capture_default_str()->check(CLI::IsMember({"mlp", "cnn"}));
    app.add_option("--optimizer", optimizer, "sgd (Nesterov momentum) or adamw; default sgd for mlp, adamw for cnn")->check(CLI::IsMember({"sgd", "adamw"}));
    app.add_option("--data", data_dir, "folder with the four IDX files (.gz or plain)")->capture_default_str();
    app.add_option("--batch-size", batch_size, "mini-batch size")->capture_default_str()->check(CLI::Range(1, 1 << 20));
    app.add_option("--lr", lr, "initial learning rate")->capture_default_str()->check(CLI::Range(0.0, 1e9));
    app.add_option("--momentum", momentum, "SGD momentum (Nesterov)")->capture_default_str()->check(CLI::Range(0.0, 1e9));
    app.add_option("--weight-decay", weight_decay, "L2 weight decay")->capture_default_str()->check(CLI::Range(0.0, 1e9));
    app.add_option("--schedule", schedule, "learning-rate schedule")->capture_default_str()->check(CLI::IsMember({"cosine", "step", "none"}));
    app.add_option("--step-size", step_size, "StepLR: epochs between decays")->capture_default_str()->check(CLI::Range(1, 100000));
    app.add_option("--gamma", gamma, "StepLR: decay factor")->capture_default_str();
    app.add_option("--hidden", hidden, "hidden layer sizes, comma separated")->delimiter(',')->capture_default_str()->check(CLI::Range(1, 65536));
    app.add_option("--classes", classes, "class names in label order, comma separated")->delimiter(',')->capture_default_str();
    app.add_flag("--augment", augment, "random 28x28 crops of the image padded by 2 and left-right flips (torchvision's RandomCrop(28, padding=2), RandomHorizontalFlip)");
    app.add_option("--label-smoothing", label_smoothing, "cross_entropy's label_smoothing")->capture_default_str()->check(CLI::Range(0.0, 1.0));
    app.add_option("--validation", validation, "hold out the last N training images and report the accuracy on them each epoch (to choose settings without looking at the test set)")->capture_default_str();
    app.add_flag("--no-normalize{false}", normalize, "do not normalise inputs by the training mean/std");
    app.add_flag("--plain-sgd{false}", nesterov, "classical momentum instead of Nesterov");
    bool step_in_backward = false;
    app.add_flag("--step-in-backward", step_in_backward,
                 "update each parameter inside backward(), as soon as its gradient is complete "
                 "(Optimizer::step_in_backward): the same model, bit for bit, without a pass over the parameters after it");
    if (int status = examples::parse_command_line(app, argc, argv); status >= 0) return status;
    // the CNN's recipe: AdamW, lr 1e-3, weight decay 1e-4 (unless given)
    if (!app.count("--optimizer")) optimizer = model_kind == "cnn" ? "adamw" : "sgd";
    if (optimizer == "adamw" && !app.count("--lr")) lr = 1e-3;
    if (optimizer == "adamw" && !app.count("--weight-decay")) weight_decay = 1e-4;
    using examples::setting;  // what a checkpoint records and --resume must agree with
    run_flags.settings = {{"--batch-size", setting(batch_size)}, {"--lr", setting(lr)},
                          {"--momentum", setting(momentum)},     {"--weight-decay", setting(weight_decay)},
                          {"--schedule", schedule},              {"--step-size", setting(step_size)},
                          {"--gamma", setting(gamma)},           {"--hidden", setting(hidden)},
                          {"--classes", setting(classes)},       {"--no-normalize", setting(!normalize)},
                          {"--plain-sgd", setting(!nesterov)}};
    // recorded only when not at the defaults they had before they existed, so older checkpoints resume
    if (model_kind != "mlp") run_flags.settings["--model"] = model_kind;
    if (optimizer != "sgd") run_flags.settings["--optimizer"] = optimizer;
    if (augment) run_flags.settings["--augment"] = "true";
    if (label_smoothing != 0) run_flags.settings["--label-smoothing"] = setting(label_smoothing);
    if (validation != 0) run_flags.settings["--validation"] = setting(validation);

    examples::DistributedRun mpi;  // --distributed: MPI for the run's life
    return examples::exit_status_of(std::cerr, [&] {
        mpi.start(run_flags.distributed);  // --distributed: this process becomes one of mpirun's N ranks
        // ---- data: bytes on disk, turned into normalised floats as each batch is gathered
        fashion_mnist::Data data = fashion_mnist::load(data_dir, std::cout);
        const data::MnistBytes held_out = fashion_mnist::hold_out(data.train, validation, std::cout);
        const auto pixels = fashion_mnist::pixel_map(data.train, normalize, std::cout);
        // the normalisation is part of the model: the checkpoint keeps it (as the settings' "pixel-map")
        run_flags.settings["pixel-map"] = "0->" + examples::setting(double(pixels[0])) + " 255->" +
                                          examples::setting(double(pixels[255]));
        // the loader owns the training set from here on (moved in, not copied)
        data::DataLoader<float, std::uint8_t> loader(std::move(data.train.images), std::move(data.train.labels), batch_size,
                                                     /*shuffle=*/true, run_flags.seed + 1);
        loader.set_byte_map(pixels);
        // --distributed: each rank walks its own 1/N of every epoch's permutation (the same on every rank)
        loader.set_distributed(distributed::world_size(), distributed::rank());

        // ---- the model, initialised as torch initialises each layer
        Generator init(run_flags.seed);
        nn::Sequential<float> model;
        const std::size_t pixels_per_image = loader.dataset().row_size();
        const std::size_t side = model_kind == "cnn" || augment ? fashion_mnist::image_side(pixels_per_image) : 0;
        if (model_kind == "mlp") {  // Linear → ReLU → … → Linear
            std::size_t width = pixels_per_image;
            for (std::size_t h : hidden) {
                model.push_back(std::make_shared<nn::Linear<float>>(width, h, true, init));
                model.push_back(std::make_shared<nn::ReLU<float>>());
                width = h;
            }
            model.push_back(std::make_shared<nn::Linear<float>>(width, classes.size(), true, init));
        } else {  // two conv blocks (conv 3×3, BatchNorm2d, ReLU, max-pool 2), then an MLP head with dropout
            // Dropout draws from the loader's generator, which checkpoints keep: a resume draws the same masks
            std::shared_ptr<Generator> masks(&loader.generator(), [](Generator*) {});
            model.push_back(std::make_shared<nn::Unflatten<float>>(1, std::vector<std::size_t>{1, side, side}));
            model.push_back(std::make_shared<nn::Conv2d<float>>(nn::Conv2dOptions(1, 32, 3).padding(1), init));
            model.push_back(std::make_shared<nn::BatchNorm2d<float>>(32));
            model.push_back(std::make_shared<nn::ReLU<float>>());
            model.push_back(std::make_shared<nn::MaxPool2d<float>>(MaxPool2dOptions(2)));
            model.push_back(std::make_shared<nn::Conv2d<float>>(nn::Conv2dOptions(32, 64, 3).padding(1), init));
            model.push_back(std::make_shared<nn::BatchNorm2d<float>>(64));
            model.push_back(std::make_shared<nn::ReLU<float>>());
            model.push_back(std::make_shared<nn::MaxPool2d<float>>(MaxPool2dOptions(2)));
            model.push_back(std::make_shared<nn::Dropout<float>>(0.25, masks));
            model.push_back(std::make_shared<nn::Flatten<float>>());
            model.push_back(std::make_shared<nn::Linear<float>>(64 * (side / 4) * (side / 4), 128, true, init));
            model.push_back(std::make_shared<nn::ReLU<float>>());
            model.push_back(std::make_shared<nn::Dropout<float>>(0.5, masks));
            model.push_back(std::make_shared<nn::Linear<float>>(128, classes.size(), true, init));
        }

        // ---- the optimizer and the learning-rate schedule
        std::unique_ptr<optim::Optimizer<float>> opt;
        if (optimizer == "sgd")
            opt = std::make_unique<optim::SGD<float>>(
                model.parameters(), optim::SGDOptions(lr).momentum(momentum).weight_decay(weight_decay).nesterov(nesterov && momentum > 0));
        else
            opt = std::make_unique<optim::AdamW<float>>(model.parameters(), optim::AdamWOptions(lr).weight_decay(weight_decay));
        std::unique_ptr<optim::lr_scheduler::LRScheduler<float>> sched;
        if (schedule == "cosine") sched = std::make_unique<optim::lr_scheduler::CosineAnnealingLR<float>>(*opt, run_flags.epochs);
        if (schedule == "step") sched = std::make_unique<optim::lr_scheduler::StepLR<float>>(*opt, step_size, gamma);

        examples::TrainingRun run(run_flags, "tapegrad " + std::string(model_kind == "cnn" ? "CNN" : "MLP") + " on Fashion-MNIST",
                                  model, *opt, sched.get(), loader.generator(), std::cout, std::cerr);
        std::cout << "model: " << model.to_string() << "\n"
                  << (optimizer == "sgd" ? "SGD lr " : "AdamW lr ") << lr
                  << (optimizer == "sgd" ? " momentum " + examples::setting(momentum) + (nesterov ? " (nesterov)" : "") : "")
                  << " weight decay " << weight_decay << ", schedule " << schedule
                  << (augment ? ", augmented (crop pad 2, flip)" : "")
                  << (label_smoothing != 0 ? ", label smoothing " + examples::setting(label_smoothing) : "")
                  << ", batch " << batch_size
                  << (distributed::world_size() > 1 ? " per rank x " + std::to_string(distributed::world_size()) + " ranks" : "")
                  << ", epochs " << run_flags.epochs << ", OpenBLAS threads "
                  << get_num_threads() << "\n";

        // --step-in-backward: backward() runs the updates (--graph keeps the gradients it draws)
        if (step_in_backward && distributed::world_size() > 1)
            throw ValueError("--step-in-backward cannot be combined with --distributed: each rank would update with its "
                             "own gradient before the average");
        if (step_in_backward) opt->step_in_backward(true, /*keep_grads=*/!run_flags.graph.empty());

        // ---- the training loop
        Tensor<float> x(xt::xarray<float>::from_shape({0}));  // each batch is gathered into its storage
        xt::xarray<std::int64_t> y;
        for (int epoch = run.first_epoch(); epoch <= run.last_epoch(); ++epoch) {
            loader.begin_epoch();  // a new permutation of the training set
            model.train();         // dropout on, batch norm on batch statistics (evaluate() switches to eval)
            auto progress = run.progress(epoch, loader.num_batches());
            for (std::size_t b = 0; b < loader.num_batches(); ++b) {
                loader.batch(b, x.mutable_value(), y);
                if (augment) fashion_mnist::augment(x.mutable_value(), side, 2, pixels[0], loader.generator());
                opt->zero_grad(/*set_to_none=*/true);
                Tensor<float> loss = cross_entropy(model(x), y, CrossEntropyOptions().label_smoothing(label_smoothing));
                if (!run.loss_is_finite(loss.item(), epoch, b)) return run.diverged();
                if (run.graph_wanted()) retain_grads(loss);  // --graph: this step is drawn, gradients and all
                loss.backward(Tensor<float>(), /*retain_graph=*/run.graph_wanted());  // replays the tape in reverse
                run.write_graph(loss);  // --graph FILE.svg, after the first step only
                distributed::allreduce_gradients(model);  // --distributed: the average over the ranks
                if (!opt->steps_in_backward()) opt->step();
                progress.add(loss.item(), y.size());
            }
            if (sched) sched->step();
            const auto test = fashion_mnist::evaluate(model, data.test, pixels);
            std::map<std::string, double> figures{{"test_loss", test.loss}, {"test_accuracy", test.accuracy}};
            if (validation) {
                const auto val = fashion_mnist::evaluate(model, held_out, pixels);
                figures["val_loss"] = val.loss, figures["val_accuracy"] = val.accuracy;
            }
            if (!run.end_epoch(epoch, progress, figures)) return run.diverged();
        }

        // ---- how well it does, class by class
        if (!run.stopped_early()) {
            train::ConfusionMatrix cm(classes);
            const auto test = fashion_mnist::evaluate(model, data.test, pixels, &cm);
            std::cout << "\nconfusion matrix on the " << data.test.labels.size() << " test images:\n";
            cm.print(std::cout);
            std::cout << "final test accuracy " << std::fixed << std::setprecision(4) << test.accuracy << "\n";
        }
        run.print_files();
        return examples::kOk;
    });
}
