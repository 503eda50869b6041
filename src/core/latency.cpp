// The latency arithmetic; docs/latency.md derives both cases.
//
// Time is measured in samples. The host calls process() for a block at the moment its last
// sample has arrived, so a block [a, a+b) is processed at time a+b, and it must output the
// samples at positions [a, a+b). Inference j (input hop [jH, jH+H)) can be submitted in the
// call whose block holds sample jH+H-1; its first output sample, at position jH+L, is due in
// the call whose block holds that position. Up to P inferences of one handler run at once, each
// taking at most D samples' worth of time, first come first served.

#include "legato/latency.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "legato/error.hpp"

namespace legato {

namespace {

// Tolerance for comparing sample times computed from milliseconds (e.g. 5.333... ms = 256).
constexpr double epsilon = 1e-7;

std::string ms_text(double ms) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3f ms", ms);
    return buffer;
}

// Fixed block size B: simulate submissions and completions until the pattern repeats; it is
// periodic with period lcm(B, H) once the queue of each instance has settled.
std::size_t fixed_block_latency(std::uint64_t block, std::uint64_t hop, double duration,
                                std::size_t parallel) {
    const std::uint64_t hops_per_period = block / std::gcd(block, hop);
    std::vector<double> finish(parallel, 0.0);  // finish[k]: when inference j-P (j % P == k) ends
    std::vector<double> previous_state(parallel, -1.0);
    std::vector<double> state(parallel);
    std::int64_t required = 0;
    constexpr std::uint64_t max_hops = std::uint64_t{1} << 22;
    for (std::uint64_t j = 0; j < max_hops; ++j) {
        const std::uint64_t submit = ((j + 1) * hop + block - 1) / block * block;
        double& slot = finish[j % parallel];
        const double done = std::max(static_cast<double>(submit), slot) + duration;
        slot = done;
        // The first call that starts at or after `done` outputs positions from its end - block.
        const auto call_end =
            static_cast<std::int64_t>(std::ceil(done / static_cast<double>(block) - epsilon)) *
            static_cast<std::int64_t>(block);
        required = std::max(required, call_end - static_cast<std::int64_t>(block) -
                                          static_cast<std::int64_t>(j * hop));
        if ((j + 1) % hops_per_period == 0 && (j + 1) / hops_per_period >= 2) {
            // Periodic once the instances' finish times, relative to the period start, repeat
            // (as a set: which instance holds which time rotates from period to period).
            const double period_start = static_cast<double>((j + 1) * hop);
            for (std::size_t k = 0; k < parallel; ++k)
                state[k] = std::max(finish[k] - period_start, 0.0);
            std::sort(state.begin(), state.end());
            bool same = true;
            for (std::size_t k = 0; k < parallel; ++k)
                if (std::abs(state[k] - previous_state[k]) > epsilon)
                    same = false;
            if (same)
                break;
            previous_state.swap(state);
        }
    }
    return static_cast<std::size_t>(std::max<std::int64_t>(required, 0));
}

}  // namespace

std::size_t compute_latency(const LatencyInputs& in) {
    if (!(std::isfinite(in.sample_rate) && in.sample_rate > 0))
        throw Error("latency: sample_rate must be positive, got " + std::to_string(in.sample_rate));
    if (in.max_block_size == 0)
        throw Error("latency: max_block_size must be at least 1");
    if (in.hop == 0)
        throw Error("latency: hop must be at least 1");
    if (!(std::isfinite(in.max_inference_time_ms) && in.max_inference_time_ms > 0))
        throw Error("latency: max_inference_time_ms must be positive, got " +
                    std::to_string(in.max_inference_time_ms));
    if (in.parallel_inferences == 0)
        throw Error("latency: parallel_inferences must be at least 1");

    const double duration = in.max_inference_time_ms * in.sample_rate / 1000.0;  // in samples
    const double capacity = static_cast<double>(in.parallel_inferences * in.hop);
    if (duration > capacity * (1.0 + 1e-12) + epsilon) {
        const double capacity_ms = capacity * 1000.0 / in.sample_rate;
        throw Error(
            "max_inference_time_ms: " + ms_text(in.max_inference_time_ms) +
            " per inference cannot keep up with one hop of " + std::to_string(in.hop) +
            " samples every " + ms_text(static_cast<double>(in.hop) * 1000.0 / in.sample_rate) +
            " at " + std::to_string(in.parallel_inferences) + " inference(s) at a time (at most " +
            ms_text(capacity_ms) + "): raise the hop or parallel_instances, or use a faster model");
    }
    if (in.variable_block_size) {
        // Worst case: the hop's last sample opens a full-size block (submitted max_block_size - 1
        // samples late) and its first output position closes a block (due as early as
        // possible): L - H - B + 2 samples of time must cover D.
        const auto time = static_cast<std::size_t>(std::ceil(duration - epsilon));
        return std::max<std::size_t>(time, 1) + in.hop + in.max_block_size - 2;
    }
    return fixed_block_latency(in.max_block_size, in.hop, duration, in.parallel_inferences);
}

}  // namespace legato
