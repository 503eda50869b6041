#pragma once
// What the worker pool schedules: anything that has requests with deadlines. Implemented by
// each handler's session; the pool knows nothing else about handlers.

#include <cstdint>
#include <string_view>

#include "legato/external_runner.hpp"
#include "scheduling/deadline_scheduler.hpp"

namespace legato::scheduling {

class WorkSource {
public:
    virtual ~WorkSource() = default;

    /// [worker thread] The request this source would run next (see Candidate). Lock-free; may
    /// be stale by the time the caller acts on it.
    virtual Candidate next() const noexcept = 0;

    /// [worker thread] Claims and runs the next request. Returns false if there was nothing to
    /// claim (another worker was faster). Runs the engine, so it may block for as long as the
    /// engine takes.
    virtual bool run_next() noexcept = 0;

    /// [worker thread] Drops request `sequence` unrun if it is still the next one to claim: it
    /// can no longer meet its deadline (its hop is substituted when due and counted as
    /// expired). Lock-free.
    virtual void expire(std::uint64_t sequence) noexcept = 0;

    /// [worker thread] When this source's next request is expected (monotonic ns; 0 = no
    /// forecast). Wait-free.
    virtual std::int64_t expected_request_ns() const noexcept = 0;

    /// [any thread] The external runner that serves this source (legato/external_runner.hpp),
    /// or -1: the pool's worker threads. Fixed while the source is registered.
    virtual int runner() const noexcept { return -1; }

    /// [runner thread] run_next() up to the engine call: claims the next request and
    /// pre-processes it into `claim`. Returns false if there was nothing to claim; true with
    /// claim.model null if the claimed number needed no run (dropped, taken back, or its
    /// pre-processing failed: already completed).
    virtual bool begin_external(ExternalRunClaim& claim) noexcept {
        (void)claim;
        return false;
    }

    /// [runner thread] The rest of run_next() after the runner ran claim.model: post-processes
    /// and completes, or fails the request with `error` (not empty).
    virtual void end_external(ExternalRunClaim& claim, std::string_view error) noexcept {
        (void)claim;
        (void)error;
    }
};

}  // namespace legato::scheduling
