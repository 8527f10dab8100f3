// Prefetcher: one worker thread gathering batch b + 1 while the caller computes on batch b.
#include <utility>

#include "tapegrad/data/prefetch.hpp"

namespace tapegrad {
namespace data {

template <class T, class S> Prefetcher<T, S>::Prefetcher(DataLoader<T, S>& loader) : loader_(loader) {
    worker_ = std::thread([this] { work(); });
}

template <class T, class S> Prefetcher<T, S>::~Prefetcher() {
    {
        std::lock_guard<std::mutex> lock(m_);
        stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
}

template <class T, class S> void Prefetcher<T, S>::work() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
        cv_.wait(lock, [this] { return stop_ || busy_; });
        if (stop_) return;
        const std::size_t b = todo_;
        lock.unlock();
        std::exception_ptr err;
        try {
            loader_.batch(b, bx_, by_);  // bx_, by_ are the worker's while busy_
        } catch (...) {
            err = std::current_exception();
        }
        lock.lock();
        error_ = err;
        ready_ = b;
        busy_ = false;
        cv_.notify_all();
    }
}

template <class T, class S> void Prefetcher<T, S>::wait_idle(std::unique_lock<std::mutex>& lock) {
    cv_.wait(lock, [this] { return !busy_; });
}

template <class T, class S> void Prefetcher<T, S>::request(std::size_t b) {
    {
        std::lock_guard<std::mutex> lock(m_);
        todo_ = b;
        busy_ = true;
    }
    cv_.notify_all();
}

template <class T, class S> void Prefetcher<T, S>::begin_epoch() {
    {
        std::unique_lock<std::mutex> lock(m_);
        wait_idle(lock);  // the worker must not read the order while it changes
        error_ = nullptr;
        ready_ = std::size_t(-1);
    }
    loader_.begin_epoch();
    next_ = 0;
    started_ = true;
    if (loader_.num_batches() > 0) request(0);
}

template <class T, class S> void Prefetcher<T, S>::next(xt::xarray<T>& x, xt::xarray<std::int64_t>& y) {
    if (!started_) throw IndexError("Prefetcher::next: call begin_epoch() first");
    if (next_ >= loader_.num_batches())
        throw IndexError("Prefetcher::next: the epoch's " + std::to_string(loader_.num_batches()) +
                         " batches have all been handed out; call begin_epoch() for the next epoch");
    std::unique_lock<std::mutex> lock(m_);
    wait_idle(lock);
    if (ready_ != next_) throw IndexError("Prefetcher::next: batch " + std::to_string(next_) + " was not requested");
    if (error_) {
        std::exception_ptr e = error_;
        error_ = nullptr;
        ++next_;
        if (next_ < loader_.num_batches()) {
            lock.unlock();
            request(next_);
        }
        std::rethrow_exception(e);
    }
    std::swap(x, bx_);  // moves: the storage changes hands, nothing is copied
    std::swap(y, by_);
    ++next_;
    lock.unlock();
    if (next_ < loader_.num_batches()) request(next_);
}

template class Prefetcher<float, float>;
template class Prefetcher<double, double>;
template class Prefetcher<float, std::uint8_t>;
template class Prefetcher<double, std::uint8_t>;

}  // namespace data
}  // namespace tapegrad
