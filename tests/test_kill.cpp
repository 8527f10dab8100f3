// Crash consistency of checkpoints: a process saving checkpoints is SIGKILLed at random moments
// (tests/kill/ckpt_writer.cpp is the victim); what is on disk afterwards must always load and be
// exactly the previous or the new checkpoint, never a mix, whatever temp files the kill left. And a
// training run killed mid-way resumes from its last checkpoint to bit-identical final parameters.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <tapegrad/train/checkpoint.hpp>
#include <tapegrad/io/npz.hpp>

#include "example_programs.hpp"
#include "kill/kill_common.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace tapegrad;

namespace {

fs::path kill_scratch(const std::string& name) {
    fs::path p = fs::temp_directory_path() / ("tapegrad_test_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

// The helper as a child process with its stdout on a pipe; SIGKILLed if still running at the end.
class Child {
public:
    // program (argv[0]) and its arguments
    explicit Child(std::vector<std::string> args) {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const int rc = ::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(fds[1]);
        fd_ = fds[0];
        REQUIRE(rc == 0);
    }
    ~Child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (fd_ >= 0) ::close(fd_);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    // Reads what is there (waiting up to timeout_ms for something); false at end of output.
    bool pump(int timeout_ms) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) return true;
        char buf[4096];
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n <= 0) return false;
        out_.append(buf, static_cast<std::size_t>(n));
        return true;
    }
    // Complete lines read so far.
    std::vector<std::string> lines() const {
        std::vector<std::string> v;
        std::size_t start = 0;
        for (std::size_t nl; (nl = out_.find('\n', start)) != std::string::npos; start = nl + 1)
            v.push_back(out_.substr(start, nl - start));
        return v;
    }
    // Waits until pred(lines()) or the output ends (10 s at most); returns whether pred held.
    template <class Pred> bool wait_for(Pred pred) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!pred(lines())) {
            if (std::chrono::steady_clock::now() > deadline || !pump(100)) return pred(lines());
        }
        return true;
    }
    // SIGKILL, reap, and read everything the child wrote before it died. Returns the wait status.
    int kill_and_reap() {
        ::kill(pid_, SIGKILL);
        return reap();
    }
    int reap() {
        int status = 0;
        REQUIRE(::waitpid(pid_, &status, 0) == pid_);
        pid_ = -1;
        while (pump(1000)) {
        }
        return status;
    }

private:
    pid_t pid_ = -1;
    int fd_ = -1;
    std::string out_;
};

std::size_t count_prefixed(const std::vector<std::string>& lines, const std::string& prefix) {
    std::size_t n = 0;
    for (const auto& l : lines) n += l.rfind(prefix, 0) == 0;
    return n;
}

}  // namespace

TEST_CASE("SIGKILL during checkpoint saves: the file is always the previous or the new checkpoint", "[kill]") {
    const fs::path dir = kill_scratch("kill_save");
    const std::string path = (dir / "ck.npz").string();
    std::mt19937_64 rng(20240531);
    const int kKills = 60;
    int found_old = 0, found_new = 0, before_first_save = 0, between_saves = 0;
    std::int64_t in_file = -1;  // the k the file held after the previous round; -1: no file yet
    for (int round = 0; round < kKills; ++round) {
        INFO("round " << round);
        const std::int64_t base = std::int64_t(round + 1) * 1000000;
        // kill after 0-3 completed saves (at least 1 in the first round, when no file exists yet),
        // plus 0-3 ms: most kills land inside a save, some in the very first one of a process
        const std::size_t wait_lines = round == 0 ? 1 + rng() % 3 : rng() % 4;
        const auto delay = std::chrono::microseconds(rng() % 3000);
        Child c({TAPEGRAD_KILL_HELPER, "save", path, std::to_string(base)});
        REQUIRE(c.wait_for([&](const std::vector<std::string>& l) { return l.size() >= wait_lines; }));
        if (delay.count() > 0) ::usleep(static_cast<useconds_t>(delay.count()));
        const int status = c.kill_and_reap();
        REQUIRE(WIFSIGNALED(status));
        REQUIRE(WTERMSIG(status) == SIGKILL);
        const auto lines = c.lines();
        const bool printed = !lines.empty();
        const std::int64_t last = printed ? std::stoll(lines.back()) : in_file;
        if (printed) REQUIRE(last == base + std::int64_t(lines.size()) - 1);

        auto model = kill_test::make_model();
        optim::SGD<double> opt(model->parameters(), 0.1, 0.9);
        train::TrainState st;
        REQUIRE_NOTHROW(st = train::load_checkpoint(path, *model, opt));
        const std::int64_t k = st.epoch;
        // consistent: every parameter, every momentum buffer and the epoch come from one save
        std::size_t mismatched = 0;
        for (const auto& p : model->parameters())
            for (double v : p.value()) mismatched += v != double(k);
        for (const auto& p : model->parameters()) {
            const auto* buf = opt.momentum_buffer(p);
            REQUIRE(buf != nullptr);
            for (double v : *buf) mismatched += v != double(k);
        }
        CHECK(mismatched == 0);
        CHECK(st.rng_state == Generator(std::uint64_t(k)).state());
        // and it is the last complete save, or the one that had just completed when the kill came
        const std::int64_t next = printed ? last + 1 : base;
        INFO("last printed " << last << ", loaded " << k);
        CHECK((k == last || k == next));
        if (k == last) ++found_old;
        if (k == next) ++found_new;
        before_first_save += !printed;
        between_saves += printed;
        in_file = k;
    }
    // Every killed process leaves at most its one temp file (ck.npz.tmp.<pid>) behind; none of them
    // disturbed a load. The incomplete ones show that kills landed in the middle of writing.
    std::size_t stray = 0, incomplete = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().filename() == "ck.npz") continue;
        ++stray;
        CHECK(e.path().filename().string().rfind("ck.npz.tmp.", 0) == 0);
        try {
            io::load_npz(e.path().string());
        } catch (const IOError&) {
            ++incomplete;
        }
    }
    CHECK(stray <= std::size_t(kKills));
    std::cout << "[kill] " << kKills << " SIGKILLs during checkpoint saves (" << before_first_save
              << " before the process's first save completed): previous checkpoint found " << found_old
              << " times, new one " << found_new << " times; " << stray << " stray temp file(s) left, "
              << incomplete << " of them incomplete\n";
    fs::remove_all(dir);
}

TEST_CASE("a training run SIGKILLed mid-way resumes to bit-identical parameters", "[kill]") {
    const fs::path dir = kill_scratch("kill_resume");
    std::mt19937_64 rng(7);
    test_programs::write_synthetic_images(dir, kill_test::kTrainImages, kill_test::kTestImages, 2);
    // train_fashion_mnist saving after every epoch (one OpenBLAS thread), resuming when asked
    auto train_args = [&](const std::string& save, const std::string& resume) {
        std::vector<std::string> a{test_programs::example_binary("train_fashion_mnist").string(), "--data", dir.string(),
                                   "--epochs", std::to_string(kill_test::kEpochs), "--batch-size", "16", "--lr", "0.05",
                                   "--hidden", "32", "--classes", test_programs::kSyntheticClasses, "--quiet",
                                   "--threads", "1", "--save", save};
        if (!resume.empty()) a.insert(a.end(), {"--resume", resume});
        return a;
    };
    auto run_to_end = [](std::vector<std::string> args) {
        Child c(std::move(args));
        const int status = c.reap();
        INFO([&] {
            std::string s;
            for (const auto& l : c.lines()) s += l + "\n";
            return s;
        }());
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
    };
    const std::string straight = (dir / "straight.npz").string();
    run_to_end(train_args(straight, ""));

    auto epoch_in = [](const std::string& path) {
        for (const auto& [name, a] : io::load_npz(path))
            if (name == "epoch") return io::from_npy<std::int64_t>(a, name)();
        FAIL("no epoch in " << path);
        return std::int64_t{-1};
    };
    const int kRuns = 3;
    int kills = 0, resumes = 0;
    for (int r = 0; r < kRuns; ++r) {
        INFO("run " << r);
        const std::string ck = (dir / ("ck" + std::to_string(r) + ".npz")).string();
        // kill it up to three times, each after a random number of further epochs, then finish
        for (int attempt = 0; attempt < 3; ++attempt) {
            const bool have = fs::exists(ck);
            if (have && epoch_in(ck) == kill_test::kEpochs) break;
            if (have) ++resumes;
            Child c(train_args(ck, have ? ck : ""));
            const std::size_t epochs_first = 1 + rng() % 3;
            c.wait_for([&](const std::vector<std::string>& l) { return count_prefixed(l, "epoch") >= epochs_first; });
            ::usleep(static_cast<useconds_t>(rng() % 20000));
            const int status = c.kill_and_reap();
            kills += WIFSIGNALED(status);
        }
        if (!fs::exists(ck))
            run_to_end(train_args(ck, ""));
        else if (epoch_in(ck) < kill_test::kEpochs)
            run_to_end(train_args(ck, ck)), ++resumes;
        auto a = io::load_npz(straight), b = io::load_npz(ck);
        REQUIRE(a.size() == b.size());
        std::size_t compared = 0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (a[i].first.find("seconds") != std::string::npos) continue;  // wall-clock history differs
            INFO(a[i].first);
            CHECK(a[i].first == b[i].first);
            CHECK(a[i].second.bytes == b[i].second.bytes);  // bit-identical
            ++compared;
        }
        CHECK(compared > 10);
    }
    CHECK(kills >= kRuns);  // the test only means something if runs were really cut short
    std::cout << "[kill] training: " << kills << " SIGKILLs over " << kRuns << " runs, " << resumes
              << " resumes, final checkpoints bit-identical to the uninterrupted run\n";
    fs::remove_all(dir);
}
