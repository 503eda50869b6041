#include "rt/semaphore.hpp"

#include <cerrno>
#include <ctime>

namespace legato::rt {

void Semaphore::wait() noexcept {
    while (sem_wait(&sem_) != 0 && errno == EINTR) {
    }
}

bool Semaphore::wait_for(std::chrono::nanoseconds timeout) noexcept {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return wait_until(static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec +
                      timeout.count());
}

bool Semaphore::wait_until(std::int64_t deadline_ns) noexcept {
    // sem_clockwait takes CLOCK_MONOTONIC, so wall-clock jumps cannot stretch the wait.
    timespec deadline{};
    deadline.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000);
    deadline.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
#ifdef __EMSCRIPTEN__
    // Emscripten's musl has no sem_clockwait: convert to a CLOCK_REALTIME deadline (a wall-clock
    // jump during the wait can stretch or shorten it; only timed worker naps use this).
    timespec mono{};
    timespec real{};
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    const std::int64_t left =
        deadline_ns - (static_cast<std::int64_t>(mono.tv_sec) * 1'000'000'000 + mono.tv_nsec);
    const std::int64_t real_deadline =
        static_cast<std::int64_t>(real.tv_sec) * 1'000'000'000 + real.tv_nsec + left;
    deadline.tv_sec = static_cast<time_t>(real_deadline / 1'000'000'000);
    deadline.tv_nsec = static_cast<long>(real_deadline % 1'000'000'000);
#endif
    while (true) {
#ifdef __EMSCRIPTEN__
        if (sem_timedwait(&sem_, &deadline) == 0)
#else
        if (sem_clockwait(&sem_, CLOCK_MONOTONIC, &deadline) == 0)
#endif
            return true;
        if (errno != EINTR)
            return false;
    }
}

}  // namespace legato::rt
