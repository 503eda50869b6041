// Audio-thread purity: process() and the any-thread calls a host may make from its audio thread
// never allocate, lock, wait or sleep, across every feature. Counted by hooking the allocator
// and the blocking pthread/semaphore/sleep functions (tests/support/audio_thread_guard.hpp).
// Offline rendering is excluded: it waits for results by design.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "audio_thread_guard.hpp"
#include "stream_support.hpp"

namespace legato::test {
namespace {

// Adds up the violations of every guarded call.
struct Tally {
    AudioThreadViolations total;
    std::size_t calls = 0;
    void add(const AudioThreadViolations& v) {
        total.allocations += v.allocations;
        total.deallocations += v.deallocations;
        total.locks += v.locks;
        total.waits += v.waits;
        total.sleeps += v.sleeps;
        if (total.first == nullptr)
            total.first = v.first;
        ++calls;
    }
};

// Wraps every process() call of a simulation in a guard; `extra` runs inside the same guard
// after process() (any-thread calls a host might make from its audio thread).
HostSimulation guarded(Tally& tally, std::vector<std::size_t> blocks,
                       std::function<void(std::size_t call)> extra = {}) {
    HostSimulation simulation;
    simulation.block_sizes = std::move(blocks);
    auto call_index = std::make_shared<std::size_t>(0);
    simulation.around_process = [&tally, extra, call_index](const std::function<void()>& process) {
        AudioThreadViolations v;
        {
            AudioThreadGuard guard;
            process();
            if (extra)
                extra(*call_index);
            v = guard.violations();
        }
        ++*call_index;
        tally.add(v);
    };
    return simulation;
}

HostConfig realtime_host(std::size_t max_block, bool variable = false) {
    HostConfig host;
    host.max_block_size = max_block;
    host.variable_block_size = variable;
    return host;
}

class RealtimePurity : public ::testing::Test {
protected:
    void SetUp() override { LEGATO_REQUIRE_AUDIO_THREAD_GUARD(); }
};

TEST_F(RealtimePurity, BypassVaryingBlocksInPlaceAndSeparate) {
    for (const bool in_place : {false, true}) {
        InferenceHandler handler(make_config(make_bypass_backend(), 128, 149, 2, 1.0));
        handler.prepare(realtime_host(512, true));
        Tally tally;
        HostSimulation simulation = guarded(tally, {1, 7, 512, 300, 64, 100, 511});
        simulation.in_place = in_place;
        stream(handler, make_signal(2, 20000), 2000, simulation);
        EXPECT_TRUE(NoViolations(tally.total)) << (in_place ? "in place" : "separate buffers");
        EXPECT_GT(tally.calls, 50u);
    }
}

TEST_F(RealtimePurity, CustomStatelessParallelInstancesPaced) {
    ContextConfig pool;
    pool.worker_threads = 4;
    InferenceConfig config = make_config(make_custom_backend("window", window_model), 64, 149, 2,
                                         paced_max_inference_time_ms);
    config.parallel_instances = paced_instances(64);
    InferenceHandler handler(config, Context::create(pool));
    handler.prepare(realtime_host(512));
    Tally tally;
    HostSimulation simulation = guarded(tally, {512});
    simulation.paced = true;
    stream(handler, make_signal(2, 24000), 1024, simulation);
    EXPECT_TRUE(NoViolations(tally.total));
    EXPECT_GT(handler.statistics().inferences_completed, 300u);
}

// Slow inferences in real-time mode, unpaced: nearly every hop is late and substituted.
TEST_F(RealtimePurity, LateInferencesUnderEveryPolicy) {
    auto slow = make_custom_backend(
        "slow", [](std::span<const TensorView> in, std::span<const TensorView> out) {
            window_model(in, out);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        });
    for (const LatePolicy policy :
         {LatePolicy::silence, LatePolicy::dry, LatePolicy::repeat_last}) {
        InferenceConfig config = make_config(slow, 64, 0, 2, 1.0);
        config.late_policy = policy;
        InferenceHandler handler(config);
        handler.prepare(realtime_host(64));
        Tally tally;
        // Also switch the policy from the audio thread.
        stream(handler, make_signal(2, 64 * 400), 0, guarded(tally, {64}, [&](std::size_t call) {
                   if (call == 200)
                       handler.set_late_policy(policy);
               }));
        EXPECT_TRUE(NoViolations(tally.total));
        EXPECT_GT(handler.statistics().late_inferences, 100u);
    }
}

// Parameters set and non-streamed outputs read from the audio thread, engines switched, the
// statistics read, resets requested: all from inside the guard, on a stateful handler with
// explicit state feedback.
TEST_F(RealtimePurity, AnyThreadCallsFromTheAudioThread) {
    InferenceConfig config;
    auto model = [](std::span<const TensorView> in, std::span<const TensorView> out) {
        const float gain = in[1].data[0];
        float peak = 0.0f;
        for (std::size_t t = 0; t < out[0].data.size(); ++t) {
            out[0].data[t] = gain * in[0].data[t] + in[2].data[0];
            peak = std::max(peak, std::abs(in[0].data[t]));
        }
        out[1].data[0] = peak;
        out[2].data[0] = 0.5f * in[2].data[0] + 0.01f;
    };
    config.engines.push_back({make_custom_backend("a", model), {}, {}, {}, {}});
    config.engines.push_back({make_custom_backend("b", model), {}, {}, {}, {}});
    TensorSpec audio;
    audio.name = "audio";
    audio.shape = {1, 1, -1};
    audio.hop = 128;
    TensorSpec gain;
    gain.name = "gain";
    gain.role = TensorRole::parameter;
    gain.shape = {1};
    gain.initial_value = {0.5f};
    TensorSpec audio_out = audio;
    audio_out.name = "audio_out";
    TensorSpec peak;
    peak.name = "peak";
    peak.role = TensorRole::parameter;
    peak.shape = {1};
    config.inputs = {audio, gain};
    config.outputs = {audio_out, peak};
    add_state_pair(config, "h", {1});  // inputs[2], outputs[2]
    config.max_inference_time_ms = 1.0;
    InferenceHandler handler(config);
    handler.prepare(realtime_host(256));
    Tally tally;
    float value = 0.0f;
    HostSimulation simulation = guarded(tally, {256}, [&](std::size_t call) {
        handler.set_parameter("gain", 0.001f * static_cast<float>(call));
        float peak_now = 0.0f;
        handler.output_value("peak", std::span<float>(&peak_now, 1));
        value = std::max(value, peak_now);
        if (call % 10 == 0)
            handler.set_engine(call / 10 % 2 == 0 ? "a" : "b");
        if (call % 25 == 12)
            handler.reset();
        const Statistics stats = handler.statistics();
        (void)stats;
    });
    simulation.paced = true;  // so that results arrive and the peak output is published
    stream(handler, make_signal(1, 256 * 100), 1024, simulation);
    EXPECT_TRUE(NoViolations(tally.total));
    const Statistics stats = handler.statistics();
    EXPECT_GE(stats.resets, 4u);
    EXPECT_GT(value, 0.0f);  // the peak output came through
}

// Resets and engine switches requested from other threads while the audio thread streams.
TEST_F(RealtimePurity, ResetAndEngineSwitchFromOtherThreads) {
    InferenceConfig config = make_config(make_custom_backend("a", window_model), 64, 149, 1, 1.0);
    config.engines.push_back({make_custom_backend("b", window_model), {}, {}, {}, {}});
    InferenceHandler handler(config);
    handler.prepare(realtime_host(100, true));
    std::atomic<bool> done{false};
    std::thread resetter([&] {
        while (!done) {
            handler.reset();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });
    std::thread switcher([&] {
        for (std::size_t i = 0; !done; ++i) {
            handler.set_engine(i % 2);
            std::this_thread::yield();
        }
    });
    Tally tally;
    HostSimulation simulation = guarded(tally, {100, 37, 64, 1});
    simulation.paced = true;
    stream(handler, make_signal(1, 9600), 0, simulation);
    done = true;
    resetter.join();
    switcher.join();
    EXPECT_TRUE(NoViolations(tally.total));
    EXPECT_GT(handler.statistics().resets, 10u);
}

// Several handlers on several audio threads share the pool.
TEST_F(RealtimePurity, SeveralHandlersSharingThePool) {
    constexpr int count = 4;
    std::vector<Tally> tallies(count);
    std::vector<std::thread> threads;
    for (int h = 0; h < count; ++h) {
        threads.emplace_back([&, h] {
            InferenceConfig config = make_config(make_custom_backend("window", window_model),
                                                 static_cast<std::size_t>(32 << h), 149, 1, 0.3);
            InferenceHandler handler(config);
            handler.prepare(realtime_host(256));
            stream(handler, make_signal(1, 48000, static_cast<std::uint32_t>(h)), 0,
                   guarded(tallies[static_cast<std::size_t>(h)], {256}));
        });
    }
    for (auto& thread : threads)
        thread.join();
    for (int h = 0; h < count; ++h)
        EXPECT_TRUE(NoViolations(tallies[static_cast<std::size_t>(h)].total)) << "handler " << h;
}

TEST_F(RealtimePurity, OversizedBlocksAndUnpreparedHandler) {
    InferenceHandler handler(
        make_config(make_custom_backend("window", window_model), 64, 0, 1, 1.0));
    Tally before;
    stream(handler, make_signal(1, 1000), 0, guarded(before, {100}));  // not prepared: silence
    EXPECT_TRUE(NoViolations(before.total));
    handler.prepare(realtime_host(64));
    Tally tally;
    stream(handler, make_signal(1, 20000), 0, guarded(tally, {1000, 4096, 64}));
    EXPECT_TRUE(NoViolations(tally.total));
    EXPECT_GT(handler.statistics().oversized_blocks, 0u);
}

// The guard itself can fail: a deliberate allocation inside the guarded region is counted.
TEST_F(RealtimePurity, TheGuardCatchesAnAllocation) {
    InferenceHandler handler(make_config(make_bypass_backend(), 64, 0, 1, 1.0));
    handler.prepare(realtime_host(64));
    Tally tally;
    // Through a volatile function pointer, so that the optimiser cannot elide the allocation.
    void* (*volatile allocate)(std::size_t) = &::operator new;
    stream(handler, make_signal(1, 640), 0,
           guarded(tally, {64}, [allocate](std::size_t) { ::operator delete(allocate(64)); }));
    EXPECT_EQ(tally.total.allocations, 10u);  // one per call, ten calls
    EXPECT_EQ(tally.total.deallocations, 10u);
}

}  // namespace
}  // namespace legato::test
