#pragma once
// gradcheck_module: checks every parameter of a model (and its input, when that requires grad)
// the way autograd::gradcheck checks a function — on a float64 copy of the model, so a float32
// model is checked too, without rewriting it. (In the nn layer, since it needs nn::Module; the
// namespace is autograd's, as torch.autograd.gradcheck's.)
//
//   auto r = autograd::gradcheck_module(model, x, [&](const Tensor<double>& out) {
//       return cross_entropy(out, labels);
//   });
//   std::cout << r.table;          // one row per parameter: name, shape, worst error, pass/fail
//   if (!r) std::cout << r.detail; // the first failure in gradcheck's words
//
// The copy keeps the model's train/eval mode. Dropout draws the same masks at every evaluation
// (its generators' and the default generator's states are restored before each forward, and
// left as they were at the end), so a training-mode model is a deterministic function. Above
// fast_above checked elements (parameters plus input) fast mode is used, which falls back to the
// full Jacobian when it fails. check_undefined_grad does not apply (parameters cannot be taken
// out of a model) and is off.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/autograd/gradcheck.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad {
namespace autograd {

struct ModuleGradcheckResult {
    struct Row {
        std::string name;  // "input" or the parameter's dotted name
        Shape shape;
        std::size_t numel = 0;
        double max_error = 0;
        std::size_t mismatches = 0;
        bool ok = true;
    };
    bool ok = true;
    std::vector<Row> rows;
    std::string mode;          // the gradcheck mode used: "full", "fast" or "fast, then full"
    double seconds = 0;        // wall time of the check
    std::string table;         // rows as text, with a summary line
    GradcheckResult detail;    // the whole check; detail.report explains the first failure
    explicit operator bool() const { return ok; }
};
std::ostream& operator<<(std::ostream& os, const ModuleGradcheckResult& r);

template <class T>
ModuleGradcheckResult gradcheck_module(const nn::Module<T>& model, const Tensor<T>& input,
                                       const std::function<Tensor<double>(const Tensor<double>& output)>& loss,
                                       GradcheckOptions options = GradcheckOptions(), std::size_t fast_above = 20000);

}  // namespace autograd
}  // namespace tapegrad
