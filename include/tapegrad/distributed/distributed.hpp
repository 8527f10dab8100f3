#pragma once
// Data-parallel training over MPI (OpenMPI, started by `mpirun -np N`), in the manner of
// torch.distributed and DistributedDataParallel: every rank holds the whole model, trains on its
// own shard of each batch (data::distributed_split, DataLoader::set_distributed), and after each
// backward the ranks average their gradients, so every rank takes the same step.
//
//   distributed::init();                                     // MPI_Init; rank(), world_size()
//   distributed::broadcast_parameters(model);                 // rank 0's initial weights everywhere
//   loader.set_distributed(distributed::world_size(), distributed::rank());
//   for (…) { loss.backward(); distributed::allreduce_gradients(model); opt.step(); }
//   distributed::finalize();
//
// Without MPI at build time (no libopenmpi-dev) the library still builds: available() is false,
// init() throws, and rank() / world_size() are 0 / 1 — one process, as without --distributed.
//
// Failure: a rank that throws on its own must not leave the others waiting in a collective for
// ever; call abort(status) then (the examples' exit_status_of does), which ends every rank. When a
// rank dies (a signal, an exit without finalize) mpirun ends the others and says which one died;
// the others print "tapegrad: rank R stopped by mpirun …" as they go. MPI errors become
// tapegrad::Error naming the function and MPI's message.
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/core/tensor.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad {
namespace distributed {

// tapegrad was built with MPI.
bool available();
// MPI_Init (thread level FUNNELED: only the calling thread talks to MPI). Error when MPI is not
// available or init was called already (torch's "trying to initialize the default process group
// twice!"). Errors of later MPI calls are returned to tapegrad and thrown as tapegrad::Error.
void init();
bool is_initialized();  // between init() and finalize()
// MPI_Finalize after a barrier; a no-op when not initialized.
void finalize();
// Ends every rank of the job now with this exit status (MPI_Abort), after `message` (if any) on
// stderr prefixed with the rank. Without init, exits this process with the status.
[[noreturn]] void abort(int status, const std::string& message = "");

int rank();        // 0 when not initialized
int world_size();  // 1 when not initialized
void barrier();    // no-op when not initialized

// torch.distributed.ReduceOp
enum class ReduceOp { SUM, MAX, MIN };
// In place, every rank gets the element-wise reduction over ranks (torch's all_reduce). Every rank
// must pass the same length (checked: ValueError naming both lengths).
void all_reduce(std::vector<double>& values, ReduceOp op = ReduceOp::SUM);
void all_reduce(std::vector<std::int64_t>& values, ReduceOp op = ReduceOp::SUM);
double all_reduce(double value, ReduceOp op = ReduceOp::SUM);
// root's bytes on every rank (the others' argument is ignored); e.g. a checkpoint file that only
// the root can read.
std::string broadcast_bytes(const std::string& bytes, int root = 0);

// Every rank's parameters and buffers (BatchNorm's running statistics, …) become root's, as DDP
// does when it wraps a model. The models must have the same parameters and buffers, in order and
// shape (checked: ValueError naming the first that differs and the ranks).
template <class T> void broadcast_parameters(const nn::Module<T>& module, int root = 0);
template <class T> void broadcast_buffers(const nn::Module<T>& module, int root = 0);

// allreduce_gradients' options: torch DDP's bucket_cap_mb (25 MiB by default).
struct AllreduceOptions {
    AllreduceOptions& bucket_cap_mb(double v) { bucket_cap_mb_ = v; return *this; }
    double bucket_cap_mb() const { return bucket_cap_mb_; }

private:
    double bucket_cap_mb_ = 25;
};

// What one allreduce_gradients call moved: MPI_Allreduce calls for dense buckets, their bytes
// (what each rank hands to MPI; a ring sends 2(N−1)/N of it per rank), row-sparse parameters and
// the rows and bytes each rank received from the allgather.
struct AllreduceStats {
    std::size_t buckets = 0, dense_bytes = 0;
    std::size_t sparse_params = 0, sparse_rows = 0, sparse_bytes = 0;
};

// Averages the gradients of these parameters over the ranks (sum / world_size, divided before the
// sum as DDP does). Dense gradients travel in buckets of at most bucket_cap_mb, one MPI_Allreduce
// each, parameters in reverse order (the order backward completes them, as DDP's buckets); row-
// sparse gradients (embedding_bag(sparse=true)) through an allgather of their rows and values, so
// they stay sparse: each rank ends with every rank's rows, values / world_size.
// A parameter without a gradient on some ranks counts as zeros there; one without a gradient on
// every rank keeps none (torch DDP's find_unused_parameters). If any rank holds a dense gradient
// for a parameter, the sparse ones are made dense for it. Every rank must pass the same parameters
// (count, shapes: checked, ValueError). With more than one rank, parameters whose optimizer updates
// them inside backward (Optimizer::step_in_backward, post-accumulate-grad hooks) are refused: the
// update would have used this rank's gradient alone. In one process it is a no-op.
template <class T>
AllreduceStats allreduce_gradients(const std::vector<Tensor<T>>& parameters, const AllreduceOptions& options = {});
template <class T>
AllreduceStats allreduce_gradients(const nn::Module<T>& module, const AllreduceOptions& options = {});

// Everything this process has handed to MPI since init: bytes of allreduce buffers, bytes received
// by allgathers, bytes broadcast, and the number of collective calls.
struct Traffic {
    std::uint64_t allreduce_bytes = 0, allgather_bytes = 0, broadcast_bytes = 0, calls = 0;
};
Traffic traffic();

}  // namespace distributed
}  // namespace tapegrad
