#pragma once
// Prefetcher: gathers the next batch on a background thread while the caller computes on the
// current one (torch's DataLoader with num_workers=1 and prefetching). The batches and their
// order are exactly loader.batch(0), batch(1), … of the epoch: the order is drawn by
// begin_epoch() on the caller's thread (so the loader's generator, which checkpoints save, moves
// exactly as without prefetching) and the worker only copies rows.
//
//   data::Prefetcher<float, std::uint8_t> pf(loader);
//   pf.begin_epoch();
//   for (std::size_t b = 0; b < loader.num_batches(); ++b) {
//       pf.next(x.mutable_value(), y);   // batch b, swapped in; the worker starts on b + 1
//       …
//   }
//
// next() swaps buffers with the worker: x's and y's storage is reused for a later batch, so keep
// no view into them across calls. An exception the worker met (a bad index…) is rethrown by the
// next() of that batch. The loader must not be used otherwise (begin_epoch, batch) while an epoch
// is being prefetched, and must outlive the Prefetcher.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>

#include "tapegrad/data/dataloader.hpp"

namespace tapegrad {
namespace data {

template <class T = float, class S = T> class Prefetcher {
public:
    explicit Prefetcher(DataLoader<T, S>& loader);
    ~Prefetcher();
    Prefetcher(const Prefetcher&) = delete;
    Prefetcher& operator=(const Prefetcher&) = delete;

    // Waits for the worker, starts the loader's next epoch, and starts gathering its batch 0.
    void begin_epoch();
    // The epoch's next batch into x and y (IndexError past the last one, or before begin_epoch).
    void next(xt::xarray<T>& x, xt::xarray<std::int64_t>& y);
    std::size_t position() const { return next_; }  // batches handed out this epoch

private:
    void work();
    void request(std::size_t b);  // caller holds no lock
    void wait_idle(std::unique_lock<std::mutex>& lock);

    DataLoader<T, S>& loader_;
    std::mutex m_;
    std::condition_variable cv_;
    bool stop_ = false, busy_ = false, started_ = false;
    std::size_t todo_ = 0, ready_ = std::size_t(-1), next_ = 0;
    xt::xarray<T> bx_;
    xt::xarray<std::int64_t> by_;
    std::exception_ptr error_;
    std::thread worker_;
};

}  // namespace data
}  // namespace tapegrad
