#pragma once
// A counting semaphore whose post() is safe on the audio thread.
//
// Why POSIX sem_t rather than std::counting_semaphore or std::atomic::notify_one: glibc's
// sem_post is an atomic increment plus, only when a thread is waiting, one FUTEX_WAKE system
// call. It never blocks. libstdc++ 12's notify_one goes through a proxy that may take a lock
// and RTSan reports it; sem_post it does not (see docs/realtime.md).

#include <semaphore.h>

#include <chrono>
#include <cstdint>

#include "legato/nonblocking.hpp"

namespace legato::rt {

class Semaphore {
public:
    /// [setup thread]
    explicit Semaphore(unsigned initial = 0) noexcept { sem_init(&sem_, 0, initial); }
    ~Semaphore() { sem_destroy(&sem_); }
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    /// [any thread, audio thread included] Effects: increments the count, waking one waiter.
    /// Non-blocking: never waits; one futex wake system call if a thread sleeps on it.
    void post() noexcept LEGATO_NONBLOCKING {
        // sem_post: an atomic increment plus, only if a thread waits, one FUTEX_WAKE.
        LEGATO_UNVERIFIED_EFFECTS_BEGIN
        sem_post(&sem_);
        LEGATO_UNVERIFIED_EFFECTS_END
    }

    /// [worker or setup thread] May block until the count is positive, then decrements it.
    void wait() noexcept;

    /// [worker or setup thread] As wait(), giving up after `timeout`. Returns true if it
    /// decremented the count.
    bool wait_for(std::chrono::nanoseconds timeout) noexcept;

    /// [worker or setup thread] As wait(), giving up at the monotonic time `deadline_ns`.
    /// Returns true if it decremented the count.
    bool wait_until(std::int64_t deadline_ns) noexcept;

    /// [any thread] Decrements the count if positive, without waiting.
    bool try_wait() noexcept { return sem_trywait(&sem_) == 0; }

private:
    sem_t sem_;
};

}  // namespace legato::rt
