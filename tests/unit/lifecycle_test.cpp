// Life cycle under concurrency: handlers created, prepared, streamed and destroyed from many
// threads at once; sharing of the process-wide Context; reset() and set_engine() while
// streaming; prepare() again; destruction while inferences still run on the workers.
//
// Exactness checks run in offline rendering mode (process() waits for every result), so they
// hold however the threads are scheduled. Real-time mode is used where the point is that
// nothing blocks; there every frame must be either exact or a counted substitution.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <latch>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "audio_thread_guard.hpp"
#include "stream_support.hpp"

namespace legato::test {
namespace {

using Clock = std::chrono::steady_clock;
using Reference = std::function<Signal(const Signal&)>;

// ---------------------------------------------------------------------------------------------
// Helpers

Signal padded(const Signal& input, std::size_t total) {
    Signal out = input;
    for (auto& channel : out)
        channel.resize(total, 0.0f);
    return out;
}

Signal slice(const Signal& signal, std::size_t begin, std::size_t end) {
    Signal out;
    for (const auto& channel : signal)
        out.emplace_back(channel.begin() + static_cast<std::ptrdiff_t>(begin),
                         channel.begin() + static_cast<std::ptrdiff_t>(end));
    return out;
}

// One process() call for input[position, position + frames), written to the same range of
// `output` (both [channel][frame] and of equal size).
void process_at(InferenceHandler& handler, const Signal& input, Signal& output,
                std::size_t position, std::size_t frames) {
    std::vector<const float*> in;
    std::vector<float*> out;
    for (std::size_t c = 0; c < input.size(); ++c) {
        in.push_back(input[c].data() + position);
        out.push_back(output[c].data() + position);
    }
    handler.process(in.data(), in.size(), out.data(), out.size(), frames);
}

Reference window_reference(std::size_t hop, std::size_t past) {
    return [hop, past](const Signal& s) { return window_model_reference(s, hop, past); };
}

void negated_window_model(std::span<const TensorView> inputs, std::span<const TensorView> outputs) {
    window_model(inputs, outputs);
    for (float& value : outputs[0].data)
        value = -value;
}

// Samples of output[begin, end) that differ from a stream that (re)started at `begin`: silence
// for the first `latency` samples, then the reference of input[begin, end) delayed by latency.
std::size_t segment_mismatches(const Signal& input, const Signal& output, std::size_t begin,
                               std::size_t end, std::size_t latency, const Reference& reference) {
    const Signal expected = reference(slice(input, begin, end));
    std::size_t mismatches = 0;
    for (std::size_t c = 0; c < input.size(); ++c)
        for (std::size_t n = 0; n < end - begin; ++n)
            if (output[c][begin + n] != (n < latency ? 0.0f : expected[c][n - latency]))
                ++mismatches;
    return mismatches;
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

// Where the streams of a long run began, as seen from the audio thread.
struct CallLog {
    std::vector<std::size_t> starts;        // start position of each call
    std::vector<std::size_t> reset_starts;  // positions where a new stream began (0 included)
    std::size_t double_applies = 0;         // calls after which resets grew by more than one
};

// ---------------------------------------------------------------------------------------------
// 1. Many handlers created, prepared, streamed and destroyed concurrently

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
                    const Signal output = stream(handler, input, handler.latency() + hop,
                                                 simulation);
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

// ---------------------------------------------------------------------------------------------
// 2. Context sharing

TEST(ContextSharing, ConcurrentHandlersShareOneContextUntilTheLastLeaves) {
    constexpr std::size_t threads = 8;
    std::weak_ptr<Context> first;
    std::size_t first_workers = 0;
    {
        std::vector<std::unique_ptr<InferenceHandler>> handlers(threads);
        std::latch created(threads);
        std::latch ready(threads);
        std::latch destroy(1);
        std::vector<std::thread> pool;
        for (std::size_t t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                created.arrive_and_wait();  // every thread asks for the shared context at once
                handlers[t] = std::make_unique<InferenceHandler>(
                    make_config(make_bypass_backend(), 64, 0, 1, half_hop_ms(64)));
                ready.count_down();
                destroy.wait();
                handlers[t].reset();  // the last of these destroys the context
            });
        ready.wait();
        const std::shared_ptr<Context>& shared = handlers[0]->context();
        for (const auto& h : handlers)
            EXPECT_EQ(h->context().get(), shared.get());
        EXPECT_EQ(shared.use_count(), static_cast<long>(threads)) << "only the handlers hold it";
        first = shared;
        first_workers = shared->info().worker_threads;

        // While it lives, shared() returns it and ignores the config.
        ContextConfig other;
        other.worker_threads = first_workers + 2;
        EXPECT_EQ(Context::shared(other).get(), shared.get());
        EXPECT_EQ(Context::shared(other)->info().worker_threads, first_workers);

        // A private pool is separate, with its own workers.
        ContextConfig private_config;
        private_config.worker_threads = 4;
        auto own = Context::create(private_config);
        InferenceHandler isolated(make_config(make_bypass_backend(), 64, 0, 1, half_hop_ms(64)),
                                  own);
        EXPECT_EQ(isolated.context().get(), own.get());
        EXPECT_NE(own.get(), shared.get());
        EXPECT_EQ(own->info().worker_threads, 4u);
        EXPECT_EQ(shared.use_count(), static_cast<long>(threads));

        destroy.count_down();
        for (auto& thread : pool)
            thread.join();
    }
    EXPECT_TRUE(first.expired());
    // A new instance, created with the config given now. Owner comparison, not addresses: the
    // new context may reuse the old one's memory, but not its (still referenced) control block.
    ContextConfig config;
    config.worker_threads = first_workers + 2;
    const std::shared_ptr<Context> fresh = Context::shared(config);
    EXPECT_TRUE(first.owner_before(fresh) || fresh.owner_before(first));
    EXPECT_EQ(fresh->info().worker_threads, first_workers + 2);
}

// ---------------------------------------------------------------------------------------------
// 3. reset() while streaming

// A stateful model with explicit state (h_in -> h_out counts hops) and internal state (its
// function counts its own runs; reset_state() starts it afresh): y = 0.5 x + h + 0.25 runs.
InferenceConfig counter_config(std::size_t hop) {
    CustomInstanceFactory factory = [](const InstanceSetup&) -> CustomFunction {
        return
            [runs = 0.0f](std::span<const TensorView> in, std::span<const TensorView> out) mutable {
                const float h = in[1].data[0];
                for (std::size_t t = 0; t < out[0].data.size(); ++t)
                    out[0].data[t] = 0.5f * in[0].data[t] + h + 0.25f * runs;
                out[1].data[0] = h + 1.0f;
                runs += 1.0f;
            };
    };
    InferenceConfig config =
        make_config(make_custom_backend("counter", factory), hop, 0, 1, half_hop_ms(hop));
    add_state_pair(config, "h_in", {1});
    return config;
}

// The counter model over a fresh stream: hop j sees h = j and runs = j.
Reference counter_reference(std::size_t hop) {
    return [hop](const Signal& in) {
        Signal out(in.size(), std::vector<float>(in[0].size(), 0.0f));
        for (std::size_t j = 0; (j + 1) * hop <= in[0].size(); ++j) {
            const float h = static_cast<float>(j);
            const float runs = static_cast<float>(j);
            for (std::size_t t = 0; t < hop; ++t)
                out[0][j * hop + t] = 0.5f * in[0][j * hop + t] + h + 0.25f * runs;
        }
        return out;
    };
}

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

// ---------------------------------------------------------------------------------------------
// 4. Engine switching while streaming

InferenceConfig two_engine_config(std::size_t hop, std::size_t past, std::size_t channels) {
    InferenceConfig config =
        make_config(make_custom_backend("a", window_model), hop, past, channels, half_hop_ms(hop));
    config.engines.push_back({make_custom_backend("b", negated_window_model), {}, {}, {}, {}});
    return config;
}

// Which engine computed each output hop: +1 = a (the reference), -1 = b (its negation), 0 =
// neither (mixed or wrong). Hops are the full hops of output [latency, total).
std::vector<int> classify_engine_hops(const Signal& output, const Signal& reference,
                                      std::size_t latency, std::size_t hop) {
    std::vector<int> kinds;
    for (std::size_t j = 0; (j + 1) * hop + latency <= output[0].size(); ++j) {
        bool a = true, b = true;
        for (std::size_t c = 0; c < output.size(); ++c) {
            for (std::size_t t = 0; t < hop; ++t) {
                const float y = output[c][j * hop + t + latency];
                const float r = reference[c][j * hop + t];
                a = a && y == r;
                b = b && y == -r;
            }
        }
        kinds.push_back(a && b ? 2 : a ? 1 : b ? -1 : 0);  // 2: reference silent, either
    }
    return kinds;
}

TEST(EngineSwitching, OnTheAudioThreadAppliesFromTheNextSubmittedHop) {
    constexpr std::size_t hop = 128, past = 149, channels = 2;
    InferenceHandler handler(two_engine_config(hop, past, channels));
    EXPECT_EQ(handler.engine_name(0), "a");
    EXPECT_EQ(handler.engine_name(1), "b");
    EXPECT_EQ(handler.engine_name(2), "");
    HostConfig host;
    host.max_block_size = 256;
    host.variable_block_size = true;
    host.offline_rendering = true;
    handler.prepare(host);
    EXPECT_EQ(handler.engine(), 0u);
    const std::size_t latency = handler.latency();

    const std::vector<std::size_t> sizes = {256, 100, 37, 200, 128, 1, 255};
    const Signal input = padded(make_signal(channels, 16000, 41), 16000 + latency + 256 + hop);
    const std::size_t total = input[0].size();
    Signal output(channels, std::vector<float>(total, 0.0f));
    std::vector<std::size_t> call_starts;
    std::vector<std::size_t> call_engine;
    std::size_t position = 0;
    for (std::size_t call = 0; position < total; ++call) {
        if (call % 5 == 2) {  // toggle, alternately by name and by index
            const std::size_t next = 1 - handler.engine();
            const bool ok = call % 10 == 2 ? handler.set_engine(next == 0 ? "a" : "b")
                                           : handler.set_engine(next);
            EXPECT_TRUE(ok);
            EXPECT_EQ(handler.engine(), next);
            EXPECT_EQ(handler.statistics().engine, next);
        }
        if (call == 13) {  // unknown engines are refused and change nothing
            const std::size_t current = handler.engine();
            EXPECT_FALSE(handler.set_engine("c"));
            EXPECT_FALSE(handler.set_engine(std::size_t{2}));
            EXPECT_EQ(handler.engine(), current);
        }
        call_starts.push_back(position);
        call_engine.push_back(handler.engine());
        const std::size_t frames = std::min(sizes[call % sizes.size()], total - position);
        process_at(handler, input, output, position, frames);
        position += frames;
    }
    const Signal reference = window_model_reference(input, hop, past);
    const std::vector<int> kinds = classify_engine_hops(output, reference, latency, hop);
    std::size_t wrong = 0, on_b = 0;
    for (std::size_t j = 0; j < kinds.size(); ++j) {
        // Hop j was submitted in the call holding its last input sample.
        const std::size_t last = (j + 1) * hop - 1;
        const auto call = static_cast<std::size_t>(
            std::upper_bound(call_starts.begin(), call_starts.end(), last) - call_starts.begin() -
            1);
        const int expected = call_engine[call] == 0 ? 1 : -1;
        if (kinds[j] != expected && kinds[j] != 2)
            ++wrong;
        on_b += expected == -1 ? 1 : 0;
    }
    EXPECT_EQ(wrong, 0u);
    EXPECT_GT(on_b, kinds.size() / 4);
    EXPECT_LT(on_b, kinds.size() * 3 / 4);
    EXPECT_EQ(count_mismatches(output, reference, latency, 0), 0u) << "pre-roll must be silent";
    EXPECT_EQ(handler.statistics().late_inferences, 0u);
}

TEST(EngineSwitching, FromAnotherThreadEveryHopIsEntirelyOneEngine) {
    constexpr std::size_t hop = 64, past = 100, channels = 2, block = 96;
    ContextConfig context_config;
    context_config.worker_threads = 2;
    InferenceConfig config = two_engine_config(hop, past, channels);
    config.parallel_instances = 2;
    InferenceHandler handler(config, Context::create(context_config));
    HostConfig host;
    host.max_block_size = block;
    host.offline_rendering = true;
    handler.prepare(host);
    const std::size_t latency = handler.latency();

    std::atomic<bool> stop{false};
    std::thread switcher([&] {
        for (std::size_t i = 0; !stop.load(); ++i) {
            const bool ok =
                i % 3 == 0 ? handler.set_engine(i % 2 == 0 ? "a" : "b") : handler.set_engine(i % 2);
            if (!ok)
                break;
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    });
    const Signal input = padded(make_signal(channels, 48000, 43), 48000 + latency + block + hop);
    Signal output(channels, std::vector<float>(input[0].size(), 0.0f));
    for (std::size_t position = 0; position < input[0].size(); position += block)
        process_at(handler, input, output, position, std::min(block, input[0].size() - position));
    stop = true;
    switcher.join();
    const Signal reference = window_model_reference(input, hop, past);
    const std::vector<int> kinds = classify_engine_hops(output, reference, latency, hop);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), 0), 0) << "a hop mixes engines";
    EXPECT_GT(std::count(kinds.begin(), kinds.end(), 1), 0);
    EXPECT_GT(std::count(kinds.begin(), kinds.end(), -1), 0);
    const Statistics stats = handler.statistics();
    EXPECT_EQ(stats.late_inferences, 0u);
    EXPECT_EQ(stats.failed_inferences, 0u);
}

// ---------------------------------------------------------------------------------------------
// 5. prepare() again

std::size_t expected_latency(const InferenceHandler& handler, const HostConfig& host,
                             std::size_t hop) {
    LatencyInputs in;
    in.sample_rate = host.sample_rate;
    in.max_block_size = host.max_block_size;
    in.variable_block_size = host.variable_block_size;
    in.hop = hop;
    in.max_inference_time_ms = handler.max_inference_time_ms();
    in.parallel_inferences =
        std::min(handler.config().parallel_instances, handler.context()->info().worker_threads);
    return compute_latency(in);
}

void expect_cleared(const Statistics& s) {
    EXPECT_EQ(s.blocks, 0u);
    EXPECT_EQ(s.frames, 0u);
    EXPECT_EQ(s.oversized_blocks, 0u);
    EXPECT_EQ(s.inferences_submitted, 0u);
    EXPECT_EQ(s.inferences_completed, 0u);
    EXPECT_EQ(s.late_inferences, 0u);
    EXPECT_EQ(s.dropped_inferences, 0u);
    EXPECT_EQ(s.failed_inferences, 0u);
    EXPECT_EQ(s.substituted_frames, 0u);
    EXPECT_EQ(s.resets, 0u);
    EXPECT_EQ(s.max_inference_ms, 0.0);
}

// Streams `frames` of noise plus a flushing tail in calls of `sizes`; returns the mismatches
// against the exact output and checks the counters of this (fresh) stream.
std::size_t stream_exact(InferenceHandler& handler, std::size_t hop, std::size_t past,
                         const std::vector<std::size_t>& sizes, std::size_t frames,
                         std::uint32_t seed) {
    const std::size_t max_size = *std::max_element(sizes.begin(), sizes.end());
    const Signal input =
        padded(make_signal(1, frames, seed), frames + handler.latency() + max_size + hop);
    HostSimulation simulation;
    simulation.block_sizes = sizes;
    const Signal output = stream(handler, input, 0, simulation);
    const std::size_t total = output[0].size();  // stream() may round up to whole blocks
    const Statistics stats = handler.statistics();
    EXPECT_EQ(stats.frames, total);
    EXPECT_EQ(stats.inferences_submitted, total / hop);
    EXPECT_EQ(stats.late_inferences, 0u);
    EXPECT_EQ(stats.resets, 0u);
    return count_mismatches(output, window_model_reference(padded(input, total), hop, past),
                            handler.latency(), total);
}

TEST(RePrepare, NewBlockSizeChangesLatencyAndStreamsExactly) {
    constexpr std::size_t hop = 128, past = 64;
    InferenceHandler handler(
        make_config(make_custom_backend("window", window_model), hop, past, 1, half_hop_ms(hop)));
    HostConfig host;
    host.offline_rendering = true;
    host.max_block_size = 64;
    handler.prepare(host);
    const std::size_t small = handler.latency();
    EXPECT_EQ(small, expected_latency(handler, host, hop));
    EXPECT_EQ(stream_exact(handler, hop, past, {64}, 3000, 1), 0u);
    EXPECT_GT(handler.statistics().blocks, 0u);

    host.max_block_size = 512;
    handler.prepare(host);
    expect_cleared(handler.statistics());
    const std::size_t large = handler.latency();
    EXPECT_EQ(large, expected_latency(handler, host, hop));
    EXPECT_EQ(handler.statistics().latency_samples, large);
    EXPECT_EQ(stream_exact(handler, hop, past, {512}, 5000, 2), 0u);

    host.variable_block_size = true;
    handler.prepare(host);
    expect_cleared(handler.statistics());
    const std::size_t variable = handler.latency();
    EXPECT_EQ(variable, expected_latency(handler, host, hop));
    EXPECT_GT(variable, large) << "any block sequence up to 512 needs more than blocks of 512";
    EXPECT_EQ(stream_exact(handler, hop, past, {512, 1, 300, 77, 511}, 5000, 3), 0u);

    // And back to small fixed blocks: the latency follows.
    host.variable_block_size = false;
    host.max_block_size = 64;
    handler.prepare(host);
    EXPECT_EQ(handler.latency(), small);
    EXPECT_EQ(stream_exact(handler, hop, past, {64}, 3000, 4), 0u);
}

// LIBRARY BUG (fails at the time of writing): Controls::reset_requests survives prepare() but
// each new Session starts with applied_resets_ = 0, so its first block replays a reset.
// Statistics count "since prepare()": a reset applied before prepare() must not be counted (or
// applied) again by the new stream.
TEST(RePrepare, ResetsAppliedBeforeAreNotCountedAgain) {
    constexpr std::size_t hop = 64;
    InferenceHandler handler(
        make_config(make_custom_backend("window", window_model), hop, 0, 1, half_hop_ms(hop)));
    HostConfig host;
    host.offline_rendering = true;
    host.max_block_size = 64;
    handler.prepare(host);
    const Signal input = make_signal(1, 20 * hop, 5);
    Signal output(1, std::vector<float>(input[0].size(), 0.0f));
    for (std::size_t position = 0; position < input[0].size(); position += hop) {
        if (position == 10 * hop)
            handler.reset();
        process_at(handler, input, output, position, hop);
    }
    ASSERT_EQ(handler.statistics().resets, 1u);
    host.max_block_size = 128;
    handler.prepare(host);
    EXPECT_EQ(handler.statistics().resets, 0u);
    process_at(handler, input, output, 0, 128);
    EXPECT_EQ(handler.statistics().resets, 0u) << "a reset requested before prepare() replayed";
}

// LIBRARY BUG (fails at the time of writing): ModelRun::generation survives prepare() while
// Session::generation_ restarts (at 0, or 1 with the replayed reset above); reset_state() runs
// only when they differ, so with 0 or 1 earlier resets the model keeps its old internal state.
// After prepare() the new stream must not depend on how many resets the previous stream had:
// two identical handlers whose streams since their last reset were identical must produce the
// same output after re-preparing.
TEST(RePrepare, ModelStateAfterRePrepareDoesNotDependOnEarlierResets) {
    constexpr std::size_t hop = 64;
    const Signal input = make_signal(1, 30 * hop, 9);
    std::vector<Signal> outputs;
    for (const std::size_t earlier_resets : {0, 1, 2}) {
        InferenceHandler handler(counter_config(hop));
        HostConfig host;
        host.offline_rendering = true;
        host.max_block_size = hop;
        handler.prepare(host);
        Signal scratch(1, std::vector<float>(input[0].size(), 0.0f));
        for (std::size_t r = 0; r < earlier_resets; ++r) {
            handler.reset();
            process_at(handler, input, scratch, 0, hop);
        }
        for (std::size_t position = 0; position < 10 * hop; position += hop)
            process_at(handler, input, scratch, position, hop);
        host.max_block_size = 2 * hop;
        handler.prepare(host);
        Signal output(1, std::vector<float>(input[0].size(), 0.0f));
        for (std::size_t position = 0; position < input[0].size(); position += 2 * hop)
            process_at(handler, input, output, position, 2 * hop);
        // Explicit state restarts at zero after prepare(); internal state should too.
        EXPECT_EQ(segment_mismatches(input, output, 0, input[0].size(), handler.latency(),
                                     counter_reference(hop)),
                  0u)
            << earlier_resets << " reset(s) before re-preparing";
        outputs.push_back(output);
    }
    EXPECT_EQ(outputs[0], outputs[2]);
    EXPECT_EQ(outputs[1], outputs[2]);
}

// A prepare() that throws for the new host config leaves the previous preparation working.
TEST(RePrepare, AFailedPrepareKeepsThePreviousOne) {
    constexpr std::size_t hop = 64;
    InferenceHandler handler(
        make_config(make_custom_backend("window", window_model), hop, 0, 1, half_hop_ms(hop)));
    HostConfig host;
    host.offline_rendering = true;
    host.max_block_size = hop;
    handler.prepare(host);
    const std::size_t latency = handler.latency();
    HostConfig impossible = host;
    impossible.sample_rate = 192000.0;  // half a hop at 48 kHz is more than a hop at 192 kHz
    EXPECT_THROW(handler.prepare(impossible), Error);
    EXPECT_EQ(handler.latency(), latency);
    EXPECT_EQ(stream_exact(handler, hop, 0, {hop}, 2000, 6), 0u);
}

// A first prepare() that failed while loading the second engine (e.g. its model file was not
// there yet) must not leave the handler half-loaded: the next prepare() loads every engine.
TEST(RePrepare, AfterAFailedFirstPrepareEveryEngineIsLoaded) {
    constexpr std::size_t hop = 64, past = 32;
    auto attempts = std::make_shared<std::atomic<int>>(0);
    CustomInstanceFactory flaky = [attempts](const InstanceSetup&) -> CustomFunction {
        if (attempts->fetch_add(1) == 0)
            throw Error("model not ready yet");
        return negated_window_model;
    };
    InferenceConfig config = two_engine_config(hop, past, 1);
    config.engines[1].backend = make_custom_backend("b", flaky);
    InferenceHandler handler(config);
    HostConfig host;
    host.offline_rendering = true;
    host.max_block_size = hop;
    EXPECT_THROW(handler.prepare(host), Error);
    try {
        handler.prepare(host);
    } catch (const Error& e) {
        ADD_FAILURE() << "the second prepare() failed: " << e.what();
        return;
    }
    EXPECT_GE(attempts->load(), 2) << "engine b was never loaded again";
    ASSERT_TRUE(handler.set_engine("b"));
    const std::size_t latency = handler.latency();
    const Signal input = padded(make_signal(1, 3000, 8), 3000 + latency + hop);
    Signal output(1, std::vector<float>(input[0].size(), 0.0f));
    for (std::size_t position = 0; position < input[0].size(); position += hop)
        process_at(handler, input, output, position, std::min(hop, input[0].size() - position));
    const std::vector<int> kinds =
        classify_engine_hops(output, window_model_reference(input, hop, past), latency, hop);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), -1), static_cast<std::ptrdiff_t>(kinds.size()))
        << "selected engine b, but hops were computed by another engine";
}

// LIBRARY BUG (fails at the time of writing): prepare() installs the new session (and its
// latency) before pool.add() throws "Context is full"; process() then feeds that orphan session.
// prepare() that throws because the context is full must not leave a session that no worker
// serves: such a handler would substitute every hop (real time) or wait 10 s per hop (offline).
TEST(RePrepare, AFailedPrepareOnAFullContextLeavesNoOrphanSession) {
    constexpr std::size_t hop = 64;
    const InferenceConfig config =
        make_config(make_custom_backend("window", window_model), hop, 0, 1, half_hop_ms(hop));
    ContextConfig context_config;
    context_config.worker_threads = 1;
    context_config.max_handlers = 1;
    auto context = Context::create(context_config);
    HostConfig host;
    host.max_block_size = hop;
    auto first = std::make_unique<InferenceHandler>(config, context);
    first->prepare(host);
    InferenceHandler second(config, context);
    EXPECT_THROW(second.prepare(host), Error);
    // Real time, so that a session nobody serves shows up as late hops instead of waits.
    const Signal input = make_signal(1, 40 * hop, 12);
    Signal output(1, std::vector<float>(input[0].size(), 0.0f));
    for (std::size_t position = 0; position < input[0].size(); position += hop)
        process_at(second, input, output, position, hop);
    EXPECT_EQ(second.statistics().late_inferences, 0u)
        << "hops submitted to a session that is not registered with the pool";
    // Once there is room, prepare() succeeds and the handler streams exactly.
    first.reset();
    host.offline_rendering = true;
    second.prepare(host);
    EXPECT_EQ(stream_exact(second, hop, 0, {hop}, 2000, 13), 0u);
}

// ---------------------------------------------------------------------------------------------
// 6. Destruction while inferences run

struct RunTracker {
    std::atomic<int> started{0};
    std::atomic<int> finished{0};
};

void destroy_while_running(bool private_context) {
    constexpr std::size_t hop = 64;
    for (int iteration = 0; iteration < 5; ++iteration) {
        SCOPED_TRACE("iteration " + std::to_string(iteration));
        auto tracker = std::make_shared<RunTracker>();
        std::atomic<bool> streaming{false};
        auto sleepy = [tracker, &streaming](std::span<const TensorView> in,
                                            std::span<const TensorView> out) {
            const bool counted = streaming.load();
            if (counted)
                tracker->started.fetch_add(1);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            window_model(in, out);  // writes the handler's tensors after the sleep
            if (counted)
                tracker->finished.fetch_add(1);
        };
        InferenceConfig config =
            make_config(make_custom_backend("sleepy", sleepy), hop, 0, 1, half_hop_ms(hop));
        config.parallel_instances = 2;
        std::weak_ptr<Context> context_alive;
        auto handler = [&] {
            if (!private_context)
                return std::make_unique<InferenceHandler>(config);
            ContextConfig context_config;
            context_config.worker_threads = 2;
            auto context = Context::create(context_config);
            context_alive = context;
            return std::make_unique<InferenceHandler>(config, std::move(context));
        }();
        HostConfig host;
        host.max_block_size = hop;
        handler->prepare(host);  // real time: process() does not wait
        streaming = true;
        const Signal input = make_signal(1, 6 * hop, 3);
        Signal output(1, std::vector<float>(input[0].size(), 0.0f));
        for (std::size_t position = 0; position < input[0].size(); position += hop)
            process_at(*handler, input, output, position, hop);
        const auto wait_until = Clock::now() + std::chrono::seconds(2);
        while (tracker->started.load() == 0 && Clock::now() < wait_until)
            std::this_thread::yield();
        ASSERT_GT(tracker->started.load(), 0);
        handler.reset();  // the destructor waits for running inferences
        // Proof that it waited: no inference that had started is still running now (each
        // sleeps 20 ms). A wall-clock bound on the destructor would race with preemption.
        const int started = tracker->started.load();
        EXPECT_EQ(started, tracker->finished.load()) << "an inference outlived its handler";
        if (private_context) {
            EXPECT_TRUE(context_alive.expired()) << "the handler was the context's last owner";
        }
        // Pending requests of the destroyed handler never start.
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        EXPECT_EQ(tracker->started.load(), started);
    }
}

TEST(DestroyWhileRunning, SharedContextWaitsForRunningInferences) {
    destroy_while_running(false);
}

TEST(DestroyWhileRunning, PrivateContextWaitsAndThenStopsItsWorkers) {
    destroy_while_running(true);
}

}  // namespace
}  // namespace legato::test
