#pragma once
// Helpers shared by the programs that stream audio at real-time pace (the demo, the soak test):
// a test signal, timing percentiles, hypervisor steal, real-time priority.

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <thread>
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

/// What a paced audio thread did.
struct PacedRun {
    std::size_t periods = 0;  ///< periods processed: fewer than planned if xruns used up the time
    std::size_t host_overruns = 0;  ///< wake-ups more than a period late (the host's own xruns)
    bool realtime = false;          ///< the thread got SCHED_FIFO `priority`
};

/// [setup thread] Plays a device's audio thread: a new thread (SCHED_FIFO `priority` if > 0)
/// calls `callback(period, woke)` every `block / sample_rate` seconds for `periods` periods,
/// `woke` being the time it woke for that period. A wake-up more than a period late counts as
/// a host overrun and restarts the schedule, as a device does after an xrun; the run ends
/// after `seconds` even if overruns lost periods. Returns when the thread has ended.
/// `callback` runs on that thread and must not allocate.
template <class Callback>
PacedRun run_paced(std::size_t block, double sample_rate, double seconds, std::size_t periods,
                   int priority, Callback&& callback) {
    using Clock = std::chrono::steady_clock;
    PacedRun run;
    std::thread audio([&] {
        run.realtime = priority > 0 && make_current_thread_realtime(priority);
        const auto period = std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(static_cast<double>(block) / sample_rate));
        const auto begin = Clock::now();
        const auto stop = begin + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(seconds));
        auto next = begin + period;
        for (std::size_t p = 0; p < periods; ++p) {
            std::this_thread::sleep_until(next);
            const auto woke = Clock::now();
            if (woke > stop + period)  // overruns restarted the schedule: the time is up
                break;
            run.periods = p + 1;
            if (woke - next > period) {  // the audio thread itself was a period late (an xrun)
                ++run.host_overruns;
                next = woke;
            }
            next += period;
            callback(p, woke);
        }
    });
    audio.join();
    return run;
}

}  // namespace legato::tools
