#include "scheduling/worker_pool.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <latch>
#include <string>

#include "legato/error.hpp"
#include "rt/cpu_relax.hpp"
#include "rt/monotonic_clock.hpp"
#include "scheduling/thread_priority.hpp"

namespace legato::scheduling {

namespace {
// [worker thread] Sleeps until the monotonic time `deadline_ns` (restarted after signals).
void nap_until_ns(std::int64_t deadline_ns) noexcept {
    timespec until{};
    until.tv_sec = static_cast<std::time_t>(deadline_ns / 1'000'000'000);
    until.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
    }
}

std::size_t resolve_worker_count(std::size_t requested) {
    if (requested > 0)
        return requested;
    const unsigned hardware = std::thread::hardware_concurrency();
    return hardware > 1 ? hardware - 1 : 1;
}

}  // namespace

WorkerPool::WorkerPool(const ContextConfig& config)
    : config_(config),
      sources_(new std::atomic<WorkSource*>[config.max_handlers]),
      epochs_(new WorkerEpoch[resolve_worker_count(config.worker_threads)]) {
    if (config.max_handlers == 0)
        throw Error("ContextConfig.max_handlers: must be at least 1");
    if (config_.timer_interval < std::chrono::microseconds(10) ||
        config_.timer_interval > std::chrono::microseconds(10'000))
        throw Error("ContextConfig.timer_interval: must be between 10 us and 10 ms, got " +
                    std::to_string(config_.timer_interval.count()) + " us");
    if (config_.timer_idle_timeout.count() != 0 &&
        (config_.timer_idle_timeout < std::chrono::milliseconds(1) ||
         config_.timer_idle_timeout > std::chrono::milliseconds(60'000)))
        throw Error("ContextConfig.timer_idle_timeout: must be 0 (never) or between 1 ms and "
                    "60 s, got " +
                    std::to_string(config_.timer_idle_timeout.count()) + " ms");
    for (std::size_t i = 0; i < config.max_handlers; ++i)
        sources_[i].store(nullptr);
    const std::size_t count = resolve_worker_count(config.worker_threads);
    std::latch started(static_cast<std::ptrdiff_t>(count));
    threads_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        threads_.emplace_back([this, i, &started] {
            if (config_.realtime_priority && set_realtime_priority(config_.realtime_priority_level))
                realtime_workers_.fetch_add(1);
            started.count_down();
            worker_main(i);
        });
    }
    started.wait();
}

WorkerPool::~WorkerPool() {
    stop_.store(true, std::memory_order_seq_cst);
    for (std::size_t i = 0; i < threads_.size(); ++i)
        wake_.post();
    for (auto& thread : threads_)
        thread.join();
}

void WorkerPool::add(WorkSource* source) {
    std::lock_guard lock(registry_mutex_);
    for (std::size_t i = 0; i < config_.max_handlers; ++i) {
        if (sources_[i].load(std::memory_order_relaxed) == nullptr) {
            sources_[i].store(source, std::memory_order_release);
            if (i + 1 > high_water_.load(std::memory_order_relaxed))
                high_water_.store(i + 1, std::memory_order_release);
            return;
        }
    }
    throw Error("Context is full: it already serves " + std::to_string(config_.max_handlers) +
                " handlers (raise ContextConfig.max_handlers or use another Context)");
}

void WorkerPool::remove(WorkSource* source) {
    replace(source, nullptr);
}

void WorkerPool::replace(WorkSource* source, WorkSource* replacement) {
    {
        std::lock_guard lock(registry_mutex_);
        for (std::size_t i = 0; i < config_.max_handlers; ++i) {
            if (sources_[i].load(std::memory_order_relaxed) == source) {
                sources_[i].store(replacement, std::memory_order_seq_cst);
                break;
            }
        }
    }
    wait_until_unused();
}

void WorkerPool::wait_until_unused() const {
    // A worker that loaded the old pointer did so inside an odd epoch that began before the
    // seq_cst store above; waiting for each odd epoch seen now to end is therefore enough.
    for (std::size_t i = 0; i < threads_.size(); ++i) {
        const std::uint64_t seen = epochs_[i].value.load(std::memory_order_seq_cst);
        if ((seen & 1U) == 0)
            continue;
        while (epochs_[i].value.load(std::memory_order_acquire) == seen)
            std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
}

void WorkerPool::notify(std::size_t requests) noexcept {
    // With `timer`, workers sleep only after timer_idle_timeout without work: while audio
    // streams the load below finds no sleeper and nothing is posted.
    if (config_.wake_strategy == WakeStrategy::poll || requests == 0)
        return;
    // Dekker hand-over with sleep_until_woken, all seq_cst (no fences, so ThreadSanitizer can
    // check it): the session published its requests with a seq_cst store; either the worker's
    // re-check sees them, or this load sees the worker's announcement.
    int sleeping = sleepers_.load(std::memory_order_seq_cst);
    while (requests > 0 && sleeping > 0) {
        if (sleepers_.compare_exchange_weak(sleeping, sleeping - 1, std::memory_order_relaxed)) {
            wake_.post();
            --requests;
        }
    }
}

bool WorkerPool::run_one() noexcept {
    WorkSource* best = nullptr;
    std::int64_t best_deadline = no_deadline;
    const std::size_t count = high_water_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        WorkSource* source = sources_[i].load(std::memory_order_acquire);
        if (source == nullptr)
            continue;
        const std::int64_t deadline = source->next_deadline();
        if (deadline < best_deadline) {
            best_deadline = deadline;
            best = source;
        }
    }
    if (best == nullptr)
        return false;
    best->run_next();  // false only if another worker was faster: rescan at once either way
    return true;
}

bool WorkerPool::any_work() const noexcept {
    const std::size_t count = high_water_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        WorkSource* source = sources_[i].load(std::memory_order_acquire);
        if (source != nullptr && source->next_deadline() != no_deadline)
            return true;
    }
    return false;
}

void WorkerPool::sleep_until_woken(std::size_t index) {
    auto& epoch = epochs_[index].value;
    sleepers_.fetch_add(1, std::memory_order_seq_cst);  // then any_work() loads seq_cst
    epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
    const bool work = any_work();
    epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    if (work || stop_.load(std::memory_order_acquire)) {
        // Withdraw the announcement; if a notify already claimed it, consume its post.
        int sleeping = sleepers_.load(std::memory_order_relaxed);
        while (true) {
            if (sleeping <= 0) {
                wake_.wait();
                return;
            }
            if (sleepers_.compare_exchange_weak(sleeping, sleeping - 1, std::memory_order_relaxed))
                return;
        }
    }
    wake_.wait();
}

void WorkerPool::worker_main(std::size_t index) {
    auto& epoch = epochs_[index].value;
    const std::int64_t spin_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(config_.spin_before_sleep).count();
    std::int64_t idle_since = 0;
    const std::int64_t interval_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(config_.timer_interval).count();
    const std::int64_t idle_timeout_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(config_.timer_idle_timeout).count();
    std::int64_t nap_until = 0;
    while (!stop_.load(std::memory_order_acquire)) {
        epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
        const bool worked = run_one();
        epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_release);
        if (worked) {
            idle_since = 0;
            continue;
        }
        if (config_.wake_strategy == WakeStrategy::poll) {
            rt::cpu_relax();
            continue;
        }
        const std::int64_t now = rt::now_ns();
        if (idle_since == 0)
            idle_since = now;
        if (now - idle_since < spin_ns) {
            rt::cpu_relax();
            continue;
        }
        if (config_.wake_strategy == WakeStrategy::timer &&
            (idle_timeout_ns == 0 || now - idle_since < idle_timeout_ns)) {
            // Nobody wakes a napping worker: it looks again after the interval. Absolute
            // deadlines, so a late wake-up does not stretch the next nap.
            nap_until = std::max(nap_until + interval_ns, now);
            nap_until_ns(nap_until);
            continue;  // idle_since stays: no spinning again until work shows up
        }
        sleep_until_woken(index);
        idle_since = 0;
    }
}

}  // namespace legato::scheduling
