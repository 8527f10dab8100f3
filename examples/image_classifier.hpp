#pragma once
// The Fashion-MNIST (or MNIST) image classifier behind examples/train_fashion_mnist: an MLP trained
// with SGD (Nesterov momentum, weight decay) under a learning-rate schedule, with progress,
// per-epoch metrics, an SVG plot, the confusion matrix and atomic checkpoints that resume
// bit-identically. Kept in a header so the tests can run it on small synthetic data.
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <tapegrad/data/dataloader.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/train/checkpoint.hpp>
#include <tapegrad/ops/loss.hpp>
#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/train/report.hpp>
#include <tapegrad/tapegrad.hpp>
#include <tapegrad/core/threads.hpp>

namespace image_classifier {

struct Options {
    std::string data = "/usr/share/datasets/fashion-mnist";
    int epochs = 15;
    std::size_t batch_size = 64;
    double lr = 0.05;
    double momentum = 0.9;
    double weight_decay = 5e-4;
    bool nesterov = true;
    std::string schedule = "cosine";  // cosine | step | none
    int step_size = 5;                // for step
    double gamma = 0.1;               // for step
    std::vector<std::size_t> hidden{256, 128};
    std::uint64_t seed = 0;
    int threads = 0;  // 0: OpenBLAS's default
    bool normalize = true;
    std::string metrics, save, resume, plot;
    int stop_after = 0;  // 0: run to --epochs
    bool quiet = false;
    std::vector<std::string> class_names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
};

struct Data {
    xt::xarray<float> train_x, test_x;
    xt::xarray<std::int64_t> train_y, test_y;
};

// Scales by the training set's mean and std (one value for all pixels, as torchvision's Normalize).
inline void normalize(Data& d, float& mean, float& stdev) {
    double s = 0, ss = 0;
    for (float v : d.train_x) s += v, ss += double(v) * v;
    const double n = double(d.train_x.size());
    mean = float(s / n);
    stdev = float(std::sqrt(std::max(1e-12, ss / n - (s / n) * (s / n))));
    for (auto* a : {&d.train_x, &d.test_x})
        for (auto& v : *a) v = (v - mean) / stdev;
}

inline std::shared_ptr<tapegrad::nn::Sequential<float>> make_model(std::size_t in, const std::vector<std::size_t>& hidden,
                                                                   std::size_t classes, tapegrad::Generator& gen) {
    using namespace tapegrad;
    auto model = std::make_shared<nn::Sequential<float>>();
    std::size_t prev = in;
    for (std::size_t h : hidden) {
        model->push_back(std::make_shared<nn::Linear<float>>(prev, h, true, gen));
        model->push_back(std::make_shared<nn::ReLU<float>>());
        prev = h;
    }
    model->push_back(std::make_shared<nn::Linear<float>>(prev, classes, true, gen));
    return model;
}

struct EvalResult {
    double loss = 0, accuracy = 0;
};

inline EvalResult evaluate(tapegrad::nn::Module<float>& model, const xt::xarray<float>& x,
                           const xt::xarray<std::int64_t>& y, tapegrad::train::ConfusionMatrix* cm) {
    using namespace tapegrad;
    model.eval();
    NoGradGuard no_grad;
    data::DataLoader<float> loader(x, y, 1000);
    loader.begin_epoch();
    xt::xarray<float> xb;
    xt::xarray<std::int64_t> yb;
    double loss_sum = 0;
    std::size_t correct = 0;
    for (std::size_t b = 0; b < loader.num_batches(); ++b) {
        loader.batch(b, xb, yb);
        Tensor<float> logits = model(Tensor<float>(xb));
        loss_sum += double(cross_entropy(logits, yb, Tensor<float>(), -100, Reduction::Sum).item());
        auto pred = argmax(logits, 1);
        for (std::size_t i = 0; i < yb.size(); ++i) {
            correct += pred(i) == yb(i);
            if (cm) cm->add(yb(i), pred(i));
        }
    }
    model.train();
    return {loss_sum / double(y.size()), double(correct) / double(y.size())};
}

// Trains and reports. Returns the process exit status: 0 done, 2 bad input, 3 diverged.
inline int train(const Options& o, Data d, std::ostream& out, std::ostream& err) {
    using namespace tapegrad;
    using clock = std::chrono::steady_clock;
    try {
        if (o.epochs < 1) throw ValueError("--epochs must be at least 1, got " + std::to_string(o.epochs));
        if (o.stop_after < 0) throw ValueError("--stop-after must be non-negative");
        if (o.threads < 0) throw ValueError("--threads must be non-negative");
        if (o.threads > 0) set_num_threads(o.threads);
        float mean = 0, stdev = 1;
        if (o.normalize) normalize(d, mean, stdev);
        const std::size_t features = d.train_x.size() / std::max<std::size_t>(1, d.train_x.shape()[0]);
        const std::size_t classes = o.class_names.size();

        Generator init(o.seed);
        auto model = make_model(features, o.hidden, classes, init);
        optim::SGD<float> opt(model->parameters(), o.lr, o.momentum, 0.0, o.weight_decay, o.nesterov && o.momentum > 0);
        std::unique_ptr<optim::lr_scheduler::LRScheduler<float>> sched;
        if (o.schedule == "cosine")
            sched = std::make_unique<optim::lr_scheduler::CosineAnnealingLR<float>>(opt, o.epochs);
        else if (o.schedule == "step")
            sched = std::make_unique<optim::lr_scheduler::StepLR<float>>(opt, o.step_size, o.gamma);
        else if (o.schedule != "none")
            throw ValueError("--schedule must be cosine, step or none, got '" + o.schedule + "'");
        data::DataLoader<float> loader(d.train_x, d.train_y, o.batch_size, /*shuffle=*/true, o.seed + 1);

        train::History history;
        int start = 0;
        if (!o.resume.empty()) {
            train::TrainState st = train::load_checkpoint(o.resume, *model, opt);
            if (st.epoch >= o.epochs)
                throw ValueError("--resume: '" + o.resume + "' has already completed " + std::to_string(st.epoch) +
                                 " of --epochs " + std::to_string(o.epochs));
            if (sched) sched->load_state(int(st.scheduler_last_epoch), int(st.scheduler_step_count), st.lrs);
            loader.generator().set_state(st.rng_state);
            history = st.history;
            start = int(st.epoch);
            out << "resumed from " << o.resume << " after epoch " << start << "\n";
        }
        out << "model: " << model->to_string() << "\n"
            << "train " << d.train_x.shape()[0] << " images, test " << d.test_x.shape()[0] << " images"
            << (o.normalize ? ", normalised by mean " + std::to_string(mean) + " std " + std::to_string(stdev) : "")
            << "\nSGD lr " << o.lr << " momentum " << o.momentum << (o.nesterov ? " (nesterov)" : "") << " weight decay "
            << o.weight_decay << ", schedule " << o.schedule << ", batch " << o.batch_size << ", epochs " << o.epochs
            << ", OpenBLAS threads " << get_num_threads() << "\n";

        const bool bar = !o.quiet && train::stdout_is_terminal() && &out == &std::cout;
        // the batch is gathered straight into the input tensor's storage: no copy per step
        Tensor<float> xin(xt::xarray<float>::from_shape({0}));
        xt::xarray<std::int64_t> yb;
        const int last = o.stop_after > 0 ? std::min(o.epochs, o.stop_after) : o.epochs;
        for (int epoch = start + 1; epoch <= last; ++epoch) {
            const auto t0 = clock::now();
            loader.begin_epoch();
            train::ProgressBar progress(out, loader.num_batches(), bar,
                                         "epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs));
            double loss_sum = 0;
            std::size_t seen = 0;
            const double lr_now = opt.param_groups()[0].lr;
            for (std::size_t b = 0; b < loader.num_batches(); ++b) {
                loader.batch(b, xin.mutable_value(), yb);
                opt.zero_grad(/*set_to_none=*/true);
                Tensor<float> loss = cross_entropy((*model)(xin), yb);
                const float lv = loss.item();
                if (!std::isfinite(lv)) {
                    progress.finish();
                    err << "error: the training loss became " << lv << " at epoch " << epoch << ", batch " << b + 1
                        << "; the learning rate (" << lr_now << ") is probably too large: try a smaller --lr."
                        << (o.save.empty() ? "" : " The last good checkpoint is kept in " + o.save + ".") << "\n";
                    return 3;
                }
                loss.backward();
                opt.step();
                loss_sum += double(lv) * double(yb.size());
                seen += yb.size();
                progress.update(b + 1, loss_sum / double(seen), seen);
            }
            progress.finish();
            if (sched) sched->step();
            const double train_secs = std::chrono::duration<double>(clock::now() - t0).count();
            const EvalResult ev = evaluate(*model, d.test_x, d.test_y, nullptr);
            const double secs = std::chrono::duration<double>(clock::now() - t0).count();
            history["train_loss"].push_back(loss_sum / double(seen));
            history["test_loss"].push_back(ev.loss);
            history["test_accuracy"].push_back(ev.accuracy);
            history["seconds"].push_back(secs);
            history["train_seconds"].push_back(train_secs);
            history["lr"].push_back(lr_now);
            out << "epoch " << std::setw(2) << epoch << "/" << o.epochs << "  train_loss " << std::fixed
                << std::setprecision(4) << loss_sum / double(seen) << "  test_loss " << ev.loss << "  test_accuracy "
                << ev.accuracy << "  lr " << std::setprecision(5) << lr_now << "  " << std::setprecision(2) << secs
                << "s\n"
                << std::defaultfloat << std::flush;
            if (!o.metrics.empty()) train::write_metrics_jsonl(o.metrics, history);
            if (!o.plot.empty()) train::write_svg_plot(o.plot, history, "tapegrad MLP on Fashion-MNIST");
            if (!o.save.empty()) {
                train::TrainState st;
                st.epoch = epoch;
                st.rng_state = loader.generator().state();
                if (sched) {
                    st.scheduler_last_epoch = sched->last_epoch();
                    st.scheduler_step_count = sched->step_count();
                }
                st.history = history;
                train::save_checkpoint(o.save, *model, opt, st);
            }
        }
        if (last < o.epochs) {
            out << "stopped after epoch " << last << " of " << o.epochs << " (--stop-after)"
                << (o.save.empty() ? "" : "; continue with --resume " + o.save) << "\n";
        } else {
            train::ConfusionMatrix cm(o.class_names);
            const EvalResult ev = evaluate(*model, d.test_x, d.test_y, &cm);
            out << "\nconfusion matrix on the " << d.test_x.shape()[0] << " test images:\n";
            cm.print(out);
            out << "final test accuracy " << std::fixed << std::setprecision(4) << ev.accuracy << std::defaultfloat << "\n";
        }
        if (!o.metrics.empty()) out << "metrics: " << o.metrics << "\n";
        if (!o.plot.empty()) out << "plot: " << o.plot << "\n";
        if (!o.save.empty()) out << "checkpoint: " << o.save << "\n";
        return 0;
    } catch (const tapegrad::Error& e) {
        err << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::bad_alloc&) {
        err << "error: out of memory (is --hidden or --batch-size too large?)\n";
        return 2;
    }
}

// Loads the IDX files in dir (Fashion-MNIST or MNIST names).
inline Data load(const std::string& dir) {
    tapegrad::data::MnistSplit tr = tapegrad::data::load_mnist(dir, true);
    tapegrad::data::MnistSplit te = tapegrad::data::load_mnist(dir, false);
    return Data{std::move(tr.images), std::move(te.images), std::move(tr.labels), std::move(te.labels)};
}

}  // namespace image_classifier
