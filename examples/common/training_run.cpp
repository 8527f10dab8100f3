// The plumbing both trainers share (see training_run.hpp).
#include "training_run.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <streambuf>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace examples {
using namespace tapegrad;

void RunFlags::add_to(CLI::App& app) {
    app.add_option("--epochs", epochs, "epochs in the whole run (the schedule's horizon)")->capture_default_str()->check(CLI::Range(1, 100000));
    app.add_option("--seed", seed, "seed for initialisation and shuffling")->capture_default_str()->check(CLI::Range(0.0, 1e18));
    app.add_option("--threads", threads, "OpenBLAS threads (0: its default)")->capture_default_str()->check(CLI::Range(0, 256));
    app.add_option("--metrics", metrics, "write per-epoch metrics as JSON lines to FILE");
    app.add_option("--save", save, "write a checkpoint (.npz) to FILE after every epoch");
    app.add_option("--resume", resume, "continue the run saved in FILE");
    app.add_option("--stop-after", stop_after, "end the run after epoch N, as if interrupted")->check(CLI::Range(0, 100000));
    app.add_option("--plot", plot, "write an SVG with the loss and accuracy curves to FILE");
    app.add_option("--graph", graph, "write an SVG picture of the first training step's graph (values, gradients) to FILE");
    app.add_flag("--quiet", quiet, "no progress bar");
}

void RunFlags::add_distributed_to(CLI::App& app) {
    app.add_flag("--distributed", distributed,
                 "data-parallel training over MPI: start with `mpirun -np N`; each rank trains on 1/N of every "
                 "epoch with --batch-size samples per step (N x --batch-size in all) and the gradients are averaged");
}

namespace {
// Where a rank other than 0 sends std::cout.
struct NullBuffer : std::streambuf {
    int overflow(int c) override { return traits_type::not_eof(c); }
    std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};
NullBuffer null_buffer;
}  // namespace

void DistributedRun::start(bool on) {
    if (!on) return;
    distributed::init();
    if (distributed::rank() != 0) cout_ = std::cout.rdbuf(&null_buffer);
}

DistributedRun::~DistributedRun() {
    if (cout_) std::cout.rdbuf(cout_);
    try {
        distributed::finalize();
    } catch (const tapegrad::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
    }
}

void sum_over_ranks(double& loss_sum, std::size_t& correct, train::ConfusionMatrix* cm) {
    if (distributed::world_size() < 2) return;
    std::vector<double> sums{loss_sum, double(correct)};
    const std::size_t k = cm ? cm->num_classes() : 0;
    for (std::size_t t = 0; t < k; ++t)
        for (std::size_t p = 0; p < k; ++p) sums.push_back(double(cm->count(t, p)));
    distributed::all_reduce(sums);
    loss_sum = sums[0], correct = std::size_t(sums[1]);
    if (!cm) return;
    train::ConfusionMatrix all(cm->class_names());  // every rank's counts, rebuilt from the sums
    for (std::size_t t = 0, i = 2; t < k; ++t)
        for (std::size_t p = 0; p < k; ++p, ++i)
            for (double c = 0; c < sums[i]; ++c) all.add(std::int64_t(t), std::int64_t(p));
    *cm = all;
}

std::string setting(double v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);  // the shortest text that reads back as v
    return std::string(buf, r.ptr);
}

std::string setting(const std::string& v) { return v; }

namespace {
// A private file holding bytes, removed when it goes.
class TempFile {
public:
    explicit TempFile(const std::string& bytes) {
        const char* dir = std::getenv("TMPDIR");
        std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/tapegrad-resume-XXXXXX";
        std::vector<char> name(tmpl.begin(), tmpl.end());
        name.push_back('\0');
        const int fd = ::mkstemp(name.data());
        if (fd < 0) throw IOError("--resume: cannot create a temporary copy of the checkpoint in " + tmpl);
        path_ = name.data();
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n <= 0) {
                ::close(fd);
                std::remove(path_.c_str());
                throw IOError("--resume: cannot write the temporary copy " + path_);
            }
            done += std::size_t(n);
        }
        ::close(fd);
    }
    ~TempFile() { std::remove(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// A training step frees its whole graph (activations, gradients, im2col columns: tens of MB for the
// CNN) and the next step allocates the same sizes again. glibc's default hands such memory back to
// the kernel on free (the heap top beyond its trim threshold, or a whole mmap) and takes it back a
// page at a time, zeroed, on the next step: measured, the CNN trainer took 6.1 million page faults
// and 72 s per epoch instead of 36 thousand and 55 s. So keep freed memory in the process: the
// peak resident memory is the same, it just is not returned between steps.
void keep_freed_memory() {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);   // blocks up to 32 MiB (glibc's largest) from the heap
    mallopt(M_TRIM_THRESHOLD, 512 << 20);  // and the heap's free top kept up to 512 MiB
#endif
}
}  // namespace

TrainingRun::TrainingRun(const RunFlags& flags, std::string title, nn::Module<float>& model, optim::Optimizer<float>& opt,
                         optim::lr_scheduler::Scheduler<float>* sched, Generator& data_order, std::ostream& out,
                         std::ostream& err)
    : flags_(flags), title_(std::move(title)), model_(model), opt_(opt), sched_(sched), order_(data_order), out_(out),
      err_(err), settings_(flags.settings) {
    keep_freed_memory();
    settings_["--epochs"] = setting(flags.epochs);
    settings_["--seed"] = setting(flags.seed);
    if (distributed::world_size() > 1) settings_["world-size"] = setting(distributed::world_size());
    if (!flags.save.empty() && writes_files()) lock_.emplace(flags.save);  // held until the run ends
    if (flags.threads > 0) set_num_threads(flags.threads);
    if (flags.resume.empty()) {
        distributed::broadcast_parameters(model);  // every rank starts from rank 0's (a no-op in one process)
        return;
    }
    // --distributed: rank 0 reads the checkpoint and sends it; the others load a private copy
    std::string resume_path = flags.resume;
    std::optional<TempFile> copy;
    if (distributed::world_size() > 1) {
        std::string bytes;
        if (writes_files()) {
            std::ifstream f(flags.resume, std::ios::binary);
            if (!f) throw IOError("--resume: cannot open '" + flags.resume + "'");
            bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
        }
        bytes = distributed::broadcast_bytes(bytes);
        if (!writes_files()) resume_path = copy.emplace(bytes).path();
    }
    // the settings first: a run of another shape would otherwise fail on its first parameter
    train::check_same_settings(train::load_settings(resume_path), settings_);
    train::TrainState st = train::load_checkpoint(resume_path, model, opt, sched);
    if (st.epoch >= flags.epochs)
        throw ValueError("--resume: '" + flags.resume + "' has already completed " + std::to_string(st.epoch) +
                         " of --epochs " + std::to_string(flags.epochs));
    order_.set_state(st.rng_state);
    history_ = st.history;
    start_ = int(st.epoch);
    out_ << "resumed from " << flags.resume << " after epoch " << start_ << "\n";
}

int TrainingRun::last_epoch() const {
    return flags_.stop_after > 0 ? std::min(flags_.epochs, flags_.stop_after) : flags_.epochs;
}

TrainingRun::Progress::Progress(std::ostream& out, std::size_t batches, bool draw, const std::string& label)
    : bar_(out, batches, draw, label) {}

void TrainingRun::Progress::add(double loss, std::size_t samples) {
    loss_sum_ += loss * double(samples);
    seen_ += samples;
    bar_.update(++done_, mean_loss(), seen_);
}

TrainingRun::Progress TrainingRun::progress(int epoch, std::size_t batches) {
    epoch_start_ = std::chrono::steady_clock::now();
    traffic_ = distributed::traffic();
    epoch_lr_ = opt_.param_groups()[0].lr;
    const bool draw = !flags_.quiet && train::stdout_is_terminal() && &out_ == &std::cout;
    return Progress(out_, batches, draw, "epoch " + std::to_string(epoch) + "/" + std::to_string(flags_.epochs));
}

bool TrainingRun::loss_is_finite(float loss, int epoch, std::size_t batch) {
    if (std::isfinite(loss)) return true;
    out_ << std::flush;
    err_ << "\nerror: the training loss became " << loss << " at epoch " << epoch << ", batch " << batch + 1
         << "; the learning rate (" << opt_.param_groups()[0].lr << ") is probably too large: try a smaller --lr."
         << (flags_.save.empty() ? "" : " The last good checkpoint is kept in " + flags_.save + ".") << "\n";
    return false;
}

bool TrainingRun::end_epoch(int epoch, Progress& p, const std::map<std::string, double>& figures) {
    p.bar_.finish();
    for (const auto& [name, param] : model_.named_parameters())
        for (float v : param.value())
            if (!std::isfinite(v)) {
                err_ << "error: parameter '" << name << "' holds " << v << " after epoch " << epoch
                     << " although the loss stayed finite; the learning rate (" << epoch_lr_
                     << ") is probably too large: try a smaller --lr."
                     << (flags_.save.empty() ? "" : " The last good checkpoint is kept in " + flags_.save + ".")
                     << "\n";
                return false;
            }
    double train_loss = p.mean_loss();
    if (distributed::world_size() > 1) {  // the mean over every rank's samples
        // what this epoch's steps handed to MPI (said once: it is the same every epoch)
        const distributed::Traffic t = distributed::traffic();
        if (epoch == first_epoch() && p.done_ > 0)
            out_ << "distributed: " << distributed::world_size() << " ranks; each step sends "
                 << (t.allreduce_bytes - traffic_.allreduce_bytes) / p.done_ << " bytes through MPI_Allreduce and "
                 << (t.allgather_bytes - traffic_.allgather_bytes) / p.done_
                 << " through MPI_Allgatherv (a ring allreduce moves 2(N-1)/N of the former per rank)\n";
        std::vector<double> sums{p.loss_sum_, double(p.seen_)};
        distributed::all_reduce(sums);
        train_loss = sums[1] > 0 ? sums[0] / sums[1] : 0.0;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
    history_["train_loss"].push_back(train_loss);
    for (const auto& [name, v] : figures) history_[name].push_back(v);
    history_["lr"].push_back(epoch_lr_);
    history_["seconds"].push_back(secs);
    out_ << "epoch " << std::setw(2) << epoch << "/" << flags_.epochs << "  train_loss " << std::fixed
         << std::setprecision(4) << train_loss;
    for (const auto& [name, v] : figures) out_ << "  " << name << " " << v;
    out_ << "  lr " << std::setprecision(5) << epoch_lr_ << "  " << std::setprecision(2) << secs << "s\n"
         << std::defaultfloat << std::flush;
    if (!writes_files()) return true;  // --distributed: rank 0 writes
    if (!flags_.metrics.empty()) train::write_metrics_jsonl(flags_.metrics, history_);
    if (!flags_.plot.empty()) train::write_svg_plot(flags_.plot, history_, title_);
    if (!flags_.save.empty()) {
        train::TrainState st;
        st.epoch = epoch;
        st.rng_state = order_.state();
        st.history = history_;
        st.settings = settings_;
        train::save_checkpoint(flags_.save, model_, opt_, st, sched_);
    }
    return true;
}

bool TrainingRun::stopped_early() {
    if (last_epoch() >= flags_.epochs) return false;
    out_ << "stopped after epoch " << last_epoch() << " of " << flags_.epochs << " (--stop-after)"
         << (flags_.save.empty() ? "" : "; continue with --resume " + flags_.save) << "\n";
    return true;
}

void TrainingRun::print_files() const {
    if (!flags_.metrics.empty()) out_ << "metrics: " << flags_.metrics << "\n";
    if (!flags_.plot.empty()) out_ << "plot: " << flags_.plot << "\n";
    if (!flags_.graph.empty()) out_ << "graph: " << flags_.graph << "\n";
    if (!flags_.save.empty()) out_ << "checkpoint: " << flags_.save << "\n";
}

int parse_command_line(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
        return -1;
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? kOk : kBadInput;
    }
}

static int run_body(std::ostream& err, const std::function<int()>& body) {
    try {
        return body();
    } catch (const tapegrad::Error& e) {
        err << "error: " << e.what() << "\n";
    } catch (const std::bad_alloc&) {
        err << "error: out of memory (are the model or the batch too large?)\n";
    }
    return kBadInput;
}

int exit_status_of(std::ostream& err, const std::function<int()>& body) {
    const int status = run_body(err, body);
    // --distributed: the other ranks may be waiting for this one in a collective; end them all
    if (status != kOk && distributed::is_initialized()) distributed::abort(status);
    return status;
}

void TrainingRun::write_graph(const tapegrad::Tensor<float>& loss) {
    if (!graph_wanted()) return;
    graph_done_ = true;
    if (!writes_files()) return;
    tapegrad::viz::write_svg(
        tapegrad::viz::to_dot(loss, tapegrad::viz::DotOptions().parameters(model_.named_parameters()).title(title_ + ": one training step")),
        flags_.graph);
}

}  // namespace examples
