// gradcheck_lab's experiments (see lab.hpp): the step sweep, its plot, the wrong op caught and named.
#include "lab.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <CLI/CLI.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/tapegrad.hpp>

namespace gradcheck_lab {

using namespace tapegrad;

namespace {

// The function under study, through the library's own ops: f(x) = x·exp(tanh x).
template <class T> double f(double x) {
    NoGradGuard ng;
    Tensor<T> t(xt::xarray<T>{static_cast<T>(x)});
    return double((t * exp(tanh(t))).value()(0));
}

template <class T> double central(double x, double h) { return (f<T>(x + h) - f<T>(x - h)) / (2 * h); }
template <class T> double richardson(double x, double h) { return (4 * central<T>(x, h / 2) - central<T>(x, h)) / 3; }

}  // namespace

Sweep step_sweep() {
    Sweep s;
    s.x = 0.7;
    Tensor<double> t(xt::xarray<double>{s.x}, true);
    sum(t * exp(tanh(t))).backward();
    s.exact = t.grad()(0);
    for (int q = 0; q <= 64; ++q) s.steps.push_back(std::pow(10.0, -q / 4.0));
    auto curve = [&](const std::string& name, double (*d)(double, double)) {
        Curve c{name, {}, 0, HUGE_VAL};
        for (double h : s.steps) {
            const double e = std::abs(d(s.x, h) - s.exact);
            c.error.push_back(e);
            if (e < c.best_error) c.best_error = e, c.best_step = h;
        }
        s.curves.push_back(std::move(c));
    };
    curve("central, float64", central<double>);
    curve("central, float32", central<float>);
    curve("Richardson, float64", richardson<double>);
    curve("Richardson, float32", richardson<float>);
    return s;
}

void write_plot(const Sweep& s, const std::string& path) {
    // log10 axes: step from 1e-16 (left) to 1 (right), error from 1e-16 to 1e+1; a zero error
    // (exact by luck) is drawn at the bottom
    const double W = 720, H = 480, L = 70, R = 190, T = 40, B = 50;
    auto px = [&](double h) { return L + (std::log10(h) + 16) / 16 * (W - L - R); };
    auto py = [&](double e) {
        const double v = std::clamp(e > 0 ? std::log10(e) : -16.0, -16.0, 1.0);
        return T + (1 - v) / 17 * (H - T - B);
    };
    const char* colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
    const char* dashes[] = {"", "", "6,4", "6,4"};
    std::ostringstream o;
    o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W << ' '
      << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << L << "\" y=\"22\" font-size=\"14\">error of d/dx [x exp(tanh x)] at x = 0.7 against the step h"
      << "</text>\n";
    for (int k = -16; k <= 0; k += 2) {  // grid and ticks
        o << "<line x1=\"" << px(std::pow(10.0, k)) << "\" y1=\"" << T << "\" x2=\"" << px(std::pow(10.0, k)) << "\" y2=\""
          << H - B << "\" stroke=\"#eee\"/>\n"
          << "<text x=\"" << px(std::pow(10.0, k)) << "\" y=\"" << H - B + 16 << "\" text-anchor=\"middle\">1e" << k << "</text>\n";
    }
    for (int k = -16; k <= 0; k += 2)
        o << "<line x1=\"" << L << "\" y1=\"" << py(std::pow(10.0, k)) << "\" x2=\"" << W - R << "\" y2=\"" << py(std::pow(10.0, k))
          << "\" stroke=\"#eee\"/>\n"
          << "<text x=\"" << L - 6 << "\" y=\"" << py(std::pow(10.0, k)) + 4 << "\" text-anchor=\"end\">1e" << k << "</text>\n";
    o << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
      << "\" fill=\"none\" stroke=\"#444\"/>\n"
      << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">step h</text>\n"
      << "<text x=\"16\" y=\"" << (T + H - B) / 2 << "\" transform=\"rotate(-90 16 " << (T + H - B) / 2
      << ")\" text-anchor=\"middle\">|numerical - exact|</text>\n";
    for (std::size_t c = 0; c < s.curves.size(); ++c) {
        o << "<polyline class=\"curve\" fill=\"none\" stroke=\"" << colours[c % 4] << "\" stroke-width=\"2\""
          << (dashes[c % 4][0] ? std::string(" stroke-dasharray=\"") + dashes[c % 4] + "\"" : "") << " points=\"";
        for (std::size_t i = 0; i < s.steps.size(); ++i) o << px(s.steps[i]) << ',' << py(s.curves[c].error[i]) << ' ';
        o << "\"/>\n";
        const double ly = T + 20 + 22 * double(c);
        o << "<line x1=\"" << W - R + 12 << "\" y1=\"" << ly << "\" x2=\"" << W - R + 40 << "\" y2=\"" << ly << "\" stroke=\""
          << colours[c % 4] << "\" stroke-width=\"2\""
          << (dashes[c % 4][0] ? std::string(" stroke-dasharray=\"") + dashes[c % 4] + "\"" : "") << "/>\n"
          << "<text x=\"" << W - R + 46 << "\" y=\"" << ly + 4 << "\">" << s.curves[c].name << "</text>\n";
    }
    o << "</svg>\n";
    io::write_file_atomically(path, o.str());
}

namespace {

// A layer of one's own, y = x·w per feature, whose backward doubles element 1 of w's gradient.
class WrongScale : public nn::Module<double> {
public:
    explicit WrongScale(std::size_t n) {
        weight = register_parameter("weight", Tensor<double>(xt::xarray<double>(xt::linspace<double>(0.5, 1.5, n)), true));
    }
    Tensor<double> forward(const Tensor<double>& x) override {
        Tensor<double> out(xt::xarray<double>(x.value() * weight.value()));
        const Tensor<double> w = weight;
        if (needs_grad({x, w}))
            record<double>(out, "wrong_scale", {x, w}, [x, w](const xt::xarray<double>& g, const xt::xarray<double>&) {
                if (x.requires_grad()) x.accumulate_grad(xt::xarray<double>(g * w.value()));
                xt::xarray<double> gw = xt::sum(g * x.value(), {0});
                gw(1) *= 2;  // the mistake
                if (w.requires_grad()) w.accumulate_grad(gw);
            });
        // for check_graph: the same forward again, on float64 copies of the inputs
        if (is_check_graph_enabled() && out.requires_grad())
            set_replay(out, [](const std::vector<Tensor<double>>& in) { return mul(in[0], in[1]); });
        return out;
    }
    std::string repr() const override { return "WrongScale()"; }
    std::shared_ptr<nn::Module<double>> clone_as_double() const override {
        auto c = std::make_shared<WrongScale>(weight.numel());
        copy_own_state_to(*c);
        return c;
    }
    Tensor<double> weight;
};

}  // namespace

int lab_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
    CLI::App app{"gradcheck_lab: the error of finite differences against the step, and a wrong op caught", "gradcheck_lab"};
    std::string plot = "gradcheck_lab.svg";
    app.add_option("--plot", plot, "write the log-log plot of error against step to FILE")->capture_default_str();
    try {
        app.parse(argc, argv);
        const Sweep s = step_sweep();
        out << "1. How big a step? d/dx [x exp(tanh x)] at x = " << s.x << ", exact (the tape, float64) = " << s.exact
            << "\n   |numerical - exact| for each step h:\n\n   " << std::string(9, ' ');
        for (const Curve& c : s.curves) out << std::string(22 - c.name.size(), ' ') << c.name;
        out << "\n";
        for (std::size_t i = 0; i < s.steps.size(); i += 4) {
            char b[40];
            std::snprintf(b, sizeof b, "   h = %-8.0e", s.steps[i]);
            out << b;
            for (const Curve& c : s.curves) std::snprintf(b, sizeof b, "%22.3e", c.error[i]), out << b;
            out << "\n";
        }
        out << "\n   best step and error:\n";
        for (const Curve& c : s.curves) {
            char b[160];
            std::snprintf(b, sizeof b, "     %-20s h = %.1e   error %.1e\n", c.name.c_str(), c.best_step, c.best_error);
            out << b;
        }
        char line[1500];
        std::snprintf(line, sizeof line,
                      "\n   Large steps: the truncation error of the formula, ~h^2 (central) or ~h^4 (Richardson).\n"
                      "   Small steps: round-off, ~epsilon/h: f(x + h) and f(x - h) agree in more and more digits,\n"
                      "   and their difference keeps only the last few; in float32 x + h rounds to x below h ~ 1e-8\n"
                      "   and the estimate is 0. The bottom of the V sits near epsilon^(1/3) for central differences:\n"
                      "   predicted 6e-6 (float64) and 5e-3 (float32), measured %.1e and %.1e. There the best error is\n"
                      "   %.1e in float64 but %.1e in float32, too coarse to tell a small backward error from noise:\n"
                      "   hence gradcheck's float64 and eps = 1e-6. Richardson moves the bottom to larger steps and\n"
                      "   lower errors (%.1e at h = %.1e in float64).\n",
                      s.curves[0].best_step, s.curves[1].best_step, s.curves[0].best_error, s.curves[1].best_error,
                      s.curves[2].best_error, s.curves[2].best_step);
        out << line;
        write_plot(s, plot);
        out << "   plot: " << plot << "\n";

        out << "\n2. A model with one wrong op: a custom layer whose backward doubles one weight-gradient element.\n";
        Generator g(3);
        auto model = std::make_shared<nn::Sequential<double>>();
        model->push_back(std::make_shared<nn::Linear<double>>(3, 4, true, g));
        model->push_back(std::make_shared<nn::Tanh<double>>());
        model->push_back(std::make_shared<WrongScale>(4));
        model->push_back(std::make_shared<nn::Linear<double>>(4, 2, true, g));
        const Tensor<double> x = randn<double>({5, 3}, g);
        const xt::xarray<std::int64_t> y{0, 1, 1, 0, 1};
        const auto r = autograd::gradcheck_module(*model, x, [&](const Tensor<double>& o) { return cross_entropy(o, y); });
        out << r.table;

        out << "\n3. Which op? check_graph: with set_check_graph(true) during the forward, every tape entry keeps\n"
               "   how to re-run its own forward, and check_graph checks each entry's backward alone against\n"
               "   central differences of that forward:\n\n";
        set_check_graph(true);
        const Tensor<double> loss = cross_entropy(model->forward(x), y);
        set_check_graph(false);
        const auto c = autograd::check_graph(loss);
        out << c.report;
        return r.ok || c.ok ? 1 : 0;  // the lab expects the wrong op to be caught, and named
    } catch (const CLI::CallForHelp&) {
        out << app.help();
        return 0;
    } catch (const CLI::ParseError& e) {
        err << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        err << "error: " << e.what() << "\n";
        return 2;
    }
}

}  // namespace gradcheck_lab
