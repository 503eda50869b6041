#include "rt/semaphore.hpp"

#include <cerrno>
#include <ctime>

namespace legato::rt {

void Semaphore::wait() noexcept {
    while (sem_wait(&sem_) != 0 && errno == EINTR) {
    }
}

bool Semaphore::wait_for(std::chrono::nanoseconds timeout) noexcept {
    // sem_clockwait takes CLOCK_MONOTONIC, so wall-clock jumps cannot stretch the wait.
    timespec deadline{};
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    const std::int64_t ns = deadline.tv_nsec + timeout.count();
    deadline.tv_sec += static_cast<time_t>(ns / 1'000'000'000);
    deadline.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    while (true) {
        if (sem_clockwait(&sem_, CLOCK_MONOTONIC, &deadline) == 0)
            return true;
        if (errno != EINTR)
            return false;
    }
}

}  // namespace legato::rt
