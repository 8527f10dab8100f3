#pragma once
// gradcheck_lab's experiments, as functions main() and the tests call.
//
//   step_sweep()      the error of finite-difference derivatives of one smooth function against the
//                     tape's exact derivative, for steps 1 … 1e-16: central and Richardson
//                     differences, float32 and float64
//   write_plot(...)   that sweep as a log-log SVG (the V: truncation error falling with the step,
//                     round-off error rising as it shrinks)
//   lab_main(...)     the program: the sweep as a table and a plot, then a tiny model with one
//                     wrong custom op, caught by gradcheck_module and named by check_graph
#include <ostream>
#include <string>
#include <vector>

namespace gradcheck_lab {

struct Curve {
    std::string name;            // "central, float64", ...
    std::vector<double> error;   // |numerical − exact| per step
    double best_step = 0, best_error = 0;
};

struct Sweep {
    double x = 0, exact = 0;     // the point and the derivative there (backward in float64)
    std::vector<double> steps;   // 10^0 … 10^-16, four per decade
    std::vector<Curve> curves;   // central f64, central f32, Richardson f64, Richardson f32
};

Sweep step_sweep();

// Atomic (temporary file, then rename); tapegrad::IOError when it cannot be written.
void write_plot(const Sweep& s, const std::string& path);

int lab_main(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace gradcheck_lab
