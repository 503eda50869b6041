#pragma once
// SubmissionForecast: when a handler's next inference request is expected, learnt from the
// rhythm of the audio callback, so idle workers can be awake (spinning briefly) when it comes
// and asleep otherwise (WakeStrategy::anticipate).
//
// The audio thread records each process() call: its time, its frames and how many samples
// remain until the next hop is complete. The callback period is the block's nominal duration;
// the phase follows the earliest the calls come, so a call woken late does not shift the
// forecast of the next. The next request is expected after as many periods as calls are needed
// to complete the hop. Workers read the forecast without locks.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "legato/nonblocking.hpp"

namespace legato::scheduling {

class SubmissionForecast {
public:
    /// [audio thread] Records a process() call at monotonic time `now_ns` that handled `frames`
    /// samples, after which `samples_to_next_hop` more samples complete the next hop;
    /// `ns_per_sample` is the stream's nominal sample period. Wait-free.
    void on_call(std::int64_t now_ns, std::size_t frames, std::size_t samples_to_next_hop,
                 double ns_per_sample) noexcept LEGATO_NONBLOCKING {
        // The period is the nominal one: a host in real time calls once per block of the
        // device's clock, which the monotonic clock follows to parts per million. (Averaging
        // measured intervals would carry the callback's jitter into every forecast.)
        const auto period = static_cast<std::int64_t>(static_cast<double>(frames) * ns_per_sample);
        if (phase_ns_ == 0) {
            phase_ns_ = now_ns;
        } else {
            // The phase: when this call was due by the rhythm, tracked as the earliest the
            // calls come. Hosts keep an absolute schedule, so a call woken late by the system
            // does not move the next one: the phase follows lateness only slowly, jumps to a
            // call that comes earlier than it, and to a later one only when several in a row
            // are far behind it (the host restarted its schedule, as after an xrun).
            phase_ns_ += last_period_ns_;
            const std::int64_t error = now_ns - phase_ns_;
            far_behind_ = error > period / 4 ? far_behind_ + 1 : 0;
            if (error < 0 || far_behind_ >= 4) {
                phase_ns_ = now_ns;
                far_behind_ = 0;
            } else {
                phase_ns_ += error / 64;
            }
        }
        last_period_ns_ = period;
        const std::size_t per_call = frames > 0 ? frames : 1;
        const auto calls =
            static_cast<std::int64_t>((samples_to_next_hop + per_call - 1) / per_call);
        expected_ns_.store(phase_ns_ + calls * period, std::memory_order_relaxed);
        period_.store(period, std::memory_order_relaxed);
    }

    /// [audio thread] Forgets the rhythm (a new stream starts). Wait-free.
    void clear() noexcept LEGATO_NONBLOCKING {
        phase_ns_ = 0;
        last_period_ns_ = 0;
        far_behind_ = 0;
        expected_ns_.store(0, std::memory_order_relaxed);
        period_.store(0, std::memory_order_relaxed);
    }

    /// [any thread] Monotonic time at which the next request is expected; 0 = no forecast.
    std::int64_t expected_ns() const noexcept LEGATO_NONBLOCKING {
        return expected_ns_.load(std::memory_order_relaxed);
    }
    /// [any thread] The learnt callback period in ns; 0 = none yet.
    std::int64_t period_ns() const noexcept LEGATO_NONBLOCKING {
        return period_.load(std::memory_order_relaxed);
    }

private:
    // Audio thread only.
    std::int64_t phase_ns_ = 0;  // when the last call was due by the rhythm; 0 = none yet
    std::int64_t last_period_ns_ = 0;
    int far_behind_ = 0;  // consecutive calls more than a quarter period behind the phase
    // Published.
    std::atomic<std::int64_t> expected_ns_{0};
    std::atomic<std::int64_t> period_{0};
};

}  // namespace legato::scheduling
