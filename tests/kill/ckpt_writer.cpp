// Helper process for tests/test_kill.cpp, which SIGKILLs it at random moments.
//
//   tapegrad_kill_helper save PATH BASE
//       forever, for k = BASE, BASE+1, ...: sets every parameter and momentum buffer of a fixed
//       model to k, saves it with train::save_checkpoint(PATH, ..., epoch = k), then writes "k\n" to
//       stdout (one write(2), so the line is in the pipe before the next save starts).
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "kill_common.hpp"

int main(int argc, char** argv) {
    using namespace tapegrad;
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "save" && argc == 4) {
        const std::string path = argv[2];
        const std::int64_t base = std::stoll(argv[3]);
        auto model = kill_test::make_model();
        optim::SGD<double> opt(model->parameters(), 0.1, 0.9);
        for (std::int64_t k = base;; ++k) {
            kill_test::fill(*model, opt, double(k));
            train::TrainState st;
            st.epoch = k;
            st.rng_state = Generator(std::uint64_t(k)).state();
            train::save_checkpoint(path, *model, opt, st);
            const std::string line = std::to_string(k) + "\n";
            if (::write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 3;
        }
    }
    std::cerr << "usage: tapegrad_kill_helper save PATH BASE\n";
    return 2;
}
