// Helper process for tests/test_kill.cpp, which SIGKILLs it at random moments.
//
//   tapegrad_kill_helper save PATH BASE
//       forever, for k = BASE, BASE+1, ...: sets every parameter and momentum buffer of a fixed
//       model to k, saves it with train::save_checkpoint(PATH, ..., epoch = k), then writes "k\n" to
//       stdout (one write(2), so the line is in the pipe before the next save starts).
//   tapegrad_kill_helper train SAVE [RESUME]
//       runs examples/image_classifier.hpp's train() on small synthetic images (6 epochs, one
//       OpenBLAS thread), saving SAVE after every epoch, resuming from RESUME when given; prints
//       train()'s output ("epoch  1/6 ...") and exits with its status.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "../../examples/image_classifier.hpp"
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
    if (mode == "train" && (argc == 3 || argc == 4)) {
        image_classifier::Options o = kill_test::train_options();
        o.save = argv[2];
        if (argc == 4) o.resume = argv[3];
        return image_classifier::train(o, kill_test::synthetic_images(kill_test::kTrainImages, kill_test::kTestImages, 2),
                                       std::cout, std::cerr);
    }
    std::cerr << "usage: tapegrad_kill_helper save PATH BASE | train SAVE [RESUME]\n";
    return 2;
}
