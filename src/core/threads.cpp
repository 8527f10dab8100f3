#include <cblas.h>

#include <string>

#include "tapegrad/core/errors.hpp"
#include "tapegrad/core/threads.hpp"

namespace tapegrad {
void set_num_threads(int n) {
    if (n < 1) throw ValueError("set_num_threads: Number of threads must be positive, got " + std::to_string(n));
    openblas_set_num_threads(n);
}
int get_num_threads() { return openblas_get_num_threads(); }
}  // namespace tapegrad
