#pragma once
// SubmissionForecast: when a handler's next inference request is expected, learnt from the
// rhythm of the audio callback, so idle workers can be awake (spinning briefly) when it comes
// and asleep otherwise (WakeStrategy::anticipate).
//
// The audio thread records each process() call: its time and how many samples remain until the
// next hop is complete. The callback period is a running average of the intervals between
// calls (seeded with the nominal frames / sample rate; intervals far off the average, a paused
// or restarted stream, are ignored). The next request is expected after as many periods as
// calls are needed to complete the hop. Workers read the forecast without locks.

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
        const std::int64_t nominal =
            static_cast<std::int64_t>(static_cast<double>(frames) * ns_per_sample);
        if (period_ns_ == 0 || last_call_ns_ == 0) {
            period_ns_ = nominal;
        } else {
            const std::int64_t interval = now_ns - last_call_ns_;
            // A pause or a burst is not the rhythm: learn only from plausible intervals.
            if (interval > period_ns_ / 4 && interval < period_ns_ * 4)
                period_ns_ += (interval - period_ns_) / 8;
        }
        last_call_ns_ = now_ns;
        const std::size_t per_call = frames > 0 ? frames : 1;
        const auto calls =
            static_cast<std::int64_t>((samples_to_next_hop + per_call - 1) / per_call);
        expected_ns_.store(now_ns + calls * period_ns_, std::memory_order_relaxed);
        period_.store(period_ns_, std::memory_order_relaxed);
    }

    /// [audio thread] Forgets the rhythm (a new stream starts). Wait-free.
    void clear() noexcept LEGATO_NONBLOCKING {
        last_call_ns_ = 0;
        period_ns_ = 0;
        expected_ns_.store(0, std::memory_order_relaxed);
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
    std::int64_t last_call_ns_ = 0;
    std::int64_t period_ns_ = 0;
    // Published.
    std::atomic<std::int64_t> expected_ns_{0};
    std::atomic<std::int64_t> period_{0};
};

}  // namespace legato::scheduling
