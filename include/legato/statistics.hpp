#pragma once
// A snapshot of what a handler has done since prepare().

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace legato {

struct Statistics {
    std::uint64_t blocks = 0;            ///< process() calls with at least one frame
    std::uint64_t frames = 0;            ///< frames processed
    std::uint64_t oversized_blocks = 0;  ///< calls with more frames than HostConfig allowed
    std::uint64_t inferences_submitted = 0;
    std::uint64_t inferences_completed = 0;  ///< finished by a worker (on time or not)
    /// Hops whose result was not there when due (including dropped and expired ones); each was
    /// replaced by the late policy, and the late result, if any, was discarded.
    std::uint64_t late_inferences = 0;
    /// Hops never submitted because every request slot was still held by stalled inferences.
    std::uint64_t dropped_inferences = 0;
    /// Of the late ones: requests the pool dropped before starting them because they could no
    /// longer meet their deadline (overload), so that the time went to requests that could.
    std::uint64_t expired_inferences = 0;
    std::uint64_t failed_inferences = 0;   ///< the engine threw; replaced by the late policy
    std::uint64_t substituted_frames = 0;  ///< frames replaced by the late policy
    std::uint64_t resets = 0;
    double max_inference_ms = 0.0;  ///< slowest worker-side inference (pre + model + post)
    double mean_inference_ms = 0.0;
    std::size_t latency_samples = 0;
    double max_inference_time_ms = 0.0;  ///< the bound the latency was computed from
    std::size_t engine = 0;              ///< index of the active engine
    std::size_t worker_threads = 0;      ///< threads in the shared pool
    std::size_t realtime_workers = 0;    ///< of which got real-time scheduling (SCHED_FIFO)
    /// Warm-up (at the first prepare()): inferences run, of which discarded as preempted, and
    /// whether a measured max_inference_time settled before the caps (docs/latency.md).
    std::size_t warm_up_runs = 0;
    std::size_t warm_up_discarded_runs = 0;
    bool warm_up_settled = false;
};

/// [any thread] The statistics of several handlers that run one effect together (one per
/// channel, say) as one: counts are summed, maxima kept, the mean inference time weighted by
/// completed inferences, the latency and its bound the largest (an effect aligns its channels to
/// the slowest). Engine and pool figures are `a`'s. Wait-free; no allocation.
constexpr Statistics combined(Statistics a, const Statistics& b) noexcept {
    const std::uint64_t completed = a.inferences_completed + b.inferences_completed;
    if (completed > 0)
        a.mean_inference_ms = (a.mean_inference_ms * static_cast<double>(a.inferences_completed) +
                               b.mean_inference_ms * static_cast<double>(b.inferences_completed)) /
                              static_cast<double>(completed);
    a.blocks += b.blocks;
    a.frames += b.frames;
    a.oversized_blocks += b.oversized_blocks;
    a.inferences_submitted += b.inferences_submitted;
    a.inferences_completed = completed;
    a.late_inferences += b.late_inferences;
    a.dropped_inferences += b.dropped_inferences;
    a.expired_inferences += b.expired_inferences;
    a.failed_inferences += b.failed_inferences;
    a.substituted_frames += b.substituted_frames;
    a.resets += b.resets;
    a.max_inference_ms = std::max(a.max_inference_ms, b.max_inference_ms);
    a.max_inference_time_ms = std::max(a.max_inference_time_ms, b.max_inference_time_ms);
    a.latency_samples = std::max(a.latency_samples, b.latency_samples);
    return a;
}

}  // namespace legato
