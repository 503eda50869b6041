// Many handlers created, prepared, streamed and destroyed from many threads at once on the
// shared worker pool: offline ones stream exactly, real-time ones only substitute counted hops.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lifecycle_support.hpp"

namespace legato::test {
namespace {

// Hop-by-hop classification of a real-time output against the exact reference: each output hop
// (positions [j*hop + latency, (j+1)*hop + latency), clipped to the stream) must be exactly the
// reference or entirely silent (the silence policy's substitution).
struct HopSummary {
    std::size_t harvested = 0;      // hops whose output starts within the stream
    std::size_t substituted = 0;    // silent where the reference is not
    std::size_t ambiguous = 0;      // reference silent too: exact and substituted look alike
    std::size_t wrong = 0;          // neither exact nor silent
    std::size_t noisy_preroll = 0;  // non-zero samples before latency()
};

HopSummary summarize_hops(const Signal& output, const Signal& reference, std::size_t latency,
                          std::size_t hop) {
    HopSummary summary;
    const std::size_t total = output[0].size();
    for (std::size_t c = 0; c < output.size(); ++c)
        for (std::size_t n = 0; n < std::min(latency, total); ++n)
            if (output[c][n] != 0.0f)
                ++summary.noisy_preroll;
    for (std::size_t j = 0; j * hop + latency < total; ++j) {
        ++summary.harvested;
        const std::size_t begin = j * hop + latency;
        const std::size_t end = std::min(begin + hop, total);
        bool exact = true;
        bool silent = true;
        bool reference_silent = true;
        for (std::size_t c = 0; c < output.size(); ++c) {
            for (std::size_t n = begin; n < end; ++n) {
                exact = exact && output[c][n] == reference[c][n - latency];
                silent = silent && output[c][n] == 0.0f;
                reference_silent = reference_silent && reference[c][n - latency] == 0.0f;
            }
        }
        if (exact && reference_silent)
            ++summary.ambiguous;
        else if (silent)
            ++summary.substituted;
        else if (!exact)
            ++summary.wrong;
    }
    return summary;
}

struct Shape {
    std::size_t hop, past, block, channels;
    bool variable;
};

constexpr Shape shapes[] = {
    {64, 0, 64, 1, false},   {128, 149, 100, 2, false}, {32, 31, 256, 1, true},
    {256, 0, 512, 2, false}, {100, 50, 37, 3, true},    {512, 149, 128, 1, false},
    {64, 200, 300, 2, true}, {48, 16, 48, 1, false},
};

std::vector<std::size_t> block_sizes_for(const Shape& shape) {
    if (!shape.variable)
        return {shape.block};
    return {shape.block, shape.block / 3 + 1, 1, shape.block - 1, 7};
}

// One handler of a worker thread, streamed one call at a time so that a thread can interleave
// its handlers.
struct Streamed {
    std::unique_ptr<InferenceHandler> handler;
    Shape shape{};
    bool offline = true;
    Signal input;  // padded with a tail that flushes the latency
    Signal output;
    std::vector<std::size_t> sizes;
    std::size_t position = 0;
    std::size_t calls = 0;

    bool done() const { return position >= input[0].size(); }
    void step() {
        const std::size_t frames =
            std::min(sizes[calls % sizes.size()], input[0].size() - position);
        process_at(*handler, input, output, position, frames);
        position += frames;
        ++calls;
    }
};

struct HandlerResult {
    std::string label;
    std::string error;  // exception text, if any
    bool offline = true;
    std::size_t hop = 0, latency = 0, total = 0, calls = 0;
    std::size_t mismatches = 0;  // offline: samples differing from the exact output
    HopSummary hops;             // real-time: hop classification
    Statistics stats;
};

HandlerResult summarize(const Streamed& s) {
    HandlerResult result;
    result.offline = s.offline;
    result.hop = s.shape.hop;
    result.latency = s.handler->latency();
    result.total = s.input[0].size();
    result.calls = s.calls;
    result.stats = s.handler->statistics();
    const Signal reference = window_model_reference(s.input, s.shape.hop, s.shape.past);
    if (s.offline)
        result.mismatches = count_mismatches(s.output, reference, result.latency, result.total);
    else
        result.hops = summarize_hops(s.output, reference, result.latency, s.shape.hop);
    return result;
}

// Thread body: creates two handlers, prepares them, streams them interleaved, records the
// outcome and destroys them.
void handler_pair_thread(std::size_t thread, std::size_t round, bool realtime_thread,
                         std::barrier<>& start, std::vector<HandlerResult>& results) {
    start.arrive_and_wait();  // all threads create, prepare and stream at the same time
    Streamed pair[2];
    try {
        for (std::size_t k = 0; k < 2; ++k) {
            Streamed& s = pair[k];
            s.shape = shapes[(thread * 2 + k + round) % std::size(shapes)];
            // In the real-time variant one handler of the thread renders in real time.
            s.offline = !(realtime_thread && k == 0);
            InferenceConfig config =
                make_config(make_custom_backend("window", window_model), s.shape.hop, s.shape.past,
                            s.shape.channels, half_hop_ms(s.shape.hop));
            s.handler = std::make_unique<InferenceHandler>(config);
            HostConfig host;
            host.max_block_size = s.shape.block;
            host.variable_block_size = s.shape.variable;
            host.offline_rendering = s.offline;
            s.handler->prepare(host);
            const std::size_t frames = 4800 + 97 * thread;
            const std::size_t total = frames + s.handler->latency() + s.shape.block + s.shape.hop;
            s.input = padded(make_signal(s.shape.channels, frames,
                                         static_cast<std::uint32_t>(thread * 7 + k + 1)),
                             total);
            s.output.assign(s.shape.channels, std::vector<float>(total, 0.0f));
            s.sizes = block_sizes_for(s.shape);
        }
        while (!pair[0].done() || !pair[1].done())
            for (auto& s : pair)
                if (!s.done())
                    s.step();
        for (std::size_t k = 0; k < 2; ++k) {
            HandlerResult r = summarize(pair[k]);
            r.label = "round " + std::to_string(round) + " thread " + std::to_string(thread) +
                      " handler " + std::to_string(k) + " hop " +
                      std::to_string(pair[k].shape.hop) + (r.offline ? " offline" : " real-time");
            results[k] = r;
        }
    } catch (const std::exception& e) {
        results[0].error = e.what();
    }
    for (auto& s : pair)
        s.handler.reset();  // destroyed while other threads still stream
}

void check_offline(const HandlerResult& r) {
    SCOPED_TRACE(r.label);
    EXPECT_EQ(r.mismatches, 0u);
    EXPECT_EQ(r.stats.late_inferences, 0u);
    EXPECT_EQ(r.stats.substituted_frames, 0u);
    EXPECT_EQ(r.stats.failed_inferences, 0u);
    EXPECT_EQ(r.stats.inferences_submitted, r.total / r.hop);
    EXPECT_EQ(r.stats.blocks, r.calls);
    EXPECT_EQ(r.stats.frames, r.total);
}

// What the counters must satisfy in real-time mode, whatever the timing.
void check_realtime(const HandlerResult& r) {
    SCOPED_TRACE(r.label);
    const Statistics& s = r.stats;
    EXPECT_EQ(r.hops.noisy_preroll, 0u);
    EXPECT_EQ(r.hops.wrong, 0u) << "a hop neither exact nor a silent substitution";
    // Every silent hop where the reference is not silent was counted as late.
    EXPECT_LE(r.hops.substituted, s.late_inferences);
    EXPECT_LE(s.late_inferences, r.hops.substituted + r.hops.ambiguous);
    EXPECT_LE(s.late_inferences, r.hops.harvested);
    // A harvested hop was either late or done, and done ones were counted as completed first.
    EXPECT_GE(s.late_inferences + s.inferences_completed, r.hops.harvested);
    EXPECT_EQ(s.substituted_frames, s.late_inferences * r.hop);
    EXPECT_LE(s.dropped_inferences, s.late_inferences);
    EXPECT_EQ(s.failed_inferences, 0u);
    EXPECT_EQ(s.inferences_submitted, r.total / r.hop);
    EXPECT_LE(s.inferences_completed, s.inferences_submitted - s.dropped_inferences);
    EXPECT_EQ(s.blocks, r.calls);
    EXPECT_EQ(s.frames, r.total);
}

void run_concurrent_rounds(bool realtime_variant) {
    constexpr std::size_t threads = 8;
    constexpr std::size_t rounds = 5;
    std::size_t realtime_checked = 0, late = 0, harvested = 0;
    for (std::size_t round = 0; round < rounds; ++round) {
        std::barrier start(static_cast<std::ptrdiff_t>(threads));
        std::vector<std::vector<HandlerResult>> results(threads, std::vector<HandlerResult>(2));
        std::vector<std::thread> pool;
        for (std::size_t t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                handler_pair_thread(t, round, realtime_variant && t % 2 == 1, start, results[t]);
            });
        for (auto& thread : pool)
            thread.join();
        for (const auto& pair : results) {
            ASSERT_TRUE(pair[0].error.empty()) << pair[0].error;
            for (const auto& r : pair) {
                if (r.offline) {
                    check_offline(r);
                } else {
                    check_realtime(r);
                    ++realtime_checked;
                    late += r.stats.late_inferences;
                    harvested += r.hops.harvested;
                }
            }
        }
    }
    EXPECT_EQ(realtime_checked, realtime_variant ? rounds * threads / 2 : 0u);
    if (realtime_variant)
        std::printf("real-time handlers: %zu of %zu hops late\n", late, harvested);
}

TEST(ConcurrentLifecycle, SixteenHandlersFromEightThreadsAreExact) {
    run_concurrent_rounds(false);
}

TEST(ConcurrentLifecycle, MixedRealTimeHandlersOnlySubstituteCountedHops) {
    run_concurrent_rounds(true);
}

// 1,000 create/prepare/process/destroy cycles from 8 threads on the shared pool while two other
// handlers keep streaming in real time on it. Most cycles render offline and are checked
// exactly; every fourth streams in real time and is destroyed with inferences still in flight.
TEST(ConcurrentLifecycle, ThousandCyclesOnEightThreadsBesideStreamingHandlers) {
    constexpr std::size_t threads = 8;
    constexpr std::size_t cycles_per_thread = 125;
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> background_blocks{0};
    std::atomic<std::uint64_t> background_failures{0};
    std::vector<std::thread> background;
    for (std::uint32_t b = 0; b < 2; ++b) {
        background.emplace_back([&, b] {
            InferenceHandler handler(
                make_config(make_custom_backend("window", window_model), 64, 20, 1, 1.0));
            HostConfig host;
            host.max_block_size = 64;
            handler.prepare(host);
            const Signal input = make_signal(1, 64, b);
            Signal output(1, std::vector<float>(64));
            const float* in[1] = {input[0].data()};
            float* out[1] = {output[0].data()};
            while (!done.load()) {
                handler.process(in, 1, out, 1, 64);
                ++background_blocks;
                std::this_thread::sleep_for(std::chrono::microseconds(500));
            }
            background_failures += handler.statistics().failed_inferences;
        });
    }
    std::atomic<std::size_t> exact{0}, checked{0}, cycles{0};
    std::vector<std::string> errors(threads);
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            std::mt19937 rng(static_cast<std::uint32_t>(t + 1));
            try {
                for (std::size_t c = 0; c < cycles_per_thread; ++c) {
                    const std::size_t hop = std::size_t{64} << (rng() % 4);  // >= 1.33 ms
                    const std::size_t past = rng() % 50;
                    const std::size_t channels = 1 + rng() % 2;
                    const std::size_t block = 1 + rng() % 300;
                    const bool offline = c % 4 != 3;
                    InferenceConfig config = make_config(
                        make_custom_backend("window", window_model), hop, past, channels, 1.0);
                    InferenceHandler handler(config);
                    HostConfig host;
                    host.max_block_size = block;
                    host.offline_rendering = offline;
                    handler.prepare(host);
                    const Signal input =
                        make_signal(channels, 4 * hop + block, static_cast<std::uint32_t>(c));
                    HostSimulation simulation;
                    simulation.block_sizes = {block};
                    const Signal output =
                        stream(handler, input, handler.latency() + hop, simulation);
                    if (offline) {
                        const Signal reference = window_model_reference(input, hop, past);
                        const std::size_t count = input[0].size() / hop * hop;
                        ++checked;
                        if (count_mismatches(output, reference, handler.latency(), count) == 0)
                            ++exact;
                    }
                    ++cycles;
                }  // destroyed here; real-time cycles may still have inferences running
            } catch (const std::exception& e) {
                errors[t] = e.what();
            }
        });
    }
    for (auto& worker : workers)
        worker.join();
    done = true;
    for (auto& thread : background)
        thread.join();
    for (const auto& error : errors)
        EXPECT_TRUE(error.empty()) << error;
    EXPECT_EQ(cycles.load(), threads * cycles_per_thread);
    EXPECT_EQ(exact.load(), checked.load());
    EXPECT_GT(checked.load(), 700u);
    EXPECT_GT(background_blocks.load(), 0u);
    EXPECT_EQ(background_failures.load(), 0u);
}

}  // namespace
}  // namespace legato::test
