// Bad input across the public API, the file readers and the example programs' command lines:
// every case asserts the exception type (or the exit status) and that the message names the
// function (or flag) and what was expected or found. tests/README.md lists these cases together
// with the ones the other test files already cover.
//
// Sections:
//   1. tensors, factories, generator, threads     6. data: DataLoader, hashed features
//   2. ops: shapes, dims, reductions, reshape       7. reports
//   3. autograd misuse                              8. files: IDX, text folders, npz, checkpoints
//   4. losses                                       9. the example programs, in process (headers)
//   5. nn modules, optimizers, schedulers          10. the example programs as built binaries
//  11. bugs these tests found, now fixed: tagged [fixed], each asserting the behaviour that
//      should be (they were crashes, hangs, undefined behaviour or silently accepted input).
#include <catch2/catch.hpp>

#include "example_programs.hpp"
#include "temp_dir.hpp"

#include <cxxabi.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "cli.hpp"
#include "model.hpp"
#include "report.hpp"
#include <tapegrad/data/dataloader.hpp>
#include "email.hpp"
#include <tapegrad/data/idx.hpp>
#include "corpus.hpp"
#include <tapegrad/train/checkpoint.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/ops/loss.hpp>
#include <tapegrad/nn/loss.hpp>
#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/train/report.hpp>
#include <tapegrad/tapegrad.hpp>
#include <tapegrad/core/threads.hpp>

using namespace tapegrad;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string demangled(const char* name) {
    int status = 0;
    char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
    std::string s = (status == 0 && d != nullptr) ? d : name;
    std::free(d);
    return s;
}

// The message of the E that f() throws; fails the test when f returns or throws anything else
// (in particular a std:: exception that is not a tapegrad::Error).
template <class E, class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        FAIL("expected " << demangled(typeid(E).name()) << ", got " << demangled(typeid(e).name()) << ": "
                         << e.what());
    }
    FAIL("expected " << demangled(typeid(E).name()) << ", nothing was thrown");
    return {};
}

// EXPECT_ERROR(Type, matcher, statements...): the statements throw Type with a matching message.
#define EXPECT_ERROR(Type, matcher, ...) CHECK_THAT(error_of<Type>([&] { __VA_ARGS__; }), matcher)

using test_util::TempDir;

void write_file(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << bytes;
    REQUIRE(f.good());
}

// An IDX ubyte file: magic 00 00 08 ndim, big-endian dims, payload.
void write_idx(const fs::path& p, const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& payload) {
    std::string b = {0, 0, 8, static_cast<char>(dims.size())};
    for (std::uint32_t d : dims)
        for (int s = 24; s >= 0; s -= 8) b += static_cast<char>((d >> s) & 0xFF);
    b.append(payload.begin(), payload.end());
    write_file(p, b);
}

// A Fashion-MNIST-shaped folder: n images of side×side pixels per split, labels from `label`.
void write_mnist_dir(const fs::path& dir, std::size_t n, std::uint32_t side, std::uint32_t test_side,
                     std::uint8_t (*label)(std::size_t)) {
    for (const char* split : {"train", "t10k"}) {
        const std::uint32_t s = std::string(split) == "train" ? side : test_side;
        std::vector<std::uint8_t> px(n * s * s), lab(n);
        for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 37 % 256);
        for (std::size_t i = 0; i < n; ++i) lab[i] = label(i);
        write_idx(dir / (std::string(split) + "-images-idx3-ubyte"), {std::uint32_t(n), s, s}, px);
        write_idx(dir / (std::string(split) + "-labels-idx1-ubyte"), {std::uint32_t(n)}, lab);
    }
}
std::uint8_t label_mod10(std::size_t i) { return static_cast<std::uint8_t>(i % 10); }
std::uint8_t label_200(std::size_t) { return 200; }

// A toy two-class email corpus in memory (documents 0, 5, 10, ... of each class are the test set).
spam_filter::TextCorpus toy_corpus(std::size_t per_class = 10) {
    spam_filter::TextCorpus c;
    c.class_names = {"ham", "spam"};
    const char* words[2][4] = {{"meeting", "patch", "review", "kernel"}, {"free", "money", "offer", "cash"}};
    for (std::int64_t cls = 0; cls < 2; ++cls)
        for (std::size_t i = 0; i < per_class; ++i) {
            std::string text = "Subject: " + std::string(words[cls][i % 4]) + "\n\n";
            for (int k = 0; k < 12; ++k) text += std::string(words[cls][(i + k) % 4]) + " ";
            c.texts.push_back(text);
            c.labels.push_back(cls);
            c.paths.push_back("toy/" + std::to_string(cls) + "/" + std::to_string(i));
            c.is_test.push_back(i % 5 == 0);
        }
    return c;
}

// The toy corpus as folders (dir/ham, dir/spam) for train_spam_filter.
void write_toy_corpus(const fs::path& dir, std::size_t per_class = 10) {
    const auto toy = toy_corpus(per_class);
    for (std::size_t i = 0; i < toy.texts.size(); ++i)
        write_file(dir / toy.class_names[std::size_t(toy.labels[i])] / (std::to_string(i) + ".txt"), toy.texts[i]);
}
// train_spam_filter's flags for a quick run on a toy corpus folder (for with_defaults, below)
std::vector<std::pair<std::string, std::string>> tiny_spam_defaults(const fs::path& corpus) {
    return {{"--data", corpus.string()}, {"--any-folders", ""}, {"--buckets", "1024"}, {"--dim", "4"},
            {"--epochs", "1"}, {"--quiet", ""}};
}

// The explainer, called as its main() would be.
struct Run {
    int code;
    std::string out, err;
};
Run explain(std::vector<std::string> args) {
    args.insert(args.begin(), "explain_cross_entropy");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::ostringstream out, err;
    const int code = explain_ce::explain_main(int(args.size()), argv.data(), out, err);
    return {code, out.str(), err.str()};
}

// ---- the example programs as processes (example_programs.hpp)
using test_programs::example_binary;
Run run_binary(const fs::path& exe, const std::vector<std::string>& args, const TempDir& scratch) {
    const auto r = test_programs::run_program(exe, args, scratch.path);
    return {r.code, r.out, r.err};
}
std::string slurp(const fs::path& p) { return test_programs::slurp(p); }

// args plus every (option, value) of defaults whose option args does not already name
// (an empty value adds a flag); CLI11 refuses an option given twice.
std::vector<std::string> with_defaults(std::vector<std::string> args,
                                       const std::vector<std::pair<std::string, std::string>>& defaults) {
    for (const auto& [opt, value] : defaults) {
        if (std::find(args.begin(), args.end(), opt) != args.end()) continue;
        args.push_back(opt);
        if (!value.empty()) args.push_back(value);
    }
    return args;
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& a : v) s += (s.empty() ? "" : " ") + a;
    return s;
}

// A checkpoint of the image classifier with the given hidden sizes (features 16, 10 classes).
void write_image_checkpoint(const std::string& path, std::size_t features, const std::vector<std::size_t>& hidden,
                            std::size_t classes) {
    Generator g(1);
    nn::Sequential<float> model;
    for (std::size_t h : hidden) {
        model.push_back(std::make_shared<nn::Linear<float>>(features, h, true, g));
        model.push_back(std::make_shared<nn::ReLU<float>>());
        features = h;
    }
    model.push_back(std::make_shared<nn::Linear<float>>(features, classes, true, g));
    optim::SGD<float> opt(model.parameters(), 0.1, 0.9);
    train::TrainState st;
    st.epoch = 1;
    st.rng_state = Generator(2).state();
    train::save_checkpoint(path, model, opt, st);
}

// A small model and optimizer for the checkpoint tests, and a valid checkpoint of them.
struct SmallRun {
    std::shared_ptr<nn::Sequential<float>> model;
    std::unique_ptr<optim::SGD<float>> opt;
    SmallRun() {
        Generator g(4);
        model = std::make_shared<nn::Sequential<float>>(nn::Linear<float>(3, 2, true, g));
        opt = std::make_unique<optim::SGD<float>>(model->parameters(), 0.1, 0.9);
        cross_entropy((*model)(ones<float>({2, 3})), xt::xarray<std::int64_t>({0, 1})).backward();
        opt->step();  // creates the momentum buffers
    }
    std::vector<std::pair<std::string, io::NpyArray>> checkpoint_arrays(const std::string& path) const {
        train::TrainState st;
        st.epoch = 2;
        st.rng_state = Generator(5).state();
        st.history["test_accuracy"] = {0.5, 0.75};
        train::save_checkpoint(path, *model, *opt, st);
        return io::load_npz(path);
    }
};

// ---- optimizer tests
// p := value (any shape) with gradient g (dense, of value's shape)
void set_value_and_grad(Tensor<float>& p, const xt::xarray<float>& value, const xt::xarray<float>& g) {
    p.zero_grad(true);
    p.mutable_value() = value;
    p.accumulate_grad(g);
}
// A deterministic gradient that depends on the value, so trajectories diverge when a buffer is wrong.
void fake_grad(Tensor<float>& p, float k) {
    p.zero_grad(true);
    p.accumulate_grad(xt::xarray<float>(p.value() * 0.5f + k));
}
Tensor<float> leaf(std::vector<float> v) {
    xt::xarray<float> a = xt::xarray<float>::from_shape({v.size()});
    std::copy(v.begin(), v.end(), a.begin());
    return Tensor<float>(a, true);
}

using Arrays = std::vector<std::pair<std::string, io::NpyArray>>;
Arrays without(Arrays a, const std::string& name) {
    a.erase(std::remove_if(a.begin(), a.end(), [&](const auto& p) { return p.first == name; }), a.end());
    return a;
}
Arrays replaced(Arrays a, const std::string& name, io::NpyArray v) {
    for (auto& p : a)
        if (p.first == name) p.second = std::move(v);
    return a;
}

}  // namespace

// =============================================================================================
// 1. tensors, factories, generator, threads
// =============================================================================================

TEST_CASE("bad input: an undefined tensor is a tapegrad::Error naming the Tensor accessor", "[bad_input]") {
    Tensor<float> u;
    const Tensor<float> a = zeros<float>({2, 3});
    const auto undefined = Contains("the tensor is undefined (default-constructed)");
    EXPECT_ERROR(Error, Contains("Tensor::item") && undefined, u.item());
    EXPECT_ERROR(Error, Contains("Tensor::backward") && undefined, u.backward());
    EXPECT_ERROR(Error, Contains("Tensor::grad") && undefined, u.grad());
    EXPECT_ERROR(Error, Contains("Tensor::detach") && undefined, u.detach());
    EXPECT_ERROR(Error, Contains("Tensor::shape") && undefined, u.shape());
    EXPECT_ERROR(Error, Contains("Tensor::dim") && undefined, u.dim());
    EXPECT_ERROR(Error, Contains("Tensor::numel") && undefined, u.numel());
    EXPECT_ERROR(Error, Contains("Tensor::size") && undefined, u.size(0));
    EXPECT_ERROR(Error, Contains("Tensor::mutable_value") && undefined, u.mutable_value());
    EXPECT_ERROR(Error, Contains("Tensor::mutable_grad") && undefined, u.mutable_grad());
    EXPECT_ERROR(Error, Contains("Tensor::requires_grad_") && undefined, u.requires_grad_());
    EXPECT_ERROR(Error, Contains("Tensor::accumulate_grad") && undefined, u.accumulate_grad(xt::xarray<float>({1.f})));
    // ops reach the same check through value() / shape(): an Error, never a crash
    EXPECT_ERROR(Error, undefined, add(u, a));
    EXPECT_ERROR(Error, undefined, relu(u));
    EXPECT_ERROR(Error, undefined, sum(u));
    EXPECT_ERROR(Error, undefined, linear(a, u));
    EXPECT_ERROR(Error, undefined, cross_entropy(u, xt::xarray<std::int64_t>({0, 1})));
    EXPECT_ERROR(Error, undefined, cross_entropy(a, Tensor<float>()));  // probability target undefined
    EXPECT_ERROR(Error, undefined, embedding_bag(xt::xarray<std::int64_t>({0}), u, xt::xarray<std::int64_t>({0})));
    EXPECT_ERROR(Error, Contains("Tensor::mutable_value") && undefined, nn::init::uniform_(u, 0.0, 1.0));
    // undefined() is fine where it means "absent": a missing weight or bias
    CHECK_NOTHROW(linear(a, zeros<float>({4, 3}), Tensor<float>()));
}

TEST_CASE("bad input: factories, the generator and set_num_threads reject bad arguments", "[bad_input]") {
    EXPECT_ERROR(ValueError, Contains("arange") && Contains("start, end and step must be finite"), arange<double>(kNaN, 1.0));
    EXPECT_ERROR(ValueError, Contains("arange") && Contains("must be finite"),
                 arange<double>(0.0, std::numeric_limits<double>::infinity()));
    EXPECT_ERROR(ValueError, Contains("arange") && Contains("inconsistent with step sign"), arange<float>(0.f, 1.f, -1.f));
    EXPECT_ERROR(ValueError, Contains("arange") && Contains("inconsistent with step sign"), arange<float>(1.f, 0.f, 1.f));
    Generator g(1);
    EXPECT_ERROR(ValueError, Contains("Generator::randint") && Contains("n must be positive"), g.randint(0));
    EXPECT_ERROR(ValueError, Contains("Generator::set_state") && Contains("malformed generator state (0 bytes)"),
                 g.set_state(""));
    EXPECT_ERROR(ValueError, Contains("Generator::set_state") && Contains("malformed"), g.set_state("1 2 3"));
    EXPECT_ERROR(ValueError, Contains("set_num_threads") && Contains("must be positive, got 0"), set_num_threads(0));
    EXPECT_ERROR(ValueError, Contains("set_num_threads") && Contains("got -3"), set_num_threads(-3));
}

// =============================================================================================
// 2. ops: shapes, dims, reductions, reshape
// =============================================================================================

TEST_CASE("bad input: element-wise, matmul and linear shape errors name the op and the shapes", "[bad_input]") {
    const Tensor<float> a = zeros<float>({2, 3});
    EXPECT_ERROR(ShapeError, Contains("sub") && Contains("[2, 3]") && Contains("[4]"), sub(a, zeros<float>({4})));
    EXPECT_ERROR(ShapeError, Contains("div") && Contains("[2, 3]") && Contains("[4]"), div(a, zeros<float>({4})));
    EXPECT_ERROR(ShapeError, Contains("mul") && Contains("non-singleton dimension 0"), a * zeros<float>({3, 3}));
    EXPECT_ERROR(ShapeError, Contains("matmul") && Contains("at least 1D") && Contains("0D and 2D"),
                 matmul(Tensor<float>::scalar(1.f), a));
    EXPECT_ERROR(ShapeError, Contains("matmul") && Contains("inconsistent tensor size") && Contains("2 and 3"),
                 matmul(Tensor<float>({1.f, 2.f}), Tensor<float>({1.f, 2.f, 3.f})));
    EXPECT_ERROR(ShapeError, Contains("matmul") && Contains("The size of tensor a (2) must match the size of tensor b (3)"),
                 matmul(zeros<float>({2, 2, 3}), zeros<float>({3, 3, 4})));
    EXPECT_ERROR(ShapeError, Contains("linear") && Contains("weight must be 2-D") && Contains("[3]"),
                 linear(a, zeros<float>({3})));
    EXPECT_ERROR(ShapeError, Contains("linear") && Contains("bias must have shape [4]") && Contains("got [5]"),
                 linear(a, zeros<float>({4, 3}), zeros<float>({5})));
    EXPECT_ERROR(ShapeError, Contains("linear") && Contains("input []"),
                 linear(Tensor<float>::scalar(1.f), zeros<float>({4, 3})));
    nn::Linear<float> layer(4, 3);
    EXPECT_ERROR(ShapeError, Contains("linear") && Contains("2x5 and 4x3") && Contains("input [2, 5]"),
                 layer(ones<float>({2, 5})));
}

TEST_CASE("bad input: out-of-range dims are IndexError with the valid range", "[bad_input]") {
    const Tensor<float> a = zeros<float>({2, 3});
    const auto range = Contains("Dimension out of range (expected to be in range of [-2, 1]");
    EXPECT_ERROR(IndexError, Contains("sum") && range && Contains("got -3"), sum(a, -3));
    EXPECT_ERROR(IndexError, Contains("mean") && range && Contains("got 2"), mean(a, 2));
    EXPECT_ERROR(IndexError, Contains("max") && range && Contains("got 2"), max(a, 2));
    EXPECT_ERROR(IndexError, Contains("argmax") && range && Contains("got -3"), argmax(a, -3));
    EXPECT_ERROR(IndexError, Contains("log_softmax") && range && Contains("got 2"), log_softmax(a, 2));
    EXPECT_ERROR(IndexError, Contains("flatten") && range && Contains("got 5"), flatten(a, 5));
    EXPECT_ERROR(IndexError, Contains("transpose") && range && Contains("got 2"), transpose(a, 0, 2));
    EXPECT_ERROR(IndexError, Contains("permute") && range && Contains("got 2"), permute(a, {0, 2}));
    EXPECT_ERROR(IndexError, Contains("Tensor::size") && range && Contains("got -3"), a.size(-3));
    // a 0-d tensor has one wrappable dim for ops (torch's rule) and none for Tensor::size
    EXPECT_ERROR(IndexError, Contains("sum") && Contains("[-1, 0]") && Contains("got 1"), sum(Tensor<float>::scalar(1.f), 1));
    EXPECT_ERROR(IndexError, Contains("Tensor::size") && Contains("got 0"), Tensor<float>::scalar(1.f).size(0));
    // dims that are in range but do not fit the op
    EXPECT_ERROR(ValueError, Contains("flatten") && Contains("start_dim cannot come after end_dim"), flatten(a, 1, 0));
    EXPECT_ERROR(ShapeError, Contains("permute") && Contains("has 2 dims, got 1"), permute(a, {0}));
    nn::Flatten<float> f(2, 1);
    EXPECT_ERROR(ValueError, Contains("flatten") && Contains("start_dim cannot come after end_dim"), f(zeros<float>({2, 3, 4})));
}

TEST_CASE("bad input: reshape sizes, empty reductions and item()", "[bad_input]") {
    const Tensor<float> a = zeros<float>({2, 3});
    EXPECT_ERROR(ValueError, Contains("reshape") && Contains("invalid shape dimension -2"), reshape(a, {-2, 3}));
    EXPECT_ERROR(ValueError, Contains("reshape") && Contains("only one dimension can be inferred"), reshape(a, {-1, -1}));
    EXPECT_ERROR(ShapeError, Contains("reshape") && Contains("'[0, -1]' is invalid for input of size 0"),
                 reshape(zeros<float>({0, 3}), {0, -1}));
    EXPECT_ERROR(ShapeError, Contains("reshape") && Contains("'[4, -1]' is invalid for input of size 6"), reshape(a, {4, -1}));
    EXPECT_ERROR(ValueError, Contains("max") && Contains("numel() == 0"), max(zeros<float>({0})));
    EXPECT_ERROR(ValueError, Contains("max") && Contains("reduction dim 1 to have non-zero size"), max(zeros<float>({2, 0}), 1));
    EXPECT_ERROR(ValueError, Contains("argmax") && Contains("reduction dim 1 to have non-zero size"),
                 argmax(zeros<float>({2, 0}), 1));
    EXPECT_ERROR(ValueError, Contains("Tensor::item") && Contains("0 elements cannot be converted to Scalar"),
                 zeros<float>({0}).item());
    EXPECT_ERROR(ValueError, Contains("clamp") && Contains("'min' or 'max'"),
                 clamp(Tensor<double>({1.0}), std::nullopt, std::nullopt));
}

// =============================================================================================
// 3. autograd misuse
// =============================================================================================

TEST_CASE("bad input: gradients of the wrong shape and sparse-gradient misuse", "[bad_input]") {
    Tensor<float> x({1.f, 2.f}, true);
    auto y = x * 2.f;
    EXPECT_ERROR(ShapeError, Contains("backward") && Contains("grad_output[0] has a shape of [1]") && Contains("[2]"),
                 y.backward(Tensor<float>({1.f})));
    EXPECT_ERROR(ShapeError, Contains("accumulate_grad") && Contains("[1]") && Contains("[2]"),
                 x.accumulate_grad(xt::xarray<float>({1.f})));
    Tensor<float> table(xt::xarray<float>::from_shape({2, 2}), true);
    EXPECT_ERROR(IndexError, Contains("accumulate_sparse_grad") && Contains("row 5 out of range"),
                 accumulate_sparse_grad(table, {5}, xt::xarray<float>::from_shape({1, 2})));
    EXPECT_ERROR(IndexError, Contains("accumulate_sparse_grad") && Contains("row -1 out of range"),
                 accumulate_sparse_grad(table, {-1}, xt::xarray<float>::from_shape({1, 2})));
    EXPECT_ERROR(ShapeError, Contains("accumulate_sparse_grad") && Contains("1 rows need 2 values, got 3"),
                 accumulate_sparse_grad(table, {0}, xt::xarray<float>({1.f, 2.f, 3.f})));
    EXPECT_ERROR(AutogradError, Contains("sparse_grad_rows") && Contains("not sparse"), sparse_grad_rows(x));
    EXPECT_ERROR(AutogradError, Contains("sparse_grad_values") && Contains("not sparse"), sparse_grad_values(x));
    Tensor<float> out;
    EXPECT_ERROR(AutogradError, Contains("record") && Contains("'my_op'") && Contains("undefined"),
                 record<float>(out, "my_op", {x}, [](const xt::xarray<float>&, const xt::xarray<float>&) {}));
    clear_tape();
}

TEST_CASE("bad input: gradcheck arguments and functions", "[bad_input]") {
    using Vec = std::vector<Tensor<double>>;
    Tensor<double> x({1.0, 2.0}, true);
    auto id = [](const Vec& v) { return v[0] * 1.0; };
    EXPECT_ERROR(ValueError, Contains("gradcheck") && Contains("eps must be positive"), autograd::gradcheck(id, Vec{x}, 0.0));
    EXPECT_ERROR(ValueError, Contains("gradcheck") && Contains("eps must be positive"), autograd::gradcheck(id, Vec{x}, kNaN));
    EXPECT_ERROR(ValueError, Contains("gradcheck") && Contains("atol and rtol must be non-negative"),
                 autograd::gradcheck(id, Vec{x}, 1e-6, -1.0));
    EXPECT_ERROR(ValueError, Contains("gradcheck") && Contains("atol and rtol must be non-negative"),
                 autograd::gradcheck(id, Vec{x}, 1e-6, 1e-5, kNaN));
    EXPECT_ERROR(ValueError, Contains("gradcheck") && Contains("input 1 is undefined"), autograd::gradcheck(id, Vec{x, Tensor<double>()}));
    EXPECT_ERROR(ValueError, Contains("gradcheck") && Contains("at least one input tensor to require gradient"),
                 autograd::gradcheck(id, Vec{}));
    EXPECT_ERROR(ValueError, Contains("gradcheck") && Contains("undefined tensor as output 1"),
                 autograd::gradcheck([](const Vec& v) { return Vec{v[0] * 2.0, Tensor<double>()}; }, Vec{x}));
    // an output whose size depends on the input values
    EXPECT_ERROR(ShapeError, Contains("gradcheck") && Contains("output 0 changed size under perturbation"),
                 autograd::gradcheck([](const Vec& v) { return v[0].value()(0) > 1.0 ? v[0] * 1.0 : sum(v[0]); },
                           Vec{Tensor<double>({1.0, 2.0}, true)}, 1e-3));
}

// =============================================================================================
// 4. losses
// =============================================================================================

TEST_CASE("bad input: cross_entropy and nll_loss shapes, targets, weights and options", "[bad_input]") {
    clear_tape();
    const Tensor<float> x = zeros<float>({2, 3});
    const xt::xarray<std::int64_t> t = {0, 1};
    const Tensor<float> none;
    EXPECT_ERROR(ValueError, Contains("cross_entropy") && Contains("label_smoothing must be between 0.0 and 1.0. Got: nan"),
                 cross_entropy(x, t, none, -100, Reduction::Mean, kNaN));
    EXPECT_ERROR(ValueError, Contains("Got: -0.1"), cross_entropy(x, t, none, -100, Reduction::Mean, -0.1));
    EXPECT_ERROR(ShapeError, Contains("cross_entropy") && Contains("for all 3 classes") && Contains("[1, 3]"),
                 cross_entropy(x, t, zeros<float>({1, 3})));
    EXPECT_ERROR(ShapeError, Contains("cross_entropy") && Contains("multi-target not supported") && Contains("target [1, 2]"),
                 cross_entropy(x, xt::xarray<std::int64_t>({{0, 1}})));
    EXPECT_ERROR(ShapeError, Contains("cross_entropy") && Contains("0D target tensor expected for an unbatched input of shape [3]"),
                 cross_entropy(zeros<float>({3}), xt::xarray<std::int64_t>({0})));
    EXPECT_ERROR(ShapeError, Contains("cross_entropy") && Contains("Expected target size [2, 4], got [2, 5]"),
                 cross_entropy(zeros<float>({2, 3, 4}), xt::xarray<std::int64_t>(xt::zeros<std::int64_t>({2, 5}))));
    EXPECT_ERROR(ShapeError, Contains("Expected input batch_size (2) to match target batch_size (3)."),
                 cross_entropy(zeros<float>({2, 3, 4}), xt::xarray<std::int64_t>(xt::zeros<std::int64_t>({3, 4}))));
    const Tensor<float> xg = zeros<float>({2, 3}, true);
    EXPECT_ERROR(ValueError, Contains("cross_entropy") && Contains("gradient with respect to weight is not supported"),
                 cross_entropy(xg, t, ones<float>({3}, true)));
    EXPECT_ERROR(ValueError, Contains("nll_loss") && Contains("gradient with respect to weight is not supported"),
                 nll_loss(xg, t, ones<float>({3}, true)));
    // the probability-target form
    EXPECT_ERROR(ValueError, Contains("cross_entropy") && Contains("probability target is not supported; detach() it"),
                 cross_entropy(xg, ones<float>({2, 3}, true)));
    EXPECT_ERROR(ValueError, Contains("cross_entropy") && Contains("gradient with respect to weight"),
                 cross_entropy(x, ones<float>({2, 3}), ones<float>({3}, true)));
    EXPECT_ERROR(ValueError, Contains("label_smoothing") && Contains("Got: 2"),
                 cross_entropy(x, ones<float>({2, 3}), none, -100, Reduction::Mean, 2.0));
    EXPECT_ERROR(ShapeError, Contains("for all 3 classes") && Contains("[2]"), cross_entropy(x, ones<float>({2, 3}), ones<float>({2})));
    EXPECT_ERROR(ShapeError, Contains("cross_entropy") && Contains("at least 1 dimension"),
                 cross_entropy(Tensor<float>::scalar(1.f), Tensor<float>::scalar(1.f)));
    // nll_loss
    EXPECT_ERROR(IndexError, Contains("Target 3 is out of bounds."), nll_loss(x, xt::xarray<std::int64_t>({0, 3})));
    EXPECT_ERROR(ShapeError, Contains("nll_loss") && Contains("Expected input batch_size (2) to match target batch_size (1)."),
                 nll_loss(x, xt::xarray<std::int64_t>({0})));
    EXPECT_ERROR(ShapeError, Contains("nll_loss") && Contains("for all 3 classes") && Contains("[4]"), nll_loss(x, t, ones<float>({4})));
    EXPECT_ERROR(ShapeError, Contains("nll_loss") && Contains("at least 1 dimension"),
                 nll_loss(Tensor<float>::scalar(1.f), xt::xarray<std::int64_t>(0)));
    // reductions by name, and the nn:: loss objects (options checked when called)
    EXPECT_ERROR(ValueError, Contains("is not a valid value for reduction") && Contains("'none', 'mean' or 'sum'"),
                 reduction_from_string(""));
    EXPECT_ERROR(ValueError, Contains("'Mean' is not a valid value for reduction"), reduction_from_string("Mean"));
    nn::CrossEntropyLoss<float> ce(Tensor<float>(), -100, Reduction::Mean, 3.0);
    EXPECT_ERROR(ValueError, Contains("label_smoothing") && Contains("Got: 3"), ce(x, t));
    nn::NLLLoss<float> nll(ones<float>({2}));
    EXPECT_ERROR(ShapeError, Contains("nll_loss") && Contains("for all 3 classes"), nll(x, t));
    CHECK(tape_size() == 0);  // nothing half-recorded by the failed calls
}

TEST_CASE("bad input: embedding_bag inputs, offsets, indices, padding and modes", "[bad_input]") {
    const Tensor<float> w = zeros<float>({5, 2});
    const xt::xarray<std::int64_t> idx = {0, 1, 2};
    using Off = std::optional<xt::xarray<std::int64_t>>;
    EXPECT_ERROR(ValueError, Contains("embedding_bag") && Contains("if input is 2D, then offsets has to be None"),
                 embedding_bag(xt::xarray<std::int64_t>({{0, 1}, {2, 3}}), w, Off(xt::xarray<std::int64_t>({0}))));
    EXPECT_ERROR(ShapeError, Contains("embedding_bag") && Contains("1D or 2D") && Contains("dimension 3"),
                 embedding_bag(xt::xarray<std::int64_t>(xt::zeros<std::int64_t>({1, 1, 1})), w));
    EXPECT_ERROR(ShapeError, Contains("embedding_bag") && Contains("offsets has to be a 1D Tensor, got shape [1, 1]"),
                 embedding_bag(idx, w, Off(xt::xarray<std::int64_t>(xt::zeros<std::int64_t>({1, 1})))));
    EXPECT_ERROR(ValueError, Contains("embedding_bag") && Contains("offsets must hold at least one entry"),
                 embedding_bag(idx, w, Off(xt::xarray<std::int64_t>::from_shape({0}))));
    EXPECT_ERROR(IndexError, Contains("embedding_bag") && Contains("offsets[1] = 4 is out of range for an input of 3 indices"),
                 embedding_bag(idx, w, Off(xt::xarray<std::int64_t>({0, 4}))));
    EXPECT_ERROR(IndexError, Contains("index out of range in self") && Contains("index -1 at position 0"),
                 embedding_bag(xt::xarray<std::int64_t>({-1}), w, Off(xt::xarray<std::int64_t>({0}))));
    EXPECT_ERROR(ValueError, Contains("embedding_bag") && Contains("padding_idx must be within num_embeddings (5), got 5"),
                 embedding_bag(idx, w, Off(xt::xarray<std::int64_t>({0})), EmbeddingBagMode::Sum, false, Tensor<float>(),
                               false, 5));
    EXPECT_ERROR(ShapeError, Contains("per_sample_weights has to be of the same shape as input, got [2] and [3]"),
                 embedding_bag(idx, w, Off(xt::xarray<std::int64_t>({0})), EmbeddingBagMode::Sum, false, ones<float>({2})));
    EXPECT_ERROR(ValueError, Contains("per_sample_weights is only supported for mode='sum' (got mode='max')"),
                 embedding_bag(idx, w, Off(xt::xarray<std::int64_t>({0})), EmbeddingBagMode::Max, false, ones<float>({3})));
    EXPECT_ERROR(ValueError, Contains("embedding_bag") && Contains("mode has to be one of sum, mean or max, got ''"),
                 embedding_bag_mode_from_string(""));
    EXPECT_ERROR(ValueError, Contains("EmbeddingBag") && Contains("padding_idx must be within num_embeddings"),
                 nn::EmbeddingBag<float>(5, 2, EmbeddingBagMode::Mean, false, 5));
    EXPECT_ERROR(ValueError, Contains("EmbeddingBag") && Contains("padding_idx"),
                 nn::EmbeddingBag<float>(5, 2, EmbeddingBagMode::Mean, false, -6));
}

// =============================================================================================
// 5. nn modules, optimizers, schedulers
// =============================================================================================

namespace {
struct Named : nn::Module<float> {
    Named(const std::string& param, const std::string& buffer) {
        register_parameter(param, zeros<float>({1}));
        register_buffer(buffer, zeros<float>({1}));
    }
    std::string repr() const override { return "Named"; }
};
}  // namespace

TEST_CASE("bad input: module names, Sequential, init and forward misuse", "[bad_input]") {
    EXPECT_ERROR(ValueError, Contains("Module") && Contains("attribute 'w' already exists"), Named("w", "w"));
    EXPECT_ERROR(ValueError, Contains("Module") && Contains("non-empty and contain no '.'") && Contains("\"a.b\""),
                 Named("a.b", "c"));
    EXPECT_ERROR(ValueError, Contains("non-empty") && Contains("got \"\""), Named("", "c"));
    Named m("a", "b");
    EXPECT_ERROR(ValueError, Contains("Module::forward") && Contains("Named does not take a single tensor"), m(zeros<float>({1})));
    nn::Sequential<float> s;
    EXPECT_ERROR(ValueError, Contains("Sequential") && Contains("null module"), s.push_back(nullptr));
    EXPECT_ERROR(IndexError, Contains("Sequential") && Contains("index 0 is out of range (size 0)"), s[0]);
    Tensor<float> v = zeros<float>({3});
    EXPECT_ERROR(ValueError, Contains("kaiming_uniform_") && Contains("fewer than 2 dimensions"), nn::init::kaiming_uniform_(v));
}

TEST_CASE("bad input: SGD hyper-parameters and parameters, momentum buffers, schedulers", "[bad_input]") {
    std::vector<Tensor<float>> p{zeros<float>({2}, true)};
    EXPECT_ERROR(ValueError, Contains("SGD") && Contains("Invalid learning rate: nan"), optim::SGD<float>(p, kNaN));
    EXPECT_ERROR(ValueError, Contains("SGD") && Contains("Invalid momentum value: nan"), optim::SGD<float>(p, 0.1, kNaN));
    EXPECT_ERROR(ValueError, Contains("SGD") && Contains("Invalid weight_decay value: nan"),
                 optim::SGD<float>(p, 0.1, 0, 0, kNaN));
    EXPECT_ERROR(ValueError, Contains("SGD") && Contains("parameter 0 is undefined"),
                 optim::SGD<float>({Tensor<float>()}, 0.1));
    Tensor<float> leaf({1.f}, true);
    EXPECT_ERROR(ValueError, Contains("SGD") && Contains("can't optimize a non-leaf Tensor (parameter 0)"),
                 optim::SGD<float>({leaf * 2.f}, 0.1));
    optim::SGD<float> opt(p, 0.1, 0.9);
    EXPECT_ERROR(ValueError, Contains("SGD::set_momentum_buffer") && Contains("not a parameter of this optimizer"),
                 opt.set_momentum_buffer(zeros<float>({2}, true), xt::xarray<float>({1.f, 2.f})));
    EXPECT_ERROR(ShapeError, Contains("SGD::set_momentum_buffer") && Contains("[3]") && Contains("shape [2]"),
                 opt.set_momentum_buffer(p[0], xt::xarray<float>({1.f, 2.f, 3.f})));
    EXPECT_ERROR(ShapeError, Contains("SGD::set_momentum_buffer") && Contains("[1, 2]") && Contains("shape [2]"),
                 opt.set_momentum_buffer(p[0], xt::xarray<float>({{1.f, 2.f}})));
    using namespace optim::lr_scheduler;
    EXPECT_ERROR(ValueError, Contains("StepLR") && Contains("step_size must be positive, got -1"), StepLR<float>(opt, -1));
    EXPECT_ERROR(ValueError, Contains("StepLR") && Contains("last_epoch must be >= -1, got -2"),
                 StepLR<float>(opt, 1, 0.1, -2));
    EXPECT_ERROR(ValueError, Contains("CosineAnnealingLR") && Contains("T_max must be positive, got -1"),
                 CosineAnnealingLR<float>(opt, -1));
    StepLR<float> sched(opt, 1);
    EXPECT_ERROR(ValueError, Contains("StepLR::load_state") && Contains("2 learning rates for an optimizer with 1 param groups"),
                 sched.load_state(0, 1, {0.1, 0.2}));
}

TEST_CASE("bad input: add_param_group refuses duplicates, other groups' parameters, non-leaves, bad hyper-parameters",
          "[bad_input]") {
    Tensor<float> p = leaf({1, 2}), q = leaf({3}), r = leaf({4, 5});
    optim::SGD<float> opt({p}, 0.1, 0.9);
    EXPECT_ERROR(ValueError,
                 Contains("SGD::add_param_group") && Contains("some parameters appear in more than one parameter group") &&
                     Contains("parameter 1 of the new group is param_groups[0] parameter 0"),
                 opt.add_param_group({q, p}));
    EXPECT_ERROR(ValueError,
                 Contains("SGD::add_param_group") && Contains("optimizer contains a parameter group with duplicate parameters") &&
                     Contains("parameter 1 is parameter 0 again"),
                 opt.add_param_group({q, q}));
    EXPECT_ERROR(ValueError, Contains("SGD::add_param_group: parameter 0 is undefined"), opt.add_param_group({Tensor<float>()}));
    EXPECT_ERROR(ValueError, Contains("SGD::add_param_group: can't optimize a non-leaf Tensor (parameter 0)"),
                 opt.add_param_group({q * 2.f}));
    optim::ParamGroup<float> g = opt.defaults();
    g.params = {q};
    g.lr = -1;
    EXPECT_ERROR(ValueError, Contains("SGD::add_param_group: Invalid learning rate: -1"), opt.add_param_group(g));
    g.lr = 0.1;
    g.momentum = 0;
    g.nesterov = true;
    EXPECT_ERROR(ValueError, Contains("SGD::add_param_group: Nesterov momentum requires"), opt.add_param_group(g));
    CHECK(opt.param_groups().size() == 1);  // nothing was added by a refused call
    // accepted: an empty group (as torch), a group with the defaults, one with its own lr
    opt.add_param_group(std::vector<Tensor<float>>{});
    opt.add_param_group({q});
    CHECK(opt.param_groups()[2].lr == 0.1);
    CHECK(opt.param_groups()[2].momentum == 0.9);
    optim::ParamGroup<float> h = opt.defaults();
    h.params = {r};
    h.lr = 0.01;
    opt.add_param_group(h);
    REQUIRE(opt.param_groups().size() == 4);
    fake_grad(p, 1), fake_grad(q, 1), fake_grad(r, 1);
    opt.step();  // every parameter gets its own buffer on its first step
    for (const Tensor<float>* t : {&p, &q, &r}) {
        REQUIRE(opt.momentum_buffer(*t) != nullptr);
        CHECK(Shape(opt.momentum_buffer(*t)->shape().begin(), opt.momentum_buffer(*t)->shape().end()) == t->shape());
    }
    CHECK(opt.momentum_buffer(leaf({1})) == nullptr);  // not a parameter: no state
    // the optimizer's own checks at step time name the group: here a NaN lr written into group 3
    opt.param_groups()[3].lr = kNaN;
    EXPECT_ERROR(ValueError, Contains("SGD::step: param_groups[3]: Invalid learning rate: nan"), opt.step());
}

// =============================================================================================
// 6. data: DataLoader, hashed features
// =============================================================================================

TEST_CASE("bad input: DataLoader shapes, batch sizes and batch indices", "[bad_input]") {
    const xt::xarray<float> x = xt::zeros<float>({4, 2});
    const xt::xarray<std::int64_t> y = {0, 1, 0, 1};
    const xt::xarray<float> scalar = xt::xarray<float>::from_shape({});
    const xt::xarray<std::int64_t> scalar_y = xt::xarray<std::int64_t>::from_shape({});
    EXPECT_ERROR(ShapeError, Contains("DataLoader") && Contains("batch dimension, got a 0-d array"),
                 data::DataLoader<float>(scalar, scalar_y, 1));
    const xt::xarray<std::int64_t> y2 = xt::zeros<std::int64_t>({4, 1});
    EXPECT_ERROR(ShapeError, Contains("DataLoader") && Contains("Size mismatch") && Contains("inputs [4, 2], targets [4, 1]"),
                 data::DataLoader<float>(x, y2, 1));
    const xt::xarray<std::uint8_t> bytes = xt::zeros<std::uint8_t>({4, 2});
    EXPECT_ERROR(ValueError, Contains("DataLoader") && Contains("batch_size=0"), data::DataLoader<float, std::uint8_t>(bytes, y, 0));
    data::DataLoader<float> d(x, y, 2);
    d.begin_epoch();
    EXPECT_ERROR(IndexError, Contains("DataLoader::batch") && Contains("batch 2 out of range (2 batches)"), d.batch_indices(2));
    data::DataLoader<float> dropped(x, y, 5, false, 0, /*drop_last=*/true);  // no full batch at all
    CHECK(dropped.num_batches() == 0);
    xt::xarray<float> xb;
    xt::xarray<std::int64_t> yb;
    EXPECT_ERROR(IndexError, Contains("batch 0 out of range (0 batches)"), dropped.batch(0, xb, yb));
}

TEST_CASE("bad input: hashed_features buckets out of [1, 2^63 - 1]", "[bad_input]") {
    spam_filter::Email e;
    e.body = "hello world";
    EXPECT_ERROR(ValueError, Contains("hashed_features") && Contains("buckets must be in [1, 2^63 - 1], got 9223372036854775808"),
                 spam_filter::hashed_features(e, std::size_t{1} << 63));
    EXPECT_ERROR(ValueError, Contains("got 18446744073709551615"), spam_filter::hashed_features(e, std::size_t(-1)));
    CHECK(spam_filter::hashed_features(e, (std::size_t{1} << 63) - 1).size() == 3);  // the largest allowed
}

// =============================================================================================
// 7. reports
// =============================================================================================

TEST_CASE("bad input: confusion matrix classes and report files", "[bad_input]") {
    EXPECT_ERROR(ValueError, Contains("ConfusionMatrix") && Contains("at least one class"), train::ConfusionMatrix({}));
    train::ConfusionMatrix cm({"a"});
    EXPECT_ERROR(IndexError, Contains("ConfusionMatrix::add") && Contains("target -1, predicted 0, 1 classes"), cm.add(-1, 0));
    EXPECT_ERROR(IndexError, Contains("ConfusionMatrix::add") && Contains("target 0, predicted 1"), cm.add(0, 1));
    TempDir dir;
    const train::History h{{"train_loss", {1.0}}};
    EXPECT_ERROR(IOError, Contains("write_file_atomically") && Contains("cannot create") && Contains("No such file"),
                 train::write_svg_plot(dir.file("no/such/dir/p.svg"), h, "t"));
    fs::create_directories(dir.path / "occupied" / "child");
    EXPECT_ERROR(IOError, Contains("write_file_atomically") && Contains("cannot rename") && Contains(dir.file("occupied")),
                 io::write_file_atomically(dir.file("occupied"), "x"));
    EXPECT_ERROR(IOError, Contains("write_file_atomically"), train::write_metrics_jsonl("", h));
    std::size_t left = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) left += e.path().filename() != "occupied";
    CHECK(left == 0);  // no temporary file is left behind
}

// =============================================================================================
// 8. files: IDX, text folders, npz, checkpoints
// =============================================================================================

TEST_CASE("bad input: IDX readers given wrong paths, swapped files and unreadable files", "[bad_input]") {
    TempDir dir;
    EXPECT_ERROR(IOError, Contains("read_idx") && Contains("cannot open") && Contains("No such file"), data::read_idx(""));
    EXPECT_ERROR(IOError, Contains("read_idx") && Contains("expected a regular file"), data::read_idx("/dev/null"));
    write_mnist_dir(dir.path, 4, 2, 2, label_mod10);
    const std::string images = dir.file("train-images-idx3-ubyte"), labels = dir.file("train-labels-idx1-ubyte");
    EXPECT_ERROR(IOError, Contains("load_mnist_split") && Contains(labels) && Contains("expected a 3-D (N, rows, cols) image file, found shape [4]"),
                 data::load_mnist_split(labels, images));
    EXPECT_ERROR(IOError, Contains("load_mnist_split") && Contains("expected a 1-D (N,) label file, found shape [4, 2, 2]"),
                 data::load_mnist_split_bytes(images, images));
    EXPECT_ERROR(IOError, Contains("load_mnist") && Contains("expected a directory holding the IDX files, but it is not a directory"),
                 data::load_mnist(images, true));  // a file where a folder is expected
    EXPECT_ERROR(IOError, Contains("load_mnist") && Contains(dir.file("missing")),
                 data::load_mnist_bytes(dir.file("missing"), false));
    // a FIFO named like the labels file is not taken for it
    fs::remove(labels);
    REQUIRE(::mkfifo(labels.c_str(), 0600) == 0);
    EXPECT_ERROR(IOError, Contains("expected train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz"),
                 data::load_mnist(dir.path.string(), true));
    if (::geteuid() != 0) {
        fs::permissions(images, fs::perms::none);
        EXPECT_ERROR(IOError, Contains("read_idx") && Contains(images) && Contains("Permission denied"), data::read_idx(images));
    } else {
        WARN("running as root: the unreadable-file check is skipped (root reads it anyway)");
    }
}

TEST_CASE("bad input: load_text_folders skips FIFOs with a warning and rejects a bad root", "[bad_input]") {
    TempDir dir;
    write_file(dir.path / "ham" / "a.txt", "hello");
    REQUIRE(::mkfifo((dir.path / "ham" / "b.fifo").c_str(), 0600) == 0);
    const auto c = spam_filter::load_text_folders(dir.path.string());  // must not block on the FIFO
    CHECK(c.texts.size() == 1);
    CHECK(c.skipped == 1);
    REQUIRE(c.warnings.size() == 1);
    CHECK_THAT(c.warnings[0], Contains("b.fifo") && Contains("not a regular file (a FIFO)"));
    EXPECT_ERROR(IOError, Contains("load_text_folders") && Contains("is not a directory"),
                 spam_filter::load_text_folders((dir.path / "ham" / "a.txt").string()));
    EXPECT_ERROR(IOError, Contains("has none of the class folders asked for (spam-1, spam-2)"),
                 spam_filter::load_text_folders(dir.path.string(), {{"spam-1", "spam"}, {"spam-2", "spam"}}));
}

TEST_CASE("bad input: save_npz names, dims and sizes, load_npz special files, from_npy dtypes", "[bad_input]") {
    TempDir dir;
    const std::string p = dir.file("a.npz");
    const io::NpyArray ok = io::to_npy(xt::xarray<float>({1.f, 2.f}));
    EXPECT_ERROR(IOError, Contains("save_npz") && Contains("array name of 4097 bytes: expected at most 4096"),
                 io::save_npz(p, {{std::string(4097, 'n'), ok}}));
    // (the message shows the NUL as \\0, so what() is not cut there: see the fixed bug below)
    EXPECT_ERROR(IOError, Contains("save_npz") && Contains("array name 'a"), io::save_npz(p, {{std::string("a\0b", 3), ok}}));
    EXPECT_ERROR(IOError, Contains("save_npz") && Contains("expected at most 32 dimensions, found 33"),
                 io::save_npz(p, {{"deep", io::NpyArray{"<f4", std::vector<std::size_t>(33, 1), std::vector<char>(4)}}}));
    EXPECT_ERROR(IOError, Contains("save_npz") && Contains("overflows the address space"),
                 io::save_npz(p, {{"huge", io::NpyArray{"<f8", {std::size_t{1} << 62, 4}, {}}}}));
    EXPECT_ERROR(IOError, Contains("save_npz") && Contains("unsupported dtype '<i4'"),
                 io::save_npz(p, {{"i", io::NpyArray{"<i4", {1}, std::vector<char>(4)}}}));
    CHECK_FALSE(fs::exists(p));  // every rejection came before the file system was touched
    EXPECT_ERROR(IOError, Contains("load_npz") && Contains("cannot open") && Contains("No such file"), io::load_npz(""));
    EXPECT_ERROR(IOError, Contains("load_npz") && Contains("expected a regular .npz file"), io::load_npz("/dev/null"));
    const std::string fifo = dir.file("pipe.npz");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    EXPECT_ERROR(IOError, Contains("load_npz") && Contains(fifo) && Contains("expected a regular .npz file"), io::load_npz(fifo));
    write_idx(dir.path / "labels-idx1-ubyte", {2}, {1, 2});  // another format handed to the npz reader
    EXPECT_ERROR(IOError, Contains("load_npz") && Contains("expected a zip (.npz) archive"), io::load_npz(dir.file("labels-idx1-ubyte")));
    // io::from_npy: a byte array is not floats, and a float32 array is not float64
    const io::NpyArray u8{"|u1", {4}, std::vector<char>(4)};
    EXPECT_ERROR(IOError, Contains("from_npy") && Contains("'img'") && Contains("expected dtype '<f4', found '|u1'"),
                 io::from_npy<float>(u8, "img"));
    EXPECT_ERROR(IOError, Contains("expected dtype '<f8', found '<f4'"), io::from_npy<double>(ok, "w"));
}

TEST_CASE("bad input: load_model and load_checkpoint refuse wrong dtypes, shapes and missing state", "[bad_input]") {
    TempDir dir;
    SmallRun run;
    const std::string good = dir.file("good.npz"), bad = dir.file("bad.npz");
    const Arrays arrays = run.checkpoint_arrays(good);
    const xt::xarray<float> before = run.model->parameters()[0].value();
    const xt::xarray<float> buffer_before = *run.opt->momentum_buffer(run.model->parameters()[0]);
    auto load_ck = [&](const Arrays& a) {
        io::save_npz(bad, a);
        return train::load_checkpoint(bad, *run.model, *run.opt);
    };
    const auto i64 = [](std::vector<std::int64_t> v) {
        xt::xarray<std::int64_t> a = xt::xarray<std::int64_t>::from_shape({v.size()});
        std::copy(v.begin(), v.end(), a.begin());
        return io::to_npy(a);
    };
    // dtypes: a float64 model file for a float32 model, and the reverse
    io::save_npz(bad, {{"0.weight", io::to_npy(xt::xarray<double>::from_shape({2, 3}))},
                   {"0.bias", io::to_npy(xt::xarray<double>::from_shape({2}))}});
    EXPECT_ERROR(IOError, Contains("from_npy") && Contains(bad + ":0.weight") && Contains("expected dtype '<f4', found '<f8'"),
                 train::load_model(bad, *run.model));
    nn::Sequential<double> dmodel(nn::Linear<double>(3, 2));
    EXPECT_ERROR(IOError, Contains("expected dtype '<f8', found '<f4'"), train::load_model(good, dmodel));
    // parameters: missing, mis-shaped, unexpected
    EXPECT_ERROR(IOError, Contains(bad) && Contains("missing parameter '0.bias' (expected shape [2])"),
                 load_ck(without(arrays, "0.bias")));
    EXPECT_ERROR(IOError, Contains("parameter '0.weight' has shape [3, 2] in the file, but the model expects [2, 3]"),
                 load_ck(replaced(arrays, "0.weight", io::to_npy(xt::xarray<float>::from_shape({3, 2})))));
    EXPECT_ERROR(IOError, Contains("Unexpected key(s) in state_dict: \"extra\""), load_ck([&] {
                     Arrays a = arrays;
                     a.emplace_back("extra", io::to_npy(xt::xarray<float>({1.f})));
                     return a;
                 }()));
    EXPECT_ERROR(IOError, Contains("momentum buffer of '0.weight' has shape [6], the parameter has [2, 3]"),
                 load_ck(replaced(arrays, "optimizer.momentum_buffer.0.weight", io::to_npy(xt::xarray<float>::from_shape({6})))));
    // run state: missing, wrong dtype, wrong size
    for (const char* key : {"epoch", "rng_state", "optimizer.lr", "scheduler.last_epoch", "scheduler.step_count"}) {
        INFO(key);
        EXPECT_ERROR(IOError, Contains("load_checkpoint") && Contains(bad) && Contains(std::string("missing '") + key + "'"),
                     load_ck(without(arrays, key)));
    }
    EXPECT_ERROR(IOError, Contains(bad + ":epoch") && Contains("expected dtype '<i8', found '<f8'"),
                 load_ck(replaced(arrays, "epoch", io::to_npy(xt::xarray<double>({2.0})))));
    EXPECT_ERROR(IOError, Contains("'epoch' must hold one value, found 2"), load_ck(replaced(arrays, "epoch", i64({1, 2}))));
    EXPECT_ERROR(IOError, Contains(bad + ":rng_state") && Contains("expected dtype '<u8', found '<i8'"),
                 load_ck(replaced(arrays, "rng_state", i64({1, 2, 3}))));
    EXPECT_ERROR(IOError, Contains("'optimizer.lr' has 2 values for 1 param groups"),
                 load_ck(replaced(arrays, "optimizer.lr", io::to_npy(xt::xarray<double>({0.1, 0.2})))));
    EXPECT_ERROR(IOError, Contains(bad + ":history.test_accuracy") && Contains("expected dtype '<f8', found '<f4'"),
                 load_ck(replaced(arrays, "history.test_accuracy", io::to_npy(xt::xarray<float>({0.5f})))));
    // a model file is not a checkpoint
    train::save_model(dir.file("model.npz"), *run.model);
    EXPECT_ERROR(IOError, Contains("missing 'epoch'"), train::load_checkpoint(dir.file("model.npz"), *run.model, *run.opt));
    // nothing was changed by any failed load
    CHECK((run.model->parameters()[0].value() == before));
    CHECK((*run.opt->momentum_buffer(run.model->parameters()[0]) == buffer_before));
    CHECK(run.opt->param_groups()[0].lr == 0.1);
    CHECK_NOTHROW(train::load_model(good, *run.model));  // a checkpoint holds a model
}

TEST_CASE("bad input: check_same_settings lists every setting a resumed run changed", "[bad_input]") {
    const std::map<std::string, std::string> saved{{"--schedule", "cosine"}, {"--lr", "0.1"}, {"--hidden", "128"}},
        now{{"--schedule", "step"}, {"--lr", "0.1"}, {"--nesterov", ""}};
    EXPECT_ERROR(ValueError,
                 StartsWith("--resume: ") && Contains("the checkpoint was made with --schedule cosine, this run has --schedule step") &&
                     Contains("the checkpoint was made with --hidden 128, this run has no --hidden") &&
                     Contains("the checkpoint was made without --nesterov, this run has --nesterov ''") &&
                     !Contains("--lr"),
                 train::check_same_settings(saved, now));
    CHECK_NOTHROW(train::check_same_settings(saved, saved));
    CHECK_NOTHROW(train::check_same_settings({}, now));  // a checkpoint from before settings were recorded
    // a long value (an encoder's JSON) is shown by its start and its length, not in full
    const std::string long_a = "[" + std::string(500, 'a') + "]", long_b = "[" + std::string(500, 'b') + "]";
    EXPECT_ERROR(ValueError, Contains("encoder [" + std::string(39, 'a') + "... (502 bytes)") && !Contains(std::string(41, 'a')),
                 train::check_same_settings({{"encoder", long_a}}, {{"encoder", long_b}}));
    // a settings entry of another dtype or shape in a checkpoint
    TempDir dir;
    SmallRun run;
    const std::string good = dir.file("good.npz"), bad = dir.file("bad.npz");
    Arrays arrays = run.checkpoint_arrays(good);
    arrays.emplace_back("settings.--lr", io::to_npy(xt::xarray<double>({0.1})));
    io::save_npz(bad, arrays);
    EXPECT_ERROR(IOError, Contains(bad + ":settings.--lr") && Contains("expected dtype '|u1', found '<f8'"),
                 train::load_checkpoint(bad, *run.model, *run.opt));
    arrays.back().second = io::to_npy(xt::xarray<std::uint8_t>::from_shape({2, 2}));
    io::save_npz(bad, arrays);
    EXPECT_ERROR(IOError, Contains("'settings.--lr' must be a 1-D byte array, found shape [2, 2]"),
                 train::load_checkpoint(bad, *run.model, *run.opt));
}

TEST_CASE("bad input: a second CheckpointLock on a save path, in this process or another, is an IOError",
          "[bad_input]") {
    TempDir dir;
    const std::string path = dir.file("ck.npz"), lock_file = path + ".lock";
    const std::string me = std::to_string(::getpid());
    // a child process that tries to take the lock: exit 3 when refused as "in use", 0 when it got it
    auto child_tries = [&] {
        const pid_t c = ::fork();
        if (c == 0) {
            try {
                train::CheckpointLock l(path);
                l.release();
                ::_exit(0);
            } catch (const IOError& e) {
                ::_exit(std::string(e.what()).find("is in use by another run (pid " + me + ")") != std::string::npos ? 3 : 4);
            } catch (...) {
                ::_exit(5);
            }
        }
        int status = 0;
        ::waitpid(c, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    {
        train::CheckpointLock lock(path);
        CHECK(lock.held());
        CHECK(lock.lock_path() == lock_file);
        CHECK(fs::exists(lock_file));
        EXPECT_ERROR(IOError,
                     StartsWith("CheckpointLock: save path '" + path + "' is in use by another run (pid " + me +
                                ", this process): lock file '" + lock_file + "'"),
                     train::CheckpointLock second(path));
        CHECK(child_tries() == 3);
        CHECK_NOTHROW(train::CheckpointLock(dir.file("other.npz")));  // another path: another lock
        train::CheckpointLock moved(std::move(lock));                   // moving keeps it held
        CHECK_FALSE(lock.held());
        CHECK(moved.held());
        CHECK_THROWS_AS(train::CheckpointLock{path}, IOError);
    }
    CHECK_FALSE(fs::exists(lock_file));  // released and removed
    CHECK(child_tries() == 0);
    CHECK_NOTHROW(train::CheckpointLock{path});

    // a forked child holding it: this process is refused, with the child's pid, until it lets go
    int go[2], done[2];
    REQUIRE(::pipe(go) == 0);
    REQUIRE(::pipe(done) == 0);
    const pid_t holder = ::fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {
        int code = 0;
        try {
            train::CheckpointLock l(path);
            char c = 'x';
            if (::write(go[1], &c, 1) != 1 || ::read(done[0], &c, 1) != 1) code = 1;
            l.release();
        } catch (...) {
            code = 2;
        }
        ::_exit(code);
    }
    char c = 0;
    REQUIRE(::read(go[0], &c, 1) == 1);
    EXPECT_ERROR(IOError, Contains("save path '" + path + "' is in use by another run (pid " + std::to_string(holder) + ")"),
                 train::CheckpointLock{path});
    REQUIRE(::write(done[1], &c, 1) == 1);
    int status = 0;
    REQUIRE(::waitpid(holder, &status, 0) == holder);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK_NOTHROW(train::CheckpointLock{path});

    // a holder killed by SIGKILL leaves the lock file, not the lock
    const pid_t killed = ::fork();
    REQUIRE(killed >= 0);
    if (killed == 0) {
        try {
            train::CheckpointLock l(path);
            char x = 'x';
            if (::write(go[1], &x, 1) == 1) ::pause();
        } catch (...) {
        }
        ::_exit(2);
    }
    REQUIRE(::read(go[0], &c, 1) == 1);
    CHECK_THROWS_AS(train::CheckpointLock{path}, IOError);
    ::kill(killed, SIGKILL);
    REQUIRE(::waitpid(killed, &status, 0) == killed);
    CHECK(fs::exists(lock_file));
    CHECK_NOTHROW(train::CheckpointLock{path});
    for (int fd : {go[0], go[1], done[0], done[1]}) ::close(fd);

    // exclusive under contention: holders remove the lock file on release, so a process that opened
    // the old file must not end up holding a lock next to a new one (4 processes x 300 attempts; a
    // holder creates a marker with O_EXCL, which fails if two hold the lock at once)
    const std::string marker = dir.file("held");
    std::vector<pid_t> racers;
    for (int r = 0; r < 4; ++r) {
        const pid_t c = ::fork();
        REQUIRE(c >= 0);
        if (c == 0) {
            int code = 0;
            for (int k = 0; k < 300 && code == 0; ++k) {
                try {
                    train::CheckpointLock l(path);
                    const int fd = ::open(marker.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
                    if (fd < 0) code = 1;  // someone else holds it too
                    else {
                        ::close(fd);
                        ::unlink(marker.c_str());
                    }
                    l.release();
                } catch (const IOError&) {  // in use: try again
                } catch (...) {
                    code = 2;
                }
            }
            ::_exit(code);
        }
        racers.push_back(c);
    }
    for (pid_t c : racers) {
        REQUIRE(::waitpid(c, &status, 0) == c);
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    CHECK_FALSE(fs::exists(lock_file));

    EXPECT_ERROR(IOError,
                 Contains("CheckpointLock: cannot open lock file '" + dir.file("missing/ck.npz.lock") + "'") &&
                     Contains("No such file or directory"),
                 train::CheckpointLock(dir.file("missing/ck.npz")));
}

// =============================================================================================
// 9. the example programs, in process (examples/*.hpp)
// =============================================================================================

TEST_CASE("bad input: spam filter options, corpus and --predict fail with status 2", "[bad_input][cli]") {
    TempDir dir;
    const fs::path spam = example_binary("train_spam_filter");
    write_toy_corpus(dir.path / "corpus");
    const auto defaults = tiny_spam_defaults(dir.path / "corpus");
    struct Bad {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Bad> bad{
        {{"--epochs", "0"}, "--epochs: Value 0 not in range"},
        {{"--batch-size", "0"}, "--batch-size: Value 0 not in range"},
        {{"--lr", "-0.5"}, "--lr: Value -0.5 not in range"},
        {{"--buckets", "0"}, "--buckets: Value 0 not in range"},
        {{"--resume", dir.file("missing.npz")}, "load_npz"},
        {{"--data", dir.file("no-corpus")}, "fetch the corpus with third_party/fetch-spamassassin.sh"},
    };
    for (const auto& b : bad) {
        const auto a = with_defaults(b.args, defaults);
        INFO(joined(a));
        const Run r = run_binary(spam, a, dir);
        CHECK(r.code == 2);
        CHECK_THAT(r.err, Contains(b.message));
    }
    EXPECT_ERROR(ValueError, Contains("hashed_features") && Contains("got 0"), spam_filter::featurize(toy_corpus(), 0));

    // --predict: the model file must be a spam model; a missing email is reported and counted
    const std::string model = dir.file("spam.npz");
    REQUIRE(run_binary(spam, with_defaults({"--save", model}, defaults), dir).code == 0);
    write_file(dir.path / "mail.txt", "Subject: free money\n\nfree cash offer\n");
    auto predict = [&](const std::string& model_file, const std::vector<std::string>& files,
                       const std::vector<std::string>& names) {
        std::vector<std::string> a{"--model", model_file, "--predict"};
        a.insert(a.end(), files.begin(), files.end());
        if (!names.empty()) {
            a.push_back("--classes");
            a.insert(a.end(), names.begin(), names.end());
        }
        return run_binary(spam, a, dir);
    };
    Run r = predict(dir.file("nope.npz"), {dir.file("mail.txt")}, {});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("load_npz") && Contains("nope.npz"));
    write_image_checkpoint(dir.file("image.npz"), 16, {8}, 10);
    r = predict(dir.file("image.npz"), {dir.file("mail.txt")}, {});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("predict") && Contains("does not hold a spam model (embedding.weight, fc.weight)"));
    r = predict(model, {dir.file("mail.txt")}, {"spam"});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("the model has 2 classes, but 1 class names were given"));
    r = predict(model, {dir.file("none.txt"), dir.file("mail.txt")}, {});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("cannot classify '" + dir.file("none.txt") + "': cannot open: No such file or directory"));
    CHECK_THAT(r.out, Contains(dir.file("mail.txt") + ": "));  // the others are still classified
    // what training skips, --predict refuses: binaries, empty files; and it reads at most 1 MiB
    write_file(dir.path / "binary", std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10) + std::string(5000, 'x'));
    write_file(dir.path / "empty.txt", "");
    r = predict(model, {dir.file("binary"), dir.file("empty.txt"), dir.file("mail.txt")}, {});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("cannot classify '" + dir.file("binary") + "': binary (a NUL byte in the first 8 KiB)") &&
                          Contains("cannot classify '" + dir.file("empty.txt") + "': empty file"));
    CHECK_THAT(r.out, Contains(dir.file("mail.txt") + ": ") && !Contains("binary:") && !Contains("empty.txt:"));
    {  // 3 MiB: the first 1 MiB is classified, with a warning, in bounded time and memory
        std::string big = "Subject: free money\n\n";
        while (big.size() < (std::size_t{3} << 20)) big += "free cash offer click here now ";
        write_file(dir.path / "big.txt", big);
        r = predict(model, {dir.file("big.txt")}, {});
        CHECK(r.code == 0);
        CHECK_THAT(r.err, Contains("'" + dir.file("big.txt") + "': longer than 1048576 bytes; classified by its first 1048576"));
        CHECK_THAT(r.out, Contains(dir.file("big.txt") + ": "));
    }
}

TEST_CASE("bad input: explainer arguments give status 2 and 'error: ...' naming the flag", "[bad_input]") {
    struct Bad {
        std::vector<std::string> args;
        const char* message;
    };
    const std::string big = "[[1, 2]]";
    const std::vector<Bad> bad{
        {{"--logits", big, "--target", "[0]", "--label-smoothing", "nan"}, "label_smoothing must be between 0.0 and 1.0. Got: nan"},
        {{"--logits", big, "--target", "[0]", "--label-smoothing", "abc"}, "--label-smoothing"},
        {{"--logits", big, "--target", "[0]", "--reduction", ""}, "is not a valid value for reduction"},
        {{"--logits", big, "--target", "[0]", "--weight", "[[1, 2]]"}, "weight tensor should be defined either for all 2 classes"},
        {{"--logits", big, "--target", "[0]", "--weight", "[1,"}, "--weight: malformed JSON"},
        {{"--logits", big, "--target", "[0]", "--weight", "[\"x\", 1]"}, "--weight: the entry at [0] is not a number"},
        {{"--logits", big, "--target", "[0]", "--ignore-index", "1.5"}, "--ignore-index"},
        {{"--logits", "{\"a\": 1}", "--target", "[0]"}, "--logits: the entry at [] is not a number"},
        {{"--logits", "[[1e999, 2]]", "--target", "[0]"}, "--logits: malformed JSON"},
        {{"--logits", big, "--target", "[9223372036854775808]"}, "Target 9223372036854775807 is out of bounds."},
        {{"--logits", big, "--target", "[[0.5]]"}, "--target: class indices must be integers; probability targets must have the logits' shape [1, 2]"},
        {{"--logits", big, "--target", ""}, "--logits and --target are both required"},
        {{"--logits", big, "--target", "[0]", "extra"}, "extra"},
        {{"--logits", big, "--target", "[0]", "--json", "--json"}, ""},  // a repeated flag is fine: status 0
    };
    for (const Bad& b : bad) {
        INFO(joined(b.args) << " / expected message: " << b.message);
        const Run r = explain(b.args);
        if (*b.message == '\0') {
            CHECK(r.code == 0);
            continue;
        }
        CHECK(r.code == 2);
        CHECK(r.out.empty());
        CHECK_THAT(r.err, StartsWith("error: ") && Contains(b.message));
    }
}

// =============================================================================================
// 10. the example programs as built binaries (skipped when build/examples is not there)
// =============================================================================================

TEST_CASE("bad input: train_fashion_mnist command lines exit 2 with a message, never crash", "[bad_input][cli]") {
    const fs::path exe = example_binary("train_fashion_mnist");
    if (!fs::exists(exe)) {
        WARN("SKIPPED: " << exe << " not built (TAPEGRAD_BUILD_EXAMPLES=OFF?)");
        return;
    }
    TempDir dir;
    const fs::path data = dir.path / "idx", labels200 = dir.path / "labels200", sizes = dir.path / "sizes";
    write_mnist_dir(data, 20, 4, 4, label_mod10);
    write_mnist_dir(labels200, 20, 4, 4, label_200);
    write_mnist_dir(sizes, 20, 4, 3, label_mod10);  // test images 3×3, training images 4×4
    write_image_checkpoint(dir.file("other.npz"), 16, {5}, 10);
    write_file(dir.path / "junk.npz", "junk");
    // a checkpoint that fits the model but whose generator state is garbage
    write_image_checkpoint(dir.file("rng.npz"), 16, {8}, 10);
    io::save_npz(dir.file("rng.npz"), replaced(io::load_npz(dir.file("rng.npz")), "rng_state",
                                               io::to_npy(xt::xarray<std::uint64_t>({1, 2, 3}))));
    // every run gets tiny data, one epoch and a tiny model unless the case sets them itself
    const std::vector<std::pair<std::string, std::string>> defaults{
        {"--data", data.string()}, {"--epochs", "1"}, {"--hidden", "8"}, {"--quiet", ""}};
    struct Case {
        std::vector<std::string> args;
        const char* message;
    };
    const std::vector<Case> cases{
        {{"--epochs", "0"}, "--epochs: Value 0 not in range 1 to 100000"},
        {{"--epochs", "-3"}, "--epochs: Value -3 not in range"},
        {{"--epochs", "abc"}, "--epochs"},
        {{"--epochs", "1.5"}, "--epochs"},
        {{"--epochs", "99999999999"}, "--epochs"},
        {{"--epochs"}, "--epochs"},
        {{"--batch-size", "0"}, "--batch-size: Value 0 not in range"},
        {{"--batch-size", "1e3"}, "--batch-size"},
        {{"--hidden", "a,b"}, "--hidden"},
        {{"--hidden", "-1"}, "--hidden"},
        {{"--hidden", "65537"}, "--hidden"},
        {{"--hidden", "0"}, "--hidden"},
        {{"--hidden", "8x"}, "--hidden"},
        {{"--lr", "abc"}, "--lr"},
        {{"--lr", "-1"}, "--lr: Value -1 not in range"},
        {{"--lr", "nan"}, "SGD: Invalid learning rate: nan"},
        {{"--momentum", "-1"}, "--momentum: Value -1 not in range"},
        {{"--weight-decay", "-1"}, "--weight-decay: Value -1 not in range"},
        {{"--weight-decay", "nan"}, "SGD: Invalid weight_decay value: nan"},
        {{"--schedule", "bogus"}, "--schedule: bogus not in {cosine,step,none}"},
        {{"--schedule", "step", "--step-size", "0"}, "--step-size: Value 0 not in range"},
        {{"--gamma", "x"}, "--gamma"},
        {{"--threads", "-1"}, "--threads: Value -1 not in range"},
        {{"--threads", "abc"}, "--threads"},
        {{"--stop-after", "-1"}, "--stop-after: Value -1 not in range"},
        {{"--no-normalize=maybe"}, "--no-normalize"},
        {{"--bogus"}, "--bogus"},
        {{"positional"}, "positional"},
        {{"--data", dir.file("nonexistent")}, "load_mnist"},
        {{"--data", (data / "train-images-idx3-ubyte").string()}, "expected a directory holding the IDX files, but it is not a directory"},
        {{"--data", labels200.string()}, "Target 200 is out of bounds."},
        {{"--data", sizes.string()}, "train images have 16 pixels, test images 9"},
        {{"--resume", dir.file("nonexistent.npz")}, "load_npz"},
        {{"--resume", dir.path.string()}, "expected a regular .npz file"},
        {{"--resume", dir.file("junk.npz")}, "expected a zip (.npz) archive"},
        {{"--resume", dir.file("other.npz")}, "'0.weight'"},
        {{"--resume", dir.file("rng.npz"), "--epochs", "2"}, "Generator::set_state: malformed generator state"},
        {{"--save", dir.file("no/such/dir/ck.npz")}, "CheckpointLock: cannot open lock file"},  // before any epoch
        {{"--metrics", dir.file("no/such/dir/m.jsonl")}, "write_file_atomically"},
    };
    for (const Case& c : cases) {
        const auto args = with_defaults(c.args, defaults);
        INFO(joined(args) << "\nexpected message: " << c.message);
        const Run r = run_binary(exe, args, dir);
        INFO("stdout:\n" << r.out << "stderr:\n" << r.err);
        CHECK(r.code == 2);
        CHECK_THAT(r.err, Contains(c.message));
    }
    const Run help = run_binary(exe, {"--help"}, dir);
    CHECK(help.code == 0);
    CHECK_THAT(help.out, Contains("--batch-size") && Contains("--hidden"));
}

TEST_CASE("bad input: train_spam_filter command lines exit 2 with a message, never crash", "[bad_input][cli]") {
    const fs::path exe = example_binary("train_spam_filter");
    if (!fs::exists(exe)) {
        WARN("SKIPPED: " << exe << " not built (TAPEGRAD_BUILD_EXAMPLES=OFF?)");
        return;
    }
    TempDir dir;
    const auto toy = toy_corpus(6);
    for (std::size_t i = 0; i < toy.texts.size(); ++i)
        write_file(dir.path / "corpus" / toy.class_names[std::size_t(toy.labels[i])] / (std::to_string(i) + ".txt"), toy.texts[i]);
    const std::string corpus = (dir.path / "corpus").string();
    write_file(dir.path / "junk.npz", "junk");
    write_file(dir.path / "mail.txt", "Subject: hi\n\nhello\n");
    const std::vector<std::pair<std::string, std::string>> defaults{
        {"--data", corpus}, {"--any-folders", ""}, {"--epochs", "1"}, {"--buckets", "1024"}, {"--dim", "4"}, {"--quiet", ""}};
    struct Case {
        std::vector<std::string> args;
        const char* message;
        bool spamassassin_map;  // leave out --any-folders
    };
    const std::vector<Case> cases{
        {{"--epochs", "0"}, "--epochs: Value 0 not in range", false},
        {{"--batch-size", "0"}, "--batch-size: Value 0 not in range", false},
        {{"--lr", "-1"}, "--lr: Value -1 not in range", false},
        {{"--buckets", "0"}, "--buckets: Value 0 not in range", false},
        {{"--data", dir.file("nonexistent")}, "does not exist (expected a folder holding one subfolder per class)", false},
        {{"--data", dir.file("mail.txt")}, "is not a directory", false},
        {{"--data", corpus}, "has none of the class folders asked for (easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2)", true},
        {{"--resume", dir.file("nonexistent.npz")}, "load_npz", false},
        {{"--save", dir.file("no/such/dir/m.npz")}, "CheckpointLock: cannot open lock file", false},
        {{"--predict", dir.file("mail.txt")}, "--predict needs --model FILE", false},
        {{"--predict", dir.file("mail.txt"), "--model", dir.file("nonexistent.npz")}, "load_npz", false},
        {{"--predict", dir.file("mail.txt"), "--model", dir.file("junk.npz")}, "expected a zip (.npz) archive", false},
    };
    for (const Case& c : cases) {
        auto d = defaults;
        if (c.spamassassin_map) d.erase(d.begin() + 1);
        const auto args = with_defaults(c.args, d);
        INFO(joined(args) << "\nexpected message: " << c.message);
        const Run r = run_binary(exe, args, dir);
        INFO("stdout:\n" << r.out << "stderr:\n" << r.err);
        CHECK(r.code == 2);
        CHECK_THAT(r.err, Contains(c.message));
    }
}

TEST_CASE("bad input: explain_cross_entropy command lines exit 2 with 'error: ...'", "[bad_input][cli]") {
    const fs::path exe = example_binary("explain_cross_entropy");
    if (!fs::exists(exe)) {
        WARN("SKIPPED: " << exe << " not built (TAPEGRAD_BUILD_EXAMPLES=OFF?)");
        return;
    }
    TempDir dir;
    const std::vector<std::pair<std::vector<std::string>, const char*>> cases{
        {{"--bogus"}, "--bogus"},
        {{"--logits", "[[1, 2]]", "--target", "[0]", "--label-smoothing", "abc"}, "--label-smoothing"},
        {{"--logits", "[[1, 2]]", "--target", "[5]"}, "Target 5 is out of bounds."},
        {{"--logits", "[[1, 2]]"}, "--logits and --target are both required"},
        // 2000 levels of nesting: a clean error, not a deep recursion
        {{"--logits", std::string(2000, '[') + "1" + std::string(2000, ']'), "--target", "0"}, "at most 32 dimensions"},
    };
    for (const auto& [args, message] : cases) {
        INFO(joined(args).substr(0, 200) << " / expected: " << message);
        const Run r = run_binary(exe, args, dir);
        CHECK(r.code == 2);
        CHECK(r.out.empty());
        CHECK_THAT(r.err, StartsWith("error: ") && Contains(message));
    }
}

// =============================================================================================
// 11. bugs found by these tests, fixed (see tests/README.md). Each asserts the behaviour that should be.
// =============================================================================================

TEST_CASE("fixed: load_model's errors are prefixed 'load_checkpoint:'", "[bad_input][fixed]") {
    TempDir dir;
    nn::Sequential<float> small(nn::Linear<float>(3, 2)), wide(nn::Linear<float>(4, 2));
    train::save_model(dir.file("m.npz"), small);
    CHECK_THAT(error_of<IOError>([&] { train::load_model(dir.file("m.npz"), wide); }), StartsWith("load_model: "));
}

TEST_CASE("fixed: save_npz's message for a name with a NUL byte is cut at the NUL", "[bad_input][fixed]") {
    TempDir dir;
    const io::NpyArray ok = io::to_npy(xt::xarray<float>({1.f}));
    CHECK_THAT(error_of<IOError>([&] { io::save_npz(dir.file("a.npz"), {{std::string("a\0b", 3), ok}}); }),
               Contains("contains a NUL byte"));
}

TEST_CASE("fixed: Generator::set_state accepts trailing garbage", "[bad_input][fixed]") {
    Generator g(1), h(2);
    CHECK_THROWS_AS(h.set_state(g.state() + " garbage"), ValueError);
}

TEST_CASE("fixed: nn::init::uniform_ accepts a > b and NaN bounds", "[bad_input][fixed]") {
    Tensor<float> w = zeros<float>({3});
    CHECK_THROWS_AS(nn::init::uniform_(w, 1.0, 0.0), ValueError);  // torch: "from=1 > to=0"
    CHECK_THROWS_AS(nn::init::uniform_(w, kNaN, 1.0), ValueError);
}

TEST_CASE("fixed: embedding_bag accepts per_sample_weights of another shape with as many elements",
          "[bad_input][fixed]") {
    const Tensor<float> w = zeros<float>({5, 2});
    CHECK_THROWS_AS(embedding_bag(xt::xarray<std::int64_t>({{0, 1, 2}, {3, 4, 0}}), w, std::nullopt, EmbeddingBagMode::Sum, false,
                                  ones<float>({3, 2})),
                    ShapeError);
}

TEST_CASE("fixed: load_checkpoint accepts a negative epoch and scheduler counters", "[bad_input][fixed]") {
    TempDir dir;
    SmallRun run;
    train::TrainState st;
    st.epoch = -5;
    st.rng_state = Generator(1).state();
    st.scheduler_last_epoch = -7;
    st.scheduler_step_count = -3;
    train::save_checkpoint(dir.file("neg.npz"), *run.model, *run.opt, st);
    CHECK_THROWS_AS(train::load_checkpoint(dir.file("neg.npz"), *run.model, *run.opt), IOError);
}

TEST_CASE("fixed: save_checkpoint writes an unusable file for a malformed rng_state", "[bad_input][fixed]") {
    TempDir dir;
    SmallRun run;
    train::TrainState st;
    st.rng_state = "garbage";  // stored as an empty uint64 array; the resume then fails in set_state
    CHECK_THROWS_AS(train::save_checkpoint(dir.file("ck.npz"), *run.model, *run.opt, st), ValueError);
}

TEST_CASE("fixed: spam predict on a directory throws std::ios_base::failure", "[bad_input][fixed]") {
    TempDir dir;
    write_toy_corpus(dir.path / "corpus");
    const std::string model = dir.file("spam.npz");
    REQUIRE(run_binary(example_binary("train_spam_filter"),
                       with_defaults({"--save", model}, tiny_spam_defaults(dir.path / "corpus")), dir).code == 0);
    int rc = -1;
    std::ostringstream pout, perr;
    try {  // in process, so that an escaping exception is seen as such
        rc = spam_filter::predict(model, {dir.path.string()}, {"ham", "spam"}, pout, perr);
    } catch (const std::exception& e) {
        FAIL_CHECK("escaped predict(): " << demangled(typeid(e).name()) << ": " << e.what());
    }
    CHECK(rc == 2);
    CHECK_THAT(perr.str(), Contains("cannot classify") && Contains("not a regular file (a directory)"));
}

TEST_CASE("fixed: the spam filter trains on an empty corpus and reports success", "[bad_input][fixed]") {
    TempDir dir;
    write_file(dir.path / "corpus" / "ham" / "a.txt", "");  // skipped: empty
    write_file(dir.path / "corpus" / "spam" / "b.txt", std::string("\0\0binary", 8));  // skipped: binary
    const Run r = run_binary(example_binary("train_spam_filter"), with_defaults({}, tiny_spam_defaults(dir.path / "corpus")), dir);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("no training documents") && Contains("2 skipped"));
}

TEST_CASE("fixed: read_idx blocks forever on a FIFO", "[bad_input][fixed]") {
    TempDir dir;
    const std::string fifo = dir.file("fifo-idx1-ubyte");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::atomic<bool> done{false};
    std::string message;
    std::thread reader([&] {
        try {
            data::read_idx(fifo);
        } catch (const std::exception& e) {
            message = e.what();
        }
        done = true;
    });
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!done && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const bool returned_alone = done;
    if (!done) {  // unblock the reader's open() by opening the other end, then let it finish
        const int fd = ::open(fifo.c_str(), O_WRONLY);
        if (fd >= 0) ::close(fd);
    }
    reader.join();
    CHECK(returned_alone);
    CHECK_THAT(message, Contains("read_idx") && Contains("expected a regular file"));
}

TEST_CASE("fixed: example command lines that crash or are silently accepted", "[bad_input][fixed][cli]") {
    TempDir dir;
    const fs::path fashion = example_binary("train_fashion_mnist"), spam = example_binary("train_spam_filter"),
                   explainer = example_binary("explain_cross_entropy");
    if (!fs::exists(fashion) || !fs::exists(spam) || !fs::exists(explainer)) {
        WARN("SKIPPED: the example binaries are not built");
        return;
    }
    write_mnist_dir(dir.path / "idx", 20, 4, 4, label_mod10);
    write_toy_corpus(dir.path / "corpus", 6);
    // a spam model for --predict
    REQUIRE(run_binary(spam, with_defaults({"--save", dir.file("spam.npz")}, tiny_spam_defaults(dir.path / "corpus")), dir)
                .code == 0);
    const std::vector<std::pair<std::string, std::string>> fashion_defaults{
        {"--data", (dir.path / "idx").string()}, {"--epochs", "1"}, {"--hidden", "8"}, {"--quiet", ""}};
    const std::vector<std::pair<std::string, std::string>> spam_defaults{
        {"--data", (dir.path / "corpus").string()}, {"--any-folders", ""}, {"--epochs", "1"},
        {"--buckets", "1024"}, {"--dim", "4"}, {"--quiet", ""}};
    const std::vector<std::pair<fs::path, std::vector<std::string>>> cases{
        // std::stoul wraps "-1"; the allocation's std::bad_array_new_length / std::bad_alloc is not
        // a tapegrad::Error, so train() does not catch it: abort (status 134)
        {fashion, with_defaults({"--hidden", "-1"}, fashion_defaults)},
        {fashion, with_defaults({"--hidden", "99999999999999"}, fashion_defaults)},
        // CLI11 reads "-1" into a size_t as 2^64 - 1: training runs with "batch 18446744073709551615"
        {fashion, with_defaults({"--batch-size", "-1"}, fashion_defaults)},
        {spam, with_defaults({"--batch-size", "-1"}, spam_defaults)},
        // CLI11_PARSE returns CLI11's own exit codes (104, 109, 114, ...) instead of 2
        {spam, with_defaults({"--epochs", "x"}, spam_defaults)},
        {spam, with_defaults({"--bogus"}, spam_defaults)},
        {spam, with_defaults({"--predict"}, spam_defaults)},
        // huge or wrapped sizes: uncaught std::bad_alloc / std::bad_array_new_length, abort (the
        // sizes exceed the 47-bit address space, so no allocation succeeds even with overcommit)
        {spam, with_defaults({"--dim", "-1"}, spam_defaults)},
        {spam, with_defaults({"--dim", "1099511627776"}, spam_defaults)},
        {spam, with_defaults({"--buckets", "70368744177664"}, spam_defaults)},
        // silently accepted, unlike train_fashion_mnist
        {spam, with_defaults({"--threads", "-1"}, spam_defaults)},
        {spam, with_defaults({"--stop-after", "-1"}, spam_defaults)},
        {spam, with_defaults({"--dim", "0"}, spam_defaults)},
        // a directory given to --predict: uncaught std::ios_base::failure, abort
        {spam, {"--model", dir.file("spam.npz"), "--predict", dir.path.string()}},
        // 30000 levels of nesting (60 KB): explain_ce::walk recurses once per level, SIGSEGV
        {explainer, {"--logits", std::string(30000, '[') + "1" + std::string(30000, ']'), "--target", "0"}},
    };
    for (const auto& [exe, args] : cases) {
        INFO(exe.filename().string() << " " << joined(args).substr(0, 200));
        const Run r = run_binary(exe, args, dir);
        INFO("stderr: " << r.err.substr(0, 500));
        CHECK(r.code == 2);
    }
}

// These were undefined behaviour or a huge allocation in this process before the fix.
TEST_CASE("fixed: shapes whose element count overflows size_t are accepted", "[bad_input][fixed]") {
    CHECK_THROWS_AS(zeros<float>({std::size_t{1} << 32, std::size_t{1} << 32}), Error);  // numel() == 0
    CHECK_THROWS_AS(reshape(zeros<float>({4}), {(std::ptrdiff_t{1} << 62) + 1, 4}), ShapeError);
}

TEST_CASE("fixed: arange with a NaN step or an unrepresentable length", "[bad_input][fixed]") {
    CHECK_THROWS_AS(arange<double>(0.0, 1.0, kNaN), ValueError);   // NaN cast to size_t
    CHECK_THROWS_AS(arange<double>(0.0, 1e30, 1.0), ValueError);   // 1e30 cast to size_t
    CHECK_THROWS_AS(arange<double>(0.0, 1e18, 1.0), ValueError);   // std::bad_alloc
}

TEST_CASE("fixed: ConfusionMatrix accessors read out of bounds", "[bad_input][fixed]") {
    train::ConfusionMatrix cm({"a", "b"});
    CHECK_THROWS_AS(cm.class_accuracy(5), IndexError);
    CHECK_THROWS_AS(cm.precision(5), IndexError);
    CHECK_THROWS_AS(cm.count(5, 0), IndexError);
}

TEST_CASE("fixed: gradcheck indexes past a shorter output list", "[bad_input][fixed]") {
    using Vec = std::vector<Tensor<double>>;
    // two outputs at x = 1, one at x = 1 - eps: the central difference reads minus[1]
    auto f = [](const Vec& v) {
        return v[0].value()(0) >= 1.0 ? Vec{v[0] * 1.0, v[0] * 2.0} : Vec{v[0] * 1.0};
    };
    CHECK_THROWS_AS(autograd::gradcheck(f, Vec{Tensor<double>({1.0}, true)}, 1e-3), ShapeError);
}

// ---- optimizer state vs parameters (issue "Autograd safety and numerics: misuse raises, never corrupts")

TEST_CASE("fixed: SGD steps past a momentum buffer when the parameter's shape changed", "[bad_input][fixed]") {
    Tensor<float> a = leaf({1, 2}), b = leaf({1, 2, 3});
    optim::SGD<float> opt({a, b}, 0.1, 0.9);
    fake_grad(a, 1);
    fake_grad(b, 1);
    opt.step();  // momentum buffers of shapes [2] and [3]
    set_value_and_grad(b, xt::zeros<float>({4, 3}), xt::ones<float>({4, 3}));
    fake_grad(a, 1);
    const xt::xarray<float> a_before = a.value();
    CHECK_THAT(error_of<ShapeError>([&] { opt.step(); }),
               Contains("SGD::step") && Contains("param_groups[0] parameter 1") && Contains("[4, 3]") &&
                   Contains("momentum_buffer has shape [3]"));
    CHECK((a.value() == a_before));  // refused before any parameter was touched
}

TEST_CASE("fixed: SGD reads a gradient of another shape than its parameter past its end", "[bad_input][fixed]") {
    Tensor<float> w = leaf({1, 2});
    optim::SGD<float> opt({w}, 0.1);
    w.accumulate_grad(xt::ones<float>({2}));
    w.mutable_value() = xt::zeros<float>({1000});  // the gradient still has 2 elements
    CHECK_THAT(error_of<ShapeError>([&] { opt.step(); }),
               Contains("SGD::step") && Contains("param_groups[0] parameter 0 has shape [1000]") &&
                   Contains("gradient has shape [2]"));
    // a row-sparse gradient whose rows are no longer in the table
    Tensor<float> table = zeros<float>({5, 2}, true);
    optim::SGD<float> opt2({table}, 0.1, 0.9);
    accumulate_sparse_grad(table, {4}, xt::xarray<float>(xt::ones<float>({1, 2})));
    table.mutable_value() = xt::zeros<float>({2, 2});
    CHECK_THAT(error_of<ShapeError>([&] { opt2.step(); }),
               Contains("SGD::step") && Contains("parameter 0 has shape [2, 2]") && Contains("row 4"));
    table.zero_grad(true);  // rows of 3 values for a table whose rows now hold 2
    table.mutable_value() = xt::zeros<float>({2, 3});
    accumulate_sparse_grad(table, {1}, xt::xarray<float>(xt::ones<float>({1, 3})));
    table.mutable_value() = xt::zeros<float>({2, 2});
    CHECK_THAT(error_of<ShapeError>([&] { opt2.step(); }),
               Contains("SGD::step") && Contains("parameter 0 has shape [2, 2]") && Contains("[1, 3]"));
}

TEST_CASE("fixed: SGD keeps momentum by position, so appended, regrouped or reordered parameters get another's buffer",
          "[bad_input][fixed]") {
    // Reference: each parameter alone in its own optimizer with the same hyper-parameters, stepped
    // as often as it had a gradient (torch's state is per parameter, made on its first step).
    SECTION("a parameter appended to a group after construction gets state lazily") {
        Tensor<float> a = leaf({1, -2}), b = leaf({3, 4, 5});
        Tensor<float> ra = leaf({1, -2}), rb = leaf({3, 4, 5});
        optim::SGD<float> opt({a}, 0.1, 0.9), refa({ra}, 0.1, 0.9), refb({rb}, 0.1, 0.9);
        fake_grad(a, 1), fake_grad(ra, 1);
        opt.step(), refa.step();
        opt.param_groups()[0].params.push_back(b);
        for (int k = 0; k < 3; ++k) {
            fake_grad(a, k), fake_grad(b, k), fake_grad(ra, k), fake_grad(rb, k);
            REQUIRE_NOTHROW(opt.step());
            refa.step(), refb.step();
        }
        CHECK((a.value() == ra.value()));
        CHECK((b.value() == rb.value()));
    }
    SECTION("a group appended through param_groups() has its own state") {
        Tensor<float> a = leaf({1, -2}), c = leaf({7, 8});  // same shape: the old code shared a's buffer
        Tensor<float> ra = leaf({1, -2}), rc = leaf({7, 8});
        optim::SGD<float> opt({a}, 0.1, 0.9), refa({ra}, 0.1, 0.9), refc({rc}, 0.05, 0.5);
        optim::ParamGroup<float> g = opt.param_groups()[0];
        g.params = {c};
        g.lr = 0.05;
        g.momentum = 0.5;
        opt.param_groups().push_back(g);
        for (int k = 0; k < 3; ++k) {
            fake_grad(a, k), fake_grad(c, k), fake_grad(ra, k), fake_grad(rc, k);
            REQUIRE_NOTHROW(opt.step());
            refa.step(), refc.step();
        }
        CHECK((a.value() == ra.value()));
        CHECK((c.value() == rc.value()));
    }
    SECTION("reordering a group's parameters keeps each one's buffer") {
        Tensor<float> a = leaf({1, -2}), b = leaf({3, 4, 5});
        Tensor<float> ra = leaf({1, -2}), rb = leaf({3, 4, 5});
        optim::SGD<float> opt({a, b}, 0.1, 0.9), ref({ra, rb}, 0.1, 0.9);
        for (int k = 0; k < 3; ++k) {
            if (k == 1) std::swap(opt.param_groups()[0].params[0], opt.param_groups()[0].params[1]);
            fake_grad(a, k), fake_grad(b, k), fake_grad(ra, k), fake_grad(rb, k);
            REQUIRE_NOTHROW(opt.step());
            ref.step();
        }
        CHECK((a.value() == ra.value()));
        CHECK((b.value() == rb.value()));
    }
}

TEST_CASE("fixed: SGD steps a parameter listed twice twice", "[bad_input][fixed]") {
    Tensor<float> p = leaf({1, 2}), q = leaf({3});
    // torch 1.13 warns "optimizer contains a parameter group with duplicate parameters; in future,
    // this will cause an error"; tapegrad makes it the error now
    CHECK_THAT(error_of<ValueError>([&] { optim::SGD<float>({p, q, p}, 0.1); }),
               Contains("SGD") && Contains("optimizer contains a parameter group with duplicate parameters") &&
                   Contains("parameter 2 is parameter 0"));
    optim::SGD<float> opt({p}, 0.1);
    fake_grad(p, 1);
    const xt::xarray<float> before = p.value();
    opt.param_groups()[0].params.push_back(p);  // the same parameter again, in the same group
    CHECK_THAT(error_of<ValueError>([&] { opt.step(); }),
               Contains("SGD::step") && Contains("duplicate parameters") && Contains("param_groups[0] parameter 1"));
    opt.param_groups()[0].params.pop_back();
    optim::ParamGroup<float> again = opt.param_groups()[0];  // the same parameter in a second group
    opt.param_groups().push_back(again);
    CHECK_THAT(error_of<ValueError>([&] { opt.step(); }),
               Contains("SGD::step") && Contains("some parameters appear in more than one parameter group") &&
                   Contains("param_groups[1] parameter 0 is param_groups[0] parameter 0"));
    CHECK((p.value() == before));
}

TEST_CASE("fixed: a NaN or negative learning rate written after construction is used by SGD::step", "[bad_input][fixed]") {
    Tensor<float> p = leaf({1, 2});
    optim::SGD<float> opt({p}, 0.1, 0.9);
    fake_grad(p, 1);
    const xt::xarray<float> before = p.value();
    for (double lr : {kNaN, -0.1, std::numeric_limits<double>::infinity()}) {
        INFO(lr);
        opt.param_groups()[0].lr = lr;
        CHECK_THAT(error_of<ValueError>([&] { opt.step(); }),
                   Contains("SGD::step") && Contains("param_groups[0]") && Contains("Invalid learning rate"));
    }
    opt.param_groups()[0].lr = 0.1;
    opt.param_groups()[0].momentum = kNaN;
    CHECK_THAT(error_of<ValueError>([&] { opt.step(); }), Contains("SGD::step") && Contains("Invalid momentum value: nan"));
    opt.param_groups()[0].momentum = 0.9;
    opt.param_groups()[0].weight_decay = -1;
    CHECK_THAT(error_of<ValueError>([&] { opt.step(); }), Contains("SGD::step") && Contains("Invalid weight_decay value: -1"));
    opt.param_groups()[0].weight_decay = 0;
    opt.param_groups()[0].dampening = kNaN;
    CHECK_THAT(error_of<ValueError>([&] { opt.step(); }), Contains("SGD::step") && Contains("Invalid dampening value: nan"));
    CHECK((p.value() == before));
}

TEST_CASE("fixed: schedulers accept a NaN or negative gamma or eta_min and drive the lr to NaN or below 0",
          "[bad_input][fixed]") {
    using namespace optim::lr_scheduler;
    const double inf = std::numeric_limits<double>::infinity();
    Tensor<float> p = leaf({1, 2});
    optim::SGD<float> opt({p}, 0.1);
    for (double gamma : {kNaN, -0.5, inf, -inf}) {
        INFO(gamma);
        CHECK_THAT(error_of<ValueError>([&] { StepLR<float>(opt, 1, gamma); }), Contains("StepLR") && Contains("gamma"));
    }
    for (double eta_min : {kNaN, -0.01, inf}) {
        INFO(eta_min);
        CHECK_THAT(error_of<ValueError>([&] { CosineAnnealingLR<float>(opt, 10, eta_min); }),
                   Contains("CosineAnnealingLR") && Contains("eta_min"));
    }
    CHECK(opt.param_groups()[0].lr == 0.1);
    StepLR<float> s(opt, 1, 0.5);
    CHECK_THAT(error_of<ValueError>([&] { s.load_state(0, 1, {kNaN}); }), Contains("StepLR::load_state") && Contains("nan"));
    CHECK_THAT(error_of<ValueError>([&] { s.load_state(0, 1, {-0.1}); }), Contains("StepLR::load_state") && Contains("-0.1"));
    CHECK_THAT(error_of<ValueError>([&] { s.load_state(-2, 1, {0.1}); }), Contains("StepLR::load_state") && Contains("last_epoch"));
    CHECK_THAT(error_of<ValueError>([&] { s.load_state(0, -1, {0.1}); }), Contains("StepLR::load_state") && Contains("step_count"));
    CHECK(opt.param_groups()[0].lr == 0.1);
}

TEST_CASE("fixed: a scheduler steps a param group added after it was made with another group's base lr",
          "[bad_input][fixed]") {
    using namespace optim::lr_scheduler;
    Tensor<float> p = leaf({1, 2}), q = leaf({3});
    optim::SGD<float> opt({p}, 0.1);
    CosineAnnealingLR<float> s(opt, 10);
    optim::ParamGroup<float> g = opt.param_groups()[0];
    g.params = {q};
    opt.param_groups().push_back(g);  // base_lrs has one entry: the old code read past it
    CHECK_THAT(error_of<ValueError>([&] { s.step(); }),
               Contains("CosineAnnealingLR::step") && Contains("2 param groups") && Contains("made for 1"));
}

TEST_CASE("fixed: libzip's temporary files (FILE.tmp.<pid>.XXXXXX) of killed saves are never removed",
          "[bad_input][fixed]") {
    TempDir dir;
    const std::string path = dir.file("ck.npz");
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) ::_exit(0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);  // reaped: its pid is dead now
    const std::string dead = path + ".tmp." + std::to_string(child), live = path + ".tmp." + std::to_string(::getppid());
    for (const std::string& f : {dead, dead + ".a1B2c3", dead + ".ZZzz99", live, live + ".a1B2c3", dead + ".notes.txt",
                                 dead + ".abc"})
        write_file(f, "partial");
    io::save_npz(path, {{"x", io::to_npy(xt::xarray<float>({1.f}))}});
    CHECK_FALSE(fs::exists(dead));
    CHECK_FALSE(fs::exists(dead + ".a1B2c3"));  // libzip's mkstemp name for the dead pid's temp
    CHECK_FALSE(fs::exists(dead + ".ZZzz99"));
    CHECK(fs::exists(live));                    // a live process may still be writing these
    CHECK(fs::exists(live + ".a1B2c3"));
    CHECK(fs::exists(dead + ".notes.txt"));     // not a name libzip makes: not ours to remove
    CHECK(fs::exists(dead + ".abc"));
    // the text writer shares the cleanup
    write_file(dead + ".q9W8e7", "partial");
    io::write_file_atomically(path + ".txt", "x");  // another file: its own temps only
    CHECK(fs::exists(dead + ".q9W8e7"));
    io::write_file_atomically(path, "x");
    CHECK_FALSE(fs::exists(dead + ".q9W8e7"));
}
