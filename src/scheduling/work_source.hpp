#pragma once
// What the worker pool schedules: anything that has requests with deadlines. Implemented by
// each handler's session; the pool knows nothing else about handlers.

#include <cstdint>
#include <limits>

namespace legato::scheduling {

inline constexpr std::int64_t no_deadline = std::numeric_limits<std::int64_t>::max();

class WorkSource {
public:
    virtual ~WorkSource() = default;

    /// [worker thread] Deadline (monotonic ns) of the request this source would run next, or
    /// no_deadline if it has none that may start now. Lock-free; may be stale by the time the
    /// caller acts on it.
    virtual std::int64_t next_deadline() const noexcept = 0;

    /// [worker thread] Claims and runs the next request. Returns false if there was nothing to
    /// claim (another worker was faster). Runs the engine, so it may block for as long as the
    /// engine takes.
    virtual bool run_next() noexcept = 0;
};

}  // namespace legato::scheduling
