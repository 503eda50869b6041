// reset() while streaming, from the audio thread and from other threads: each applied reset
// starts a new stream at the start of a process() call, and cancelled inferences are not late.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "audio_thread_guard.hpp"
#include "lifecycle_support.hpp"

namespace legato::test {
namespace {

Reference window_reference(std::size_t hop, std::size_t past) {
    return [hop, past](const Signal& s) { return window_model_reference(s, hop, past); };
}

// Verifies every segment between consecutive stream starts (0 and each applied reset).
std::size_t all_segment_mismatches(const Signal& input, const Signal& output,
                                   std::vector<std::size_t> starts, std::size_t latency,
                                   const Reference& reference) {
    std::size_t mismatches = 0;
    starts.push_back(output[0].size());
    for (std::size_t s = 0; s + 1 < starts.size(); ++s)
        mismatches +=
            segment_mismatches(input, output, starts[s], starts[s + 1], latency, reference);
    return mismatches;
}

// Where the streams of a long run began, as seen from the audio thread.
struct CallLog {
    std::vector<std::size_t> starts;        // start position of each call
    std::vector<std::size_t> reset_starts;  // positions where a new stream began (0 included)
    std::size_t double_applies = 0;         // calls after which resets grew by more than one
};

// reset() on the audio thread before chosen calls: each such call starts a new stream.
void check_reset_from_audio_thread(InferenceConfig config, const Reference& reference,
                                   std::size_t channels) {
    InferenceHandler handler(std::move(config));
    HostConfig host;
    host.max_block_size = 100;
    host.variable_block_size = true;
    host.offline_rendering = true;
    handler.prepare(host);
    const std::size_t latency = handler.latency();
    const std::vector<std::size_t> sizes = {100, 37, 64, 1, 99, 50};
    const std::vector<std::size_t> reset_calls = {5, 6, 23, 24, 40, 77, 78, 79, 120};
    const Signal input = make_signal(channels, 14000, 11);
    Signal output(channels, std::vector<float>(input[0].size(), 0.0f));
    std::vector<std::size_t> starts = {0};
    std::size_t position = 0;
    std::uint64_t resets = 0;
    for (std::size_t call = 0; position < input[0].size(); ++call) {
        const bool reset_now =
            std::find(reset_calls.begin(), reset_calls.end(), call) != reset_calls.end();
        if (reset_now) {
            handler.reset();
            EXPECT_EQ(handler.statistics().resets, resets) << "applied only by process()";
            starts.push_back(position);
        }
        const std::size_t frames = std::min(sizes[call % sizes.size()], input[0].size() - position);
        process_at(handler, input, output, position, frames);
        position += frames;
        const std::uint64_t now = handler.statistics().resets;
        EXPECT_EQ(now, resets + (reset_now ? 1 : 0)) << "call " << call;
        resets = now;
    }
    EXPECT_EQ(resets, reset_calls.size());
    EXPECT_EQ(all_segment_mismatches(input, output, starts, latency, reference), 0u);
    const Statistics stats = handler.statistics();
    EXPECT_EQ(stats.late_inferences, 0u);
    EXPECT_EQ(stats.substituted_frames, 0u);
    EXPECT_EQ(stats.dropped_inferences, 0u);
}

TEST(ResetWhileStreaming, FromTheAudioThreadStartsANewStreamAtTheNextCall) {
    check_reset_from_audio_thread(
        make_config(make_custom_backend("window", window_model), 64, 149, 2, half_hop_ms(64)),
        window_reference(64, 149), 2);
}

TEST(ResetWhileStreaming, ZeroesExplicitAndInternalModelState) {
    check_reset_from_audio_thread(counter_config(64), counter_reference(64), 1);
}

// Pending inferences (not due yet, one of them running) are cancelled, not counted as late.
TEST(ResetWhileStreaming, CancelledInferencesAreNotLate) {
    constexpr std::size_t hop = 64;
    std::atomic<bool> gate_armed{false};
    std::atomic<bool> gate_open{false};
    std::atomic<int> blocked{0};
    auto gated = [&](std::span<const TensorView> in, std::span<const TensorView> out) {
        if (gate_armed.load()) {
            blocked.fetch_add(1);
            while (!gate_open.load())
                std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        window_model(in, out);
    };
    ContextConfig context_config;
    context_config.worker_threads = 1;
    InferenceHandler handler(
        make_config(make_custom_backend("gated", gated), hop, 0, 1, half_hop_ms(hop)),
        Context::create(context_config));
    // Opens the gate on every exit (destroyed before the handler, whose destructor waits).
    struct OpenOnExit {
        std::atomic<bool>& gate;
        ~OpenOnExit() { gate = true; }
    } open_on_exit{gate_open};
    HostConfig host;
    host.max_block_size = hop;
    host.latency_override = 20 * hop;  // room for many pending inferences
    handler.prepare(host);
    gate_armed = true;
    const Signal input = make_signal(1, 40 * hop, 5);
    Signal output(1, std::vector<float>(input[0].size(), 0.0f));
    // Real time: 10 hops submitted, none due yet; the first blocks on the gate.
    std::size_t position = 0;
    for (; position < 10 * hop; position += hop)
        process_at(handler, input, output, position, hop);
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    while (blocked.load() == 0 && Clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    ASSERT_EQ(blocked.load(), 1) << "the first inference never started";
    handler.reset();
    handler.set_offline_rendering(true);
    const std::size_t new_stream = position;
    process_at(handler, input, output, position, hop);
    position += hop;
    gate_open = true;  // the abandoned inference finishes; its result must be discarded
    for (; position < input[0].size(); position += hop)
        process_at(handler, input, output, position, hop);
    const Statistics stats = handler.statistics();
    EXPECT_EQ(stats.resets, 1u);
    EXPECT_EQ(stats.late_inferences, 0u);
    EXPECT_EQ(stats.dropped_inferences, 0u);
    EXPECT_EQ(stats.substituted_frames, 0u);
    EXPECT_EQ(segment_mismatches(input, output, 0, new_stream, handler.latency(),
                                 window_reference(hop, 0)),
              0u);
    EXPECT_EQ(segment_mismatches(input, output, new_stream, input[0].size(), handler.latency(),
                                 window_reference(hop, 0)),
              0u);
}

// Streams `input` with block `block` until `stop()` says so (checked after each call); logs
// where a reset was applied: the first call after which statistics().resets grew applied it at
// its start.
CallLog stream_logging_resets(InferenceHandler& handler, const Signal& input, Signal& output,
                              std::size_t block, const std::function<bool()>& stop) {
    CallLog log;
    log.reset_starts.push_back(0);
    std::uint64_t resets = handler.statistics().resets;
    std::size_t position = 0;
    while (position + block <= input[0].size() && !stop()) {
        log.starts.push_back(position);
        process_at(handler, input, output, position, block);
        const std::uint64_t now = handler.statistics().resets;
        if (now > resets + 1)
            ++log.double_applies;
        if (now != resets)
            log.reset_starts.push_back(position);
        resets = now;
        position += block;
    }
    for (auto& channel : output)
        channel.resize(position);  // the streamed part only
    return log;
}

TEST(ResetWhileStreaming, FiftyResetsFromAnotherThreadEachStartANewStream) {
    constexpr std::size_t hop = 64, past = 32, block = 96, resets_wanted = 50;
    ContextConfig context_config;
    context_config.worker_threads = 2;
    InferenceConfig config =
        make_config(make_custom_backend("window", window_model), hop, past, 2, half_hop_ms(hop));
    config.parallel_instances = 2;  // more inferences in flight when a reset cancels them
    InferenceHandler handler(config, Context::create(context_config));
    HostConfig host;
    host.max_block_size = block;
    host.offline_rendering = true;
    handler.prepare(host);

    std::atomic<bool> resetter_done{false};
    std::atomic<bool> abort{false};  // the input ran out: stop waiting instead of hanging
    std::thread resetter([&] {
        std::mt19937 random(3);
        std::uniform_int_distribution<int> gap(1, 12);  // blocks between resets
        auto wait_until = [&](const std::function<bool()>& condition) {
            while (!condition() && !abort.load())
                std::this_thread::sleep_for(std::chrono::microseconds(20));
        };
        for (std::size_t i = 0; i < resets_wanted; ++i) {
            // Wait for the previous reset to be applied and a few more blocks to pass, so that
            // every request becomes its own new stream.
            const std::uint64_t target = handler.statistics().blocks + gap(random);
            wait_until([&] {
                const Statistics now = handler.statistics();
                return now.resets >= i && now.blocks >= target;
            });
            handler.reset();
        }
        wait_until([&] { return handler.statistics().resets >= resets_wanted; });
        resetter_done = !abort.load();
    });
    const Signal input = make_signal(2, 960000, 17);
    Signal output(2, std::vector<float>(input[0].size(), 0.0f));
    std::size_t calls_after_done = 0;
    const CallLog log = stream_logging_resets(handler, input, output, block, [&] {
        // Like a host between callbacks, leave the other threads some time.
        std::this_thread::sleep_for(std::chrono::microseconds(20));
        return resetter_done.load() && ++calls_after_done > 40;
    });
    abort = true;
    resetter.join();
    const Statistics stats = handler.statistics();
    ASSERT_TRUE(resetter_done.load()) << "input ran out before " << resets_wanted << " resets";
    EXPECT_EQ(stats.resets, resets_wanted);
    EXPECT_EQ(log.reset_starts.size(), resets_wanted + 1);
    EXPECT_EQ(log.double_applies, 0u);
    Signal streamed_input = slice(input, 0, output[0].size());
    EXPECT_EQ(all_segment_mismatches(streamed_input, output, log.reset_starts, handler.latency(),
                                     window_reference(hop, past)),
              0u);
    EXPECT_EQ(stats.late_inferences, 0u) << "cancelled inferences must not count as late";
    EXPECT_EQ(stats.substituted_frames, 0u);
    EXPECT_EQ(stats.dropped_inferences, 0u);
    EXPECT_EQ(stats.failed_inferences, 0u);
}

// reset() hammered from two threads: process() never waits (real-time mode) and the handler is
// intact afterwards.
TEST(ResetWhileStreaming, ResetStormNeverBlocksProcess) {
    constexpr std::size_t hop = 64, block = 64;
    InferenceHandler handler(
        make_config(make_custom_backend("window", window_model), hop, 0, 1, half_hop_ms(hop)));
    HostConfig host;
    host.max_block_size = block;
    handler.prepare(host);
    const std::size_t latency = handler.latency();

    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> requested{0};
    std::vector<std::thread> storm;
    for (int t = 0; t < 2; ++t)
        storm.emplace_back([&] {
            std::uint64_t n = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                handler.reset();
                ++n;
            }
            requested += n;
        });
    const Signal input = make_signal(1, 4096, 23);
    std::vector<float> out(block);
    std::uint64_t resets = 0;
    std::size_t calls = 0, reset_calls = 0, noisy_preroll = 0, double_applies = 0;
    Clock::duration worst{0};
    AudioThreadViolations blocking;  // never blocking is proven by the guard, not a clock
    const auto end = Clock::now() + std::chrono::milliseconds(600);
    while (Clock::now() < end) {
        const float* in = input[0].data() + (calls * block) % (input[0].size() - block);
        float* o = out.data();
        const auto before = Clock::now();
        {
            AudioThreadGuard guard;
            handler.process(&in, 1, &o, 1, block);
            const AudioThreadViolations v = guard.violations();
            blocking.locks += v.locks;
            blocking.waits += v.waits;
            blocking.sleeps += v.sleeps;
            blocking.allocations += v.allocations;
            if (blocking.first == nullptr)
                blocking.first = v.first;
        }
        worst = std::max(worst, Clock::now() - before);
        ++calls;
        const std::uint64_t now = handler.statistics().resets;
        if (now > resets + 1)
            ++double_applies;
        if (now != resets) {
            ++reset_calls;
            // A new stream starts with latency() zeros.
            for (std::size_t n = 0; n < std::min(latency, block); ++n)
                if (out[n] != 0.0f)
                    ++noisy_preroll;
        }
        resets = now;
    }
    stop = true;
    for (auto& thread : storm)
        thread.join();
    const double worst_ms = std::chrono::duration<double, std::milli>(worst).count();
    std::printf("reset storm: %zu calls, %zu applied resets, %llu requested, worst call %.3f ms\n",
                calls, reset_calls, static_cast<unsigned long long>(requested.load()), worst_ms);
    // The worst time includes preemption by the two storm threads on this 2-core machine: it is
    // printed, not asserted. That process() never blocked is what the guard counted.
    if (AudioThreadGuard::available()) {
        EXPECT_TRUE(NoViolations(blocking));
    }
    EXPECT_GT(reset_calls, 0u);
    EXPECT_EQ(double_applies, 0u);
    EXPECT_EQ(noisy_preroll, 0u);
    Statistics stats = handler.statistics();
    EXPECT_EQ(stats.resets, reset_calls);
    EXPECT_LE(stats.resets, requested.load());
    EXPECT_EQ(stats.blocks, calls);
    EXPECT_EQ(stats.substituted_frames, stats.late_inferences * hop);
    EXPECT_EQ(stats.failed_inferences, 0u);

    // Afterwards the handler still streams exactly (no slot was leaked by the storm).
    handler.set_offline_rendering(true);
    handler.reset();
    const Statistics before = handler.statistics();
    const Signal signal = make_signal(1, 6400, 29);
    Signal output(1, std::vector<float>(signal[0].size(), 0.0f));
    for (std::size_t position = 0; position < signal[0].size(); position += block)
        process_at(handler, signal, output, position, block);
    stats = handler.statistics();
    EXPECT_EQ(stats.resets, before.resets + 1);
    EXPECT_EQ(stats.late_inferences, before.late_inferences);
    EXPECT_EQ(stats.dropped_inferences, before.dropped_inferences);
    EXPECT_EQ(
        segment_mismatches(signal, output, 0, signal[0].size(), latency, window_reference(hop, 0)),
        0u);
}

// LIBRARY BUG (fails at the time of writing): Session::process() splits an oversized call into
// chunks and process_block() checks reset_requests at the start of every chunk, so a reset
// requested during the call is applied in its middle (the old stream is cut mid-call).
// A reset requested while an oversized process() call runs (here: by the worker, through the
// pre-processor, which makes the timing deterministic) must wait for the next call: the header
// promises "at the start of the next process() call".
class ResettingProcessor : public PrePostProcessor {
public:
    std::atomic<InferenceHandler*> handler{nullptr};
    std::atomic<std::uint64_t> reset_at_hop{~std::uint64_t{0}};
    void pre_process(const InputWindows& windows, std::span<const TensorView> inputs) override {
        InferenceHandler* h = handler.load();
        if (h != nullptr && windows.hop_index() == reset_at_hop.load()) {
            handler = nullptr;
            h->reset();
        }
        PrePostProcessor::pre_process(windows, inputs);
    }
};

TEST(ResetWhileStreaming, ResetDuringAnOversizedCallWaitsForTheNextCall) {
    constexpr std::size_t hop = 64, block = 64;
    auto processor = std::make_shared<ResettingProcessor>();
    InferenceConfig config =
        make_config(make_custom_backend("window", window_model), hop, 0, 1, half_hop_ms(hop));
    config.pre_post_processor = processor;
    InferenceHandler handler(config);
    HostConfig host;
    host.max_block_size = block;
    host.offline_rendering = true;
    handler.prepare(host);
    const Signal input = make_signal(1, 40 * hop, 31);
    Signal output(1, std::vector<float>(input[0].size(), 0.0f));
    std::size_t position = 0;
    for (; position < 10 * hop; position += block)
        process_at(handler, input, output, position, block);
    // The oversized call submits hop 10 in its first chunk and waits for it in a later one.
    processor->reset_at_hop = position / hop;
    processor->handler = &handler;
    const std::size_t oversized_start = position;
    process_at(handler, input, output, position, 4 * block);
    position += 4 * block;
    EXPECT_EQ(handler.statistics().resets, 0u) << "applied inside the call that requested it";
    const std::size_t next_call = position;
    for (; position < input[0].size(); position += block)
        process_at(handler, input, output, position, block);
    EXPECT_EQ(handler.statistics().resets, 1u);
    // Documented: the oversized call continues the old stream; the next call starts a new one.
    EXPECT_EQ(segment_mismatches(input, output, 0, next_call, handler.latency(),
                                 window_reference(hop, 0)),
              0u)
        << "the old stream was cut inside the call starting at " << oversized_start;
    EXPECT_EQ(segment_mismatches(input, output, next_call, input[0].size(), handler.latency(),
                                 window_reference(hop, 0)),
              0u);
}

}  // namespace
}  // namespace legato::test
