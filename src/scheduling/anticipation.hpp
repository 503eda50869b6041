#pragma once
// What an idle worker does under WakeStrategy::anticipate, given when the next request is
// expected (SubmissionForecast, earliest over every handler) and how late its timed sleeps tend
// to wake up (the margin). A pure function: unit-tested with a simulated clock.
//
//   expected - margin        expected      expected + spin_after      expected + stop_after
//   ----- nap ----->|<-------- spin -------->|<---- 50 µs naps ------>|---- sleep ---->
//
// Napping and sleeping workers can be woken by the audio thread, which does so only when it
// publishes a request while no worker is awake (nor about to wake): in steady state, with
// requests arriving when forecast, that never happens and the audio thread makes no system call.

#include <algorithm>
#include <cstdint>

namespace legato::scheduling {

struct AnticipationSettings {
    /// Keep spinning this long past the expected time (the audio callback's own jitter).
    std::int64_t spin_after_ns = 200'000;
    /// A forecast this far in the past means the stream has stopped: sleep until woken.
    std::int64_t stop_after_ns = 50'000'000;
    /// Never nap longer than this in one go (forecasts move as the host's rhythm changes).
    std::int64_t max_nap_ns = 20'000'000;
    /// Naps while a request is overdue (at most WorkerPool::wake_allowance_ns).
    std::int64_t overdue_nap_ns = 50'000;
};

enum class IdleAction {
    spin,   ///< poll for work (cpu_relax) and ask again
    nap,    ///< timed sleep until `until_ns` (the audio thread may cut it short)
    sleep,  ///< sleep until the audio thread wakes the worker
};

struct IdlePlan {
    IdleAction action = IdleAction::sleep;
    std::int64_t until_ns = 0;
};

/// [worker thread] The plan at `now_ns` for the forecast `expected_ns` (0 = none) with the
/// worker's wake-up `margin_ns`. Wait-free.
inline IdlePlan plan_idle(std::int64_t now_ns, std::int64_t expected_ns, std::int64_t margin_ns,
                          const AnticipationSettings& settings) noexcept {
    if (expected_ns == 0 || now_ns >= expected_ns + settings.stop_after_ns)
        return {IdleAction::sleep, 0};
    if (now_ns < expected_ns - margin_ns)
        return {IdleAction::nap, std::min(expected_ns - margin_ns, now_ns + settings.max_nap_ns)};
    if (now_ns < expected_ns + settings.spin_after_ns)
        return {IdleAction::spin, 0};
    // Overdue: the host is late, or has stopped. Short naps, each no longer than the time the
    // audio thread allows a worker to take to wake up, so that a late request still finds a
    // worker about to look and needs no wake-up system call.
    return {IdleAction::nap,
            std::min(expected_ns + settings.stop_after_ns, now_ns + settings.overdue_nap_ns)};
}

/// The wake-up margin: how early to end a nap so that the worker is spinning when the request
/// arrives. Learns the lateness of timed wake-ups as a decaying maximum.
class WakeMargin {
public:
    /// [worker thread] Records a nap that was asked to end at `asked_ns` and ended at `woke_ns`.
    void record(std::int64_t asked_ns, std::int64_t woke_ns) noexcept {
        const std::int64_t late = std::max<std::int64_t>(woke_ns - asked_ns, 0);
        worst_ns_ = std::max(late, worst_ns_ - worst_ns_ / 32);
    }
    /// [worker thread] Current margin: the decaying worst lateness plus a fixed allowance,
    /// within [min_ns, max_ns].
    std::int64_t margin_ns() const noexcept {
        return std::clamp<std::int64_t>(worst_ns_ + allowance_ns, min_ns, max_ns);
    }

    static constexpr std::int64_t allowance_ns = 20'000;
    static constexpr std::int64_t min_ns = 30'000;
    static constexpr std::int64_t max_ns = 1'000'000;

private:
    std::int64_t worst_ns_ = 50'000;
};

}  // namespace legato::scheduling
