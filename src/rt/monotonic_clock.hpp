#pragma once
// Reading the time on the audio thread: clock_gettime(CLOCK_MONOTONIC) is served by the vDSO
// on Linux (no system call), so it is safe in process().

#include <cstdint>
#include <ctime>

#include "legato/nonblocking.hpp"

namespace legato::rt {

/// [any thread] Nanoseconds on the monotonic clock. Wait-free.
inline std::int64_t now_ns() noexcept LEGATO_NONBLOCKING {
    timespec t{};
    // clock_gettime(CLOCK_MONOTONIC) is answered by the vDSO: no system call, no lock.
    LEGATO_UNVERIFIED_EFFECTS_BEGIN
    clock_gettime(CLOCK_MONOTONIC, &t);
    LEGATO_UNVERIFIED_EFFECTS_END
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace legato::rt
