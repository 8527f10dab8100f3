#pragma once
// The plumbing both trainers share, so that each example's main.cpp shows only the model, the
// optimizer and the loop: the flags every trainer has, resuming, a progress bar, the NaN stop,
// and after each epoch a line of figures, the metrics file, the plot and an atomic checkpoint.
//
//   examples::RunFlags flags;  flags.add_to(app);            // --epochs --seed --save --resume …
//   examples::TrainingRun run(flags, title, model, opt, sched, loader.generator());
//   for (int epoch = run.first_epoch(); epoch <= run.last_epoch(); ++epoch) {
//       auto bar = run.progress(epoch, batches);
//       for (…) { …  if (!run.loss_is_finite(loss, epoch, b)) return run.diverged();  … bar.add(loss, n); }
//       run.end_epoch(epoch, {{"test_accuracy", acc}, …});
//   }
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>
#include <tapegrad/tapegrad.hpp>

namespace examples {

// Exit statuses of every trainer.
constexpr int kOk = 0, kBadInput = 2, kDiverged = 3;

struct RunFlags {
    int epochs = 10;
    std::uint64_t seed = 0;
    int threads = 0;  // 0: OpenBLAS's default
    std::string metrics, save, resume, plot;
    std::string graph;  // --graph FILE.svg: a picture of the first training step's graph
    int stop_after = 0;  // 0: run to --epochs
    bool quiet = false;
    bool distributed = false;  // --distributed (add_distributed_to): one of N ranks under mpirun
    // The settings that define the run (flag -> value, see setting()): every checkpoint records
    // them, and --resume refuses a checkpoint made with other ones, naming each difference.
    // TrainingRun adds --epochs (the schedule's horizon) and --seed; --data, --threads and the
    // output flags are not settings (a run may move, or change threads, and go on).
    std::map<std::string, std::string> settings;
    // Registers --epochs --seed --threads --metrics --save --resume --stop-after --plot --graph --quiet.
    void add_to(CLI::App& app);
    // Registers --distributed, for a trainer whose loop shards its data and averages its gradients.
    void add_distributed_to(CLI::App& app);
};

// --distributed: start(true) brings MPI up (distributed::init) until this object goes, when a run
// that ended well finalizes it. Ranks other than 0 print nothing on std::cout (their errors still
// reach std::cerr); TrainingRun lets rank 0 alone write files. start(false) does nothing. Call
// start() inside exit_status_of's body, so that its errors (no MPI) end the program as any bad
// input does; a run that ends with an error ends every rank (exit_status_of calls
// distributed::abort), so none waits for the others for ever.
class DistributedRun {
public:
    DistributedRun() = default;
    void start(bool on);
    ~DistributedRun();
    DistributedRun(const DistributedRun&) = delete;
    DistributedRun& operator=(const DistributedRun&) = delete;

private:
    std::streambuf* cout_ = nullptr;
};

// An evaluation under --distributed, where each rank scored its own contiguous part of the test
// set: adds every rank's loss sum, correct count and (when cm is given) confusion counts, so that
// each rank ends with the figures of the whole set. In one process it changes nothing.
void sum_over_ranks(double& loss_sum, std::size_t& correct, tapegrad::train::ConfusionMatrix* cm);

// A setting's text: numbers in their shortest exact form ("0.05", "1e-07"), true/false, lists
// comma separated ("256,128").
std::string setting(double v);
std::string setting(const std::string& v);
inline std::string setting(const char* v) { return v; }
inline std::string setting(bool v) { return v ? "true" : "false"; }
template <class T, class = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
std::string setting(T v) { return std::to_string(v); }
template <class T> std::string setting(const std::vector<T>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + setting(x);
    return s;
}

class TrainingRun {
public:
    // With --distributed (under DistributedRun), rank 0 alone takes the lock, reads the checkpoint
    // (sent to the others: no shared file system needed) and writes metrics, plot, graph and
    // checkpoints; every rank then starts from rank 0's parameters (broadcast_parameters), and the
    // world size is one of the settings a resume must agree with.
    // Takes the lock on --save (train::CheckpointLock: a second run saving to the same file refuses),
    // applies --threads and, with --resume, checks the checkpoint's settings against this run's and restores the model, the optimizer, the scheduler and the
    // data order's generator from the checkpoint (throws tapegrad::Error when it does not fit).
    // Any optimizer (SGD, Adam, …) and any scheduler (or none): checkpoints hold their state dicts.
    TrainingRun(const RunFlags& flags, std::string title, tapegrad::nn::Module<float>& model,
                tapegrad::optim::Optimizer<float>& opt, tapegrad::optim::lr_scheduler::Scheduler<float>* sched,
                tapegrad::Generator& data_order, std::ostream& out, std::ostream& err);

    int first_epoch() const { return start_ + 1; }
    int last_epoch() const;  // --epochs, or --stop-after when it comes first

    // A progress bar for one epoch (drawn only on a terminal, without --quiet); add() after each
    // batch. Its running mean is the epoch's train_loss.
    class Progress {
    public:
        void add(double loss, std::size_t samples);
        double mean_loss() const { return seen_ ? loss_sum_ / double(seen_) : 0.0; }

    private:
        friend class TrainingRun;
        Progress(std::ostream& out, std::size_t batches, bool draw, const std::string& label);
        tapegrad::train::ProgressBar bar_;
        std::size_t done_ = 0, seen_ = 0;
        double loss_sum_ = 0;
    };
    Progress progress(int epoch, std::size_t batches);

    // --graph FILE.svg: true until the picture is written. The step it is true for keeps its
    // intermediate gradients (retain_grads) and its graph (retain_graph) so write_graph can draw them.
    bool graph_wanted() const { return !flags_.graph.empty() && !graph_done_; }
    // Draws loss's graph with values and gradients (viz::to_dot, parameters by name) to --graph,
    // atomically, once; does nothing without --graph or after the first time.
    void write_graph(const tapegrad::Tensor<float>& loss);

    // This process writes the run's files (not a rank other than 0).
    bool writes_files() const { return tapegrad::distributed::rank() == 0; }

    // The NaN stop: false (after saying why on err) when the loss is NaN or ±inf.
    bool loss_is_finite(float loss, int epoch, std::size_t batch);
    int diverged() const { return kDiverged; }

    // After an epoch (with --distributed the train loss is the mean over every rank's samples): records the train loss, the lr the epoch ran with, the seconds, and the
    // figures given; prints the epoch's line; writes metrics, plot and checkpoint. Returns false
    // (after saying so on err, and without saving) when a parameter is NaN or infinite: a finite
    // loss does not prove the weights are (a NaN can hide behind a max or a zero weight), and a
    // checkpoint is only ever written from finite parameters.
    bool end_epoch(int epoch, Progress& p, const std::map<std::string, double>& figures);
    // True when the run stopped early (--stop-after); says so and how to continue.
    bool stopped_early();
    // Prints where the metrics, plot and checkpoint went.
    void print_files() const;

private:
    const RunFlags& flags_;
    std::string title_;
    tapegrad::nn::Module<float>& model_;
    tapegrad::optim::Optimizer<float>& opt_;
    tapegrad::optim::lr_scheduler::Scheduler<float>* sched_;
    tapegrad::Generator& order_;
    std::ostream &out_, &err_;
    std::map<std::string, std::string> settings_;
    std::optional<tapegrad::train::CheckpointLock> lock_;
    tapegrad::train::History history_;
    int start_ = 0;
    bool graph_done_ = false;
    double epoch_lr_ = 0;
    std::chrono::steady_clock::time_point epoch_start_;
    tapegrad::distributed::Traffic traffic_;  // at the epoch's start
};

// CLI11's parse, with every usage error exiting 2 like any other bad input (--help exits 0).
// Returns the exit status to end with, or -1 to go on.
int parse_command_line(CLI::App& app, int argc, char** argv);

// Runs body() and turns what it throws into "error: …" on err and exit status 2, so that every
// bad input ends the same way in every example.
int exit_status_of(std::ostream& err, const std::function<int()>& body);

}  // namespace examples
