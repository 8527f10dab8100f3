// Memory readings every benchmark program prints (bench/README.md): resident set now, and its peak.
// Plain POSIX, so the peers, which never link tapegrad, include it too.
#pragma once
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

namespace bench {
inline double rss_mb() {
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return double(resident) * double(::sysconf(_SC_PAGESIZE)) / 1048576.0;
}
inline double peak_rss_mb() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}
}  // namespace bench
