// Atomic file replacement: temporary file, fsync, rename, fsync of the directory.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tapegrad/io/atomic_file.hpp"

namespace tapegrad {
namespace io {
namespace {

// Removes the temp file unless the rename went through.
struct TempFileGuard {
    std::string path;
    bool armed = true;
    ~TempFileGuard() {
        if (armed) ::unlink(path.c_str());
    }
};

void fsync_path(const std::string& fn, const std::string& p, int flags, const std::string& path, const char* what) {
    int fd = ::open(p.c_str(), flags | O_CLOEXEC);
    if (fd < 0)
        throw IOError(fn + ": '" + path + "': cannot open " + what + " '" + p + "' to fsync: " + std::strerror(errno));
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    // Some filesystems cannot fsync a directory (EINVAL); the rename is still as durable as they allow.
    if (rc != 0 && !(err == EINVAL && (flags & O_DIRECTORY)))
        throw IOError(fn + ": '" + path + "': fsync of " + what + " '" + p + "' failed: " + std::strerror(err));
}

// The pid in a temporary file name of ours: "<pid>" (path.tmp.<pid>, what replace_file_atomically
// writes) or "<pid>.XXXXXX" (what libzip makes next to the archive it writes, path.tmp.<pid>, when
// save_npz closes it: mkstemp's six letters and digits, renamed to path.tmp.<pid> when complete).
// -1 for any other name.
long temp_owner(const std::string& rest) {
    const std::size_t dot = rest.find('.');
    const std::string pid_text = rest.substr(0, dot);
    if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos) return -1;
    if (dot != std::string::npos) {
        const std::string suffix = rest.substr(dot + 1);
        if (suffix.size() != 6) return -1;
        for (char c : suffix)
            if (!std::isalnum(static_cast<unsigned char>(c))) return -1;
    }
    return std::stol(pid_text);
}

// A save killed mid-write (SIGKILL, power loss) leaves path.tmp.<pid>, or libzip's
// path.tmp.<pid>.XXXXXX, behind; the next save removes those whose process no longer exists, so
// crashed runs do not pile up checkpoint-sized files. Files of live processes (another run may be
// writing them) and names of any other form are left alone.
void remove_stale_temps(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path p(path);
    const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
    const std::string prefix = p.filename().string() + ".tmp.";
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        const long pid = temp_owner(name.substr(prefix.size()));
        if (pid <= 0 || pid == long(::getpid())) continue;
        std::error_code rm;
        if (::kill(pid_t(pid), 0) != 0 && errno == ESRCH) std::filesystem::remove(it->path(), rm);
    }
}

}  // namespace

void replace_file_atomically(const std::string& fn, const std::string& path,
                             const std::function<void(const std::string& tmp)>& write) {
    remove_stale_temps(path);
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    TempFileGuard guard{tmp};
    write(tmp);
    fsync_path(fn, tmp, O_RDONLY, path, "temporary file");
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        throw IOError(fn + ": '" + path + "': cannot rename temporary file '" + tmp + "' over it: " +
                      std::strerror(errno));
    guard.armed = false;
    std::string dir = std::filesystem::path(path).parent_path().string();
    fsync_path(fn, dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY, path, "directory");
}

void write_file_atomically(const std::string& path, const std::string& text) {
    replace_file_atomically("write_file_atomically", path, [&](const std::string& tmp) {
        int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) throw IOError("write_file_atomically: cannot create '" + tmp + "': " + std::strerror(errno));
        std::size_t off = 0;
        while (off < text.size()) {
            ssize_t n = ::write(fd, text.data() + off, text.size() - off);
            if (n < 0) {
                if (errno == EINTR) continue;
                int e = errno;
                ::close(fd);
                throw IOError("write_file_atomically: writing '" + tmp + "' failed: " + std::strerror(e));
            }
            off += std::size_t(n);
        }
        if (::close(fd) != 0)
            throw IOError("write_file_atomically: closing '" + tmp + "' failed: " + std::strerror(errno));
    });
}

}  // namespace io
}  // namespace tapegrad
