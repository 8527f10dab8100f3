// gradcheck_lab: why gradcheck uses float64 and a step near 1e-6, seen on a plot, and what its
// report says about a model with one wrong op.
//
//   gradcheck_lab [--plot FILE.svg]     (default gradcheck_lab.svg)
//
// 1. step_sweep (lab.cpp): f(x) = x·exp(tanh x) at x = 0.7, differentiated by the tape (exact to
//    rounding) and by central and Richardson differences in float32 and float64, for steps from
//    1 down to 1e-16. Too large a step: the truncation error (h², h⁴) dominates; too small: the
//    round-off of f (machine epsilon / h) does. Their sum is a V, whose bottom sits near
//    epsilon^(1/3) for central differences: 6e-6 in float64, 5e-3 in float32.
// 2. A tiny model with a custom layer whose backward doubles one weight-gradient element:
//    gradcheck_module's table names the parameter, the report the element.
// 3. The same model's graph under check_graph: each tape entry's backward checked alone, and the
//    wrong op named with its place on the tape.
#include <iostream>

#include "lab.hpp"

int main(int argc, char** argv) { return gradcheck_lab::lab_main(argc, argv, std::cout, std::cerr); }
