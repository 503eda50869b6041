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
    while (true) {
        if (sem_clockwait(&sem_, CLOCK_MONOTONIC, &deadline) == 0)
            return true;
        if (errno != EINTR)
            return false;
    }
}

}  // namespace legato::rt
