// Training pieces: DataLoader, lr schedulers, checkpoints, reports — and the image classifier
// program (examples/fashion_mnist) run end to end on a small synthetic image set: learning,
// resume, divergence.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <tuple>

#include <nlohmann/json.hpp>
#include <tapegrad/tapegrad.hpp>

#include "example_programs.hpp"
#include "fashion_mnist.hpp"
#include "training_run.hpp"
#include "fixture.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using namespace test_programs;

namespace {
fs::path scratch_dir(const std::string& name) {
    fs::path p = fs::temp_directory_path() / ("tapegrad_test_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

// MLP in → hidden → classes, as train_fashion_mnist builds it.
std::shared_ptr<nn::Sequential<float>> make_mlp(std::size_t in, const std::vector<std::size_t>& hidden,
                                                std::size_t classes, Generator& gen) {
    auto model = std::make_shared<nn::Sequential<float>>();
    for (std::size_t h : hidden) {
        model->push_back(std::make_shared<nn::Linear<float>>(in, h, true, gen));
        model->push_back(std::make_shared<nn::ReLU<float>>());
        in = h;
    }
    model->push_back(std::make_shared<nn::Linear<float>>(in, classes, true, gen));
    return model;
}

// train_fashion_mnist on the synthetic images in data_dir, with the small run's flags plus extra.
ProgramRun train_images(const fs::path& data_dir, std::vector<std::string> extra) {
    std::vector<std::string> args{"--data", data_dir.string(), "--epochs", "4", "--batch-size", "16", "--lr", "0.05",
                                  "--hidden", "32", "--classes", kSyntheticClasses, "--quiet"};
    for (auto& e : extra) {
        auto it = std::find(args.begin(), args.end(), e);
        if (e.rfind("--", 0) == 0 && it != args.end()) args.erase(it, it + 2);  // the later value wins
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return run_program(example_binary("train_fashion_mnist"), args, data_dir);
}
}  // namespace

TEST_CASE("DataLoader: seeded order, partial batch kept or dropped, errors", "[data]") {
    xt::xarray<float> x = xt::xarray<float>::from_shape({10, 3});
    for (std::size_t i = 0; i < 10; ++i)
        for (std::size_t j = 0; j < 3; ++j) x(i, j) = float(i * 10 + j);
    xt::xarray<std::int64_t> y = xt::arange<std::int64_t>(10);
    data::DataLoader<float> a(x, y, 4, true, 7), b(x, y, 4, true, 7), c(x, y, 4, true, 8);
    CHECK(a.num_batches() == 3);
    a.begin_epoch();
    b.begin_epoch();
    c.begin_epoch();
    CHECK(a.order() == b.order());
    CHECK(a.order() != c.order());
    auto first = a.order();
    a.begin_epoch();
    CHECK(a.order() != first);  // a fresh permutation each epoch
    xt::xarray<float> xb;
    xt::xarray<std::int64_t> yb;
    a.batch(2, xb, yb);
    CHECK(xb.shape()[0] == 2);  // 10 = 4 + 4 + 2
    for (std::size_t i = 0; i < 2; ++i) CHECK(xb(i, 1) == float(yb(i) * 10 + 1));  // rows travel with labels
    // restoring the generator state reproduces the next epoch's order
    Generator saved = a.generator();
    a.begin_epoch();
    auto next = a.order();
    data::DataLoader<float> r(x, y, 4, true, 99);
    r.generator().set_state(saved.state());
    r.begin_epoch();
    CHECK(r.order() == next);
    data::DataLoader<float> d(x, y, 4, false, 0, /*drop_last=*/true);
    CHECK(d.num_batches() == 2);
    d.begin_epoch();
    CHECK(d.batch_indices(1) == std::vector<std::size_t>{4, 5, 6, 7});
    CHECK_THROWS_AS(d.batch(2, xb, yb), IndexError);
    CHECK_THROWS_AS(data::DataLoader<float>(x, y, 0), ValueError);
    xt::xarray<std::int64_t> short_y = xt::arange<std::int64_t>(9);
    CHECK_THROWS_WITH(data::DataLoader<float>(x, short_y, 2), Contains("Size mismatch"));
}

TEST_CASE("StepLR and CosineAnnealingLR follow torch's learning rates", "[optim]") {
    auto fx = fixture::load("lr_scheduler.json");
    for (const auto& c : fx["cases"]) {
        INFO(c["scheduler"].get<std::string>() << " " << c["kwargs"].dump());
        std::vector<Tensor<double>> p{zeros<double>({1}, true)};
        optim::SGD<double> opt(p, c["lr"], 0.9);
        std::unique_ptr<optim::lr_scheduler::LRScheduler<double>> s;
        if (c["scheduler"] == "StepLR")
            s = std::make_unique<optim::lr_scheduler::StepLR<double>>(opt, c["kwargs"]["step_size"], c["kwargs"]["gamma"]);
        else
            s = std::make_unique<optim::lr_scheduler::CosineAnnealingLR<double>>(opt, c["kwargs"]["T_max"], c["kwargs"]["eta_min"]);
        const auto& lrs = c["lrs"];
        CHECK(opt.param_groups()[0].lr == Approx(lrs[0].get<double>()).epsilon(1e-15));
        for (std::size_t i = 1; i < lrs.size(); ++i) {
            s->step();
            CHECK(opt.param_groups()[0].lr == Approx(lrs[i].get<double>()).epsilon(1e-14).margin(1e-18));
        }
    }
    std::vector<Tensor<float>> q{zeros<float>({1}, true)};
    optim::SGD<float> o(q, 0.1);
    CHECK_THROWS_AS(optim::lr_scheduler::StepLR<float>(o, 0), ValueError);
    CHECK_THROWS_AS(optim::lr_scheduler::CosineAnnealingLR<float>(o, 0), ValueError);
}

TEST_CASE("checkpoints round-trip and refuse a model of another shape", "[checkpoint]") {
    auto dir = scratch_dir("ckpt");
    const std::string path = (dir / "ck.npz").string();
    Generator g(1);
    auto model = make_mlp(6, {5}, 3, g);
    optim::SGD<float> opt(model->parameters(), 0.1, 0.9);
    cross_entropy((*model)(ones<float>({2, 6})), xt::xarray<std::int64_t>({0, 2})).backward();
    opt.step();
    train::TrainState st;
    st.epoch = 3;
    st.rng_state = Generator(5).state();
    st.scheduler_last_epoch = 3;
    st.scheduler_step_count = 4;
    opt.param_groups()[0].lr = 0.025;
    st.history["test_accuracy"] = {0.5, 0.75, 0.875};
    train::save_checkpoint(path, *model, opt, st);

    Generator g2(2);
    auto other = make_mlp(6, {5}, 3, g2);
    optim::SGD<float> opt2(other->parameters(), 0.1, 0.9);
    train::TrainState back = train::load_checkpoint(path, *other, opt2);
    CHECK(back.epoch == 3);
    CHECK(back.rng_state == st.rng_state);
    CHECK(back.scheduler_step_count == 4);
    CHECK(back.history["test_accuracy"] == st.history["test_accuracy"]);
    CHECK(opt2.param_groups()[0].lr == 0.025);
    auto p1 = model->named_parameters(), p2 = other->named_parameters();
    for (std::size_t i = 0; i < p1.size(); ++i) CHECK((p1[i].second.value() == p2[i].second.value()));
    for (std::size_t i = 0; i < p1.size(); ++i) {
        REQUIRE(opt2.momentum_buffer(p2[i].second) != nullptr);
        CHECK((*opt.momentum_buffer(p1[i].second) == *opt2.momentum_buffer(p2[i].second)));
    }

    // a model of another shape: the message names the parameter and both shapes; nothing changes
    Generator g3(3);
    auto wide = make_mlp(6, {7}, 3, g3);
    optim::SGD<float> opt3(wide->parameters(), 0.1);
    auto before = wide->parameters()[0].value();
    CHECK_THROWS_WITH(train::load_checkpoint(path, *wide, opt3),
                      Contains("'0.weight'") && Contains("[5, 6]") && Contains("[7, 6]"));
    CHECK((wide->parameters()[0].value() == before));
    // a model with fewer layers: unexpected keys; missing files and garbage are IOErrors
    Generator g4(4);
    auto small = std::make_shared<nn::Sequential<float>>(nn::Linear<float>(6, 5, true, g4));
    CHECK_THROWS_AS(train::load_model(path, *small), IOError);
    CHECK_THROWS_AS(train::load_model((dir / "nope.npz").string(), *model), IOError);
    std::ofstream((dir / "junk.npz").string()) << "not a zip";
    CHECK_THROWS_AS(train::load_model((dir / "junk.npz").string(), *model), IOError);
    // inference-only files
    train::save_model((dir / "m.npz").string(), *model);
    train::load_model((dir / "m.npz").string(), *other);
    fs::remove_all(dir);
}

TEST_CASE("checkpoints keep the momentum of every param group, and a resume continues bit-identically",
          "[checkpoint]") {
    auto dir = scratch_dir("ckpt_groups");
    const std::string path = (dir / "ck.npz").string();
    const xt::xarray<float> x = xt::ones<float>({4, 6}) * 0.5f;
    const xt::xarray<std::int64_t> y({0, 1, 2, 1});
    // layer 0 in the constructor's group, layer 1 added as a second group with its own lr, as one
    // fine-tunes a head; the momentum buffers are keyed by parameter, so both groups have theirs
    auto make = [](std::uint64_t seed) {
        Generator g(seed);
        auto model = make_mlp(6, {5}, 3, g);
        auto params = model->parameters();
        auto opt = std::make_unique<optim::SGD<float>>(std::vector<Tensor<float>>{params[0], params[1]}, 0.1, 0.9);
        optim::ParamGroup<float> head = opt->defaults();
        head.params = {params[2], params[3]};
        head.lr = 0.02;
        opt->add_param_group(head);
        return std::make_pair(model, std::move(opt));
    };
    auto train_step = [&](nn::Sequential<float>& model, optim::SGD<float>& opt) {
        opt.zero_grad();
        cross_entropy(model(Tensor<float>(x)), y).backward();
        opt.step();
    };
    auto [model, opt] = make(1);
    for (int k = 0; k < 3; ++k) train_step(*model, *opt);
    train::TrainState st;
    st.epoch = 3;
    st.rng_state = Generator(5).state();
    st.settings = {{"--schedule", "cosine"}, {"--lr", "0.1"}, {"--note", ""}, {"--name", "r\xc3\xa9sum\xc3\xa9 2"}};
    train::save_checkpoint(path, *model, *opt, st);
    {
        const auto arrays = io::load_npz(path);
        std::size_t buffers = 0;
        for (const auto& [n, a] : arrays) buffers += n.rfind("optimizer.momentum_buffer.", 0) == 0;
        CHECK(buffers == 4);
    }
    auto [model2, opt2] = make(2);
    const train::TrainState back = train::load_checkpoint(path, *model2, *opt2);
    CHECK(back.settings == st.settings);
    CHECK(opt2->param_groups()[1].lr == 0.02);
    auto p1 = model->parameters(), p2 = model2->parameters();
    for (std::size_t i = 0; i < p1.size(); ++i) {
        REQUIRE(opt2->momentum_buffer(p2[i]) != nullptr);
        CHECK((*opt->momentum_buffer(p1[i]) == *opt2->momentum_buffer(p2[i])));
    }
    for (int k = 0; k < 3; ++k) train_step(*model, *opt), train_step(*model2, *opt2);
    for (std::size_t i = 0; i < p1.size(); ++i) CHECK((p1[i].value() == p2[i].value()));  // bit-identical

    // a checkpoint without settings (as written before they were recorded) loads an empty map
    st.settings.clear();
    train::save_checkpoint(path, *model, *opt, st);
    for (const auto& [n, a] : io::load_npz(path)) CHECK(n.rfind("settings.", 0) != 0);
    CHECK(train::load_checkpoint(path, *model2, *opt2).settings.empty());
    fs::remove_all(dir);
}

TEST_CASE("reports: confusion matrix, metrics lines, SVG plot", "[report]") {
    train::ConfusionMatrix cm({"a", "b"});
    cm.add(0, 0);
    cm.add(0, 1);
    cm.add(1, 1);
    cm.add(1, 1);
    CHECK(cm.accuracy() == 0.75);
    CHECK(cm.class_accuracy(0) == 0.5);
    CHECK(cm.precision(1) == Approx(2.0 / 3));
    CHECK(cm.f1(1) == Approx(0.8));
    CHECK_THROWS_AS(cm.add(2, 0), IndexError);
    std::ostringstream os;
    cm.print(os);
    CHECK_THAT(os.str(), Contains("overall accuracy 0.7500"));
    auto dir = scratch_dir("report");
    train::History h{{"train_loss", {1.0, 0.5}}, {"test_loss", {1.1, 0.7}}, {"test_accuracy", {0.6, 0.8}}};
    train::write_metrics_jsonl((dir / "m.jsonl").string(), h);
    std::ifstream m((dir / "m.jsonl").string());
    std::string l1, l2;
    std::getline(m, l1);
    std::getline(m, l2);
    auto j = nlohmann::json::parse(l2);
    CHECK(j["epoch"] == 2);
    CHECK(j["test_accuracy"] == 0.8);
    train::write_svg_plot((dir / "p.svg").string(), h, "t");
    std::ifstream s((dir / "p.svg").string());
    std::string svg((std::istreambuf_iterator<char>(s)), {});
    CHECK_THAT(svg, Contains("<svg") && Contains("polyline") && Contains("test_accuracy") && Contains("</svg>"));
    CHECK_THROWS_AS(train::write_metrics_jsonl((dir / "no/such/dir/m.jsonl").string(), h), IOError);
    fs::remove_all(dir);
}

TEST_CASE("the image classifier learns a small synthetic image set", "[training]") {
    auto dir = scratch_dir("learn");
    write_synthetic_images(dir, 800, 200, 1);
    const ProgramRun r = train_images(dir, {});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("confusion matrix") && Contains("bottom-right"));
    auto pos = r.out.find("final test accuracy ");
    REQUIRE(pos != std::string::npos);
    CHECK(std::stod(r.out.substr(pos + 20)) > 0.95);
    fs::remove_all(dir);
}

TEST_CASE("train_fashion_mnist --validation holds out the last training images and reports on them", "[training]") {
    auto dir = scratch_dir("validation");
    write_synthetic_images(dir, 800, 200, 1);
    const std::string metrics = (dir / "m.jsonl").string();
    ProgramRun r = train_images(dir, {"--validation", "300", "--metrics", metrics});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("validation: the last 300 training images are held out (500 left to train on"));
    std::ifstream f(metrics);
    std::string line;
    int epochs = 0;
    while (std::getline(f, line)) {
        const auto j = nlohmann::json::parse(line);
        if (!j.contains("epoch")) continue;
        ++epochs;
        REQUIRE(j.contains("val_accuracy"));
        CHECK(j["val_accuracy"].get<double>() > 0.5);  // the synthetic classes are easy
        CHECK(j.contains("val_loss"));
    }
    CHECK(epochs == 4);
    // nothing left to train on: refused before training, in words
    r = train_images(dir, {"--validation", "800"});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("--validation: expected fewer than the 800 training images, got 800"));
    fs::remove_all(dir);
}

TEST_CASE("stop, resume: bit-identical to an uninterrupted run, metrics and plot written", "[training]") {
    auto dir = scratch_dir("resume");
    write_synthetic_images(dir, 300, 100, 2);
    const std::string straight = (dir / "straight.npz").string(), ck = (dir / "ck.npz").string(),
                      metrics = (dir / "m.jsonl").string(), plot = (dir / "p.svg").string();
    REQUIRE(train_images(dir, {"--save", straight}).code == 0);
    ProgramRun r = train_images(dir, {"--save", ck, "--stop-after", "2", "--metrics", metrics, "--plot", plot});
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("stopped after epoch 2 of 4"));
    r = train_images(dir, {"--save", ck, "--resume", ck, "--metrics", metrics, "--plot", plot});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("resumed from") && Contains("after epoch 2"));
    CHECK(fs::exists(plot));

    auto a = io::load_npz(straight), b = io::load_npz(ck);
    REQUIRE(a.size() == b.size());
    std::size_t compared = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].first.find("seconds") != std::string::npos) continue;  // wall-clock history differs
        INFO(a[i].first);
        CHECK(a[i].first == b[i].first);
        CHECK(a[i].second.bytes == b[i].second.bytes);  // bit-identical
        ++compared;
    }
    CHECK(compared > 10);
    std::ifstream m(metrics);
    std::size_t lines = 0;
    for (std::string l; std::getline(m, l);) ++lines;
    CHECK(lines == 4);  // the resumed run rewrote the history of all four epochs
    // resuming a finished run is a clear error
    r = train_images(dir, {"--save", ck, "--resume", ck});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("already completed 4"));
    fs::remove_all(dir);
}

TEST_CASE("train_fashion_mnist --step-in-backward trains the same model, bit for bit", "[training]") {
    auto dir = scratch_dir("step_in_backward");
    write_synthetic_images(dir, 300, 100, 3);
    const std::string plain = (dir / "plain.npz").string(), inside = (dir / "inside.npz").string();
    REQUIRE(train_images(dir, {"--save", plain}).code == 0);
    const ProgramRun r = train_images(dir, {"--save", inside, "--step-in-backward"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(check_same_checkpoints(plain, inside) > 10);  // Nesterov momentum and weight decay, from the hooks
    fs::remove_all(dir);
}

TEST_CASE("a resume refuses a checkpoint made with other settings, naming each difference", "[training][checkpoint]") {
    auto dir = scratch_dir("settings");
    write_synthetic_images(dir, 100, 20, 4);
    const std::string ck = (dir / "ck.npz").string();
    REQUIRE(train_images(dir, {"--save", ck, "--stop-after", "1"}).code == 0);
    // the settings are in the checkpoint, as text numpy reads
    const auto arrays = io::load_npz(ck);
    auto setting = [&](const std::string& flag) {
        for (const auto& [name, a] : arrays)
            if (name == "settings." + flag) return std::string(a.bytes.begin(), a.bytes.end());
        return std::string("(absent)");
    };
    CHECK(setting("--lr") == "0.05");
    CHECK(setting("--hidden") == "32");
    CHECK(setting("--schedule") == "cosine");
    CHECK(setting("--epochs") == "4");
    CHECK(setting("--no-normalize") == "false");
    CHECK(setting("--data") == "(absent)");  // a run may move its data and go on
    CHECK_THAT(setting("pixel-map"), Catch::Matchers::StartsWith("0->-") && Contains(" 255->"));  // the normalisation
    const auto before = io::load_npz(ck);
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases{
        {{"--schedule", "step"}, "the checkpoint was made with --schedule cosine, this run has --schedule step"},
        {{"--no-normalize"}, "the checkpoint was made with --no-normalize false, this run has --no-normalize true"},
        {{"--hidden", "16"}, "the checkpoint was made with --hidden 32, this run has --hidden 16"},
        {{"--epochs", "6"}, "the checkpoint was made with --epochs 4, this run has --epochs 6"},
        {{"--lr", "0.1", "--batch-size", "8"},
         "--batch-size 16, this run has --batch-size 8; the checkpoint was made with --lr 0.05, this run has --lr 0.1"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args{"--save", ck, "--resume", ck};
        args.insert(args.end(), c.args.begin(), c.args.end());
        INFO(c.args[0]);
        const ProgramRun r = train_images(dir, args);
        CHECK(r.code == 2);
        CHECK_THAT(r.err, Contains("--resume: ") && Contains(c.message) && Contains("start a new run"));
        CHECK_THAT(r.out, !Contains("epoch  2/"));  // refused before training
    }
    const auto after = io::load_npz(ck);  // and the checkpoint is as it was
    REQUIRE(after.size() == before.size());
    for (std::size_t i = 0; i < before.size(); ++i) CHECK(after[i].second.bytes == before[i].second.bytes);
    // the same settings (the same numbers, written differently) resume
    const ProgramRun ok = train_images(dir, {"--save", ck, "--resume", ck, "--lr", "5e-2", "--threads", "1"});
    INFO(ok.err);
    CHECK(ok.code == 0);
    fs::remove_all(dir);
}

TEST_CASE("a second run saving to the same checkpoint refuses while the first holds it", "[training][checkpoint]") {
    auto dir = scratch_dir("lock");
    write_synthetic_images(dir, 100, 20, 5);
    const std::string ck = (dir / "ck.npz").string();
    REQUIRE(train_images(dir, {"--save", ck, "--epochs", "1"}).code == 0);
    const auto before = io::load_npz(ck);
    {
        train::CheckpointLock held(ck);  // as a run in progress holds it
        const ProgramRun r = train_images(dir, {"--save", ck, "--epochs", "1"});
        CHECK(r.code == 2);
        CHECK_THAT(r.err, Contains("save path '" + ck + "' is in use by another run (pid " + std::to_string(::getpid()) + ")"));
        CHECK_THAT(r.out, !Contains("epoch  1/"));
        const auto after = io::load_npz(ck);
        REQUIRE(after.size() == before.size());
        for (std::size_t i = 0; i < before.size(); ++i)
            if (before[i].first.find("seconds") == std::string::npos) CHECK(after[i].second.bytes == before[i].second.bytes);
    }
    // released: the next run takes it, and leaves no lock file behind
    CHECK(train_images(dir, {"--save", ck, "--epochs", "1"}).code == 0);
    CHECK(!fs::exists(ck + ".lock"));
    fs::remove_all(dir);
}

TEST_CASE("train_fashion_mnist --model cnn learns, resumes bit-identically and records its model", "[training][cnn]") {
    auto dir = scratch_dir("cnn");
    write_synthetic_images(dir, 400, 100, 6);  // 8×8 images: two conv blocks leave 2×2
    const std::string straight = (dir / "straight.npz").string(), ck = (dir / "ck.npz").string();
    const std::vector<std::string> cnn{"--model", "cnn", "--lr", "3e-3", "--epochs", "3"};
    auto with = [&](std::vector<std::string> more) {
        auto a = cnn;
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    ProgramRun r = train_images(dir, with({"--save", straight}));
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("(0): Unflatten(dim=1, unflattened_size=(1, 8, 8))") &&
                          Contains("Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))") &&
                          Contains("BatchNorm2d(64") && Contains("Dropout(p=0.5") && Contains("AdamW lr 0.003"));
    const auto pos = r.out.find("final test accuracy ");
    REQUIRE(pos != std::string::npos);
    CHECK(std::stod(r.out.substr(pos + 20)) > 0.9);
    // stop after 1 epoch, resume: the same bytes (dropout masks, batch-norm statistics and, with
    // --augment, the crops and flips included)
    REQUIRE(train_images(dir, with({"--save", ck, "--stop-after", "1"})).code == 0);
    r = train_images(dir, with({"--save", ck, "--resume", ck}));
    REQUIRE(r.code == 0);
    CHECK(check_same_checkpoints(straight, ck) > 20);
    const std::string aug = (dir / "aug.npz").string(), aug_ck = (dir / "aug_ck.npz").string();
    const std::vector<std::string> recipe{"--augment", "--label-smoothing", "0.1"};
    auto with_recipe = [&](std::vector<std::string> more) {
        auto a = with(recipe);
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    r = train_images(dir, with_recipe({"--save", aug}));
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("augmented (crop pad 2, flip), ") && Contains("label smoothing 0.1"));
    REQUIRE(train_images(dir, with_recipe({"--save", aug_ck, "--stop-after", "1"})).code == 0);
    REQUIRE(train_images(dir, with_recipe({"--save", aug_ck, "--resume", aug_ck})).code == 0);
    CHECK(check_same_checkpoints(aug, aug_ck) > 20);
    // augmentation changes what is learnt: not the plain run's weights
    auto conv1_weight = [](const std::string& path) {
        for (auto& [name, array] : io::load_npz(path))
            if (name.rfind("1.weight", 0) == 0) return array.bytes;
        FAIL("no 1.weight in " << path);
        return decltype(io::load_npz(path)[0].second.bytes){};
    };
    CHECK(conv1_weight(aug) != conv1_weight(straight));
    // resuming without the flags the checkpoint was made with is refused
    r = train_images(dir, with({"--save", aug_ck, "--resume", aug_ck}));
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("--augment"));
    // the checkpoint says it is a CNN: resuming it as an MLP is refused before anything is loaded
    r = train_images(dir, {"--save", ck, "--resume", ck, "--lr", "3e-3", "--epochs", "3", "--optimizer", "adamw"});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("the checkpoint was made with --model cnn, this run has no --model"));
    fs::remove_all(dir);
}

TEST_CASE("fashion_mnist::augment crops a padded image at a random offset and flips half the images", "[training][cnn]") {
    // 5×5 images with distinct pixels 1…25: each augmented image must be the input shifted by some
    // (dr, dc) in [−2, 2]² with fill (0) outside, then mirrored or not — and over many images every
    // offset and both flips occur, each about as often as a uniform draw makes them
    const std::size_t side = 5, n = side * side, N = 4000, pad = 2;
    xt::xarray<float> x = xt::xarray<float>::from_shape({N, n});
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t k = 0; k < n; ++k) x(i, k) = float(k + 1);
    Generator gen(7);
    fashion_mnist::augment(x, side, pad, 0.0f, gen);
    std::map<std::tuple<int, int, bool>, int> seen;
    for (std::size_t i = 0; i < N; ++i) {
        int matches = 0;
        for (int dr = -2; dr <= 2; ++dr)
            for (int dc = -2; dc <= 2; ++dc)
                for (bool flip : {false, true}) {
                    bool same = true;
                    for (std::size_t r = 0; r < side && same; ++r)
                        for (std::size_t c = 0; c < side && same; ++c) {
                            const int sr = int(r) + dr, sc = int(c) + dc;
                            const bool in = sr >= 0 && sc >= 0 && sr < int(side) && sc < int(side);
                            const float want = in ? float(sr * int(side) + sc + 1) : 0.0f;
                            same = x(i, r * side + (flip ? side - 1 - c : c)) == want;
                        }
                    if (same) ++seen[{dr, dc, flip}], ++matches;
                }
        REQUIRE(matches == 1);
    }
    REQUIRE(seen.size() == 50);
    for (const auto& [key, count] : seen) CHECK(count > 40);  // 80 expected each; binomial sd ≈ 9
    // the same seed replays the same augmentation (checkpoints rely on it)
    xt::xarray<float> y = xt::xarray<float>::from_shape({N, n});
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t k = 0; k < n; ++k) y(i, k) = float(k + 1);
    Generator again(7);
    fashion_mnist::augment(y, side, pad, 0.0f, again);
    CHECK(bool(x == y));
    xt::xarray<float> wrong = xt::zeros<float>({std::size_t(3), std::size_t(24)});
    CHECK_THROWS_WITH(fashion_mnist::augment(wrong, side, pad, 0.0f, gen),
                      Catch::Contains("augment: expected a batch of shape (N, 25), got [3, 24]"));
}

TEST_CASE("nn::Unflatten: torch's repr, shapes and errors", "[training][cnn]") {
    nn::Unflatten<float> u(1, {2, 3});
    CHECK(u.repr() == "Unflatten(dim=1, unflattened_size=(2, 3))");
    CHECK(nn::Unflatten<float>(-1, {4}).repr() == "Unflatten(dim=-1, unflattened_size=(4,))");
    const Tensor<float> x = zeros<float>({5, 6, 7});
    CHECK(u(x).shape() == Shape{5, 2, 3, 7});
    CHECK(nn::Unflatten<float>(-1, {7, 1})(x).shape() == Shape{5, 6, 7, 1});
    CHECK_THROWS_AS(nn::Unflatten<float>(1, {4, 2})(x), ShapeError);
    CHECK_THROWS_AS(nn::Unflatten<float>(3, {7})(x), IndexError);
    CHECK(u.to<double>()->repr() == u.repr());
}

TEST_CASE("a diverging run stops cleanly and keeps the last good checkpoint", "[training]") {
    auto dir = scratch_dir("diverge");
    write_synthetic_images(dir, 200, 50, 3);
    const std::string ck = (dir / "ck.npz").string();
    REQUIRE(train_images(dir, {"--save", ck, "--epochs", "1"}).code == 0);
    auto good = io::load_npz(ck);
    const ProgramRun r = train_images(dir, {"--save", ck, "--epochs", "3", "--lr", "1e6"});
    CHECK(r.code == 3);
    CHECK_THAT(r.err, Contains("smaller --lr") && Contains("last good checkpoint"));
    auto after = io::load_npz(ck);
    REQUIRE(after.size() == good.size());
    for (std::size_t i = 0; i < good.size(); ++i) CHECK(after[i].second.bytes == good[i].second.bytes);
    fs::remove_all(dir);
}

TEST_CASE("the saved checkpoint opens with numpy.load", "[checkpoint]") {
    if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        WARN("SKIPPED: /usr/bin/python3 with numpy is not installed");
        return;
    }
    auto dir = scratch_dir("numpy");
    Generator g(9);
    auto model = make_mlp(784, {256, 128}, 10, g);
    optim::SGD<float> opt(model->parameters(), 0.1, 0.9);
    train::TrainState st;
    st.rng_state = g.state();
    const std::string path = (dir / "ck.npz").string();
    train::save_checkpoint(path, *model, opt, st);
    const std::string cmd = "/usr/bin/python3 -c \"import numpy as np; f = np.load('" + path +
                            "'); assert f['0.weight'].shape == (256, 784) and f['0.weight'].dtype == np.float32; "
                            "assert f['4.bias'].shape == (10,); assert abs(float(f['2.weight'][3, 5]) - " +
                            std::to_string(model->parameters()[2].value()(3, 5)) + ") < 1e-6\"";
    CHECK(std::system(cmd.c_str()) == 0);
    fs::remove_all(dir);
}

TEST_CASE("the divergence stop checks the parameters, not only the loss: no checkpoint of NaN weights",
          "[training][safety]") {
    auto dir = scratch_dir("nan_params");
    examples::RunFlags flags;
    flags.epochs = 3;
    flags.save = (dir / "ck.npz").string();
    Generator g(0);
    auto model = make_mlp(4, {3}, 2, g);
    optim::SGD<float> opt(model->parameters(), 0.1);
    Generator order(1);
    std::ostringstream out, err;
    examples::TrainingRun run(flags, "t", *model, opt, nullptr, order, out, err);
    auto p = run.progress(1, 1);
    p.add(0.5, 4);
    REQUIRE(run.end_epoch(1, p, {}));  // finite: saved
    const auto good = io::load_npz(flags.save);
    model->parameters()[2].mutable_value()(1, 0) = std::numeric_limits<float>::quiet_NaN();  // the loss can stay finite
    auto p2 = run.progress(2, 1);
    p2.add(0.5, 4);
    CHECK_FALSE(run.end_epoch(2, p2, {}));
    CHECK_THAT(err.str(), Contains("parameter '2.weight' holds nan after epoch 2") && Contains("last good checkpoint"));
    const auto kept = io::load_npz(flags.save);
    REQUIRE(kept.size() == good.size());
    for (std::size_t i = 0; i < kept.size(); ++i) CHECK(kept[i].second.bytes == good[i].second.bytes);
    fs::remove_all(dir);
}

TEST_CASE("train_fashion_mnist --graph draws the first step's graph and trains the same model", "[training][viz]") {
    auto dir = scratch_dir("graph");
    write_synthetic_images(dir, 300, 100, 3);
    const std::string svg = (dir / "step.svg").string(), with = (dir / "with.npz").string(),
                      without = (dir / "without.npz").string();
    ProgramRun r = train_images(dir, {"--graph", svg, "--save", with, "--epochs", "2"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("graph: " + svg));
    std::ifstream f(svg);
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(text.rfind("<?xml", 0) == 0);
    // the MLP step (--hidden 32): linear, relu, linear, cross_entropy; 4 parameters and the batch as leaves
    std::regex node_group("<g id=\"node[0-9]+\" class=\"node\">");
    CHECK(std::distance(std::sregex_iterator(text.begin(), text.end(), node_group), std::sregex_iterator()) == 4 + 5);
    for (const char* name : {"0.weight", "0.bias", "2.weight", "2.bias", "cross_entropy", "backward step 1"})
        CHECK_THAT(text, Contains(name));
    CHECK_THAT(text, Contains("grad"));
    // keeping that step's graph and gradients changes nothing in training
    REQUIRE(train_images(dir, {"--save", without, "--epochs", "2"}).code == 0);
    test_programs::check_same_checkpoints(with, without);
    fs::remove_all(dir);
}
