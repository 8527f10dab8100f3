// Training pieces: DataLoader, lr schedulers, checkpoints, reports — and the image classifier
// example run end to end on a small synthetic image set (learning, resume, divergence).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "../examples/image_classifier.hpp"
#include "fixture.hpp"
#include "synthetic_images.hpp"
#include <tapegrad/io/npz.hpp>

using namespace tapegrad;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using test_data::synthetic_images;

namespace {
fs::path scratch_dir(const std::string& name) {
    fs::path p = fs::temp_directory_path() / ("tapegrad_test_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

image_classifier::Options small_options() {
    image_classifier::Options o;
    o.epochs = 4;
    o.batch_size = 16;
    o.lr = 0.05;
    o.hidden = {32};
    o.class_names = {"top-left", "top-right", "bottom-left", "bottom-right"};
    o.quiet = true;
    return o;
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
    auto model = image_classifier::make_model(6, {5}, 3, g);
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
    auto other = image_classifier::make_model(6, {5}, 3, g2);
    optim::SGD<float> opt2(other->parameters(), 0.1, 0.9);
    train::TrainState back = train::load_checkpoint(path, *other, opt2);
    CHECK(back.epoch == 3);
    CHECK(back.rng_state == st.rng_state);
    CHECK(back.scheduler_step_count == 4);
    CHECK(back.history["test_accuracy"] == st.history["test_accuracy"]);
    CHECK(opt2.param_groups()[0].lr == 0.025);
    auto p1 = model->named_parameters(), p2 = other->named_parameters();
    for (std::size_t i = 0; i < p1.size(); ++i) CHECK((p1[i].second.value() == p2[i].second.value()));
    for (std::size_t i = 0; i < p1.size(); ++i) CHECK((opt.momentum_buffers()[i] == opt2.momentum_buffers()[i]));

    // a model of another shape: the message names the parameter and both shapes; nothing changes
    Generator g3(3);
    auto wide = image_classifier::make_model(6, {7}, 3, g3);
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
    auto o = small_options();
    std::ostringstream out, err;
    int rc = image_classifier::train(o, synthetic_images(800, 200, 1), out, err);
    INFO(out.str() << err.str());
    REQUIRE(rc == 0);
    CHECK_THAT(out.str(), Contains("confusion matrix") && Contains("bottom-right"));
    auto pos = out.str().find("final test accuracy ");
    REQUIRE(pos != std::string::npos);
    CHECK(std::stod(out.str().substr(pos + 20)) > 0.95);
}

TEST_CASE("stop, resume: bit-identical to an uninterrupted run, metrics and plot written", "[training]") {
    auto dir = scratch_dir("resume");
    const auto data = synthetic_images(300, 100, 2);
    auto o = small_options();
    std::ostringstream out, err;
    o.save = (dir / "straight.npz").string();
    REQUIRE(image_classifier::train(o, data, out, err) == 0);

    o.save = (dir / "ck.npz").string();
    o.stop_after = 2;
    o.metrics = (dir / "m.jsonl").string();
    o.plot = (dir / "p.svg").string();
    REQUIRE(image_classifier::train(o, data, out, err) == 0);
    CHECK_THAT(out.str(), Contains("stopped after epoch 2 of 4"));
    o.stop_after = 0;
    o.resume = o.save;
    REQUIRE(image_classifier::train(o, data, out, err) == 0);
    CHECK(fs::exists(o.plot));

    auto a = io::load_npz((dir / "straight.npz").string()), b = io::load_npz((dir / "ck.npz").string());
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
    std::ifstream m(o.metrics);
    std::size_t lines = 0;
    for (std::string l; std::getline(m, l);) ++lines;
    CHECK(lines == 4);  // the resumed run rewrote the history of all four epochs
    // resuming a finished run is a clear error
    std::ostringstream e2;
    CHECK(image_classifier::train(o, data, out, e2) == 2);
    CHECK_THAT(e2.str(), Contains("already completed 4"));
    fs::remove_all(dir);
}

TEST_CASE("a diverging run stops cleanly and keeps the last good checkpoint", "[training]") {
    auto dir = scratch_dir("diverge");
    const auto data = synthetic_images(200, 50, 3);
    auto o = small_options();
    o.save = (dir / "ck.npz").string();
    o.epochs = 1;
    std::ostringstream out, err;
    REQUIRE(image_classifier::train(o, data, out, err) == 0);
    auto good = io::load_npz(o.save);
    o.resume.clear();
    o.epochs = 3;
    o.lr = 1e6;
    std::ostringstream out2, err2;
    CHECK(image_classifier::train(o, data, out2, err2) == 3);
    CHECK_THAT(err2.str(), Contains("smaller --lr") && Contains("last good checkpoint"));
    auto after = io::load_npz(o.save);
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
    auto model = image_classifier::make_model(784, {256, 128}, 10, g);
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
