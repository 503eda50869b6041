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

#include "audio_thread_scenarios.hpp"
#include "legato/build_config.hpp"
#include "legato/engines.hpp"
#include "runner_support.hpp"
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

[[maybe_unused]] std::filesystem::path model(const std::string& file) {
    return std::filesystem::path(LEGATO_TEST_MODELS_DIR) / file;
}

// The scenarios shared with rt_purity_test (audio_thread_scenarios.hpp), with every host call
// made from the nonblocking callback.
const scenarios::HostFactory nonblocking_host = [](std::vector<std::size_t> blocks,
                                                   scenarios::AfterProcess after) {
    return realtime(std::move(blocks), std::move(after));
};

TEST(Rtsan, BypassVaryingBlocksInPlaceAndSeparate) {
    for (const bool in_place : {false, true})
        EXPECT_GT(scenarios::bypass_varying_blocks(nonblocking_host, in_place).inferences_submitted,
                  150u);
}

TEST(Rtsan, CustomStatelessParallelInstancesPaced) {
    const Statistics stats = scenarios::custom_parallel_instances_paced(nonblocking_host);
    // How many finish in time depends on the machine; that they run at all is what matters here.
    EXPECT_EQ(stats.inferences_submitted, stats.frames / 64);
    EXPECT_GT(stats.inferences_completed, 0u);
}

TEST(Rtsan, LateInferencesUnderEveryPolicy) {
    for (const LatePolicy policy :
         {LatePolicy::silence, LatePolicy::dry, LatePolicy::repeat_last}) {
        const Statistics stats = scenarios::late_inferences(nonblocking_host, policy);
        EXPECT_GT(stats.late_inferences, 100u);
        EXPECT_EQ(stats.substituted_frames, stats.late_inferences * 64);
    }
}

TEST(Rtsan, AnyThreadCallsFromTheAudioThread) {
    const scenarios::AnyThreadResult result =
        scenarios::any_thread_calls_from_the_audio_thread(nonblocking_host);
    EXPECT_GE(result.stats.resets, 4u);
    EXPECT_GT(result.peak, 0.0f);
}

TEST(Rtsan, ResetsSwitchesAndParametersFromOtherThreads) {
    EXPECT_GT(scenarios::resets_switches_and_parameters_from_other_threads(nonblocking_host).resets,
              10u);
}

TEST(Rtsan, SeveralHandlersSharingThePool) {
    const std::vector<Statistics> stats =
        scenarios::several_handlers_sharing_the_pool([](std::size_t) { return realtime({256}); });
    for (std::size_t h = 0; h < stats.size(); ++h) {
        // Every hop of the stream submitted.
        EXPECT_GE(stats[h].frames, 48000u) << "handler " << h;
        EXPECT_EQ(stats[h].inferences_submitted, stats[h].frames / (32u << h)) << "handler " << h;
    }
}

// A handler served by an external runner (legato/external_runner.hpp): the audio thread wakes
// the runner through the application's wake function (here a semaphore post) instead of the
// pool; a runner thread claims, runs and completes every hop.
TEST(Rtsan, HandlerServedByAnExternalRunner) {
    runner_support::Runner runner(5);
    InferenceHandler handler(make_config(std::make_shared<runner_support::BoundBackend>(5), 256, 64,
                                         1, paced_max_inference_time_ms));
    HostConfig host;
    host.max_block_size = 256;
    handler.prepare(host);
    HostSimulation simulation = realtime({256});
    simulation.paced = true;
    stream(handler, make_signal(1, 48000), handler.latency(), simulation);
    EXPECT_GE(handler.statistics().inferences_completed, 150u);
    EXPECT_GE(runner.claims(), 150);
}

TEST(Rtsan, OversizedBlocksAndUnpreparedHandler) {
    EXPECT_GT(scenarios::oversized_blocks_and_unprepared_handler(nonblocking_host, nonblocking_host)
                  .oversized_blocks,
              0u);
}

// ---------------------------------------------------------------------------------------------
// Real engines on the project's models (models/README.md), paced so that inferences run while
// the audio thread is inside process().

#if LEGATO_HAS_ONNXRUNTIME && LEGATO_HAS_LIBTORCH && LEGATO_HAS_TFLITE

TensorSpec audio_tensor(const std::string& name, std::vector<std::int64_t> shape, std::size_t hop,
                        std::size_t past, AudioLayout layout = AudioLayout::channels_first) {
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
TEST(Rtsan, DryWetMixAroundProcess) {
    EXPECT_GT(scenarios::dry_wet_mix_around_process(nonblocking_host), 0u);
}

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
    handler.prepare(scenarios::realtime_host(128));
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
        config.inputs = {audio_tensor("audio_in", {1, -1, 1}, 128, 0, AudioLayout::channels_last)};
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
        config.engines.push_back(
            {make_backend(c.engine), ModelSource::file(model(c.file)), {}, c.tflite_layout, {}});
        config.max_inference_time_ms = 2.0;
        InferenceHandler handler(config);
        handler.prepare(scenarios::realtime_host(128));
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

// The native engine inline (the model runs inside process()) and on the pool, for RTNeural and
// NAM files, mono and stereo, with resets from another thread: the inline model's arithmetic
// (stereo RTNeural: the channels as one batch; NAM: a copy per channel), its reset (NAM: the
// pre-warm) and the statistics it records are all on the audio thread.
TEST(Rtsan, NativeEngineInlineAndOnThePool) {
    for (const char* file :
         {"native/lstm.json", "native/conv.json", "native/wavenet.nam", "native/lstm.nam"})
        for (const std::int64_t channels : {1, 2}) {
            for (const InlineMode mode : {InlineMode::always, InlineMode::never}) {
                InferenceConfig config;
                config.inputs = {
                    audio_tensor("in", {1, channels, -1}, 128, 0, AudioLayout::channels_first)};
                config.outputs = {
                    audio_tensor("out", {1, channels, -1}, 128, 0, AudioLayout::channels_first)};
                config.inputs[0].channels = config.outputs[0].channels =
                    static_cast<std::size_t>(channels);
                config.stateful = true;
                config.inline_mode = mode;
                config.engines.push_back(
                    {make_backend("native"), ModelSource::file(model(file)), {}, {}, {}});
                config.max_inference_time_ms = 2.0;
                InferenceHandler handler(config);
                handler.prepare(scenarios::realtime_host(128));
                ASSERT_EQ(handler.runs_inline(), mode == InlineMode::always) << file;
                std::atomic<bool> done{false};
                std::thread resetter([&] {
                    while (!done) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(50));
                        handler.reset();
                    }
                });
                HostSimulation simulation = realtime({128, 37, 128, 91});
                simulation.paced = true;
                stream(handler, make_signal(static_cast<std::size_t>(channels), 12000), 0,
                       simulation);
                done = true;
                resetter.join();
                const Statistics stats = handler.statistics();
                EXPECT_GT(stats.inferences_completed, 0u) << file;
                EXPECT_EQ(stats.failed_inferences, 0u) << file;
                EXPECT_GT(stats.resets, 0u) << file;
            }
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
        config.engines.push_back(
            {make_backend(engine),
             ModelSource::file(model(engine == "libtorch" ? "gain.pt" : "gain.onnx")),
             {},
             {},
             {}});
        config.max_inference_time_ms = 2.0;
        InferenceHandler handler(config);
        handler.prepare(scenarios::realtime_host(128));
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
    handler.prepare(scenarios::realtime_host(64));
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
