#pragma once
// Checkpoints as NumPy .npz files that numpy.load opens: one array per parameter, named as
// named_parameters() names it ("0.weight", shapes as in PyTorch), plus optimizer and run state.
// Saving is atomic (see io::save_npz); loading validates everything before changing anything.
//
// Any optimizer and any scheduler, through their state dicts:
//   "optimizer.type"                      the optimizer's name as bytes ("Adam"); absent: SGD
//   "optimizer.lr"                        each param group's lr, float64 [groups]
//   "optimizer.param_groups.<name>"       each group's other hyper-parameters (torch's names:
//                                         "momentum", "betas" [groups, 2], "initial_lr", …), float64
//   "optimizer.<state>.<parameter>"       per-parameter state by torch's name and the parameter's
//                                         model name: "optimizer.momentum_buffer.0.weight",
//                                         "optimizer.exp_avg.0.weight", "optimizer.step.0.weight" (0-d)
//   "scheduler.last_epoch", "scheduler.step_count"   int64 scalars
//   "scheduler.type", "scheduler.<name>"  with a scheduler: its name, and the rest of its state
//                                         dict ("base_lrs", "_last_lr", "gamma", "best", …), float64
// A checkpoint written by an earlier tapegrad (SGD momentum buffers, "optimizer.lr", the scheduler's
// two counters) still loads.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/optim/lr_scheduler.hpp"
#include "tapegrad/optim/optimizer.hpp"
#include "tapegrad/optim/sgd.hpp"

namespace tapegrad {
namespace train {

// Everything about a run that is not a parameter or a momentum buffer.
struct TrainState {
    std::int64_t epoch = 0;                 // epochs completed
    std::string rng_state;                  // Generator::state() of the data order's generator ("": none)
    std::int64_t scheduler_last_epoch = -1; // LRScheduler::last_epoch()
    std::int64_t scheduler_step_count = 0;  // LRScheduler::step_count()
    std::vector<double> lrs;                // on load: each param group's lr (saved from the optimizer)
    std::map<std::string, std::vector<double>> history;  // per-epoch metrics, stored as "history.<name>"
    // The run's settings (flag -> value as the user gave it, e.g. "--schedule" -> "cosine"), stored
    // as "settings.<flag>" byte arrays (UTF-8, dtype uint8: bytes(np.load(f)["settings.--lr"]).decode());
    // a checkpoint written before settings were recorded loads as an empty map. See check_same_settings.
    std::map<std::string, std::string> settings;
};

// Model parameters only (for inference): arrays named after named_parameters().
template <class T> void save_model(const std::string& path, const nn::Module<T>& model);
// Loads parameters saved by save_model or save_checkpoint; every parameter must be present with
// its shape (IOError naming the parameter, the expected and the found shape); extra arrays other
// than the optimizer's and run state's are an error too (torch's strict load_state_dict).
template <class T> void load_model(const std::string& path, nn::Module<T>& model);

// With a scheduler, its state dict is saved (and TrainState's scheduler counters are not used).
template <class T>
void save_checkpoint(const std::string& path, const nn::Module<T>& model, const optim::Optimizer<T>& opt,
                     const TrainState& state, const optim::lr_scheduler::Scheduler<T>* scheduler = nullptr);
// Restores model parameters, the optimizer's state dict (state and hyper-parameters) and, when a
// scheduler is given, the scheduler's; returns the run state for the caller to restore its
// generator (and, without a scheduler argument, its scheduler). IOError naming the file and the
// entry for anything that does not fit — a checkpoint of another optimizer or scheduler type, a
// buffer of another shape, a hyper-parameter the optimizer refuses, a scheduler made with other
// arguments — and then nothing has changed.
template <class T>
TrainState load_checkpoint(const std::string& path, nn::Module<T>& model, optim::Optimizer<T>& opt,
                           optim::lr_scheduler::Scheduler<T>* scheduler = nullptr);

// The settings recorded in a checkpoint (TrainState::settings) without loading anything else, so a
// resume can compare them before it tries to fit the parameters into its model; empty for a
// checkpoint written before settings were recorded. IOError as load_npz, or for a malformed entry.
std::map<std::string, std::string> load_settings(const std::string& path);

// For --resume: throws ValueError when the settings a checkpoint was made with (`saved`, from
// load_checkpoint) differ from this run's (`now`), listing every difference, e.g.
//   "--resume: the checkpoint was made with --schedule cosine, this run has --schedule step; the
//    checkpoint was made without --nesterov, this run has --nesterov true (resume with the
//    checkpoint's settings, or start a new run)"
// A setting present on one side only is a difference. An empty `saved` (a checkpoint from before
// settings were recorded) has nothing to compare with and passes. An empty value is shown as '',
// one longer than 60 bytes (an encoder's JSON) by its first 40 and its length.
void check_same_settings(const std::map<std::string, std::string>& saved, const std::map<std::string, std::string>& now);

// An exclusive, advisory lock that a training run takes on its --save path for the whole run, so
// that two runs saving to the same file refuse instead of interleaving their checkpoints:
//
//     train::CheckpointLock lock(save_path);   // before the first save (or the resume's load)
//     ... train, save_checkpoint(save_path, ...) every epoch ...
//                                              // released when `lock` goes out of scope
//
// It is flock(2) on "<path>.lock" (created if needed, holding the owner's pid; removed again on
// release), taken without blocking. When another open lock holds it — another process, or another
// CheckpointLock in this one — the constructor throws IOError:
//     "CheckpointLock: save path '<path>' is in use by another run (pid 1234): lock file '<path>.lock'"
// ("pid unknown" if the owner had not yet written it). A run killed by SIGKILL leaves the lock file
// but not the lock: the kernel drops it with the process, and the next run takes it. Other failures
// (say, the folder does not exist) are IOErrors naming the lock file. The lock is advisory: it only
// keeps out programs that take it too. A child made by fork() shares the lock of its parent's open
// CheckpointLock (flock belongs to the open file, which fork shares); one made by exec does not
// (the descriptor is close-on-exec). Movable, not copyable.
class CheckpointLock {
public:
    explicit CheckpointLock(const std::string& save_path);
    ~CheckpointLock();
    CheckpointLock(CheckpointLock&& other) noexcept;
    CheckpointLock& operator=(CheckpointLock&& other) noexcept;
    CheckpointLock(const CheckpointLock&) = delete;
    CheckpointLock& operator=(const CheckpointLock&) = delete;

    // "<save_path>.lock"
    const std::string& lock_path() const { return lock_path_; }
    // Still held (false after release() or a move from it).
    bool held() const { return fd_ >= 0; }
    // Removes the lock file and drops the lock now (the destructor does it otherwise).
    void release() noexcept;

private:
    std::string lock_path_;
    int fd_ = -1;
    long owner_ = 0;  // the pid that took it: only it removes the lock file
};

}  // namespace train
}  // namespace tapegrad
