// Data-parallel training: the split of an epoch (no MPI needed), the library in one process, and
// the trainers under `mpirun -np 2` as a user starts them ([mpi]: run by ctest's mpi_programs,
// alone on the machine; the library's collectives are tested by tests/distributed/test_mpi.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <regex>

#include "example_programs.hpp"
#include "temp_dir.hpp"
#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using namespace test_programs;

TEST_CASE("distributed_split: DistributedSampler's padding and stride", "[distributed]") {
    const std::vector<std::size_t> order{9, 3, 7, 1, 0, 5, 2, 8, 4, 6};
    // 10 over 3 ranks: 4 each, padded with the order's first 2
    CHECK(data::distributed_num_samples(10, 3) == 4);
    CHECK(data::distributed_split(order, 3, 0) == std::vector<std::size_t>{9, 1, 2, 6});
    CHECK(data::distributed_split(order, 3, 1) == std::vector<std::size_t>{3, 0, 8, 9});
    CHECK(data::distributed_split(order, 3, 2) == std::vector<std::size_t>{7, 5, 4, 3});
    // drop_last: the tail cut to 9
    CHECK(data::distributed_split(order, 3, 2, true) == std::vector<std::size_t>{7, 5, 4});
    // more ranks than samples: the padding repeats the order
    CHECK(data::distributed_split({4, 2}, 5, 4) == std::vector<std::size_t>{4});
    CHECK(data::distributed_split({}, 2, 1).empty());
    // one rank: the order itself
    CHECK(data::distributed_split(order, 1, 0) == order);
    CHECK_THROWS_WITH(data::distributed_split(order, 3, 3), Contains("Invalid rank 3, rank should be in the interval [0, 2]"));
    CHECK_THROWS_WITH(data::distributed_split(order, 0, 0), Contains("num_replicas should be a positive integer"));

    // the loader: each rank's batches are its shard of the same permutation
    xt::xarray<float> x = xt::zeros<float>({std::size_t(10), std::size_t(1)});
    xt::xarray<std::int64_t> y = xt::arange<std::int64_t>(10);
    data::DataLoader<float> whole(x, y, 4, true, 3), r0(x, y, 4, true, 3), r1(x, y, 4, true, 3);
    r0.set_distributed(2, 0);
    r1.set_distributed(2, 1);
    CHECK(r0.num_samples() == 5);
    CHECK(r0.num_batches() == 2);  // 4 + 1
    for (int epoch = 0; epoch < 3; ++epoch) {
        whole.begin_epoch(), r0.begin_epoch(), r1.begin_epoch();
        CHECK(r0.order() == data::distributed_split(whole.order(), 2, 0));
        CHECK(r1.order() == data::distributed_split(whole.order(), 2, 1));
        CHECK(r0.generator().state() == whole.generator().state());  // the same draws as one process
    }
    xt::xarray<float> xb;
    xt::xarray<std::int64_t> yb;
    r1.batch(1, xb, yb);
    CHECK(yb.size() == 1);
    CHECK(yb(0) == std::int64_t(r1.order()[4]));
    CHECK_THROWS_WITH(r0.set_distributed(2, 2), Contains("DataLoader.set_distributed: Invalid rank 2"));
    CHECK_THROWS_WITH(r0.set_distributed(0, 0), Contains("DataLoader.set_distributed: DistributedSampler: num_replicas"));
    r0.set_distributed(1, 0);  // off again
    CHECK(r0.num_batches() == 3);
}

TEST_CASE("distributed without init: one process, every call a no-op", "[distributed]") {
    CHECK_FALSE(distributed::is_initialized());
    CHECK(distributed::rank() == 0);
    CHECK(distributed::world_size() == 1);
    std::vector<double> v{1.5, 2.5};
    distributed::all_reduce(v);
    CHECK(v == std::vector<double>{1.5, 2.5});
    CHECK(distributed::broadcast_bytes("abc") == "abc");
    Tensor<float> p(xt::xarray<float>{1, 2}, true);
    p.mutable_grad() = xt::xarray<float>{3, 4};
    const auto st = distributed::allreduce_gradients(std::vector<Tensor<float>>{p});
    CHECK(st.buckets == 0);
    CHECK(p.grad() == xt::xarray<float>{3, 4});
    distributed::barrier();
    distributed::finalize();
    if (!distributed::available())
        CHECK_THROWS_WITH(distributed::init(), Contains("built without MPI"));
}

#ifdef TAPEGRAD_MPIEXEC
namespace {
// `mpirun -np ranks program args…` as a user runs it (as root OpenMPI wants --allow-run-as-root).
ProgramRun mpirun(int ranks, const std::string& program, std::vector<std::string> args, const fs::path& scratch,
                  int timeout = 300) {
    args.insert(args.begin(), {"-np", std::to_string(ranks), "--allow-run-as-root", "--oversubscribe",
                               example_binary(program).string()});
    return run_program(TAPEGRAD_MPIEXEC, args, scratch, timeout);
}
// The largest |a − b| over the parameters two checkpoints hold, relative to the largest |b|.
double parameter_distance(const std::string& a_path, const std::string& b_path, std::size_t* compared = nullptr) {
    const auto a = io::load_npz(a_path), b = io::load_npz(b_path);
    double worst = 0, scale = 0;
    std::size_t n = 0;
    for (const auto& [name, arr] : a) {
        if (name.find('.') == std::string::npos || name.rfind("optimizer", 0) == 0 || name.rfind("scheduler", 0) == 0 ||
            name.rfind("history", 0) == 0 || name.rfind("settings", 0) == 0 || arr.dtype != "<f4")
            continue;
        const auto it = std::find_if(b.begin(), b.end(), [&](const auto& e) { return e.first == name; });
        REQUIRE(it != b.end());
        const auto x = io::from_npy<float>(arr, name), y = io::from_npy<float>(it->second, name);
        REQUIRE(x.size() == y.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            worst = std::max(worst, double(std::abs(x.data()[i] - y.data()[i])));
            scale = std::max(scale, double(std::abs(y.data()[i])));
        }
        ++n;
    }
    if (compared) *compared = n;
    return worst / scale;
}
std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}
std::vector<std::string> image_args(const fs::path& data, std::vector<std::string> more) {
    std::vector<std::string> a{"--data", data.string(), "--hidden", "32", "--classes", kSyntheticClasses, "--quiet",
                               "--threads", "1"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
}
}  // namespace

TEST_CASE("mpirun -np 2 train_fashion_mnist --distributed follows 1 process with twice the batch", "[mpi]") {
    test_util::TempDir dir;
    write_synthetic_images(dir.path, 1000, 200, 4);
    // a recipe that does not amplify rounding (see README: with the demo's, even 1 vs 2 OpenBLAS threads part ways)
    const std::vector<std::string> recipe{"--epochs", "2", "--lr", "0.01", "--momentum", "0", "--schedule", "none"};
    auto with = [&](std::vector<std::string> a, std::vector<std::string> b) { a.insert(a.end(), b.begin(), b.end()); return a; };
    ProgramRun two = mpirun(2, "train_fashion_mnist",
                            image_args(dir.path, with(recipe, {"--distributed", "--batch-size", "32", "--save", dir.file("two.npz"),
                                                               "--metrics", dir.file("two.jsonl")})),
                            dir.path);
    INFO(two.out << two.err);
    REQUIRE(two.code == 0);
    ProgramRun one = run_program(example_binary("train_fashion_mnist"),
                                 image_args(dir.path, with(recipe, {"--batch-size", "64", "--save", dir.file("one.npz")})), dir.path);
    REQUIRE(one.code == 0);
    // rank 0 alone speaks and writes
    CHECK(count_of(two.out, "epoch  1/2") == 1);
    CHECK(count_of(two.out, "final test accuracy") == 1);
    CHECK_THAT(two.out, Contains("batch 32 per rank x 2 ranks"));
    CHECK(fs::exists(dir.file("two.jsonl")));
    CHECK(io::load_npz(dir.file("two.npz")).size() > 5);
    std::size_t compared = 0;
    const double d = parameter_distance(dir.file("two.npz"), dir.file("one.npz"), &compared);
    WARN("largest parameter difference, 2 ranks x 32 vs 1 x 64 after 2 epochs (32 steps): " << d << " of the largest |parameter|");
    CHECK(compared == 4);
    CHECK(d < 1e-5);  // measured 4e-7 on the real Fashion-MNIST (938 steps)
    // the same train loss and test figures, to the printed digits
    const std::regex line("epoch  2/2  train_loss ([0-9.]+)  test_accuracy ([0-9.]+)");
    std::smatch m1, m2;
    REQUIRE(std::regex_search(two.out, m1, line));
    REQUIRE(std::regex_search(one.out, m2, line));
    CHECK(std::abs(std::stod(m1[1]) - std::stod(m2[1])) <= 1e-4);
    CHECK(m1[2] == m2[2]);
    // the confusion matrix, added up over the ranks' halves of the test set, counts every image once
    const std::regex overall("overall accuracy ([0-9.]+) \\(([0-9]+) samples\\)");
    REQUIRE(std::regex_search(two.out, m1, overall));
    REQUIRE(std::regex_search(one.out, m2, overall));
    CHECK(m1[2] == "200");
    CHECK(m1[1] == m2[1]);
}

TEST_CASE("mpirun -np 2: stop and resume with the same ranks is bit-identical; another world size is refused", "[mpi]") {
    test_util::TempDir dir;
    write_synthetic_images(dir.path, 300, 100, 6);
    const auto straight = dir.file("straight.npz"), ck = dir.file("ck.npz");
    const std::vector<std::string> run{"--distributed", "--epochs", "3", "--batch-size", "16"};
    auto args = [&](std::vector<std::string> more) {
        auto a = run;
        a.insert(a.end(), more.begin(), more.end());
        return image_args(dir.path, a);
    };
    REQUIRE(mpirun(2, "train_fashion_mnist", args({"--save", straight}), dir.path).code == 0);
    ProgramRun r = mpirun(2, "train_fashion_mnist", args({"--save", ck, "--stop-after", "1"}), dir.path);
    REQUIRE(r.code == 0);
    // the others' copy of the checkpoint comes from rank 0 (no shared file system needed)
    r = mpirun(2, "train_fashion_mnist", args({"--save", ck, "--resume", ck}), dir.path);
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(count_of(r.out, "resumed from") == 1);
    CHECK(check_same_checkpoints(straight, ck) > 10);
    // one process, or 3 ranks, from a 2-rank checkpoint: refused by the settings check
    r = run_program(example_binary("train_fashion_mnist"),
                    image_args(dir.path, {"--epochs", "4", "--batch-size", "16", "--resume", ck}), dir.path);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("the checkpoint was made with world-size 2, this run has no world-size"));
    r = mpirun(3, "train_fashion_mnist", image_args(dir.path, {"--distributed", "--epochs", "4", "--batch-size", "16", "--resume", ck}),
               dir.path);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("world-size 2, this run has world-size 3"));
}

TEST_CASE("mpirun -np 2: a rank that dies or fails ends the job with a clear message instead of a hang", "[mpi]") {
    test_util::TempDir dir;
    write_synthetic_images(dir.path, 2000, 100, 8);
    const auto trainer = example_binary("train_fashion_mnist").string();
    // rank 1 is killed (SIGKILL) a second into a run of many epochs (it would take minutes)
    std::string script = "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then (sleep 1; kill -9 $$) & fi; exec " +
                         shell_quote(trainer) + " --distributed --epochs 100000 --batch-size 8";
    for (const auto& a : image_args(dir.path, {})) script += " " + shell_quote(a);
    const auto t0 = std::chrono::steady_clock::now();
    ProgramRun r = run_program(TAPEGRAD_MPIEXEC, {"-np", "2", "--allow-run-as-root", "--oversubscribe", "bash", "-c", script},
                               dir.path, 120);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(r.out << r.err);
    CHECK(r.code != 0);
    CHECK(r.code != 124);  // not the timeout's
    CHECK(secs < 60);
    CHECK_THAT(r.out + r.err, Contains("exited on signal 9"));
    CHECK_THAT(r.err, Contains("tapegrad: rank 0 stopped by mpirun"));

    // rank 1 fails on bad input (its data folder is missing): the job ends with its status and words
    script = "d=" + shell_quote(dir.path.string()) + "; [ \"$OMPI_COMM_WORLD_RANK\" = 1 ] && d=/no/such/folder; exec " +
             shell_quote(trainer) + " --distributed --epochs 100000 --hidden 32 --quiet --data \"$d\"";
    r = run_program(TAPEGRAD_MPIEXEC, {"-np", "2", "--allow-run-as-root", "--oversubscribe", "bash", "-c", script}, dir.path, 120);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("error:") && Contains("/no/such/folder"));
}

TEST_CASE("mpirun -np 2 train_fashion_mnist --distributed --step-in-backward is refused in words", "[mpi]") {
    test_util::TempDir dir;
    write_synthetic_images(dir.path, 100, 20, 5);
    const ProgramRun r = mpirun(2, "train_fashion_mnist", image_args(dir.path, {"--distributed", "--step-in-backward"}), dir.path);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("--step-in-backward cannot be combined with --distributed"));
}

TEST_CASE("mpirun -np 2 train_spam_filter --distributed: sparse gradients, same model as 1 process with batch 2", "[mpi]") {
    test_util::TempDir dir;
    // a toy corpus of two vocabularies
    Generator g(7);
    const char* words[2][6] = {{"meeting", "patch", "kernel", "review", "build", "release"},
                               {"free", "money", "offer", "winner", "cash", "prize"}};
    for (int cls = 0; cls < 2; ++cls) {
        fs::create_directories(dir.path / "corpus" / (cls ? "spam" : "ham"));
        for (int i = 0; i < 41; ++i) {
            std::ofstream f(dir.path / "corpus" / (cls ? "spam" : "ham") / (std::to_string(i) + ".txt"));
            f << "From: a" << i << "@example.org\nSubject: " << words[cls][g.randint(6)] << "\n\n";
            for (int k = 0; k < 20; ++k) f << words[cls][g.randint(6)] << (g.randint(3) ? " " : " the ");
        }
    }
    const std::vector<std::string> common{"--data", (dir.path / "corpus").string(), "--any-folders", "--buckets", "4096",
                                          "--dim", "8", "--epochs", "2", "--quiet"};
    auto args = [&](std::vector<std::string> more) {
        auto a = common;
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    ProgramRun two = mpirun(2, "train_spam_filter", args({"--distributed", "--batch-size", "1", "--save", dir.file("two.npz")}), dir.path);
    INFO(two.out << two.err);
    REQUIRE(two.code == 0);
    ProgramRun one = run_program(example_binary("train_spam_filter"), args({"--batch-size", "2", "--save", dir.file("one.npz")}), dir.path);
    REQUIRE(one.code == 0);
    CHECK(count_of(two.out, "epoch  2/2") == 1);
    const double d = parameter_distance(dir.file("two.npz"), dir.file("one.npz"));
    WARN("spam filter, 2 ranks x 1 vs 1 x 2: largest parameter difference " << d << " of the largest |parameter|");
    CHECK(d < 1e-5);
}

TEST_CASE("mpirun -np 2 reaches the demo's accuracy on Fashion-MNIST", "[mpi]") {
    const std::string root = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(root)) {
        WARN("SKIPPED: " << root << " not found (install dataset-fashion-mnist)");
        return;
    }
    test_util::TempDir dir;
    ProgramRun r = mpirun(2, "train_fashion_mnist", {"--distributed", "--batch-size", "32", "--threads", "1", "--quiet"}, dir.path, 600);
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    const auto pos = r.out.find("final test accuracy ");
    REQUIRE(pos != std::string::npos);
    const double acc = std::stod(r.out.substr(pos + 20));
    WARN("2 ranks x batch 32, 15 epochs: test accuracy " << acc << " (the demo in one process: 0.8987-0.8992)");
    CHECK(acc >= 0.895);
}
#endif
