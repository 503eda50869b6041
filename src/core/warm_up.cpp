#include "core/warm_up.hpp"

#include <algorithm>
#include <cmath>
#include <span>

namespace legato::core {

namespace {

double percentile_of(std::span<const double> values, double fraction) {
    if (values.empty())
        return 0.0;
    std::vector<double> sorted(values.begin(), values.end());
    std::sort(sorted.begin(), sorted.end());
    const auto rank =
        static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

WarmUpMeter::WarmUpMeter(std::size_t min_runs, bool settle, WarmUpRule rule)
    : min_runs_(min_runs), settle_(settle), rule_(rule) {}

bool WarmUpMeter::disturbed(double wall_ms, double off_cpu_ms) const {
    // Typical over every run so far, discarded ones included: an engine that always waits on
    // threads of its own has a large typical off-CPU time, and only its outliers are discarded.
    const double typical = percentile_of(off_cpu_seen_, 0.5);
    const double excess = off_cpu_ms - typical;
    return excess > 0.020 && excess > 0.2 * wall_ms;
}

bool WarmUpMeter::windows_agree() const {
    const std::size_t w = rule_.window;
    if (wall_.size() < 2 * w)
        return false;
    const std::span<const double> all(wall_);
    const double older = percentile_of(all.subspan(all.size() - 2 * w, w), rule_.percentile);
    const double newer = percentile_of(all.subspan(all.size() - w, w), rule_.percentile);
    return std::abs(older - newer) <= rule_.tolerance * std::max(older, newer) + rule_.floor_ms;
}

bool WarmUpMeter::record(double wall_ms, double cpu_ms, double elapsed_seconds) {
    ++runs_;
    if (runs_ > 1) {  // the cold first run never counts
        const double off_cpu = std::max(wall_ms - cpu_ms, 0.0);
        const bool discard = settle_ && off_cpu_seen_.size() >= 3 && disturbed(wall_ms, off_cpu);
        off_cpu_seen_.push_back(off_cpu);
        if (discard) {
            ++discarded_;
        } else {
            wall_.push_back(wall_ms);
        }
    }
    if (!settle_)
        return runs_ >= min_runs_;
    if (wall_.size() >= min_runs_ && windows_agree()) {
        settled_ = true;
        return true;
    }
    return runs_ >= rule_.max_runs || elapsed_seconds >= rule_.max_seconds;
}

double WarmUpMeter::percentile(double fraction) const {
    const std::span<const double> all(wall_);
    const std::size_t n = std::min(all.size(), 2 * rule_.window);
    return percentile_of(all.subspan(all.size() - n, n), fraction);
}

}  // namespace legato::core
