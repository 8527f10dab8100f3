#pragma once
// Checkpoints as NumPy .npz files that numpy.load opens: one array per parameter, named as
// named_parameters() names it ("0.weight", shapes as in PyTorch), plus optimizer and run state.
// Saving is atomic (see io::save_npz); loading validates everything before changing anything.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tapegrad/nn/module.hpp"
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
};

// Model parameters only (for inference): arrays named after named_parameters().
template <class T> void save_model(const std::string& path, const nn::Module<T>& model);
// Loads parameters saved by save_model or save_checkpoint; every parameter must be present with
// its shape (IOError naming the parameter, the expected and the found shape); extra arrays other
// than the optimizer's and run state's are an error too (torch's strict load_state_dict).
template <class T> void load_model(const std::string& path, nn::Module<T>& model);

template <class T>
void save_checkpoint(const std::string& path, const nn::Module<T>& model, const optim::SGD<T>& opt,
                     const TrainState& state);
// Restores model parameters and the optimizer's momentum buffers and learning rates; returns the
// run state for the caller to restore its scheduler and generator.
template <class T> TrainState load_checkpoint(const std::string& path, nn::Module<T>& model, optim::SGD<T>& opt);

}  // namespace train
}  // namespace tapegrad
