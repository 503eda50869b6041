// Late inferences: a result not ready when due is replaced exactly as the policy says, counted,
// and discarded when it arrives, so the latency never drifts.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "stream_support.hpp"

namespace legato::test {
namespace {

constexpr std::size_t hop = 256;
constexpr std::size_t slow_every = 7;  // hops j with j % 7 == 3 are slow
constexpr std::size_t slow_phase = 3;

// The input is a ramp (sample n has the exact value n), so a backend knows which hop it runs.
Signal ramp(std::size_t channels, std::size_t frames) {
    Signal signal(channels, std::vector<float>(frames));
    for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t n = 0; n < frames; ++n)
            signal[c][n] = static_cast<float>(n) + 0.5f * static_cast<float>(c);
    return signal;
}

bool is_slow(std::size_t j) {
    return j % slow_every == slow_phase;
}

// Negates its input (so that "dry" differs from the processed signal); hops with is_slow() take
// `slow_ms`, the others return at once.
std::shared_ptr<Backend> negating_backend(double slow_ms) {
    return make_custom_backend("sometimes-slow", [slow_ms](std::span<const TensorView> in,
                                                           std::span<const TensorView> out) {
        const auto j = static_cast<std::size_t>(in[0].data[0]) / hop;
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double, std::milli>(slow_ms));
        for (std::size_t i = 0; i < out[0].data.size(); ++i)
            out[0].data[i] = -in[0].data[i];
        if (j > 0 && is_slow(j))
            std::this_thread::sleep_until(until);
    });
}

// Streams the ramp paced in real time and checks every output hop: on time -> the model's
// output; late -> exactly the policy's substitute. Unexpected: fast hops that were late and slow
// hops that were not (both only happen when the machine disturbs the timing).
PacedAttempt run_policy(LatePolicy policy, std::size_t channels) {
    constexpr double max_ms = paced_max_inference_time_ms;  // 4 ms; slow hops take 3x that
    InferenceConfig config = make_config(negating_backend(3 * max_ms), hop, 0, channels, max_ms);
    config.late_policy = policy;
    config.parallel_instances = 4;  // a slow hop must not hold up the next ones
    InferenceHandler handler(config, paced_context());
    HostConfig host;
    host.max_block_size = hop;
    handler.prepare(host);
    const std::size_t latency = handler.latency();
    EXPECT_EQ(latency, 256u);

    const std::size_t frames = 48000;  // 1 s
    const Signal input = ramp(channels, frames);
    HostSimulation simulation;
    simulation.block_sizes = {hop};
    simulation.paced = true;
    PacedAttempt outcome;
    simulation.host_overruns = &outcome.host_overruns;
    const Signal output = stream(handler, input, latency + hop, simulation);
    EXPECT_EQ(handler.latency(), latency);

    std::uint64_t substituted_hops = 0;
    std::uint64_t slow_hops = 0;
    for (std::size_t j = 0; (j + 1) * hop <= frames; ++j) {
        const bool slow = j > 0 && is_slow(j);
        slow_hops += slow;
        bool on_time = true;
        for (std::size_t c = 0; c < channels; ++c)
            for (std::size_t t = 0; t < hop; ++t)
                if (output[c][j * hop + latency + t] != -input[c][j * hop + t])
                    on_time = false;
        if (on_time) {
            outcome.unexpected += slow;  // took 3x the maximum time but was not late
            continue;
        }
        ++substituted_hops;
        outcome.unexpected += !slow;
        std::size_t wrong = 0;  // samples that are not the policy's substitute
        for (std::size_t c = 0; c < channels; ++c) {
            for (std::size_t t = 0; t < hop; ++t) {
                const float got = output[c][j * hop + latency + t];
                float expected = 0.0f;
                if (policy == LatePolicy::dry)
                    expected = input[c][j * hop + t];
                if (policy == LatePolicy::repeat_last)
                    expected = output[c][(j - 1) * hop + latency + t];
                wrong += got != expected;
            }
        }
        EXPECT_EQ(wrong, 0u) << "hop " << j << " is neither the model output nor the substitute";
    }
    // Wait for the abandoned slow inferences to finish (under load this can take a while),
    // then check the books.
    for (int i = 0; i < 5000; ++i) {
        const Statistics now = handler.statistics();
        if (now.inferences_completed + now.failed_inferences == now.inferences_submitted)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const Statistics stats = handler.statistics();
    // Hops of the silent tail after the input can be late too (when the machine stalls), but
    // there the model's output and the substitute are both silence, so only a range is known.
    const std::uint64_t tail_hops = (latency + hop) / hop + 1;
    EXPECT_GE(stats.late_inferences, substituted_hops);
    EXPECT_LE(stats.late_inferences, substituted_hops + tail_hops);
    EXPECT_GT(slow_hops, 20u);
    EXPECT_EQ(stats.substituted_frames, stats.late_inferences * hop);
    EXPECT_EQ(stats.failed_inferences, 0u);
    EXPECT_EQ(stats.dropped_inferences, 0u);
    // Late results are discarded, not lost: every submitted inference ran to completion. (If the
    // machine stalled the workers, a late request may have been cancelled before it started,
    // which is why this is an outcome of the attempt rather than an assertion.)
    if (stats.inferences_completed != stats.inferences_submitted)
        outcome.unexpected += stats.inferences_submitted - stats.inferences_completed;
    EXPECT_GE(stats.max_inference_ms, 3 * max_ms);
    return outcome;
}

class LatePolicies : public ::testing::TestWithParam<LatePolicy> {};

TEST_P(LatePolicies, SlowHopsAreSubstitutedExactlyAndCounted) {
    for (const std::size_t channels : {1, 2}) {
        expect_on_time([&] { return run_policy(GetParam(), channels); });
    }
}

INSTANTIATE_TEST_SUITE_P(Policies, LatePolicies,
                         ::testing::Values(LatePolicy::silence, LatePolicy::dry,
                                           LatePolicy::repeat_last),
                         late_policy_name);

// Unpaced in real-time mode, the host calls far faster than the model runs, so most hops are
// late: every output hop must still be either the model's output or the policy's substitute,
// and every substitute counted.
TEST(LateInference, UnpacedFloodIsAccountedExactly) {
    for (const LatePolicy policy : {LatePolicy::silence, LatePolicy::dry}) {
        InferenceConfig config = make_config(negating_backend(0.0), hop, 0, 1, 1.0);
        config.late_policy = policy;
        InferenceHandler handler(config);
        HostConfig host;
        host.max_block_size = 64;
        handler.prepare(host);
        const std::size_t latency = handler.latency();
        const std::size_t frames = 64 * 2000;
        const Signal input = ramp(1, frames);
        HostSimulation simulation;
        simulation.block_sizes = {64};
        const Signal output = stream(handler, input, latency + hop, simulation);
        std::uint64_t substituted = 0;
        for (std::size_t j = 0; (j + 1) * hop <= frames; ++j) {
            // The last sample of a hop is never 0 in the ramp, so it tells the cases apart.
            const bool processed =
                output[0][j * hop + latency + hop - 1] == -input[0][j * hop + hop - 1];
            substituted += !processed;
            for (std::size_t t = 0; t < hop; ++t) {
                const float got = output[0][j * hop + latency + t];
                const float expected = processed                   ? -input[0][j * hop + t]
                                       : policy == LatePolicy::dry ? input[0][j * hop + t]
                                                                   : 0.0f;
                ASSERT_EQ(got, expected) << "hop " << j << " sample " << t;
            }
        }
        // Hops in the silent tail after the input may be late too, but there the processed and
        // substituted outputs are both zero.
        const Statistics stats = handler.statistics();
        const std::uint64_t tail_hops = (latency + hop) / hop + 2;
        EXPECT_GE(stats.late_inferences, substituted);
        EXPECT_LE(stats.late_inferences, substituted + tail_hops);
        EXPECT_EQ(stats.substituted_frames, stats.late_inferences * hop);
        EXPECT_GT(stats.inferences_submitted, 0u);
    }
}

// A stall far beyond every deadline (one inference takes 300 ms) must not hang the stream or
// shift it: the audio thread keeps going and later hops are exact again.
TEST(LateInference, LongStallDoesNotHangOrShift) {
    auto backend = make_custom_backend(
        "stalls-once", [](std::span<const TensorView> in, std::span<const TensorView> out) {
            for (std::size_t i = 0; i < out[0].data.size(); ++i)
                out[0].data[i] = -in[0].data[i];
            if (static_cast<std::size_t>(in[0].data[0]) / hop == 20)  // 0.1 s into the stream
                std::this_thread::sleep_for(std::chrono::milliseconds(300));
        });
    expect_on_time([&] {
        InferenceHandler handler(make_config(backend, hop, 0, 1, 2.0));
        HostConfig host;
        host.max_block_size = hop;
        handler.prepare(host);
        const std::size_t latency = handler.latency();
        const std::size_t frames = 48000;
        const Signal input = ramp(1, frames);
        HostSimulation simulation;
        simulation.block_sizes = {hop};
        simulation.paced = true;
        PacedAttempt attempt;
        simulation.host_overruns = &attempt.host_overruns;
        const auto start = std::chrono::steady_clock::now();
        const Signal output = stream(handler, input, latency + hop, simulation);
        // No hang: a 1 s stream with one 300 ms stall (generous for host overruns on a VM).
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
        const Statistics stats = handler.statistics();
        // The stall and the hops queued behind it on the single instance were substituted...
        EXPECT_GE(stats.late_inferences, 1u);
        EXPECT_EQ(stats.substituted_frames, stats.late_inferences * hop);
        // ... and the last half second is exact again.
        for (std::size_t n = frames / 2; n < frames; ++n)
            attempt.unexpected += output[0][n + latency] != -input[0][n];
        return attempt;
    });
}

}  // namespace
}  // namespace legato::test
