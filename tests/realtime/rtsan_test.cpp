// Every audio-thread path under clang's RealtimeSanitizer (the rtsan preset).
//
// The simulated host callback, audio_callback(), is [[clang::nonblocking]]: built with
// -fsanitize=realtime, every allocation, lock, sleep or blocking system call reached from it,
// in process() or in the any-thread calls a host may make from its audio thread, aborts the
// program with a report (exit code 43), which fails the test. Each scenario drives one group of
// features: every engine, in-place and separate buffers, varying blocks, parameters, engine
// switches and resets from the audio thread and from other threads, late inferences under each
// policy, stateful and stateless handlers, several handlers sharing the pool.
//
// Built without RTSan (the normal presets), the same program still checks the scenarios'
// results; the allocation/lock guard of rt_purity_test covers the purity side there.
//
// RtsanCanary proves the check can fail: with LEGATO_TEST_HOOKS, process() calls a test hook,
// and the canary installs one that allocates. ctest runs it separately and expects the report.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "legato/build_config.hpp"
#include "legato/engines.hpp"
#include "stream_support.hpp"
#include "testing/test_hooks.hpp"

namespace legato::test {
namespace {

// The host's audio callback: the real-time region. `extra` holds what a host does on its audio
// thread around process() (reading statistics, setting parameters, switching engines).
void audio_callback(const std::function<void()>& process,
                    const std::function<void(std::size_t)>& extra,
                    std::size_t call) LEGATO_NONBLOCKING {
    // The compile-time check cannot see through std::function; RTSan checks what runs.
    LEGATO_UNVERIFIED_EFFECTS_BEGIN
    process();
    if (extra)
        extra(call);
    LEGATO_UNVERIFIED_EFFECTS_END
}

HostSimulation realtime(std::vector<std::size_t> blocks,
                        std::function<void(std::size_t call)> extra = {}) {
    HostSimulation simulation;
    simulation.block_sizes = std::move(blocks);
    auto call = std::make_shared<std::size_t>(0);
    simulation.around_process = [extra = std::move(extra),
                                 call](const std::function<void()>& process) {
        audio_callback(process, extra, (*call)++);
    };
    return simulation;
}

HostConfig host(std::size_t max_block, bool variable = false) {
    HostConfig config;
    config.max_block_size = max_block;
    config.variable_block_size = variable;
    return config;
}

std::filesystem::path model(const std::string& file) {
    return std::filesystem::path(LEGATO_TEST_MODELS_DIR) / file;
}

TEST(Rtsan, BypassVaryingBlocksInPlaceAndSeparate) {
    for (const bool in_place : {false, true}) {
        InferenceHandler handler(make_config(make_bypass_backend(), 128, 149, 2, 1.0));
        handler.prepare(host(512, true));
        HostSimulation simulation = realtime({1, 7, 512, 300, 64, 100, 511});
        simulation.in_place = in_place;
        stream(handler, make_signal(2, 20000), 2000, simulation);
        EXPECT_GT(handler.statistics().inferences_submitted, 150u);
    }
}

TEST(Rtsan, CustomStatelessParallelInstancesPaced) {
    ContextConfig pool;
    pool.worker_threads = 4;
    InferenceConfig config = make_config(make_custom_backend("window", window_model), 64, 149, 2,
                                         paced_max_inference_time_ms);
    config.parallel_instances = paced_instances(64);
    InferenceHandler handler(config, Context::create(pool));
    handler.prepare(host(512));
    HostSimulation simulation = realtime({512});
    simulation.paced = true;
    stream(handler, make_signal(2, 24000), 1024, simulation);
    // How many finish in time depends on the machine; that they run at all is what matters here.
    EXPECT_EQ(handler.statistics().inferences_submitted, handler.statistics().frames / 64);
    EXPECT_GT(handler.statistics().inferences_completed, 0u);
}

// Slow inferences, unpaced: nearly every hop is late and substituted, under each policy, and
// the policy is switched from the audio thread.
TEST(Rtsan, LateInferencesUnderEveryPolicy) {
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
        handler.prepare(host(64));
        stream(handler, make_signal(2, 64 * 400), 0, realtime({64}, [&](std::size_t call) {
                   if (call == 200)
                       handler.set_late_policy(policy);
               }));
        const Statistics stats = handler.statistics();
        EXPECT_GT(stats.late_inferences, 100u);
        EXPECT_EQ(stats.substituted_frames, stats.late_inferences * 64);
    }
}

// A stateful handler with explicit state feedback, two engines, a parameter and a non-streamed
// output; from the audio thread: parameters set, outputs read, engines switched, resets
// requested, statistics read.
TEST(Rtsan, AnyThreadCallsFromTheAudioThread) {
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
    add_state_pair(config, "h", {1});
    config.max_inference_time_ms = 1.0;
    InferenceHandler handler(config);
    handler.prepare(host(256));
    float seen_peak = 0.0f;
    HostSimulation simulation = realtime({256}, [&](std::size_t call) {
        handler.set_parameter("gain", 0.001f * static_cast<float>(call));
        float now = 0.0f;
        handler.output_value("peak", std::span<float>(&now, 1));
        seen_peak = std::max(seen_peak, now);
        if (call % 10 == 0)
            handler.set_engine(call / 10 % 2 == 0 ? "a" : "b");
        if (call % 25 == 12)
            handler.reset();
        const Statistics stats = handler.statistics();
        (void)stats;
        (void)handler.latency();
    });
    simulation.paced = true;  // so that results arrive and the peak output is published
    stream(handler, make_signal(1, 256 * 100), 1024, simulation);
    EXPECT_GE(handler.statistics().resets, 4u);
    EXPECT_GT(seen_peak, 0.0f);
}

// Resets, engine switches and parameter changes requested from other threads while the audio
// thread streams with varying blocks.
TEST(Rtsan, ResetsSwitchesAndParametersFromOtherThreads) {
    InferenceConfig config = make_config(make_custom_backend("a", window_model), 64, 149, 1, 1.0);
    config.engines.push_back({make_custom_backend("b", window_model), {}, {}, {}, {}});
    TensorSpec gain;
    gain.name = "gain";
    gain.role = TensorRole::parameter;
    gain.shape = {1};
    config.inputs.push_back(gain);
    InferenceHandler handler(config);
    handler.prepare(host(100, true));
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
    HostSimulation simulation = realtime({100, 37, 64, 1});
    simulation.paced = true;
    stream(handler, make_signal(1, 9600), 0, simulation);
    done = true;
    resetter.join();
    switcher.join();
    EXPECT_GT(handler.statistics().resets, 10u);
}

// Four handlers on four audio threads share the pool.
TEST(Rtsan, SeveralHandlersSharingThePool) {
    std::vector<std::thread> threads;
    std::atomic<int> exact_counts{0};  // every hop of the stream submitted
    for (int h = 0; h < 4; ++h) {
        threads.emplace_back([&, h] {
            InferenceConfig config = make_config(make_custom_backend("window", window_model),
                                                 static_cast<std::size_t>(32 << h), 149, 1, 0.3);
            InferenceHandler handler(config);
            handler.prepare(host(256));
            stream(handler, make_signal(1, 48000, static_cast<std::uint32_t>(h)), 0,
                   realtime({256}));
            const Statistics stats = handler.statistics();
            if (stats.frames >= 48000 && stats.inferences_submitted == stats.frames / (32u << h))
                ++exact_counts;
        });
    }
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(exact_counts.load(), 4);
}

TEST(Rtsan, OversizedBlocksAndUnpreparedHandler) {
    InferenceHandler handler(
        make_config(make_custom_backend("window", window_model), 64, 0, 1, 1.0));
    stream(handler, make_signal(1, 1000), 0, realtime({100}));  // not prepared: silence
    handler.prepare(host(64));
    stream(handler, make_signal(1, 20000), 0, realtime({1000, 4096, 64}));
    EXPECT_GT(handler.statistics().oversized_blocks, 0u);
}

// ---------------------------------------------------------------------------------------------
// Real engines on the project's models (models/README.md), paced so that inferences run while
// the audio thread is inside process().

#if LEGATO_HAS_ONNXRUNTIME && LEGATO_HAS_LIBTORCH && LEGATO_HAS_TFLITE

TensorSpec audio_tensor(const std::string& name, std::vector<std::int64_t> shape,
                        std::size_t hop, std::size_t past,
                        AudioLayout layout = AudioLayout::channels_first) {
    TensorSpec spec;
    spec.name = name;
    spec.shape = std::move(shape);
    spec.hop = hop;
    spec.past_context = past;
    spec.layout = layout;
    return spec;
}

// The stateless CNN on all three engines, switched from the audio thread every 8 calls and
// from another thread, in place, at block 128 with hop 256.
TEST(Rtsan, EveryEngineStatelessWithSwitching) {
    InferenceConfig config;
    config.inputs = {audio_tensor("audio_in", {1, 1, -1}, 256, 40)};
    config.outputs = {audio_tensor("audio_out", {1, 1, -1}, 256, 0)};
    config.engines.push_back(
        {make_backend("onnxruntime"), ModelSource::file(model("cnn_past.onnx")), {}, {}, {}});
    config.engines.push_back(
        {make_backend("libtorch"), ModelSource::file(model("cnn_past.pt")), {}, {}, {}});
    config.engines.push_back({make_backend("tflite"),
                              ModelSource::file(model("cnn_past.tflite")),
                              {},
                              {{"", {1, 1, -1, 1}, AudioLayout::channels_last}},
                              {{"", {1, 1, -1, 1}, AudioLayout::channels_last}}});
    config.max_inference_time_ms = 2.0;
    InferenceHandler handler(config);
    handler.prepare(host(128));
    std::atomic<bool> done{false};
    std::thread switcher([&] {
        for (std::size_t i = 0; !done; ++i) {
            handler.set_engine(i % 3);
            std::this_thread::sleep_for(std::chrono::milliseconds(7));
        }
    });
    HostSimulation simulation = realtime({128}, [&](std::size_t call) {
        if (call % 8 == 0)
            handler.set_engine((call / 8) % 3);
    });
    simulation.paced = true;
    simulation.in_place = true;
    stream(handler, make_signal(1, 48000), 0, simulation);
    done = true;
    switcher.join();
    const Statistics stats = handler.statistics();
    EXPECT_EQ(stats.inferences_submitted, stats.frames / 256);
    EXPECT_GT(stats.inferences_completed, 0u);
    EXPECT_EQ(stats.failed_inferences, 0u);
}

// Stateful models: explicit state feedback on ONNX Runtime, state inside a TorchScript module,
// TFLite variable tensors; with resets from another thread and separate buffers.
TEST(Rtsan, EveryEngineStateful) {
    struct Case {
        std::string engine;
        std::string file;
        bool explicit_state;
        std::vector<TensorOverride> tflite_layout;
    };
    const std::vector<Case> cases = {
        {"onnxruntime", "lstm_state.onnx", true, {}},
        {"libtorch", "lstm_internal.pt", false, {}},
        {"tflite", "lstm_internal.tflite", false, {}},
    };
    for (const Case& c : cases) {
        InferenceConfig config;
        config.inputs = {
            audio_tensor("audio_in", {1, -1, 1}, 128, 0, AudioLayout::channels_last)};
        config.outputs = {
            audio_tensor("audio_out", {1, -1, 1}, 128, 0, AudioLayout::channels_last)};
        if (c.explicit_state) {
            for (const char* name : {"h", "c"}) {
                TensorSpec in;
                in.name = std::string(name) + "_in";
                in.role = TensorRole::state;
                in.shape = {1, 1, 16};
                TensorSpec out = in;
                out.name = std::string(name) + "_out";
                config.inputs.push_back(in);
                config.outputs.push_back(out);
                config.state_pairs.push_back({out.name, in.name});
            }
        }
        config.stateful = true;
        config.engines.push_back({make_backend(c.engine), ModelSource::file(model(c.file)), {},
                                  c.tflite_layout, {}});
        config.max_inference_time_ms = 2.0;
        InferenceHandler handler(config);
        handler.prepare(host(128));
        std::atomic<bool> done{false};
        std::thread resetter([&] {
            while (!done) {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                handler.reset();
            }
        });
        HostSimulation simulation = realtime({128});
        simulation.paced = true;
        stream(handler, make_signal(1, 24000), 0, simulation);
        done = true;
        resetter.join();
        const Statistics stats = handler.statistics();
        EXPECT_EQ(stats.inferences_submitted, stats.frames / 128) << c.engine;
        EXPECT_GT(stats.inferences_completed, 0u) << c.engine;
        EXPECT_EQ(stats.failed_inferences, 0u) << c.engine;
        EXPECT_GT(stats.resets, 0u) << c.engine;
    }
}

// The two-input model: a gain parameter set from another thread and a non-streamed output
// read on the audio thread, on ONNX Runtime and LibTorch.
TEST(Rtsan, ParametersAndNonStreamedOutputsOnEngines) {
    for (const std::string engine : {"onnxruntime", "libtorch"}) {
        InferenceConfig config;
        config.inputs = {audio_tensor("audio_in", {1, 1, -1}, 128, 0)};
        config.outputs = {audio_tensor("audio_out", {1, 1, -1}, 128, 0)};
        TensorSpec gain;
        gain.name = "gain";
        gain.role = TensorRole::parameter;
        gain.shape = {1};
        gain.initial_value = {0.5f};
        TensorSpec peak;
        peak.name = "peak";
        peak.role = TensorRole::parameter;
        peak.shape = {1};
        config.inputs.push_back(gain);
        config.outputs.push_back(peak);
        config.engines.push_back({make_backend(engine),
                                  ModelSource::file(model(engine == "libtorch" ? "gain.pt"
                                                                               : "gain.onnx")),
                                  {},
                                  {},
                                  {}});
        config.max_inference_time_ms = 2.0;
        InferenceHandler handler(config);
        handler.prepare(host(128));
        std::atomic<bool> done{false};
        std::thread knob([&] {
            for (int i = 0; !done; ++i) {
                handler.set_parameter("gain", 0.01f * static_cast<float>(i % 100));
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        });
        float seen = 0.0f;
        HostSimulation simulation = realtime({128}, [&](std::size_t) {
            float now = 0.0f;
            handler.output_value("peak", std::span<float>(&now, 1));
            seen = std::max(seen, now);
        });
        simulation.paced = true;
        stream(handler, make_signal(1, 24000), 0, simulation);
        done = true;
        knob.join();
        EXPECT_GT(seen, 0.0f) << engine;
        EXPECT_EQ(handler.statistics().failed_inferences, 0u) << engine;
    }
}

#endif

// ---------------------------------------------------------------------------------------------

[[maybe_unused]] void unsafe_allocation() {
    // Through a volatile pointer so that the optimiser keeps the allocation.
    void* (*volatile allocate)(std::size_t) = &std::malloc;
    std::free(allocate(64));
}

TEST(RtsanCanary, UnsafeCallInsideProcessIsReported) {
#if defined(LEGATO_TEST_HOOKS) && defined(LEGATO_RTSAN)
    InferenceHandler handler(make_config(make_bypass_backend(), 64, 0, 1, 1.0));
    handler.prepare(host(64));
    testing::process_hook.store(&unsafe_allocation);
    stream(handler, make_signal(1, 640), 0, realtime({64}));
    testing::process_hook.store(nullptr);
    ADD_FAILURE() << "RealtimeSanitizer did not stop the program at the allocation in process()";
#else
    GTEST_SKIP() << "needs the rtsan preset (RTSan and LEGATO_TEST_HOOKS)";
#endif
}

}  // namespace
}  // namespace legato::test
