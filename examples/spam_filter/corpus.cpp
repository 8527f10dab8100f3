#include "corpus.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

namespace spam_filter {
using tapegrad::IOError;
using tapegrad::ValueError;
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kBinaryProbe = 8192;  // a NUL byte in this many first bytes = binary
constexpr std::size_t kTestEvery = 5;       // index % 5 == 0 -> test set

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw IOError("load_text_folders: '" + path + "': " + what);
}

bool hidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

const char* file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "not a regular file";
}

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// The non-hidden entry names of a folder, sorted byte-wise.
std::vector<std::string> sorted_entries(const fs::path& dir, bool folders_only, const std::string& what) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) fail(dir.string(), "cannot list " + what + ": " + ec.message());
    std::vector<std::string> names;
    for (fs::directory_iterator end; it != end; it.increment(ec)) {
        if (ec) break;
        std::string name = it->path().filename().string();
        if (hidden(name)) continue;
        if (folders_only) {
            std::error_code ec2;
            if (!fs::is_directory(it->path(), ec2)) continue;  // follows symlinks
        }
        names.push_back(std::move(name));
    }
    if (ec) fail(dir.string(), "cannot list " + what + ": " + ec.message());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

bool read_document(const std::string& path, std::size_t max_bytes, std::string& out, bool& truncated,
                   std::string& why) {
    out.clear();
    truncated = false;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {  // follows symlinks: a dangling one fails here
        why = std::string("cannot open: ") + std::strerror(errno);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        why = std::string("not a regular file (") + file_kind(st.st_mode) + ")";
        return false;
    }
    Fd f;
    // O_NONBLOCK: should the entry have been swapped for a FIFO since stat, open does not hang
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f.fd < 0) {
        why = std::string("cannot open: ") + std::strerror(errno);
        return false;
    }
    if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        why = "not a regular file";
        return false;
    }
    std::size_t want = max_bytes;
    if (st.st_size >= 0 && static_cast<std::uint64_t>(st.st_size) < want) want = static_cast<std::size_t>(st.st_size);
    out.resize(want);
    std::size_t got = 0;
    for (;;) {
        if (got == out.size()) {
            if (out.size() >= max_bytes) break;  // the cap: probe below whether anything is left
            out.resize(std::min(max_bytes, std::max<std::size_t>(out.size() * 2, 4096)));  // file grew
        }
        ssize_t n = ::read(f.fd, &out[got], out.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            why = std::string("cannot read: ") + std::strerror(errno);
            out.clear();
            return false;
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    if (got == 0) {
        why = "empty file";
        return false;
    }
    if (std::memchr(out.data(), '\0', std::min(out.size(), kBinaryProbe)) != nullptr) {
        why = "binary (a NUL byte in the first 8 KiB)";
        out.clear();
        return false;
    }
    if (got == max_bytes) {
        char probe;
        ssize_t n;
        do n = ::read(f.fd, &probe, 1);
        while (n < 0 && errno == EINTR);
        truncated = n > 0;
    }
    return true;
}

TextCorpus load_text_folders(const std::string& root, const std::map<std::string, std::string>& folder_to_class,
                             std::size_t max_bytes_per_file) {
    if (max_bytes_per_file == 0)
        throw ValueError("load_text_folders: max_bytes_per_file must be positive, got 0");
    const fs::path root_path(root);
    std::error_code ec;
    const fs::file_status status = fs::status(root_path, ec);
    if (!root.empty() && ec && status.type() != fs::file_type::not_found)
        fail(root, "cannot access: " + ec.message());
    if (root.empty() || !fs::exists(status))
        fail(root, "does not exist (expected a folder holding one subfolder per class)");
    if (!fs::is_directory(status)) fail(root, "is not a directory (expected one subfolder per class)");

    const std::vector<std::string> present = sorted_entries(root_path, true, "the corpus root");
    TextCorpus corpus;

    // (folder, class) pairs to read, in sorted folder order
    std::vector<std::pair<std::string, std::string>> folders;
    if (folder_to_class.empty()) {
        for (const auto& f : present) folders.emplace_back(f, f);
        if (folders.empty()) fail(root, "has no class folders (expected one subfolder per class)");
    } else {
        const std::set<std::string> have(present.begin(), present.end());
        std::string listed;
        for (const auto& [folder, cls] : folder_to_class) {  // std::map: sorted by folder
            listed += (listed.empty() ? "" : ", ") + folder;
            if (have.count(folder) != 0)
                folders.emplace_back(folder, cls);
            else
                corpus.warnings.push_back("load_text_folders: '" + (root_path / folder).string() +
                                          "': class folder not found (class '" + cls + "')");
        }
        if (folders.empty()) fail(root, "has none of the class folders asked for (" + listed + ")");
    }

    std::set<std::string> classes;
    if (folder_to_class.empty())
        for (const auto& f : folders) classes.insert(f.second);
    else
        for (const auto& kv : folder_to_class) classes.insert(kv.second);
    corpus.class_names.assign(classes.begin(), classes.end());

    std::string text, why;
    for (const auto& [folder, cls] : folders) {
        const auto label = static_cast<std::int64_t>(
            std::lower_bound(corpus.class_names.begin(), corpus.class_names.end(), cls) -
            corpus.class_names.begin());
        const fs::path dir = root_path / folder;
        const std::vector<std::string> names = sorted_entries(dir, false, "class folder");
        for (std::size_t i = 0; i < names.size(); ++i) {
            const std::string path = (dir / names[i]).string();
            bool truncated = false;
            if (!read_document(path, max_bytes_per_file, text, truncated, why)) {
                ++corpus.skipped;
                corpus.warnings.push_back("load_text_folders: skipped '" + path + "': " + why);
                continue;
            }
            if (truncated)
                corpus.warnings.push_back("load_text_folders: '" + path + "': longer than " +
                                          std::to_string(max_bytes_per_file) + " bytes, truncated");
            corpus.texts.push_back(std::move(text));
            text = std::string();
            corpus.labels.push_back(label);
            corpus.paths.push_back(path);
            corpus.is_test.push_back(i % kTestEvery == 0);
        }
    }
    return corpus;
}

std::map<std::string, std::string> spamassassin_classes() {
    return {{"easy-ham-1", "ham"}, {"easy-ham-2", "ham"}, {"hard-ham-1", "ham"},
            {"spam-1", "spam"},    {"spam-2", "spam"}};
}

}  // namespace spam_filter
