#pragma once
// Helpers shared by the programs that stream audio at real-time pace (the demo, the soak test):
// a test signal, timing percentiles, hypervisor steal, real-time priority.

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace legato::tools {

/// Six plucked notes (decaying harmonics) over a little noise: an audio-like test signal.
inline std::vector<float> make_test_signal(std::size_t frames, double sample_rate,
                                           std::uint32_t seed = 1234) {
    std::vector<float> signal(frames, 0.0f);
    std::mt19937 random(seed);
    std::uniform_real_distribution<double> pitch(82.0, 660.0);
    std::uniform_real_distribution<double> onset(0.0, 0.8);
    std::normal_distribution<double> noise(0.0, 0.01);
    for (int note = 0; note < 6; ++note) {
        const double f0 = pitch(random);
        const auto start = static_cast<std::size_t>(onset(random) * static_cast<double>(frames));
        for (std::size_t n = start; n < frames; ++n) {
            const double t = static_cast<double>(n - start) / sample_rate;
            double value = 0.0;
            for (int k = 1; k <= 4; ++k)
                value += std::sin(2.0 * M_PI * f0 * k * t) * std::exp(-3.0 * k * t) / k;
            signal[n] += static_cast<float>(0.4 * value);
        }
    }
    for (auto& sample : signal)
        sample = static_cast<float>(std::clamp(sample + noise(random), -1.0, 1.0));
    return signal;
}

/// CPU time the hypervisor gave to other tenants, in clock ticks (steal column of /proc/stat).
inline std::uint64_t stolen_ticks() {
    std::ifstream stat("/proc/stat");
    std::string cpu;
    std::uint64_t fields[8] = {};
    stat >> cpu;
    for (auto& field : fields)
        stat >> field;
    return fields[7];
}

/// The value at `fraction` (0..1) of values already sorted ascending.
inline double percentile_of_sorted(const std::vector<double>& sorted, double fraction) {
    if (sorted.empty())
        return 0.0;
    const auto index = static_cast<std::size_t>(fraction * static_cast<double>(sorted.size() - 1));
    return sorted[index];
}

/// The value at `fraction` (0..1) of `values`.
inline double percentile(std::vector<double> values, double fraction) {
    std::sort(values.begin(), values.end());
    return percentile_of_sorted(values, fraction);
}

/// Puts the calling thread on SCHED_FIFO `priority`, as a host's audio thread; false if the
/// system does not permit it (the thread then stays at normal priority).
inline bool make_current_thread_realtime(int priority) {
    sched_param param{};
    param.sched_priority = priority;
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0;
}

}  // namespace legato::tools
