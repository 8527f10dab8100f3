// train::CheckpointLock: flock(2) on "<save path>.lock", so two runs cannot save to one path.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "tapegrad/train/checkpoint.hpp"

namespace tapegrad {
namespace train {
namespace {

// The pid the holder wrote into the lock file, or "" when it is not (yet) there.
std::string holder_pid(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return "";
    std::string s(buf, std::size_t(n));
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return "";
    return s;
}

}  // namespace

CheckpointLock::CheckpointLock(const std::string& save_path) : lock_path_(save_path + ".lock") {
    const std::string where = "CheckpointLock: ";
    // A holder removes the file before it lets go of the lock, so a lock taken on a file that is no
    // longer at lock_path_ (unlinked, or replaced by a newer one) is not the lock: try again.
    for (int attempt = 0;; ++attempt) {
        const int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            throw IOError(where + "cannot open lock file '" + lock_path_ + "' for save path '" + save_path +
                          "': " + std::strerror(errno));
        int rc;
        do rc = ::flock(fd, LOCK_EX | LOCK_NB);
        while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            const int err = errno;
            if (err == EWOULDBLOCK) {
                const std::string pid = holder_pid(fd);
                ::close(fd);
                std::string who = pid.empty() ? "pid unknown" : "pid " + pid;
                if (pid == std::to_string(::getpid())) who += ", this process";
                throw IOError(where + "save path '" + save_path + "' is in use by another run (" + who +
                              "): lock file '" + lock_path_ + "'");
            }
            ::close(fd);
            throw IOError(where + "cannot lock '" + lock_path_ + "': " + std::strerror(err));
        }
        struct stat mine {}, there {};
        if (::fstat(fd, &mine) == 0 && ::stat(lock_path_.c_str(), &there) == 0 && mine.st_dev == there.st_dev &&
            mine.st_ino == there.st_ino) {
            fd_ = fd;
            break;
        }
        ::close(fd);
        if (attempt >= 100) throw IOError(where + "cannot lock '" + lock_path_ + "': it keeps being replaced");
    }
    owner_ = ::getpid();
    const std::string text = std::to_string(owner_) + "\n";
    if (::ftruncate(fd_, 0) == 0) {
        const ssize_t written = ::pwrite(fd_, text.data(), text.size(), 0);
        (void)written;  // the pid is for the other run's message only: a failed write does not matter
    }
}

CheckpointLock::~CheckpointLock() { release(); }

CheckpointLock::CheckpointLock(CheckpointLock&& other) noexcept
    : lock_path_(std::move(other.lock_path_)), fd_(std::exchange(other.fd_, -1)), owner_(other.owner_) {}

CheckpointLock& CheckpointLock::operator=(CheckpointLock&& other) noexcept {
    if (this != &other) {
        release();
        lock_path_ = std::move(other.lock_path_);
        fd_ = std::exchange(other.fd_, -1);
        owner_ = other.owner_;
    }
    return *this;
}

void CheckpointLock::release() noexcept {
    if (fd_ < 0) return;
    // Unlink while still holding the lock (a waiter that opened the old file then sees the inode
    // changed and retries). Only the process that took it: a fork()ed child holding a copy must not
    // remove its parent's lock file. Closing never drops the lock from under another holder of the
    // same open file (LOCK_UN would).
    if (::getpid() == owner_) ::unlink(lock_path_.c_str());
    ::close(fd_);
    fd_ = -1;
}

}  // namespace train
}  // namespace tapegrad
