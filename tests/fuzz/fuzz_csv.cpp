// libFuzzer harness: tapegrad_fuzz::csv (see fuzz_targets.hpp for what it feeds and checks).
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    tapegrad_fuzz::csv(data, size);
    return 0;
}
