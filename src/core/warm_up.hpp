#pragma once
// Warm-up timing you can trust: how long to warm a model up and which runs count when the
// maximum inference time is measured (InferenceConfig::max_inference_time_ms unset).
//
// The rule (docs/latency.md):
// - The first, cold run never counts.
// - A run that spent markedly more time off the CPU than runs usually do (wall time minus the
//   thread's CPU time, beyond the typical off-CPU time by more than 20 µs and 20 % of the run)
//   was preempted or stalled by the machine, not slow: it is discarded and repeated.
// - Warm-up continues until the timing has settled: at least `min_runs` counted runs and the
//   measured percentile (InferenceConfig::measure_percentile, so p99: the slowest of 16) of
//   the last two windows of `window` (16) counted runs agree within `tolerance` (25 %) + 20 µs.
//   Engines that optimise during their first runs (LibTorch's profiling executor) settle once
//   their slow runs have left both windows.
// - Caps: `max_runs` runs or `max_seconds` (2 s) in all; the figure is then taken from the
//   runs so far and settled() is false.
// The measured figure is a percentile of the last 2 * window counted runs.

#include <cstddef>
#include <vector>

namespace legato::core {

struct WarmUpRule {
    std::size_t window = 16;
    double percentile = 0.99;  ///< the statistic measured, compared between the two windows
    double tolerance = 0.25;
    double floor_ms = 0.02;
    std::size_t max_runs = 2000;
    double max_seconds = 2.0;
};

class WarmUpMeter {
public:
    /// [setup or worker thread] `settle` true: counts at least `min_runs` runs (the cold first
    /// run excluded) and continues until the timing settles. `settle` false: stops after
    /// `min_runs` runs in all (the time is configured, not measured: nothing to settle).
    WarmUpMeter(std::size_t min_runs, bool settle, WarmUpRule rule = {});

    /// [the thread running the warm-up] Records one run: its wall time and the thread's CPU
    /// time over the same span, in milliseconds, and the time since warm-up began. Returns
    /// true when warm-up is complete. Allocates (setup only).
    bool record(double wall_ms, double cpu_ms, double elapsed_seconds);

    bool settled() const noexcept { return settled_; }
    std::size_t runs() const noexcept { return runs_; }            ///< every run, cold included
    std::size_t discarded() const noexcept { return discarded_; }  ///< preempted runs
    std::size_t counted() const noexcept { return wall_.size(); }

    /// The `fraction` percentile (nearest rank) of the last 2 * window counted runs, in ms;
    /// 0 if none counted.
    double percentile(double fraction) const;

private:
    bool disturbed(double wall_ms, double off_cpu_ms) const;
    bool windows_agree() const;

    std::size_t min_runs_;
    bool settle_;
    WarmUpRule rule_;
    std::size_t runs_ = 0;
    std::size_t discarded_ = 0;
    bool settled_ = false;
    std::vector<double> wall_;          // counted runs
    std::vector<double> off_cpu_seen_;  // off-CPU time of every warm run, discarded ones too
};

}  // namespace legato::core
