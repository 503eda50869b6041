#pragma once
// What a handler counts, kept outside the session so that statistics() stays valid while
// prepare() replaces the session. Each audio-thread counter has one writer (the audio thread)
// and is bumped with load + store, not a locked read-modify-write.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "legato/nonblocking.hpp"

namespace legato::core {

struct Counters {
    // Audio thread.
    std::atomic<std::uint64_t> blocks{0}, frames{0}, oversized{0}, submitted{0}, late{0},
        dropped{0}, expired{0}, substituted{0}, resets{0};
    // Workers.
    alignas(64) std::atomic<std::uint64_t> completed{0};
    std::atomic<std::uint64_t> failed{0}, run_time_total_ns{0}, run_time_max_ns{0};

    /// [audio thread] Wait-free.
    static void bump(std::atomic<std::uint64_t>& counter,
                     std::uint64_t by = 1) noexcept LEGATO_NONBLOCKING {
        counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    }

    /// [worker thread] Records one inference's duration. Lock-free.
    void record_run(std::uint64_t nanoseconds, bool ok) noexcept;

    /// [setup thread] Zeroes every counter (prepare()).
    void clear() noexcept;

    /// [worker or reader thread, never the audio thread] The latest engine error.
    void set_error(std::string message);
    std::string error() const;

private:
    mutable std::mutex error_mutex_;
    std::string last_error_;
};

}  // namespace legato::core
