// Forward + backward time of the CNN's conv and pool layers (issue 13), float32, at the thread
// count given (default 1): conv 1→32 3×3 pad 1 on (64, 1, 28, 28), conv 32→64 3×3 pad 1 on
// (64, 32, 14, 14), max_pool2d 2×2 on (64, 32, 28, 28). Prints the median of `reps` runs in ms.
//     bench_conv_ops [threads] [reps]
// torch 1.13 (python, set_num_threads(1), the same shapes, x.grad and the layer's grads set to
// None each run) measured alongside on the 2-vCPU VM (busy): conv 1→32 5.6–6.3 ms, conv 32→64
// 9.5–14 ms, max_pool2d 10.3–13.5 ms. OpenBLAS 0.3.21 takes this VM's CPU for a Prescott (SSE3)
// and uses its slowest kernels unless OPENBLAS_CORETYPE=SkylakeX is set (about 2–3× faster GEMMs).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;

static double median_ms(int reps, const std::function<void()>& f) {
    f();  // warm-up (buffers, pages)
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        auto a = std::chrono::steady_clock::now();
        f();
        t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

int main(int argc, char** argv) {
    const int threads = argc > 1 ? std::atoi(argv[1]) : 1, reps = argc > 2 ? std::atoi(argv[2]) : 20;
    if (threads < 1 || reps < 1 || argc > 3) {
        std::fprintf(stderr, "usage: %s [threads >= 1] [repetitions >= 1]\n", argv[0]);
        return 2;
    }
    set_num_threads(threads);
    Generator g(0);
    auto conv = [&](std::size_t cin, std::size_t cout, std::size_t hw) {
        Tensor<float> x = rand<float>({64, cin, hw, hw}, g).requires_grad_();
        nn::Conv2d<float> m(nn::Conv2dOptions(cin, cout, 3).padding(1), g);
        Tensor<float> gout = rand<float>({64, cout, hw, hw}, g);
        return median_ms(reps, [&] {
            x.zero_grad(true);
            m.zero_grad(true);
            m(x).backward(gout);
        });
    };
    const double c1 = conv(1, 32, 28), c2 = conv(32, 64, 14);
    Tensor<float> x = rand<float>({64, 32, 28, 28}, g).requires_grad_();
    Tensor<float> gout = rand<float>({64, 32, 14, 14}, g);
    const double mp = median_ms(reps, [&] {
        x.zero_grad(true);
        max_pool2d(x, 2).backward(gout);
    });
    std::printf("threads %d, median of %d (ms, forward + backward)\n", threads, reps);
    std::printf("conv2d 1->32 3x3 pad 1, (64, 1, 28, 28)    %8.2f\n", c1);
    std::printf("conv2d 32->64 3x3 pad 1, (64, 32, 14, 14)  %8.2f\n", c2);
    std::printf("max_pool2d 2x2, (64, 32, 28, 28)           %8.2f\n", mp);
    return 0;
}
