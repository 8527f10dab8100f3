// The seconds this process has spent inside GEMM calls so far, when it runs under the gemm_time
// shim (bench/gemm_time.cpp, LD_PRELOAD; run_bench.py does it), or -1 without it. Plain POSIX, so
// the floors and the peers, which never link tapegrad, include it too.
#pragma once
#include <dlfcn.h>

#include <cstdio>
#include <string>
#include <vector>

namespace bench {
inline double gemm_seconds() {
    using Fn = double (*)();
    static const Fn f = reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, "tapegrad_bench_gemm_seconds"));
    return f ? f() : -1.0;
}

// Each epoch's seconds inside GEMM calls: start() before the epoch, stop() after it.
struct GemmClock {
    std::vector<double> per_epoch;
    double at = 0;
    void start() { at = gemm_seconds(); }
    void stop() {
        if (at >= 0) per_epoch.push_back(gemm_seconds() - at);
    }
    // `, "gemm_s_per_epoch": [...]` for the JSON line, or "" without the shim
    std::string json() const {
        if (per_epoch.empty()) return "";
        std::string s = ", \"gemm_s_per_epoch\": [";
        char buf[32];
        for (std::size_t i = 0; i < per_epoch.size(); ++i) {
            std::snprintf(buf, sizeof buf, "%s%.4f", i ? ", " : "", per_epoch[i]);
            s += buf;
        }
        return s + "]";
    }
};
}  // namespace bench
