#pragma once
// A fresh directory per test, removed afterwards, so runs (and parallel ctest jobs) never see each
// other's files.
#include <unistd.h>

#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>

namespace test_util {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::random_device rd;
        for (int attempt = 0;; ++attempt) {
            path = std::filesystem::temp_directory_path() /
                   ("tapegrad_test_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
            if (std::filesystem::create_directory(path)) break;
            if (attempt > 100) throw std::runtime_error("cannot create a temp dir under " + path.string());
        }
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace test_util
