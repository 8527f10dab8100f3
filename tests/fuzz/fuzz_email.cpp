// libFuzzer harness: tapegrad_fuzz::email (see fuzz_targets.hpp for what it feeds and checks).
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    tapegrad_fuzz::email(data, size);
    return 0;
}
