// Fused cross_entropy (one tape node) against log_softmax + nll_loss composed (two nodes),
// forward + backward, float32. Prints one JSON line per shape with median microseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <tapegrad/ops/loss.hpp>
#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;

namespace {
template <class F> double median_us(F f, int reps) {
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
        auto a = std::chrono::steady_clock::now();
        f();
        auto b = std::chrono::steady_clock::now();
        t.push_back(std::chrono::duration<double, std::micro>(b - a).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}
}  // namespace

int main() {
    struct Shape2 {
        std::size_t N, C;
        int reps;
    };
    for (Shape2 s : {Shape2{64, 10, 20001}, Shape2{4096, 1000, 41}}) {
        Generator g(0);
        Tensor<float> x = randn<float>({s.N, s.C}, g, true);
        xt::xarray<std::int64_t> t = xt::xarray<std::int64_t>::from_shape({s.N});
        for (std::size_t i = 0; i < s.N; ++i) t(i) = std::int64_t(g.randint(s.C));
        auto fused = [&] {
            x.zero_grad(true);
            cross_entropy(x, t).backward();
        };
        auto composed = [&] {
            x.zero_grad(true);
            nll_loss(log_softmax(x, 1), t).backward();
        };
        // alternate the two so drift hits both alike
        std::vector<double> f, c;
        for (int round = 0; round < 5; ++round) {
            f.push_back(median_us(fused, s.reps / 5));
            c.push_back(median_us(composed, s.reps / 5));
        }
        std::sort(f.begin(), f.end());
        std::sort(c.begin(), c.end());
        std::printf("{\"N\": %zu, \"C\": %zu, \"fused_us\": %.2f, \"composed_us\": %.2f, \"speedup\": %.2f}\n", s.N, s.C,
                    f[2], c[2], c[2] / f[2]);
    }
    return 0;
}
