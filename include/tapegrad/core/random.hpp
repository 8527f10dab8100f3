#pragma once
// Seeded random numbers. Generator's whole state can be saved and restored (checkpoints), and
// its streams are defined here, not by the standard library, so they are the same everywhere.
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace tapegrad {

class Generator {
public:
    explicit Generator(std::uint64_t seed = 5489u) { manual_seed(seed); }
    void manual_seed(std::uint64_t seed) { engine_.seed(seed); }
    std::uint64_t next() { return engine_(); }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return double(next() >> 11) * 0x1.0p-53; }
    // Standard normal (Box–Muller; two uniforms per draw, nothing cached, so state is the engine's).
    double normal();
    // Uniform integer in [0, n), unbiased (rejection). n must be > 0.
    std::uint64_t randint(std::uint64_t n);
    // The complete state as text, and back (throws ValueError on malformed text).
    std::string state() const;
    void set_state(const std::string& s);

private:
    std::mt19937_64 engine_;
};

// The process-wide default generator used when none is passed (like torch's default CPU generator).
// Thread-safety: manual_seed() and rand / randn / randint called WITHOUT a generator hold
// default_generator_mutex() while they draw, so they may be called from several threads (which
// numbers each thread gets then depends on the interleaving). Everything that takes the generator
// by reference — default_generator() itself, the default arguments of nn::Linear, init:: and
// data::random_split — does not lock: use those from one thread (or hold the mutex), or pass a
// Generator of your own per thread.
Generator& default_generator();
std::mutex& default_generator_mutex();
// torch.manual_seed: reseeds the default generator.
void manual_seed(std::uint64_t seed);

}  // namespace tapegrad
