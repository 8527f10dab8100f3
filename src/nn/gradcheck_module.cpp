// gradcheck_module: see tapegrad/nn/gradcheck_module.hpp.
#include "tapegrad/nn/gradcheck_module.hpp"

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <mutex>
#include <ostream>
#include <set>
#include <sstream>

#include "tapegrad/core/random.hpp"
#include "tapegrad/nn/layers.hpp"

namespace tapegrad {
namespace autograd {

std::ostream& operator<<(std::ostream& os, const ModuleGradcheckResult& r) { return os << r.table; }

namespace {

// Every Dropout generator in the tree (each once).
void dropout_generators(const nn::Module<double>& m, std::set<Generator*>& out) {
    if (auto* d = dynamic_cast<const nn::Dropout<double>*>(&m))
        if (d->generator) out.insert(d->generator.get());
    for (const auto& [name, child] : m.named_children()) dropout_generators(*child, out);
}

// The random state a forward may draw from, saved once and put back before each forward.
struct RandomState {
    std::vector<std::pair<Generator*, std::string>> saved;
    explicit RandomState(const nn::Module<double>& m) {
        std::set<Generator*> gens;
        dropout_generators(m, gens);
        gens.insert(&default_generator());
        for (Generator* g : gens) {
            std::lock_guard<std::mutex> lock(default_generator_mutex());
            saved.emplace_back(g, g->state());
        }
    }
    void restore() const {
        std::lock_guard<std::mutex> lock(default_generator_mutex());
        for (const auto& [g, s] : saved) g->set_state(s);
    }
};

std::string sci(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3e", v);
    return buf;
}

}  // namespace

template <class T>
ModuleGradcheckResult gradcheck_module(const nn::Module<T>& model, const Tensor<T>& input,
                                       const std::function<Tensor<double>(const Tensor<double>& output)>& loss,
                                       GradcheckOptions options, std::size_t fast_above) {
    if (!input.defined()) throw ValueError("gradcheck_module: the input is undefined");
    if (!loss) throw ValueError("gradcheck_module: no loss function given");
    const auto t0 = std::chrono::steady_clock::now();
    const std::shared_ptr<nn::Module<double>> copy = model.template to<double>();
    Tensor<double> x(xt::xarray<double>(xt::cast<double>(input.value())), input.requires_grad());
    std::vector<Tensor<double>> xs{x};
    std::vector<std::string> names{"input"};
    std::size_t total = input.requires_grad() ? input.numel() : 0;
    for (const auto& [name, p] : copy->named_parameters()) {
        xs.push_back(p);
        names.push_back(name);
        if (p.requires_grad()) total += p.numel();
    }
    if (total == 0)
        throw ValueError("gradcheck_module: nothing to check: no parameter of the model requires grad, nor the input");
    const RandomState random(*copy);
    GradcheckFn<double> fn = [&](const std::vector<Tensor<double>>& in) {
        random.restore();  // the same dropout masks at every evaluation
        const Tensor<double> out = copy->forward(in[0]);
        return std::vector<Tensor<double>>{loss(out)};
    };
    options.check_undefined_grad(false);
    if (total > fast_above) options.fast_mode(true);
    ModuleGradcheckResult r;
    try {
        r.detail = detail::gradcheck_in_place(fn, xs, options);
    } catch (...) {
        random.restore();
        throw;
    }
    random.restore();
    r.ok = r.detail.ok;
    r.mode = r.detail.mode;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::size_t name_w = 4, shape_w = 5, failed = 0, tensors = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        if (!xs[i].requires_grad()) continue;
        ModuleGradcheckResult::Row row;
        row.name = names[i];
        row.shape = xs[i].shape();
        row.numel = xs[i].numel();
        row.max_error = r.detail.input_max_error[i];
        row.mismatches = r.detail.input_mismatches[i];
        row.ok = row.mismatches == 0;
        failed += !row.ok;
        ++tensors;
        name_w = std::max(name_w, row.name.size());
        shape_w = std::max(shape_w, shape_str(row.shape).size());
        r.rows.push_back(std::move(row));
    }
    std::ostringstream os;
    os << "gradcheck_module: " << total << " elements in " << tensors << " tensors, " << r.mode << " mode, "
       << std::fixed << std::setprecision(2) << r.seconds << " s\n";
    os << "  " << std::left << std::setw(int(name_w)) << "name" << "  " << std::setw(int(shape_w)) << "shape"
       << "  " << std::setw(11) << "worst error" << "  result\n";
    for (const auto& row : r.rows)
        os << "  " << std::left << std::setw(int(name_w)) << row.name << "  " << std::setw(int(shape_w))
           << shape_str(row.shape) << "  " << std::setw(11) << sci(row.max_error) << "  "
           << (row.ok ? "ok" : "FAILED (" + std::to_string(row.mismatches) + " entries out of tolerance)") << "\n";
    if (r.ok)
        os << "every tensor within tolerance\n";
    else if (failed > 0)
        os << failed << " of " << tensors << " tensors FAILED; the first failure (its input "
           << r.detail.input_index << " is " << names[r.detail.input_index] << "):\n" << r.detail.report;
    else
        os << "FAILED: " << r.detail.what << " (input " << r.detail.input_index << " is " << names[r.detail.input_index]
           << ")\n" << r.detail.report;
    r.table = os.str();
    return r;
}

template ModuleGradcheckResult gradcheck_module<float>(const nn::Module<float>&, const Tensor<float>&,
                                                       const std::function<Tensor<double>(const Tensor<double>&)>&,
                                                       GradcheckOptions, std::size_t);
template ModuleGradcheckResult gradcheck_module<double>(const nn::Module<double>&, const Tensor<double>&,
                                                        const std::function<Tensor<double>(const Tensor<double>&)>&,
                                                        GradcheckOptions, std::size_t);

}  // namespace autograd
}  // namespace tapegrad
