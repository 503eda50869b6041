#pragma once
// The worker threads behind a Context: earliest-deadline-first across every registered work
// source (handler session), lock-free on the worker side, wait-free on the audio side.
//
// Registration and removal happen on setup threads under a mutex. Workers read the registry
// without locks; a removed source is reclaimed safely by quiescent-state tracking: each worker
// publishes an odd epoch while it may hold a source pointer and an even one otherwise, and
// remove() waits until every worker that was inside has left.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "legato/context.hpp"
#include "legato/nonblocking.hpp"
#include "rt/semaphore.hpp"
#include "scheduling/work_source.hpp"

namespace legato::scheduling {

class WorkerPool {
public:
    /// [setup thread] Starts the workers and waits until each has set its priority.
    explicit WorkerPool(const ContextConfig& config);
    /// [setup thread] Stops and joins the workers. Every source must have been removed.
    ~WorkerPool();

    /// [setup thread] Makes `source` visible to the workers. Throws legato::Error when the
    /// pool already serves ContextConfig::max_handlers sources.
    void add(WorkSource* source);
    /// [setup thread] Hides `source` and waits until no worker uses it any more (including an
    /// inference it is running). May block for as long as that inference takes.
    void remove(WorkSource* source);
    /// [setup thread] Puts `replacement` in `source`'s place (cannot fail for lack of room),
    /// then waits as remove() does for `source`.
    void replace(WorkSource* source, WorkSource* replacement);

    /// [audio thread] Tells the pool that `requests` new requests were published. Wakes up to
    /// that many sleeping workers. Wait-free apart from the semaphore post (one futex wake per
    /// worker woken); does nothing with WakeStrategy::poll.
    void notify(std::size_t requests) noexcept LEGATO_NONBLOCKING;

    std::size_t worker_count() const noexcept { return threads_.size(); }
    std::size_t realtime_workers() const noexcept { return realtime_workers_.load(); }
    WakeStrategy wake_strategy() const noexcept { return config_.wake_strategy; }

private:
    struct alignas(64) WorkerEpoch {
        std::atomic<std::uint64_t> value{0};
    };

    void worker_main(std::size_t index);
    bool run_one() noexcept;
    bool any_work() const noexcept;
    void sleep_until_woken(std::size_t index);
    void wait_until_unused() const;

    ContextConfig config_;
    std::unique_ptr<std::atomic<WorkSource*>[]> sources_;
    std::atomic<std::size_t> high_water_{0};
    std::mutex registry_mutex_;

    std::unique_ptr<WorkerEpoch[]> epochs_;
    std::vector<std::thread> threads_;
    std::atomic<std::size_t> realtime_workers_{0};
    std::atomic<int> sleepers_{0};  // sleep announcements not yet claimed by a notify
    rt::Semaphore wake_;
    std::atomic<bool> stop_{false};
};

}  // namespace legato::scheduling
