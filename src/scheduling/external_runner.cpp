// External runners (legato/external_runner.hpp): the list of pools they claim from, and the
// function that wakes them.

#include "legato/external_runner.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "scheduling/worker_pool.hpp"

namespace legato {

namespace {

std::mutex pools_mutex;
std::vector<scheduling::WorkerPool*> pools;  // under pools_mutex
std::atomic<void (*)(int) noexcept> runner_wake{nullptr};

}  // namespace

namespace scheduling {

void list_pool(WorkerPool* pool) {
    std::lock_guard lock(pools_mutex);
    pools.push_back(pool);
}

void unlist_pool(WorkerPool* pool) {
    std::lock_guard lock(pools_mutex);
    pools.erase(std::remove(pools.begin(), pools.end(), pool), pools.end());
}

void wake_runner(int runner) noexcept {
    // The function is the application's: documented as non-blocking (a futex wake).
    LEGATO_UNVERIFIED_EFFECTS_BEGIN
    if (auto* wake = runner_wake.load(std::memory_order_acquire))
        wake(runner);
    LEGATO_UNVERIFIED_EFFECTS_END
}

}  // namespace scheduling

bool claim_external_run(int runner, ExternalRunClaim& claim) noexcept {
    if (runner < 0 || runner >= max_external_runners)
        return false;
    // A pool leaves the list only under this lock (its destructor), and a pool outlives its
    // handlers, so a claim holds a live pool after the lock is gone. Pools are tried in the
    // order they were made: earliest deadline first holds within each.
    std::lock_guard lock(pools_mutex);
    for (scheduling::WorkerPool* pool : pools)
        if (pool->claim_for_runner(runner, claim))
            return true;
    return false;
}

void finish_external_run(ExternalRunClaim& claim, std::string_view error) noexcept {
    if (claim.pool != nullptr)
        static_cast<scheduling::WorkerPool*>(claim.pool)->finish_for_runner(claim, error);
    claim.pool = nullptr;
}

void set_external_runner_wake(void (*wake)(int runner) noexcept) {
    runner_wake.store(wake, std::memory_order_release);
}

}  // namespace legato
