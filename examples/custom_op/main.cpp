// Writing your own op: forward and backward side by side, then proving the backward with gradcheck.
//
// softplus(x) = log(1 + exp(x)), computed stably as max(x, 0) + log1p(exp(−|x|));
// its derivative is sigmoid(x) = 1 / (1 + exp(−x)).
#include <cmath>
#include <iostream>

#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;

// x: any shape → same shape
template <class T> Tensor<T> softplus(const Tensor<T>& x, bool wrong_backward = false) {
    xt::xarray<T> y = xt::xarray<T>::from_shape(x.value().shape());
    for (std::size_t i = 0; i < y.size(); ++i) {
        const T v = x.value().data()[i];
        y.data()[i] = std::max(v, T(0)) + std::log1p(std::exp(-std::abs(v)));
    }
    Tensor<T> out(std::move(y));
    if (needs_grad({x}))  // record only when someone needs the gradient
        record<T>(out, "softplus", {x}, [x, wrong_backward](const xt::xarray<T>& g, const xt::xarray<T>&) {
            xt::xarray<T> dx = xt::xarray<T>::from_shape(g.shape());
            for (std::size_t i = 0; i < g.size(); ++i) {
                const T s = T(1) / (T(1) + std::exp(-x.value().data()[i]));  // sigmoid(x)
                dx.data()[i] = g.data()[i] * (wrong_backward ? -s : s);    // the bug: a sign error
            }
            x.accumulate_grad(dx);
        });
    // for autograd::check_graph: how to run this forward again on float64 copies of the inputs
    // (the op itself; check_graph calls it with recording off)
    if (is_check_graph_enabled() && out.requires_grad())
        set_replay(out, [](const std::vector<Tensor<double>>& in) { return softplus(in[0]); });
    return out;
}

int main() {
    Generator gen(0);
    // autograd::gradcheck works in float64: central differences need the precision.
    Tensor<double> x = randn<double>({2, 3}, gen, /*requires_grad=*/true);
    Tensor<double> w = randn<double>({3}, gen, /*requires_grad=*/true);

    // The op inside a larger expression: broadcasting and a reused node included.
    auto f = [](const std::vector<Tensor<double>>& in) {
        Tensor<double> h = softplus(in[0] * in[1]);
        return sum(h * h);
    };
    std::cout << "softplus(x * w), summed after squaring, x " << shape_str(x.shape()) << ", w " << shape_str(w.shape())
              << "\n\n";
    autograd::GradcheckResult good = autograd::gradcheck(f, std::vector<Tensor<double>>{x, w});
    std::cout << "correct backward:\n" << good << "\n";

    auto bad = [](const std::vector<Tensor<double>>& in) { return softplus(in[0], /*wrong_backward=*/true); };
    autograd::GradcheckResult wrong = autograd::gradcheck(bad, std::vector<Tensor<double>>{x});
    std::cout << "backward with a sign error:\n" << wrong << "\n";

    // In a bigger graph, check_graph names the entry at fault: each entry's backward checked alone.
    set_check_graph(true);
    Tensor<double> deep = sum(tanh(softplus(x * w, /*wrong_backward=*/true) * w));
    set_check_graph(false);
    autograd::GraphCheckResult where = autograd::check_graph(deep);
    std::cout << "check_graph on sum(tanh(softplus(x * w) * w)) with the sign error:\n" << where << "\n";

    // The same op trains: one step of gradient descent on the input lowers the value.
    Tensor<double> loss = f({x, w});
    loss.backward();
    std::cout << "loss " << loss.item() << ", gradient w.r.t. w: " << format_array(w.grad()) << "\n";
    return good.ok && !wrong.ok && !where.ok ? 0 : 1;
}
