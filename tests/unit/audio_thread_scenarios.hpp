#pragma once
// The scenarios that drive every audio-thread path, shared by the two checks of real-time
// safety: rt_purity_test (an allocation/lock guard around each process() call) and
// tests/realtime/rtsan_test (a [[clang::nonblocking]] host callback under RealtimeSanitizer).
// They differ only in how a host call is wrapped, which the caller supplies as a HostFactory;
// each test keeps its own assertions on what the scenarios return.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <thread>
#include <vector>

#include "legato/dry_wet_mixer.hpp"
#include "stream_support.hpp"

namespace legato::test::scenarios {

/// What a host does on its audio thread after process() in call `call` (any-thread API calls).
using AfterProcess = std::function<void(std::size_t call)>;
/// Makes the simulation whose around_process wraps each process() call (and `after`).
using HostFactory = std::function<HostSimulation(std::vector<std::size_t> blocks, AfterProcess after)>;

inline HostConfig realtime_host(std::size_t max_block, bool variable = false) {
    HostConfig host;
    host.max_block_size = max_block;
    host.variable_block_size = variable;
    return host;
}

/// Bypass, varying blocks, in place or with separate buffers.
inline Statistics bypass_varying_blocks(const HostFactory& make_host, bool in_place) {
    InferenceHandler handler(make_config(make_bypass_backend(), 128, 149, 2, 1.0));
    handler.prepare(realtime_host(512, true));
    HostSimulation simulation = make_host({1, 7, 512, 300, 64, 100, 511}, {});
    simulation.in_place = in_place;
    stream(handler, make_signal(2, 20000), 2000, simulation);
    return handler.statistics();
}

/// A custom engine with parallel instances, paced in real time.
inline Statistics custom_parallel_instances_paced(const HostFactory& make_host) {
    ContextConfig pool;
    pool.worker_threads = 4;
    InferenceConfig config = make_config(make_custom_backend("window", window_model), 64, 149, 2,
                                         paced_max_inference_time_ms);
    config.parallel_instances = paced_instances(64);
    InferenceHandler handler(config, Context::create(pool));
    handler.prepare(realtime_host(512));
    HostSimulation simulation = make_host({512}, {});
    simulation.paced = true;
    stream(handler, make_signal(2, 24000), 1024, simulation);
    return handler.statistics();
}

/// Slow inferences, unpaced: nearly every hop is late and substituted under `policy`, which is
/// also set again from the audio thread halfway.
inline Statistics late_inferences(const HostFactory& make_host, LatePolicy policy) {
    auto slow = make_custom_backend(
        "slow", [](std::span<const TensorView> in, std::span<const TensorView> out) {
            window_model(in, out);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        });
    InferenceConfig config = make_config(slow, 64, 0, 2, 1.0);
    config.late_policy = policy;
    InferenceHandler handler(config);
    handler.prepare(realtime_host(64));
    stream(handler, make_signal(2, 64 * 400), 0, make_host({64}, [&](std::size_t call) {
               if (call == 200)
                   handler.set_late_policy(policy);
           }));
    return handler.statistics();
}

struct AnyThreadResult {
    Statistics stats;
    float peak = 0.0f;  ///< the largest non-streamed output value read on the audio thread
};

/// A stateful handler with explicit state feedback, two engines, a parameter and a
/// non-streamed output; from the audio thread: parameters set, outputs read, engines switched,
/// resets requested, statistics and latency read. Paced, so that results arrive.
inline AnyThreadResult any_thread_calls_from_the_audio_thread(const HostFactory& make_host) {
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
    AnyThreadResult result;
    HostSimulation simulation = make_host({256}, [&](std::size_t call) {
        handler.set_parameter("gain", 0.001f * static_cast<float>(call));
        float now = 0.0f;
        handler.output_value("peak", std::span<float>(&now, 1));
        result.peak = std::max(result.peak, now);
        if (call % 10 == 0)
            handler.set_engine(call / 10 % 2 == 0 ? "a" : "b");
        if (call % 25 == 12)
            handler.reset();
        const Statistics stats = handler.statistics();
        (void)stats;
        (void)handler.latency();
    });
    simulation.paced = true;
    stream(handler, make_signal(1, 256 * 100), 1024, simulation);
    result.stats = handler.statistics();
    return result;
}

/// Resets, engine switches and parameter changes requested from other threads while the audio
/// thread streams varying blocks, paced.
inline Statistics resets_switches_and_parameters_from_other_threads(const HostFactory& make_host) {
    InferenceConfig config = make_config(make_custom_backend("a", window_model), 64, 149, 1, 1.0);
    config.engines.push_back({make_custom_backend("b", window_model), {}, {}, {}, {}});
    TensorSpec gain;
    gain.name = "gain";
    gain.role = TensorRole::parameter;
    gain.shape = {1};
    config.inputs.push_back(gain);
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
            handler.set_parameter("gain", static_cast<float>(i % 100));
            std::this_thread::yield();
        }
    });
    HostSimulation simulation = make_host({100, 37, 64, 1}, {});
    simulation.paced = true;
    stream(handler, make_signal(1, 9600), 0, simulation);
    done = true;
    resetter.join();
    switcher.join();
    return handler.statistics();
}

/// Four handlers (hops 32, 64, 128, 256) on four audio threads share the pool; handler h's
/// host comes from make_host(h). Returns each handler's statistics.
inline std::vector<Statistics> several_handlers_sharing_the_pool(
    const std::function<HostSimulation(std::size_t handler)>& make_host) {
    constexpr std::size_t count = 4;
    std::vector<Statistics> stats(count);
    std::vector<std::thread> threads;
    for (std::size_t h = 0; h < count; ++h) {
        threads.emplace_back([&, h] {
            InferenceConfig config = make_config(make_custom_backend("window", window_model),
                                                 std::size_t{32} << h, 149, 1, 0.3);
            InferenceHandler handler(config);
            handler.prepare(realtime_host(256));
            stream(handler, make_signal(1, 48000, static_cast<std::uint32_t>(h)), 0,
                   make_host(h));
            stats[h] = handler.statistics();
        });
    }
    for (auto& thread : threads)
        thread.join();
    return stats;
}

/// An unprepared handler (outputs silence), then oversized blocks after prepare(64).
inline Statistics oversized_blocks_and_unprepared_handler(const HostFactory& make_unprepared,
                                                          const HostFactory& make_prepared) {
    InferenceHandler handler(
        make_config(make_custom_backend("window", window_model), 64, 0, 1, 1.0));
    stream(handler, make_signal(1, 1000), 0, make_unprepared({100}, {}));
    handler.prepare(realtime_host(64));
    stream(handler, make_signal(1, 20000), 0, make_prepared({1000, 4096, 64}, {}));
    return handler.statistics();
}

/// A plugin's audio callback: the dry signal pushed, process(), then the latency-aligned
/// dry/wet mix with the mix moving every block. Returns the mixer's delay (the latency).
inline std::size_t dry_wet_mix_around_process(const HostFactory& make_host) {
    InferenceHandler handler(
        make_config(make_custom_backend("window", window_model), 128, 16, 2, 1.0));
    handler.prepare(realtime_host(256, true));
    DryWetMixer mixer;
    mixer.prepare(2, 256, handler.latency());
    std::vector<float> left(256, 0.25F), right(256, -0.5F);
    const float* dry[] = {left.data(), right.data()};
    float* wet[] = {left.data(), right.data()};
    stream(handler, make_signal(2, 20000), 0,
           make_host({256, 100, 7}, [&](std::size_t call) {
               mixer.push_dry(dry, 2, 100);
               mixer.mix(wet, 2, 100, static_cast<float>(call % 5) * 0.25F);
               if (call % 50 == 49) mixer.reset();
           }));
    return mixer.latency();
}

}  // namespace legato::test::scenarios
