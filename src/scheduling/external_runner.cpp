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

struct PoolList {
    std::mutex mutex;
    std::vector<scheduling::WorkerPool*> pools;  // under mutex
};

// Made on first use and never destroyed: a Context held in a static (the process-wide one, a
// test's) is destroyed at exit in no known order with this file's statics, and unlists its pool.
PoolList& pool_list() {
    static PoolList* list = new PoolList;
    return *list;
}

std::atomic<void (*)(int) noexcept> runner_wake{nullptr};

}  // namespace

namespace scheduling {

void list_pool(WorkerPool* pool) {
    PoolList& list = pool_list();
    std::lock_guard lock(list.mutex);
    list.pools.push_back(pool);
}

void unlist_pool(WorkerPool* pool) {
    PoolList& list = pool_list();
    std::lock_guard lock(list.mutex);
    list.pools.erase(std::remove(list.pools.begin(), list.pools.end(), pool), list.pools.end());
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
    PoolList& list = pool_list();
    std::lock_guard lock(list.mutex);
    for (scheduling::WorkerPool* pool : list.pools)
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
