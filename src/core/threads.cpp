// set_num_threads, and the small pool behind detail::parallel_for: n − 1 workers that sleep on a
// condition variable between jobs, the calling thread doing the first part itself.
#include <cblas.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tapegrad/core/errors.hpp"
#include "tapegrad/core/threads.hpp"
#include "../ops/internal.hpp"

namespace tapegrad {
namespace {
thread_local bool t_in_part = false;  // inside a part of a parallel_for: nested ones run serially

class Pool {
public:
    explicit Pool(int n) {
        for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { work(std::size_t(i)); });
    }
    ~Pool() {
        {
            std::lock_guard<std::mutex> l(m_);
            stop_ = true;
        }
        wake_.notify_all();
        for (std::thread& t : workers_) t.join();
    }
    std::size_t size() const { return workers_.size() + 1; }
    std::mutex& busy() { return busy_; }

    // f on `parts` ≤ size() parts; part 0 on this thread. Rethrows the first exception a part threw.
    void run(std::size_t parts, const std::function<void(std::size_t)>& f) {
        {
            std::lock_guard<std::mutex> l(m_);
            job_ = &f, parts_ = parts, pending_ = parts - 1, error_ = nullptr, ++generation_;
        }
        wake_.notify_all();
        part(0, f);
        std::unique_lock<std::mutex> l(m_);
        done_.wait(l, [this] { return pending_ == 0; });
        job_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

private:
    void part(std::size_t i, const std::function<void(std::size_t)>& f) {
        t_in_part = true;
        try {
            f(i);
        } catch (...) {
            std::lock_guard<std::mutex> l(m_);
            if (!error_) error_ = std::current_exception();
        }
        t_in_part = false;
    }
    void work(std::size_t i) {
        std::uint64_t seen = 0;
        for (;;) {
            const std::function<void(std::size_t)>* f = nullptr;
            {
                std::unique_lock<std::mutex> l(m_);
                wake_.wait(l, [&] { return stop_ || generation_ != seen; });
                if (stop_) return;
                seen = generation_;
                if (i >= parts_) continue;
                f = job_;
            }
            part(i, *f);
            std::lock_guard<std::mutex> l(m_);
            if (--pending_ == 0) done_.notify_one();
        }
    }

    std::vector<std::thread> workers_;
    std::mutex m_, busy_;
    std::condition_variable wake_, done_;
    const std::function<void(std::size_t)>* job_ = nullptr;
    std::size_t parts_ = 0, pending_ = 0;
    std::uint64_t generation_ = 0;
    std::exception_ptr error_;
    bool stop_ = false;
};

std::mutex g_pool_mutex;  // guards g_pool and g_threads
std::unique_ptr<Pool> g_pool;
int g_threads = 0;  // 0: not set yet, OpenBLAS's default

int threads_now() { return g_threads > 0 ? g_threads : openblas_get_num_threads(); }
}  // namespace

void set_num_threads(int n) {
    if (n < 1) throw ValueError("set_num_threads: Number of threads must be positive, got " + std::to_string(n));
    std::lock_guard<std::mutex> l(g_pool_mutex);
    openblas_set_num_threads(n);
    g_threads = n;
    if (g_pool && g_pool->size() != std::size_t(n)) {  // a new pool at the next job
        std::unique_ptr<Pool> old = std::move(g_pool);
        { std::lock_guard<std::mutex> b(old->busy()); }  // let a running job finish first
    }
}

int get_num_threads() {
    std::lock_guard<std::mutex> l(g_pool_mutex);
    return threads_now();
}

namespace detail {
void parallel_for(std::size_t n, const std::function<void(std::size_t, std::size_t)>& f) {
    if (n == 0) return;
    Pool* pool = nullptr;
    std::unique_lock<std::mutex> busy;
    if (n > 1 && !t_in_part) {
        std::lock_guard<std::mutex> l(g_pool_mutex);
        const int t = threads_now();
        if (t > 1) {
            if (!g_pool) g_pool = std::make_unique<Pool>(t);
            busy = std::unique_lock<std::mutex>(g_pool->busy(), std::try_to_lock);  // another thread's job: serial
            if (busy.owns_lock()) pool = g_pool.get();
        }
    }
    if (!pool) {
        f(0, n);
        return;
    }
    const std::size_t parts = std::min(n, pool->size());
    // GEMMs inside the parts run on their own thread: OpenBLAS's pool sits this one out.
    const int blas = openblas_get_num_threads();
    openblas_set_num_threads(1);
    try {
        pool->run(parts, [&](std::size_t i) { f(i * n / parts, (i + 1) * n / parts); });
    } catch (...) {
        openblas_set_num_threads(blas);
        throw;
    }
    openblas_set_num_threads(blas);
}
}  // namespace detail
}  // namespace tapegrad
