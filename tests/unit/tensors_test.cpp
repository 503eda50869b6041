// Tensors: parameters applied at inference boundaries, non-streamed outputs, several audio
// tensors, every AudioLayout, and user-defined pre/post-processing on the worker threads.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "stream_support.hpp"

namespace legato::test {
namespace {

constexpr std::size_t hop = 128;

HostConfig offline_host(std::size_t block) {
    HostConfig host;
    host.max_block_size = block;
    host.offline_rendering = true;
    return host;
}

// audio [1,1,hop] + gain [1] -> audio * gain, peak = max |audio| of the hop.
InferenceConfig gain_config() {
    InferenceConfig config;
    config.engines.push_back(
        {make_custom_backend("gain",
                             [](std::span<const TensorView> in, std::span<const TensorView> out) {
                                 float peak = 0.0f;
                                 for (std::size_t t = 0; t < hop; ++t) {
                                     out[0].data[t] = in[0].data[t] * in[1].data[0];
                                     peak = std::max(peak, std::abs(in[0].data[t]));
                                 }
                                 out[1].data[0] = peak;
                             }),
         {},
         {},
         {},
         {}});
    TensorSpec audio;
    audio.name = "audio";
    audio.shape = {1, 1, -1};
    audio.hop = hop;
    TensorSpec gain;
    gain.name = "gain";
    gain.role = TensorRole::parameter;
    gain.shape = {1};
    gain.initial_value = {0.5f};
    TensorSpec processed = audio;
    processed.name = "processed";
    TensorSpec peak;
    peak.name = "peak";
    peak.role = TensorRole::parameter;
    peak.shape = {1};
    config.inputs = {audio, gain};
    config.outputs = {processed, peak};
    config.max_inference_time_ms = 1.0;
    return config;
}

TEST(Parameters, ApplyFromTheNextInferenceSubmitted) {
    InferenceHandler handler(gain_config());
    handler.prepare(offline_host(hop));  // one hop per call: hop k is submitted in call k
    const std::size_t latency = handler.latency();
    const Signal input = make_signal(1, hop * 40, 3);
    auto gain_for = [](std::size_t call) { return call < 10 ? 0.5f : call < 25 ? 2.0f : -1.0f; };
    HostSimulation simulation;
    simulation.block_sizes = {hop};
    std::vector<float> peaks;
    simulation.after_block = [&](std::size_t call, std::size_t) {
        handler.set_parameter("gain", gain_for(call + 1));  // for the next call's hop
        float peak = 0.0f;
        handler.output_value("peak", std::span<float>(&peak, 1));
        peaks.push_back(peak);
    };
    const Signal output = stream(handler, input, latency + hop, simulation);
    for (std::size_t j = 0; j < 40; ++j) {
        for (std::size_t t = 0; t < hop; ++t)
            ASSERT_EQ(output[0][j * hop + t + latency], input[0][j * hop + t] * gain_for(j))
                << "hop " << j;
    }
    // The peak visible after a call belongs to the hop that call output.
    for (std::size_t call = latency / hop; call < 40; ++call) {
        const std::size_t j = call - latency / hop;
        float expected = 0.0f;
        for (std::size_t t = 0; t < hop; ++t)
            expected = std::max(expected, std::abs(input[0][j * hop + t]));
        EXPECT_EQ(peaks[call], expected) << "call " << call;
    }
}

TEST(Parameters, ConcurrentWritersNeverTearAValue) {
    InferenceHandler handler(gain_config());
    handler.prepare(offline_host(256));
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int i = 0; !done; ++i)
            handler.set_parameter("gain", i % 2 == 0 ? 0.25f : 4.0f);
    });
    const Signal input = make_signal(1, hop * 200, 4);
    HostSimulation simulation;
    simulation.block_sizes = {256};
    const Signal output = stream(handler, input, handler.latency() + 256, simulation);
    done = true;
    writer.join();
    for (std::size_t j = 0; j < 200; ++j) {
        const float ratio = output[0][j * hop + handler.latency()] / input[0][j * hop];
        EXPECT_TRUE(std::abs(ratio - 0.25f) < 1e-6f || std::abs(ratio - 4.0f) < 1e-5f ||
                    std::abs(ratio - 0.5f) < 1e-6f)
            << "hop " << j << " used gain " << ratio;
    }
}

TEST(Parameters, VectorValuesAndTheirChecks) {
    InferenceConfig config = gain_config();
    config.inputs[1].shape = {3};
    config.inputs[1].initial_value = {1.0f, 0.0f, 0.0f};
    InferenceHandler handler(config);
    const float values[] = {0.1f, 0.2f, 0.3f};
    EXPECT_TRUE(handler.set_parameter("gain", values));
    EXPECT_FALSE(handler.set_parameter("gain", 1.0f));  // needs three values
}

// Two audio inputs (different channel counts and past contexts) and two audio outputs: host
// channels are the concatenation, in config order.
TEST(SeveralAudioTensors, ChannelsConcatenateInConfigOrder) {
    InferenceConfig config;
    config.engines.push_back({make_bypass_backend(), {}, {}, {}, {}});
    TensorSpec a;
    a.name = "a";
    a.channels = 2;
    a.shape = {1, 2, -1};
    a.hop = hop;
    a.past_context = 10;
    TensorSpec b;
    b.name = "b";
    b.shape = {-1};
    b.hop = hop;
    b.past_context = 149;
    TensorSpec out_a = a;
    out_a.name = "out_a";
    out_a.past_context = 0;
    TensorSpec out_b = b;
    out_b.name = "out_b";
    out_b.past_context = 0;
    config.inputs = {a, b};
    config.outputs = {out_a, out_b};
    config.max_inference_time_ms = 1.0;
    InferenceHandler handler(config);
    EXPECT_EQ(handler.input_channels(), 3u);
    EXPECT_EQ(handler.output_channels(), 3u);
    handler.prepare(offline_host(300));
    const Signal input = make_signal(3, 5000, 8);
    HostSimulation simulation;
    simulation.block_sizes = {300};
    const Signal output = stream(handler, input, handler.latency() + 300, simulation);
    EXPECT_EQ(count_mismatches(output, input, handler.latency(), 5000), 0u);
}

// Every layout: the bypass backend reads each tensor the way the layout says, so identity
// proves the default pre-processing wrote it that way.
class Layouts : public ::testing::TestWithParam<AudioLayout> {};

TEST_P(Layouts, IdentityThroughEveryLayout) {
    const AudioLayout layout = GetParam();
    InferenceConfig config = make_config(make_bypass_backend(), hop, 149, 2, 1.0);
    TensorSpec& in = config.inputs[0];
    in.layout = layout;
    if (layout == AudioLayout::sliding_windows_channels_last) {
        in.window_length = 150;
        in.window_hop = 1;
        in.shape = {static_cast<std::int64_t>(hop), 150, 2};
    } else if (layout == AudioLayout::sliding_windows_channels_first) {
        in.window_length = 32;  // windows of 32 every 4 samples: past_context >= 28
        in.window_hop = 4;
        in.shape = {static_cast<std::int64_t>(hop / 4), 2, 32};
    } else if (layout == AudioLayout::channels_last) {
        in.shape = {1, -1, 2};
        config.outputs[0].layout = AudioLayout::channels_last;
        config.outputs[0].shape = {1, -1, 2};
    }
    InferenceHandler handler(config);
    handler.prepare(offline_host(100));
    const Signal input = make_signal(2, 4000, 12);
    HostSimulation simulation;
    simulation.block_sizes = {100};
    const Signal output = stream(handler, input, handler.latency() + 100 + hop, simulation);
    EXPECT_EQ(count_mismatches(output, input, handler.latency(), 4000), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllLayouts, Layouts,
                         ::testing::Values(AudioLayout::channels_first, AudioLayout::channels_last,
                                           AudioLayout::sliding_windows_channels_last,
                                           AudioLayout::sliding_windows_channels_first));

// Sliding windows, element by element: window b of hop j holds x[jH + b*s + s - W ..] oldest first.
TEST(SlidingWindows, WindowContentsAreExact) {
    std::vector<std::vector<float>> seen;
    auto recorder = make_custom_backend(
        "record", [&seen](std::span<const TensorView> in, std::span<const TensorView> out) {
            seen.emplace_back(in[0].data.begin(), in[0].data.end());
            std::fill(out[0].data.begin(), out[0].data.end(), 0.0f);
        });
    InferenceConfig config = make_config(recorder, 8, 6, 1, 0.1);
    config.inputs[0].layout = AudioLayout::sliding_windows_channels_last;
    config.inputs[0].window_length = 8;
    config.inputs[0].window_hop = 2;
    config.inputs[0].shape = {4, 8, 1};  // 8 / 2 windows of 8 samples
    config.outputs[0].shape = {8, 1};
    config.outputs[0].layout = AudioLayout::channels_last;
    config.warm_up = 0;
    {
        InferenceHandler handler(config);
        handler.prepare(offline_host(8));
        Signal ramp(1, std::vector<float>(32));
        for (std::size_t n = 0; n < 32; ++n)
            ramp[0][n] = static_cast<float>(n + 1);
        HostSimulation simulation;
        simulation.block_sizes = {8};
        stream(handler, ramp, handler.latency() + 8, simulation);
    }  // the destructor waits for inferences still running (hops in the silent tail)
    ASSERT_GE(seen.size(), 4u);
    for (std::size_t j = 0; j < 4; ++j) {
        for (std::size_t b = 0; b < 4; ++b) {
            for (std::size_t w = 0; w < 8; ++w) {
                const auto position =
                    static_cast<long>(j * 8 + b * 2 + 2) - 8 + static_cast<long>(w);
                const float expected = position < 0 ? 0.0f : static_cast<float>(position + 1);
                ASSERT_EQ(seen[j][b * 8 + w], expected)
                    << "hop " << j << " window " << b << " w " << w;
            }
        }
    }
}

// A user-defined processor: pre-processing scales by 4, post-processing adds an offset. It must
// run on the workers, never on the audio thread.
class ScaleAndOffset : public PrePostProcessor {
public:
    std::atomic<bool> ran_on_audio_thread{false};
    std::thread::id audio_thread;

    void pre_process(const InputWindows& windows, std::span<const TensorView> inputs) override {
        if (std::this_thread::get_id() == audio_thread)
            ran_on_audio_thread = true;
        PrePostProcessor::pre_process(windows, inputs);
        for (float& x : inputs[0].data)
            x *= 4.0f;
    }
    void post_process(std::span<const TensorView> outputs, const OutputHops& hops) override {
        if (std::this_thread::get_id() == audio_thread)
            ran_on_audio_thread = true;
        for (std::size_t c = 0; c < outputs[0].spec->channels; ++c) {
            read_hop(outputs[0], c, hops.samples(0, c));
            for (float& y : hops.samples(0, c))
                y += 1.0f;
        }
    }
};

TEST(PrePostProcessing, UserProcessorRunsOnWorkers) {
    auto processor = std::make_shared<ScaleAndOffset>();
    processor->audio_thread = std::this_thread::get_id();
    InferenceConfig config = make_config(make_bypass_backend(), hop, 32, 2, 1.0);
    config.pre_post_processor = processor;
    config.warm_up = 0;
    InferenceHandler handler(config);
    handler.prepare(offline_host(256));
    const Signal input = make_signal(2, 4000, 21);
    HostSimulation simulation;
    simulation.block_sizes = {256};
    const Signal output = stream(handler, input, handler.latency() + 256, simulation);
    Signal expected = input;
    for (auto& channel : expected)
        for (float& x : channel)
            x = x * 4.0f + 1.0f;
    EXPECT_EQ(count_mismatches(output, expected, handler.latency(), 4000),
              0u);  // the pre-roll is silence, not 1.0
    EXPECT_FALSE(processor->ran_on_audio_thread.load());
}

}  // namespace
}  // namespace legato::test
