#include "scheduling/worker_pool.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <latch>
#include <span>
#include <string>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

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

std::int64_t to_ns(std::chrono::nanoseconds d) {
    return d.count();
}

void check_range(bool ok, const char* field, const std::string& range, const std::string& got) {
    if (!ok)
        throw Error(std::string("ContextConfig.") + field + ": must be " + range + ", got " + got);
}

}  // namespace

WorkerPool::WorkerPool(const ContextConfig& config)
    : config_(config), worker_count_(resolve_worker_count(config.worker_threads)) {
    if (config.max_handlers == 0)
        throw Error("ContextConfig.max_handlers: must be at least 1");
    check_range(config_.timer_interval >= std::chrono::microseconds(10) &&
                    config_.timer_interval <= std::chrono::microseconds(10'000),
                "timer_interval", "between 10 us and 10 ms",
                std::to_string(config_.timer_interval.count()) + " us");
    check_range(config_.timer_idle_timeout.count() == 0 ||
                    (config_.timer_idle_timeout >= std::chrono::milliseconds(1) &&
                     config_.timer_idle_timeout <= std::chrono::milliseconds(60'000)),
                "timer_idle_timeout", "0 (never) or between 1 ms and 60 s",
                std::to_string(config_.timer_idle_timeout.count()) + " ms");
    check_range(config_.anticipation_spin >= std::chrono::microseconds(10) &&
                    config_.anticipation_spin <= std::chrono::microseconds(10'000),
                "anticipation_spin", "between 10 us and 10 ms",
                std::to_string(config_.anticipation_spin.count()) + " us");
    check_range(config_.anticipation_idle_timeout >= std::chrono::milliseconds(1) &&
                    config_.anticipation_idle_timeout <= std::chrono::milliseconds(60'000),
                "anticipation_idle_timeout", "between 1 ms and 60 s",
                std::to_string(config_.anticipation_idle_timeout.count()) + " ms");
    anticipation_.spin_after_ns = to_ns(config_.anticipation_spin);
    anticipation_.stop_after_ns = to_ns(config_.anticipation_idle_timeout);

    sources_.reset(new std::atomic<WorkSource*>[config.max_handlers]);
    for (std::size_t i = 0; i < config.max_handlers; ++i)
        sources_[i].store(nullptr);
    workers_.reset(new Worker[worker_count_]);
    for (std::size_t i = 0; i < worker_count_; ++i) {
        workers_[i].index = i;
        // Sized here so that a scheduling decision never allocates.
        workers_[i].candidates.resize(config.max_handlers);
        workers_[i].sources.resize(config.max_handlers);
    }
    std::latch started(static_cast<std::ptrdiff_t>(worker_count_));
    threads_.reserve(worker_count_);
    for (std::size_t i = 0; i < worker_count_; ++i) {
        threads_.emplace_back([this, i, &started] {
            if (config_.realtime_priority && set_realtime_priority(config_.realtime_priority_level))
                realtime_workers_.fetch_add(1);
#if defined(__linux__)
            // Timed naps end when asked, not up to 50 µs later (the default timer slack).
            prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
            started.count_down();
            worker_main(i);
        });
    }
    started.wait();
    list_pool(this);
}

WorkerPool::~WorkerPool() {
    unlist_pool(this);
    stop_.store(true, std::memory_order_seq_cst);
    for (std::size_t i = 0; i < worker_count_; ++i) {
        wake_.post();
        workers_[i].wake.post();
    }
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
    // A thread that loaded the old pointer did so inside an odd epoch that began before the
    // seq_cst store above; waiting for each odd epoch seen now to end is therefore enough. An
    // external runner stays inside for a whole engine run (its claim).
    const auto wait_out = [](const std::atomic<std::uint64_t>& epoch) {
        const std::uint64_t seen = epoch.load(std::memory_order_seq_cst);
        if ((seen & 1U) == 0)
            return;
        while (epoch.load(std::memory_order_acquire) == seen)
            std::this_thread::sleep_for(std::chrono::microseconds(20));
    };
    for (std::size_t i = 0; i < worker_count_; ++i)
        wait_out(workers_[i].epoch);
    for (const Runner& runner : runners_)
        wait_out(runner.epoch);
}

void WorkerPool::run_on_worker(const std::function<void()>& job) {
    std::lock_guard lock(job_mutex_);
    job_.store(&job, std::memory_order_seq_cst);
    // Wake a sleeping worker if there is one; awake, napping (timer) and polling ones look at
    // the job before anything else.
    if (config_.wake_strategy == WakeStrategy::anticipate) {
        for (std::size_t i = 0; i < worker_count_; ++i)
            if (claim_and_wake(workers_[i]))
                break;
    } else {
        int sleeping = sleepers_.load(std::memory_order_seq_cst);
        while (sleeping > 0) {
            if (sleepers_.compare_exchange_weak(sleeping, sleeping - 1,
                                                std::memory_order_relaxed)) {
                wake_.post();
                break;
            }
        }
    }
    job_done_.wait();
}

void WorkerPool::take_setup_job() noexcept {
    if (job_.load(std::memory_order_acquire) == nullptr)
        return;
    if (const std::function<void()>* job = job_.exchange(nullptr, std::memory_order_acq_rel)) {
        (*job)();  // the caller's job catches what it throws
        job_done_.post();
    }
}

void WorkerPool::release_spin(const Worker& worker) noexcept {
    std::size_t holder = worker.index;
    spinner_.compare_exchange_strong(holder, no_spinner, std::memory_order_relaxed);
}

bool WorkerPool::claim_and_wake(Worker& worker) noexcept {
    std::int64_t wake_at = worker.wake_at.load(std::memory_order_seq_cst);
    if (wake_at <= 0 ||  // awake, or busy running a request
        !worker.wake_at.compare_exchange_strong(wake_at, 0, std::memory_order_seq_cst))
        return false;
    worker.wake.post();
    return true;
}

void WorkerPool::notify(std::size_t requests, std::int64_t now_ns) noexcept {
    if (config_.wake_strategy == WakeStrategy::poll || requests == 0)
        return;
    if (config_.wake_strategy == WakeStrategy::anticipate) {
        // Dekker hand-over with wait_anticipating(), all seq_cst: the session published its
        // requests with a seq_cst store; either the worker's re-check sees them, or these loads
        // see the worker's wake_at.
        std::size_t awake = 0;  // idle and looking for work now, or about to
        for (std::size_t i = 0; i < worker_count_; ++i) {
            const std::int64_t wake_at = workers_[i].wake_at.load(std::memory_order_seq_cst);
            if (wake_at != busy && wake_at <= now_ns + wake_allowance_ns)
                ++awake;
        }
        for (std::size_t i = 0; i < worker_count_ && awake < requests; ++i) {
            const std::int64_t wake_at = workers_[i].wake_at.load(std::memory_order_seq_cst);
            if (wake_at > now_ns + wake_allowance_ns && claim_and_wake(workers_[i]))
                ++awake;
        }
        return;
    }
    // sleep, timer: with `timer`, workers sleep only after timer_idle_timeout without work, so
    // while audio streams the load below finds no sleeper and nothing is posted. Dekker
    // hand-over with sleep_until_woken(), all seq_cst (no fences, so ThreadSanitizer can
    // check it).
    int sleeping = sleepers_.load(std::memory_order_seq_cst);
    while (requests > 0 && sleeping > 0) {
        if (sleepers_.compare_exchange_weak(sleeping, sleeping - 1, std::memory_order_relaxed)) {
            wake_.post();
            --requests;
        }
    }
}

std::span<Candidate> WorkerPool::scan(int runner, std::size_t count, Candidate* candidates,
                                      WorkSource** sources) const noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        WorkSource* source = sources_[i].load(std::memory_order_acquire);
        sources[i] = source;
        // A source served by an external runner is that runner's only, never the workers'.
        candidates[i] =
            source != nullptr && source->runner() == runner ? source->next() : Candidate{};
    }
    return {candidates, count};
}

void WorkerPool::notify_runner(int runner, std::size_t requests) noexcept {
    if (requests > 0)
        wake_runner(runner);
}

bool WorkerPool::claim_for_runner(int runner_id, ExternalRunClaim& claim) noexcept {
    Runner& runner = runners_[static_cast<std::size_t>(runner_id)];
    auto& epoch = runner.epoch;
    epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
    std::size_t count = high_water_.load(std::memory_order_acquire);
    bool claimed = false;
    try {
        if (runner.candidates.size() < count) {  // the first claim sizes them for every handler
            runner.candidates.resize(config_.max_handlers);
            runner.sources.resize(config_.max_handlers);
        }
    } catch (...) {
        count = 0;
    }
    const std::span<Candidate> candidates =
        scan(runner_id, count, runner.candidates.data(), runner.sources.data());
    while (true) {
        const Choice choice = choose(candidates, rt::now_ns());
        if (choice.index == Choice::none)
            break;
        WorkSource* source = runner.sources[choice.index];
        if (choice.expire) {
            source->expire(candidates[choice.index].sequence);
            candidates[choice.index] = source->next();
            continue;
        }
        if (!source->begin_external(claim)) {
            candidates[choice.index] = Candidate{};  // nothing to claim there after all
            continue;
        }
        if (claim.model == nullptr) {  // no run needed (dropped, taken back, failed)
            candidates[choice.index] = source->next();
            continue;
        }
        claim.pool = this;
        claim.runner = runner_id;
        claimed = true;
        break;
    }
    if (!claimed)
        epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    return claimed;
}

void WorkerPool::finish_for_runner(ExternalRunClaim& claim, std::string_view error) noexcept {
    auto& epoch = runners_[static_cast<std::size_t>(claim.runner)].epoch;
    static_cast<WorkSource*>(claim.source)->end_external(claim, error);
    epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

bool WorkerPool::run_one(Worker& worker) noexcept {
    const std::size_t count = high_water_.load(std::memory_order_acquire);
    const std::span<Candidate> candidates =
        scan(-1, count, worker.candidates.data(), worker.sources.data());
    while (true) {
        const Choice choice = choose(candidates, rt::now_ns());
        if (choice.index == Choice::none)
            return false;
        WorkSource* source = worker.sources[choice.index];
        if (choice.expire) {
            // Cheap: drop it, then decide again with that source's next request.
            source->expire(candidates[choice.index].sequence);
            candidates[choice.index] = source->next();
            continue;
        }
        if (holds_for_burst(worker, choice.index, count))
            return true;  // spin: the held-for request is about to come
        // While it runs, this worker is not available to a request the audio thread publishes,
        // and another may spin for the next one.
        worker.wake_at.store(busy, std::memory_order_seq_cst);
        release_spin(worker);
        source->run_next();  // false only if another worker was faster: rescan at once either way
        worker.wake_at.store(0, std::memory_order_seq_cst);
        return true;
    }
}

bool WorkerPool::holds_for_burst(Worker& worker, std::size_t chosen, std::size_t count) noexcept {
    // One host callback submits the requests of many handlers within microseconds, always in
    // the same order. Under overload, running the first that arrives would favour the handler
    // the host calls first in every period; so a request is held back while a handler that has
    // lost a larger share is about to submit (its forecast is due within the hold window), as
    // long as the held request can still wait that long.
    const Candidate& mine = worker.candidates[chosen];
    if (!any_losses(worker, count))
        return false;  // nobody is losing: plain EDF, no waiting
    const std::int64_t now = rt::now_ns();
    if (now + anticipation_.spin_after_ns + mine.cost_ns > mine.latest_ns)
        return false;
    for (std::size_t i = 0; i < count; ++i) {
        const Candidate& other = worker.candidates[i];
        if (i == chosen || other.available || worker.sources[i] == nullptr ||
            !loses_more(other, mine))
            continue;
        const std::int64_t expected = worker.sources[i]->expected_request_ns();
        if (expected != 0 && expected <= now + anticipation_.spin_after_ns &&
            expected + anticipation_.spin_after_ns >= now) {
            rt::cpu_relax();
            return true;
        }
    }
    return false;
}

bool WorkerPool::any_losses(const Worker& worker, std::size_t count) noexcept {
    for (std::size_t i = 0; i < count; ++i)
        if (worker.candidates[i].lost > 0)
            return true;
    return false;
}

bool WorkerPool::any_work() const noexcept {
    if (job_.load(std::memory_order_seq_cst) != nullptr)
        return true;
    const std::size_t count = high_water_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        WorkSource* source = sources_[i].load(std::memory_order_acquire);
        if (source != nullptr && source->runner() < 0 && source->next().available)
            return true;
    }
    return false;
}

std::int64_t WorkerPool::earliest_forecast(std::int64_t now_ns) const noexcept {
    std::int64_t earliest = 0;
    const std::size_t count = high_water_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        WorkSource* source = sources_[i].load(std::memory_order_acquire);
        if (source == nullptr || source->runner() >= 0)  // not the workers' to anticipate
            continue;
        const std::int64_t expected = source->expected_request_ns();
        // Forecasts of stopped streams are ignored, so that one stopped handler does not keep
        // the workers napping on behalf of a stream that will not come.
        if (expected == 0 || expected + anticipation_.stop_after_ns <= now_ns)
            continue;
        if (earliest == 0 || expected < earliest)
            earliest = expected;
    }
    return earliest;
}

void WorkerPool::wait_anticipating(Worker& worker, std::int64_t forecast) {
    const std::int64_t now = rt::now_ns();
    IdlePlan plan = plan_idle(now, forecast, worker.margin.margin_ns(), anticipation_);
    if (plan.action == IdleAction::spin) {
        // One spinning worker is enough to catch the request (the audio thread wakes more if it
        // publishes more at once); the others nap through the spin window. Spinning workers at
        // real-time priority would otherwise take every core from a host thread below them.
        std::size_t holder = spinner_.load(std::memory_order_relaxed);
        if (holder == worker.index ||
            (holder == no_spinner &&
             spinner_.compare_exchange_strong(holder, worker.index, std::memory_order_relaxed))) {
            rt::cpu_relax();
            return;
        }
        plan = {IdleAction::nap,
                std::min(forecast + anticipation_.spin_after_ns, now + anticipation_.max_nap_ns)};
    } else {
        release_spin(worker);
    }
    const std::int64_t until = plan.action == IdleAction::nap ? plan.until_ns : wake_never;
    worker.wake_at.store(until, std::memory_order_seq_cst);
    worker.epoch.store(worker.epoch.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
    const bool work = any_work();
    worker.epoch.store(worker.epoch.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    if (work || stop_.load(std::memory_order_acquire)) {
        // Withdraw; if the audio thread already claimed us, consume its post.
        if (worker.wake_at.exchange(0, std::memory_order_seq_cst) == 0)
            worker.wake.wait();
        return;
    }
    const bool posted =
        until == wake_never ? (worker.wake.wait(), true) : worker.wake.wait_until(until);
    if (worker.wake_at.exchange(0, std::memory_order_seq_cst) == 0 && !posted) {
        worker.wake.wait();  // claimed just as the nap ended: its post is on its way
        return;
    }
    if (!posted)
        worker.margin.record(until, rt::now_ns());
}

void WorkerPool::sleep_until_woken(Worker& worker) {
    auto& epoch = worker.epoch;
    sleepers_.fetch_add(1, std::memory_order_seq_cst);  // then any_work() loads seq_cst
    epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
    const bool work = any_work();
    epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    if (work || stop_.load(std::memory_order_acquire)) {
        // Withdraw the announcement; if a notify already claimed it, consume its post.
        int sleeping_now = sleepers_.load(std::memory_order_relaxed);
        while (true) {
            if (sleeping_now <= 0) {
                wake_.wait();
                return;
            }
            if (sleepers_.compare_exchange_weak(sleeping_now, sleeping_now - 1,
                                                std::memory_order_relaxed))
                return;
        }
    }
    wake_.wait();
}

void WorkerPool::worker_main(std::size_t index) {
    Worker& worker = workers_[index];
    auto& epoch = worker.epoch;
    const std::int64_t spin_ns = to_ns(config_.spin_before_sleep);
    const std::int64_t interval_ns = to_ns(config_.timer_interval);
    const std::int64_t idle_timeout_ns = to_ns(config_.timer_idle_timeout);
    std::int64_t idle_since = 0;
    std::int64_t nap_until = 0;
    while (!stop_.load(std::memory_order_acquire)) {
        take_setup_job();
        epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
        const bool worked = run_one(worker);
        const std::int64_t forecast = !worked && config_.wake_strategy == WakeStrategy::anticipate
                                          ? earliest_forecast(rt::now_ns())
                                          : 0;
        epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_release);
        if (worked) {
            idle_since = 0;
            continue;
        }
        switch (config_.wake_strategy) {
            case WakeStrategy::poll:
                rt::cpu_relax();
                continue;
            case WakeStrategy::anticipate:
                wait_anticipating(worker, forecast);
                continue;
            case WakeStrategy::sleep:
            case WakeStrategy::timer:
                break;
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
        sleep_until_woken(worker);
        idle_since = 0;
    }
}

}  // namespace legato::scheduling
