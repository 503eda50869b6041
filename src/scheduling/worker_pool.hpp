#pragma once
// The worker threads behind a Context: deadline scheduling across every registered work source
// (handler session; scheduling/deadline_scheduler.hpp), lock-free on the worker side,
// wait-free on the audio side.
//
// Registration and removal happen on setup threads under a mutex. Workers read the registry
// without locks; a removed source is reclaimed safely by quiescent-state tracking: each worker
// publishes an odd epoch while it may hold a source pointer and an even one otherwise, and
// remove() waits until every worker that was inside has left.
//
// Idle workers wait per ContextConfig::wake_strategy (scheduling/anticipation.hpp for the
// default). Each worker publishes when it will next look for work (`wake_at`: 0 = awake); the
// audio thread reads those after publishing requests and wakes a worker only if none is awake.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "legato/context.hpp"
#include "legato/nonblocking.hpp"
#include "rt/semaphore.hpp"
#include "scheduling/anticipation.hpp"
#include "scheduling/deadline_scheduler.hpp"
#include "scheduling/work_source.hpp"

namespace legato::scheduling {

class WorkerPool {
public:
    /// [setup thread] Starts the workers and waits until each has set its priority. Throws
    /// legato::Error naming the ContextConfig field that is out of range.
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

    /// [setup thread] Runs `job` on one of the workers (at the workers' priority) and waits
    /// until it has finished; rethrows nothing (`job` must catch what it throws). Jobs run one
    /// at a time; while one runs, that worker serves no requests. May block.
    void run_on_worker(const std::function<void()>& job);

    /// [audio thread] Tells the pool that `requests` new requests were published at monotonic
    /// time `now_ns`. Wakes up to that many workers, but only workers that are neither awake
    /// nor about to wake (anticipate), or sleeping (sleep, timer). Wait-free apart from one
    /// semaphore post (a futex wake system call) per worker woken; nothing with poll.
    void notify(std::size_t requests, std::int64_t now_ns) noexcept LEGATO_NONBLOCKING;

    /// [audio thread] notify() for requests of a source served by external runner `runner`:
    /// calls the runners' wake function (set_external_runner_wake), nothing else.
    void notify_runner(int runner, std::size_t requests) noexcept LEGATO_NONBLOCKING;

    /// [runner thread] claim_external_run() for this pool's sources served by `runner`: picks
    /// as a worker does (expiring what cannot make its deadline) and begins the run. While
    /// the claim is held, the source cannot be removed. Takes no lock.
    bool claim_for_runner(int runner, ExternalRunClaim& claim) noexcept;
    /// [runner thread] Ends a claim of claim_for_runner().
    void finish_for_runner(ExternalRunClaim& claim, std::string_view error) noexcept;

    std::size_t worker_count() const noexcept { return worker_count_; }
    std::size_t realtime_workers() const noexcept { return realtime_workers_.load(); }
    WakeStrategy wake_strategy() const noexcept { return config_.wake_strategy; }

    /// A worker napping until at most this long from now counts as awake for notify().
    static constexpr std::int64_t wake_allowance_ns = 50'000;

private:
    static constexpr std::int64_t wake_never = INT64_MAX;  // wake_at of a worker without timeout
    static constexpr std::int64_t busy = -1;               // wake_at of a worker running a request

    struct alignas(64) Worker {
        std::atomic<std::uint64_t> epoch{0};
        std::atomic<std::int64_t> wake_at{0};  // 0 = idle and awake; busy; else when it looks again
        rt::Semaphore wake;                    // anticipate: posted by whoever claims wake_at
        // Worker thread only: scratch space for one scheduling decision.
        std::vector<Candidate> candidates;
        std::vector<WorkSource*> sources;
        WakeMargin margin;
        std::size_t index = 0;
    };

    void worker_main(std::size_t index);
    bool run_one(Worker& worker) noexcept;
    // What each of the first `count` sources would run next for `runner` (-1: the workers;
    // other sources give an unavailable candidate), into `candidates` / `sources`.
    std::span<Candidate> scan(int runner, std::size_t count, Candidate* candidates,
                              WorkSource** sources) const noexcept;
    bool holds_for_burst(Worker& worker, std::size_t chosen, std::size_t count) noexcept;
    static bool any_losses(const Worker& worker, std::size_t count) noexcept;
    bool any_work() const noexcept;
    std::int64_t earliest_forecast(std::int64_t now_ns) const noexcept;
    void take_setup_job() noexcept;
    void wait_anticipating(Worker& worker, std::int64_t forecast_ns);
    void sleep_until_woken(Worker& worker);
    bool claim_and_wake(Worker& worker) noexcept LEGATO_NONBLOCKING;
    void release_spin(const Worker& worker) noexcept;
    void wait_until_unused() const;

    // External runners: each publishes an epoch as workers do (odd while it may hold a source
    // pointer, through the whole engine run of a claim) and keeps its own scratch space.
    struct Runner {
        std::atomic<std::uint64_t> epoch{0};
        std::vector<Candidate> candidates;  // runner thread only, sized at its first claim
        std::vector<WorkSource*> sources;
    };

    ContextConfig config_;
    AnticipationSettings anticipation_;
    std::size_t worker_count_ = 0;
    std::unique_ptr<std::atomic<WorkSource*>[]> sources_;
    std::atomic<std::size_t> high_water_{0};
    std::mutex registry_mutex_;

    std::unique_ptr<Worker[]> workers_;
    std::array<Runner, max_external_runners> runners_;
    std::vector<std::thread> threads_;
    std::atomic<std::size_t> realtime_workers_{0};
    std::atomic<int> sleepers_{0};  // sleep/timer: announcements not yet claimed by a notify
    rt::Semaphore wake_;            // sleep/timer
    std::atomic<bool> stop_{false};
    // anticipate: the one worker allowed to spin for the next request (no_spinner: none).
    static constexpr std::size_t no_spinner = static_cast<std::size_t>(-1);
    std::atomic<std::size_t> spinner_{no_spinner};

    // Setup jobs (run_on_worker).
    std::mutex job_mutex_;
    std::atomic<const std::function<void()>*> job_{nullptr};
    rt::Semaphore job_done_;
};

/// [setup thread] The pools claim_external_run() looks through (src/scheduling/
/// external_runner.cpp): every pool is listed from its construction to its destruction.
void list_pool(WorkerPool* pool);
void unlist_pool(WorkerPool* pool);

/// [audio thread] Calls the wake function set_external_runner_wake() set, if any.
void wake_runner(int runner) noexcept LEGATO_NONBLOCKING;

}  // namespace legato::scheduling
