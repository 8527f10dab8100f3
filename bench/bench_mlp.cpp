// The benchmark workload (bench/README.md) with tapegrad: Fashion-MNIST, MLP 784-256-128-10,
// cross_entropy, plain SGD lr 0.1, batch 64, seeded shuffle per epoch, 5 epochs. Prints one JSON
// object: seconds per epoch (median, min, max, all), data loading seconds, test accuracy after
// epochs 1 and last, peak RSS and RSS after the first and the last epoch.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <tapegrad/data/dataloader.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/ops/loss.hpp>
#include <tapegrad/tapegrad.hpp>
#include <tapegrad/core/threads.hpp>

using namespace tapegrad;
using clock_type = std::chrono::steady_clock;

namespace {
double rss_mb() {
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return double(resident) * double(::sysconf(_SC_PAGESIZE)) / 1048576.0;
}
double peak_rss_mb() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}
double accuracy(nn::Module<float>& model, const data::MnistBytes& test) {
    NoGradGuard ng;
    data::DataLoader<float, std::uint8_t> loader(test.images, test.labels, 1000);
    loader.begin_epoch();
    xt::xarray<float> xb;
    xt::xarray<std::int64_t> yb;
    std::size_t correct = 0;
    for (std::size_t b = 0; b < loader.num_batches(); ++b) {
        loader.batch(b, xb, yb);
        auto pred = argmax(model(Tensor<float>(xb)), 1);
        for (std::size_t i = 0; i < yb.size(); ++i) correct += pred(i) == yb(i);
    }
    return double(correct) / double(test.labels.size());
}
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tapegrad on the benchmark workload (see bench/README.md)"};
    int threads = 1, epochs = 5;
    std::size_t batch = 64;
    std::uint64_t seed = 0;
    std::string dir = "/usr/share/datasets/fashion-mnist";
    app.add_option("--threads", threads, "OpenBLAS threads")->capture_default_str();
    app.add_option("--batch-size", batch, "batch size")->capture_default_str();
    app.add_option("--epochs", epochs, "epochs")->capture_default_str();
    app.add_option("--seed", seed, "seed")->capture_default_str();
    app.add_option("--data", dir, "Fashion-MNIST folder")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        set_num_threads(threads);
        const auto t0 = clock_type::now();
        // pixels stay bytes (as torchvision keeps them); batches are converted to float32 / 255 as
        // they are gathered
        data::MnistBytes train = data::load_mnist_bytes(dir, true);
        data::MnistBytes test = data::load_mnist_bytes(dir, false);
        const double load_s = std::chrono::duration<double>(clock_type::now() - t0).count();

        Generator gen(seed);
        nn::Sequential<float> model(nn::Linear<float>(784, 256, true, gen), nn::ReLU<float>(),
                                    nn::Linear<float>(256, 128, true, gen), nn::ReLU<float>(),
                                    nn::Linear<float>(128, 10, true, gen));
        optim::SGD<float> opt(model.parameters(), 0.1);
        data::DataLoader<float, std::uint8_t> loader(std::move(train.images), std::move(train.labels), batch, true, seed + 1);  // moved in, not copied
        // the batch is gathered straight into the input tensor's storage: no copy per step
        Tensor<float> xin(xt::xarray<float>::from_shape({0}));
        xt::xarray<std::int64_t> yb;
        std::vector<double> secs;
        double acc1 = 0, acc_last = 0, rss1 = 0, rss_last = 0, last_loss = 0;
        for (int e = 1; e <= epochs; ++e) {
            const auto a = clock_type::now();
            loader.begin_epoch();
            for (std::size_t b = 0; b < loader.num_batches(); ++b) {
                loader.batch(b, xin.mutable_value(), yb);
                opt.zero_grad(true);
                Tensor<float> loss = cross_entropy(model(xin), yb);
                loss.backward();
                opt.step();
                if (b + 1 == loader.num_batches()) last_loss = loss.item();
            }
            secs.push_back(std::chrono::duration<double>(clock_type::now() - a).count());
            // evaluation is outside the timed epoch, as in the peers
            if (e == 1) acc1 = accuracy(model, test), rss1 = rss_mb();
            if (e == epochs) acc_last = accuracy(model, test), rss_last = rss_mb();
        }
        std::vector<double> sorted = secs;
        std::sort(sorted.begin(), sorted.end());
        std::printf("{\"system\": \"tapegrad\", \"threads\": %d, \"batch_size\": %zu, \"epochs\": %d, "
                    "\"median_s_per_epoch\": %.4f, \"min_s\": %.4f, \"max_s\": %.4f, \"s_per_epoch\": [",
                    threads, batch, epochs, sorted[sorted.size() / 2], sorted.front(), sorted.back());
        for (std::size_t i = 0; i < secs.size(); ++i) std::printf("%s%.4f", i ? ", " : "", secs[i]);
        std::printf("], \"load_s\": %.4f, \"accuracy_epoch1\": %.4f, \"accuracy_last\": %.4f, \"last_loss\": %.4f, "
                    "\"peak_rss_mb\": %.1f, \"rss_epoch1_mb\": %.1f, \"rss_last_mb\": %.1f}\n",
                    load_s, acc1, acc_last, last_loss, peak_rss_mb(), rss1, rss_last);
    } catch (const Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    }
    return 0;
}
