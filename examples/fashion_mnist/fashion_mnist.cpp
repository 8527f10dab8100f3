// Fashion-MNIST specifics (see fashion_mnist.hpp).
#include "fashion_mnist.hpp"
#include "training_run.hpp"

#include <xtensor/xview.hpp>

#include <chrono>
#include <cmath>
#include <iomanip>
#include <ostream>

namespace fashion_mnist {
using namespace tapegrad;

const std::vector<std::string>& class_names() {
    static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

Data load(const std::string& dir, std::ostream& out) {
    const auto t0 = std::chrono::steady_clock::now();
    Data d{data::load_mnist_bytes(dir, true), data::load_mnist_bytes(dir, false)};
    if (d.train.images.shape()[1] != d.test.images.shape()[1])
        throw ShapeError("fashion_mnist::load: train images have " + std::to_string(d.train.images.shape()[1]) +
                         " pixels, test images " + std::to_string(d.test.images.shape()[1]));
    out << "loaded " << dir << " in " << std::fixed << std::setprecision(2)
        << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << "s: train "
        << d.train.labels.size() << " images, test " << d.test.labels.size() << " images\n"
        << std::defaultfloat;
    return d;
}

std::array<float, 256> pixel_map(const data::MnistBytes& train, bool normalize, std::ostream& out) {
    std::array<float, 256> map;
    for (int b = 0; b < 256; ++b) map[b] = float(b) / 255.0f;
    if (!normalize) return map;
    // mean and std over every training pixel, accumulated in double
    double s = 0, ss = 0;
    for (std::uint8_t b : train.images) s += map[b], ss += double(map[b]) * map[b];
    const double n = double(train.images.size());
    const float mean = float(s / n);
    const float stdev = float(std::sqrt(std::max(1e-12, ss / n - (s / n) * (s / n))));
    for (auto& v : map) v = (v - mean) / stdev;
    out << "inputs normalised by mean " << mean << " std " << stdev << "\n";
    return map;
}

data::MnistBytes hold_out(data::MnistBytes& train, std::size_t n, std::ostream& out) {
    const std::size_t total = train.labels.size();
    data::MnistBytes val;
    if (n == 0) return val;
    if (n >= total)
        throw ValueError("--validation: expected fewer than the " + std::to_string(total) + " training images, got " +
                         std::to_string(n));
    const std::size_t keep = total - n, row = train.images.shape(1);
    val.images = xt::view(train.images, xt::range(keep, total), xt::all());
    val.labels = xt::view(train.labels, xt::range(keep, total));
    xt::xarray<std::uint8_t> images = xt::view(train.images, xt::range(0, keep), xt::all());
    xt::xarray<std::int64_t> labels = xt::view(train.labels, xt::range(0, keep));
    train.images = std::move(images), train.labels = std::move(labels);
    out << "validation: the last " << n << " training images are held out (" << keep << " left to train on, " << row
        << " pixels each)\n";
    return val;
}

std::size_t image_side(std::size_t n) {
    const auto side = std::size_t(std::lround(std::sqrt(double(n))));
    if (side * side != n || side < 4)
        throw ValueError("--model cnn: expected square images of at least 4x4 pixels, found " + std::to_string(n) +
                         " pixels per image");
    return side;
}

void augment(xt::xarray<float>& x, std::size_t side, std::size_t pad, float fill, Generator& gen) {
    const std::size_t n = side * side;
    if (x.dimension() != 2 || x.shape(1) != n)
        throw ShapeError("augment: expected a batch of shape (N, " + std::to_string(n) + "), got " + shape_str(Shape(x.shape().begin(), x.shape().end())));
    std::vector<float> img(n);
    for (std::size_t i = 0; i < x.shape(0); ++i) {
        float* p = x.data() + i * n;
        // offsets into the padded image: output (r, c) is padded (r + dr, c + dc), input (r + dr − pad, …)
        const auto dr = std::ptrdiff_t(gen.randint(2 * pad + 1)) - std::ptrdiff_t(pad);
        const auto dc = std::ptrdiff_t(gen.randint(2 * pad + 1)) - std::ptrdiff_t(pad);
        const bool flip = gen.uniform() < 0.5;
        std::copy(p, p + n, img.begin());
        for (std::size_t r = 0; r < side; ++r)
            for (std::size_t c = 0; c < side; ++c) {
                const std::ptrdiff_t sr = std::ptrdiff_t(r) + dr, sc = std::ptrdiff_t(c) + dc;
                const bool inside = sr >= 0 && sc >= 0 && sr < std::ptrdiff_t(side) && sc < std::ptrdiff_t(side);
                p[r * side + (flip ? side - 1 - c : c)] = inside ? img[std::size_t(sr) * side + std::size_t(sc)] : fill;
            }
    }
}

Evaluation evaluate(nn::Module<float>& model, const data::MnistBytes& split, const std::array<float, 256>& pixels,
                    train::ConfusionMatrix* cm) {
    // --distributed: every rank evaluates rank 0's model (its batch-norm statistics, sent to all) on
    // its own contiguous part of the split, and the sums are added up over the ranks
    const std::size_t ranks = std::size_t(distributed::world_size()), r = std::size_t(distributed::rank());
    const std::size_t n_all = split.labels.size(), lo = n_all * r / ranks, hi = n_all * (r + 1) / ranks;
    distributed::broadcast_buffers(model);
    model.eval();
    NoGradGuard no_grad;
    // batches of 250: the activations of 1000-image batches (100 MB for conv1's) pass glibc's 32 MB
    // mmap limit and are faulted in afresh every time — an epoch of the CNN took 72 s instead of 48 s
    data::DataLoader<float, std::uint8_t> loader(
        ranks > 1 ? xt::xarray<std::uint8_t>(xt::view(split.images, xt::range(lo, hi))) : split.images,
        ranks > 1 ? xt::xarray<std::int64_t>(xt::view(split.labels, xt::range(lo, hi))) : split.labels, 250);
    loader.set_byte_map(pixels);
    loader.begin_epoch();
    xt::xarray<float> x;
    xt::xarray<std::int64_t> y;
    double loss_sum = 0;
    std::size_t correct = 0;
    for (std::size_t b = 0; b < loader.num_batches(); ++b) {
        loader.batch(b, x, y);
        Tensor<float> logits = model(Tensor<float>(x));
        loss_sum += double(cross_entropy(logits, y, Tensor<float>(), -100, Reduction::Sum).item());
        auto pred = argmax(logits, 1);
        for (std::size_t i = 0; i < y.size(); ++i) {
            correct += pred(i) == y(i);
            if (cm) cm->add(y(i), pred(i));
        }
    }
    model.train();
    examples::sum_over_ranks(loss_sum, correct, cm);
    const double n = double(n_all);
    return {loss_sum / n, double(correct) / n};
}

}  // namespace fashion_mnist
