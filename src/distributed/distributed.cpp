// distributed: MPI underneath (built with TAPEGRAD_HAVE_MPI when CMake finds MPI), one process
// when not. Only the calling thread talks to MPI, on a private copy of MPI_COMM_WORLD whose errors
// come back as return codes and are thrown.
#include "tapegrad/distributed/distributed.hpp"

#include <algorithm>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <unistd.h>

#include "tapegrad/core/sparse_grad.hpp"

#ifdef TAPEGRAD_HAVE_MPI
#include <mpi.h>
#endif

namespace tapegrad {
namespace distributed {

namespace {
bool g_initialized = false;
int g_rank = 0, g_size = 1;
Traffic g_traffic;

// A 62-bit FNV-1a hash of the parameters' shapes: equal models give equal hashes on every rank.
std::int64_t shape_hash(const std::vector<std::vector<std::size_t>>& shapes) {
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&](std::uint64_t v) {
        for (int i = 0; i < 8; ++i) h = (h ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ull;
    };
    for (const auto& s : shapes) {
        mix(s.size());
        for (auto d : s) mix(d);
    }
    return std::int64_t(h >> 2);
}
}  // namespace

#ifdef TAPEGRAD_HAVE_MPI
namespace {
MPI_Comm g_comm = MPI_COMM_NULL;

void check(int code, const char* fn, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    throw Error(std::string("distributed::") + fn + ": " + call + " failed on rank " + std::to_string(g_rank) + ": " +
                std::string(text, std::size_t(len)));
}
MPI_Op op_of(ReduceOp op) { return op == ReduceOp::SUM ? MPI_SUM : op == ReduceOp::MAX ? MPI_MAX : MPI_MIN; }
template <class T> MPI_Datatype type_of();
template <> MPI_Datatype type_of<float>() { return MPI_FLOAT; }
template <> MPI_Datatype type_of<double>() { return MPI_DOUBLE; }
template <> MPI_Datatype type_of<std::int64_t>() { return MPI_INT64_T; }

// MPI counts are int: long buffers go in pieces.
constexpr std::size_t kPiece = std::size_t(1) << 30;
template <class V> void allreduce_in_place(V* data, std::size_t n, MPI_Op op, const char* fn) {
    for (std::size_t done = 0; done < n; done += kPiece) {
        const int count = int(std::min(kPiece, n - done));
        check(MPI_Allreduce(MPI_IN_PLACE, data + done, count, type_of<V>(), op, g_comm), fn, "MPI_Allreduce");
        ++g_traffic.calls;
    }
    g_traffic.allreduce_bytes += n * sizeof(V);
}
template <class V> void bcast(V* data, std::size_t n, int root, const char* fn) {
    for (std::size_t done = 0; done < n; done += kPiece) {
        const int count = int(std::min(kPiece, n - done));
        check(MPI_Bcast(data + done, count * int(sizeof(V)), MPI_BYTE, root, g_comm), fn, "MPI_Bcast");
        ++g_traffic.calls;
    }
    g_traffic.broadcast_bytes += n * sizeof(V);
}
// Every rank's `mine` (of `width` elements per row) concatenated in rank order.
template <class V>
std::vector<V> allgather(const V* mine, std::size_t rows, std::size_t width, std::vector<std::int64_t>& counts, const char* fn) {
    counts.assign(static_cast<std::size_t>(g_size), 0);
    std::int64_t n = std::int64_t(rows);
    check(MPI_Allgather(&n, 1, MPI_INT64_T, counts.data(), 1, MPI_INT64_T, g_comm), fn, "MPI_Allgather");
    ++g_traffic.calls;
    std::vector<int> recv(static_cast<std::size_t>(g_size)), displs(static_cast<std::size_t>(g_size));
    std::int64_t total = 0;
    for (int r = 0; r < g_size; ++r) {
        const std::int64_t c = counts[std::size_t(r)] * std::int64_t(width);
        if (c > INT_MAX || total > INT_MAX - c)
            throw ValueError(std::string("distributed::") + fn + ": more than " + std::to_string(INT_MAX) +
                             " sparse gradient values to gather (MPI counts are int)");
        recv[std::size_t(r)] = int(c);
        displs[std::size_t(r)] = int(total);
        total += c;
    }
    std::vector<V> all(static_cast<std::size_t>(total));
    check(MPI_Allgatherv(mine, int(rows * width), type_of<V>(), all.data(), recv.data(), displs.data(), type_of<V>(), g_comm),
          fn, "MPI_Allgatherv");
    ++g_traffic.calls;
    g_traffic.allgather_bytes += std::uint64_t(total) * sizeof(V);
    return all;
}

// mpirun ends the other ranks with SIGTERM when one dies: say so before going.
extern "C" void on_sigterm(int) {
    char msg[160];
    const char* head = "tapegrad: rank ";
    const char* tail = " stopped by mpirun (another rank of the job ended abnormally; mpirun's message names it)\n";
    std::size_t k = 0;
    for (const char* p = head; *p; ++p) msg[k++] = *p;
    char digits[12];
    int d = 0, r = g_rank;
    do digits[d++] = char('0' + r % 10), r /= 10;
    while (r && d < 11);
    while (d) msg[k++] = digits[--d];
    for (const char* p = tail; *p && k < sizeof msg; ++p) msg[k++] = *p;
    ssize_t ignored = ::write(2, msg, k);
    (void)ignored;
    _exit(128 + SIGTERM);
}
}  // namespace

bool available() { return true; }

void init() {
    if (g_initialized) throw Error("distributed::init: trying to initialize the default process group twice!");
    int already = 0;
    MPI_Initialized(&already);
    if (!already) {
        int provided = 0;
        if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            throw Error("distributed::init: MPI_Init_thread failed");
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &g_comm);
    MPI_Comm_set_errhandler(g_comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g_comm, &g_rank);
    MPI_Comm_size(g_comm, &g_size);
    g_initialized = true;
    g_traffic = Traffic{};
    std::signal(SIGTERM, on_sigterm);
}

bool is_initialized() { return g_initialized; }

void finalize() {
    if (!g_initialized) return;
    check(MPI_Barrier(g_comm), "finalize", "MPI_Barrier");
    MPI_Comm_free(&g_comm);
    g_initialized = false;
    g_rank = 0, g_size = 1;
    std::signal(SIGTERM, SIG_DFL);
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
}

void abort(int status, const std::string& message) {
    if (!message.empty()) std::cerr << "rank " << g_rank << ": " << message << std::endl;
    if (g_initialized) MPI_Abort(g_comm, status);
    std::exit(status);
}

void barrier() {
    if (!g_initialized) return;
    check(MPI_Barrier(g_comm), "barrier", "MPI_Barrier");
}

namespace {
// Every rank passes the same number of values (checked first, so a mismatch is an error on every
// rank instead of a truncated message on some).
template <class V> void all_reduce_vector(std::vector<V>& values, ReduceOp op, const char* fn) {
    if (!g_initialized) return;
    std::int64_t n[2] = {std::int64_t(values.size()), -std::int64_t(values.size())};
    allreduce_in_place(n, 2, MPI_MAX, fn);
    if (n[0] != -n[1])
        throw ValueError(std::string("distributed::") + fn + ": the ranks passed different lengths (between " +
                         std::to_string(-n[1]) + " and " + std::to_string(n[0]) + "; rank " + std::to_string(g_rank) +
                         " passed " + std::to_string(values.size()) + ")");
    allreduce_in_place(values.data(), values.size(), op_of(op), fn);
}
}  // namespace

void all_reduce(std::vector<double>& values, ReduceOp op) { all_reduce_vector(values, op, "all_reduce"); }
void all_reduce(std::vector<std::int64_t>& values, ReduceOp op) { all_reduce_vector(values, op, "all_reduce"); }

std::string broadcast_bytes(const std::string& bytes, int root) {
    if (!g_initialized) return bytes;
    if (root < 0 || root >= g_size)
        throw ValueError("distributed::broadcast_bytes: root " + std::to_string(root) + " is not a rank (world size " +
                         std::to_string(g_size) + ")");
    std::int64_t n = std::int64_t(bytes.size());
    bcast(&n, 1, root, "broadcast_bytes");
    std::string out = g_rank == root ? bytes : std::string(std::size_t(n), '\0');
    bcast(out.data(), out.size(), root, "broadcast_bytes");
    return out;
}

#else  // built without MPI: one process

bool available() { return false; }
void init() {
    throw Error("distributed::init: tapegrad was built without MPI (install libopenmpi-dev and openmpi-bin, "
                "e.g. third_party/install-deps.sh, and build again)");
}
bool is_initialized() { return false; }
void finalize() {}
void abort(int status, const std::string& message) {
    if (!message.empty()) std::cerr << message << std::endl;
    std::exit(status);
}
void barrier() {}
void all_reduce(std::vector<double>&, ReduceOp) {}
void all_reduce(std::vector<std::int64_t>&, ReduceOp) {}
std::string broadcast_bytes(const std::string& bytes, int) { return bytes; }

#endif

int rank() { return g_rank; }
int world_size() { return g_size; }
Traffic traffic() { return g_traffic; }

double all_reduce(double value, ReduceOp op) {
    std::vector<double> v{value};
    all_reduce(v, op);
    return v[0];
}

namespace {
// The ranks agree on the tensors' count and shapes, or every rank throws (the check is a collective
// all ranks reach, so none is left waiting). `what` names the tensors in the message.
template <class T>
void check_same_tensors(const std::vector<Tensor<T>>& ts, const char* fn, const char* what) {
    std::vector<std::vector<std::size_t>> shapes;
    std::int64_t numel = 0;
    for (const auto& t : ts) {
        const auto shape = t.shape();
        shapes.emplace_back(shape.begin(), shape.end());
        numel += std::int64_t(t.value().size());
    }
    const std::int64_t h = shape_hash(shapes), n = std::int64_t(ts.size());
    std::vector<std::int64_t> mine{n, -n, numel, -numel, h, -h};
    std::vector<std::int64_t> v = mine;
#ifdef TAPEGRAD_HAVE_MPI
    allreduce_in_place(v.data(), v.size(), MPI_MAX, fn);
#endif
    if (v[0] != -v[1] || v[2] != -v[3] || v[4] != -v[5])
        throw ValueError(std::string("distributed::") + fn + ": the ranks' models differ: rank " + std::to_string(g_rank) +
                         " has " + std::to_string(n) + " " + what + " with " + std::to_string(numel) +
                         " elements, and another rank has " +
                         (v[0] != -v[1] ? "between " + std::to_string(-v[1]) + " and " + std::to_string(v[0]) + " " + what
                          : v[2] != -v[3] ? "between " + std::to_string(-v[3]) + " and " + std::to_string(v[2]) + " elements"
                                          : "the same count but other shapes") +
                         " (every rank must build the same model)");
}

template <class T> std::vector<Tensor<T>> values_of(const std::vector<std::pair<std::string, Tensor<T>>>& named) {
    std::vector<Tensor<T>> out;
    for (const auto& [name, t] : named) out.push_back(t);
    return out;
}

template <class T> void broadcast_tensors(const std::vector<Tensor<T>>& ts, int root, const char* fn, const char* what) {
    if (!g_initialized) return;
    if (root < 0 || root >= g_size)
        throw ValueError(std::string("distributed::") + fn + ": root " + std::to_string(root) + " is not a rank (world size " +
                         std::to_string(g_size) + ")");
    check_same_tensors(ts, fn, what);
#ifdef TAPEGRAD_HAVE_MPI
    for (const auto& t : ts) {
        auto& v = const_cast<Tensor<T>&>(t).mutable_value();  // in place: a new version, as a load is
        bcast(v.data(), v.size(), root, fn);
    }
#endif
}
}  // namespace

template <class T> void broadcast_parameters(const nn::Module<T>& module, int root) {
    broadcast_tensors(module.parameters(), root, "broadcast_parameters", "parameters");
    broadcast_buffers(module, root);
}
template <class T> void broadcast_buffers(const nn::Module<T>& module, int root) {
    broadcast_tensors(values_of(module.named_buffers()), root, "broadcast_buffers", "buffers");
}

template <class T>
AllreduceStats allreduce_gradients(const std::vector<Tensor<T>>& params, const AllreduceOptions& options) {
    AllreduceStats stats;
    const char* fn = "allreduce_gradients";
    if (!(options.bucket_cap_mb() > 0))
        throw ValueError("distributed::allreduce_gradients: bucket_cap_mb must be positive, got " +
                         std::to_string(options.bucket_cap_mb()));
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (!params[i].defined())
            throw ValueError("distributed::allreduce_gradients: parameter " + std::to_string(i) + " is undefined");
        // an update that already ran from a hook (Optimizer::step_in_backward) used this rank's gradient
        // alone: wrong with other ranks (in one process its gradient is the average)
        if (g_size > 1 && (!params[i].impl()->post_accumulate_hooks.empty() || params[i].impl()->direct_step))
            throw ValueError("distributed::allreduce_gradients: parameter " + std::to_string(i) +
                             " has post-accumulate-grad hooks (Optimizer::step_in_backward?): they ran before the "
                             "gradients were averaged; average first, then step (turn step_in_backward off)");
    }
    if (!g_initialized) return stats;  // one process: its gradients are the average
    check_same_tensors(params, fn, "parameters");
    // what each rank holds for each parameter: 0 nothing, 1 row-sparse, 2 dense; the maximum decides
    std::vector<std::int64_t> kind(params.size());
    for (std::size_t i = 0; i < params.size(); ++i)
        kind[i] = has_sparse_grad(params[i]) ? 1 : params[i].has_grad() ? 2 : 0;
#ifdef TAPEGRAD_HAVE_MPI
    allreduce_in_place(kind.data(), kind.size(), MPI_MAX, fn);
    const T scale = T(1) / T(g_size);
    // dense buckets, parameters in reverse order, at most the cap each (a bigger tensor alone)
    const std::size_t cap = std::max<std::size_t>(1, std::size_t(options.bucket_cap_mb() * 1024 * 1024) / sizeof(T));
    thread_local std::vector<T> buffer;
    std::vector<std::size_t> members;
    auto flush = [&] {
        if (members.empty()) return;
        std::size_t n = 0;
        for (std::size_t i : members) n += params[i].value().size();
        if (buffer.size() < n) buffer.resize(n);
        T* p = buffer.data();
        for (std::size_t i : members) {  // grad / world_size into the bucket (DDP divides first)
            const auto& g = const_cast<Tensor<T>&>(params[i]).mutable_grad();  // sparse → dense, none → zeros
            const T* src = g.data();
            for (std::size_t k = 0, m = g.size(); k < m; ++k) p[k] = src[k] * scale;
            p += g.size();
        }
        allreduce_in_place(buffer.data(), n, MPI_SUM, fn);
        p = buffer.data();
        for (std::size_t i : members) {
            auto& g = const_cast<Tensor<T>&>(params[i]).mutable_grad();
            std::copy(p, p + g.size(), g.data());
            p += g.size();
        }
        ++stats.buckets;
        stats.dense_bytes += n * sizeof(T);
        members.clear();
    };
    std::size_t filled = 0;
    for (std::size_t j = params.size(); j-- > 0;) {
        if (kind[j] != 2) continue;
        const std::size_t n = params[j].value().size();
        if (!members.empty() && filled + n > cap) flush(), filled = 0;
        members.push_back(j);
        filled += n;
    }
    flush();
    // row-sparse: every rank's rows and values, gathered, scaled
    for (std::size_t j = 0; j < params.size(); ++j) {
        if (kind[j] != 1) continue;
        const Tensor<T>& p = params[j];
        const auto& shape = p.shape();
        const std::size_t width = shape.empty() || shape[0] == 0 ? 0 : p.value().size() / shape[0];
        const bool have = has_sparse_grad(p);
        std::vector<std::int64_t> no_rows;
        const auto& rows = have ? sparse_grad_rows(p) : no_rows;
        const T* vals = have ? sparse_grad_values(p).data() : nullptr;
        std::vector<std::int64_t> counts;
        std::vector<std::int64_t> all_rows = allgather(rows.data(), rows.size(), 1, counts, fn);
        std::vector<T> all_vals = allgather(vals, rows.size(), width, counts, fn);
        for (auto& v : all_vals) v *= scale;
        Shape vs(shape.begin(), shape.end());
        vs[0] = all_rows.size();
        xt::xarray<T> values = xt::xarray<T>::from_shape(vs);
        std::copy(all_vals.begin(), all_vals.end(), values.begin());
        const_cast<Tensor<T>&>(p).zero_grad(/*set_to_none=*/true);
        accumulate_sparse_grad(p, all_rows, values);
        ++stats.sparse_params;
        stats.sparse_rows += all_rows.size();
        stats.sparse_bytes += all_rows.size() * (sizeof(std::int64_t) + width * sizeof(T));
    }
#endif
    return stats;
}
template <class T> AllreduceStats allreduce_gradients(const nn::Module<T>& module, const AllreduceOptions& options) {
    return allreduce_gradients(module.parameters(), options);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                        \
    template void broadcast_parameters(const nn::Module<T>&, int);                                    \
    template void broadcast_buffers(const nn::Module<T>&, int);                                       \
    template AllreduceStats allreduce_gradients(const std::vector<Tensor<T>>&, const AllreduceOptions&); \
    template AllreduceStats allreduce_gradients(const nn::Module<T>&, const AllreduceOptions&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace distributed
}  // namespace tapegrad
