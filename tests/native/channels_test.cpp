// Channels as a batch: a native model with C channels runs them together (each weight read once
// for all of them), and every channel's output is bit for bit what the model gives for that
// channel alone: in the kernel (matvec_channels), in the model (StreamModel::with_channels),
// inline (StreamingBatch, host buffers in place or missing) and on the pool (channels_first and
// channels_last tensors, stateful and with past context). Models that cannot batch (NAM) run a
// copy per channel with the same result.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engines/native/kernels.hpp"
#include "engines/native/native_model_file.hpp"
#include "legato/legato.hpp"
#include "native_cases.hpp"
#include "npy.hpp"

namespace legato::test {
namespace {

const std::filesystem::path models = LEGATO_TEST_MODELS_DIR;

std::vector<float> noise(std::size_t n, unsigned seed, float scale = 0.5f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(-scale, scale);
    std::vector<float> v(n);
    for (float& x : v)
        x = d(rng);
    return v;
}

// Row counts that land in every part of the kernel's row cascade on AVX-512, AVX2 and the
// 4-lane baseline (single-chain chunks of 12/10/8/6/4 vectors, 14 and 9 vectors, the split
// tails, partial vectors, the single-output dot product), with 1 to 5 channels.
TEST(NativeChannels, MatvecChannelsGivesEachChannelTheBitsOfMatvec) {
    for (const std::size_t rows : {1, 2, 3, 5, 8, 12, 16, 40, 48, 64, 100, 144, 160, 224, 232}) {
        for (const std::size_t cols : {1, 7, 16, 41}) {
            const auto w = noise(rows * cols, 1);
            const auto b = noise(rows, 2);
            for (const std::size_t channels : {1, 2, 3, 5}) {
                const std::size_t x_stride = cols + 3, y_stride = rows + 5;
                const auto x = noise(x_stride * channels, 3);
                for (const bool accumulate : {false, true}) {
                    std::vector<float> y = noise(y_stride * channels, 4);
                    std::vector<float> expected = y;
                    native::matvec_channels(w.data(), x.data(), x_stride, b.data(), y.data(),
                                            y_stride, rows, cols, channels, accumulate);
                    for (std::size_t k = 0; k < channels; ++k) {
                        float* e = expected.data() + k * y_stride;
                        if (accumulate)
                            native::matvec_add(w.data(), x.data() + k * x_stride, e, rows, cols);
                        else
                            native::matvec(w.data(), x.data() + k * x_stride, b.data(), e, rows,
                                           cols);
                    }
                    // Bit for bit, and nothing between the channels' rows touched.
                    ASSERT_EQ(y, expected) << rows << " rows, " << cols << " columns, " << channels
                                           << " channels, accumulate " << accumulate;
                }
            }
        }
    }
}

// Streams `channels` signals through one batched copy and each through its own mono copy.
void expect_batch_matches_mono(const native::StreamModel& model, std::size_t channels,
                               const std::string& what) {
    auto batch = model.with_channels(channels);
    ASSERT_NE(batch, nullptr) << what;
    EXPECT_EQ(batch->channels(), channels);
    const std::size_t frames = 3000;
    std::vector<std::vector<float>> in(channels), expected(channels);
    for (std::size_t k = 0; k < channels; ++k) {
        in[k] = noise(frames, 10 + static_cast<unsigned>(k), 0.3f + 0.1f * static_cast<float>(k));
        auto mono = model.clone();
        mono->reset();
        expected[k].resize(frames);
        mono->process(in[k].data(), expected[k].data(), frames);
    }
    // In calls of varying sizes, as a host gives them, then again after reset().
    for (int pass = 0; pass < 2; ++pass) {
        std::vector<float> interleaved(frames * channels), out(frames * channels);
        for (std::size_t t = 0; t < frames; ++t)
            for (std::size_t k = 0; k < channels; ++k)
                interleaved[t * channels + k] = in[k][t];
        const std::size_t sizes[] = {1, 97, 3, 256, 64};
        for (std::size_t at = 0, call = 0; at < frames; ++call) {
            const std::size_t n = std::min(sizes[call % 5], frames - at);
            batch->process(interleaved.data() + at * channels, out.data() + at * channels, n);
            at += n;
        }
        for (std::size_t k = 0; k < channels; ++k) {
            std::size_t wrong = 0;
            for (std::size_t t = 0; t < frames; ++t)
                wrong += out[t * channels + k] != expected[k][t];
            EXPECT_EQ(wrong, 0u) << what << ": channel " << k << " of " << channels << ", pass "
                                 << pass;
        }
        batch->reset();
    }
}

class OwnModelChannels : public ::testing::TestWithParam<std::string> {};

TEST_P(OwnModelChannels, EveryChannelOfTheBatchIsTheMonoModelBitForBit) {
    auto model = native::load_model(ModelSource::file(models / "native" / GetParam()));
    for (const std::size_t channels : {2, 3, 8})
        expect_batch_matches_mono(*model, channels, GetParam());
}

// LSTM, GRU and Conv1D stacks from RTNeural JSON; the dense network (Dense, activations) and
// the stacked LSTM from ONNX.
INSTANTIATE_TEST_SUITE_P(Models, OwnModelChannels,
                         ::testing::Values("lstm.json", "gru.json", "conv.json", "dense.onnx",
                                           "lstm2.onnx"),
                         [](const auto& param_info) {
                             std::string name = param_info.param;
                             for (char& c : name)
                                 if (c == '.')
                                     c = '_';
                             return name;
                         });

TEST(NativeChannels, TheStagedRtneuralModelsBatchExactly) {
    std::string skip;
    const auto cases = native_cases::load("rtneural-json", skip);
    if (cases.empty())
        GTEST_SKIP() << skip;
    std::size_t batched = 0;
    for (const auto& c : cases) {
        std::unique_ptr<native::StreamModel> model;
        try {
            model = native::load_model(ModelSource::file(c.model));
        } catch (const Error&) {
            continue;  // Conv2D: refused by the engine (rtneural_test.cpp checks how)
        }
        expect_batch_matches_mono(*model, 2, c.name);
        ++batched;
    }
    EXPECT_GE(batched, 3u);
}

TEST(NativeChannels, NamModelsSayTheyCannotBatch) {
    auto model = native::load_model(ModelSource::file(models / "native" / "lstm.nam"));
    EXPECT_EQ(model->with_channels(2), nullptr);
}

// A stateful handler with `channels` channels of `model` (one value per frame).
InferenceConfig channels_config(const std::filesystem::path& model, std::size_t channels,
                                InlineMode mode, AudioLayout layout) {
    InferenceConfig config;
    config.engines.push_back({make_backend("native"), ModelSource::file(model), {}, {}, {}});
    TensorSpec in;
    in.name = "in";
    in.channels = channels;
    in.layout = layout;
    in.shape = layout == AudioLayout::channels_first
                   ? std::vector<std::int64_t>{1, static_cast<std::int64_t>(channels), -1}
                   : std::vector<std::int64_t>{1, -1, static_cast<std::int64_t>(channels)};
    in.hop = 64;
    TensorSpec out = in;
    out.name = "out";
    config.inputs = {in};
    config.outputs = {out};
    config.stateful = true;
    config.max_inference_time_ms = 1.0;
    config.inline_mode = mode;
    return config;
}

HostConfig offline_host(std::size_t max_block) {
    HostConfig host;
    host.sample_rate = 48000.0;
    host.max_block_size = max_block;
    host.offline_rendering = true;
    return host;
}

// Each channel through the model alone (the reference), and through the handler in host
// blocks of `block`; output channel k must be the reference delayed by latency(), exactly.
void expect_handler_channels_exact(const std::filesystem::path& model, std::size_t channels,
                                   InlineMode mode, AudioLayout layout, const std::string& what) {
    InferenceHandler handler(channels_config(model, channels, mode, layout));
    handler.prepare(offline_host(128));
    EXPECT_EQ(handler.runs_inline(), mode == InlineMode::always) << what;
    const std::size_t latency = handler.latency();
    const std::size_t frames = 6000;
    auto loaded = native::load_model(ModelSource::file(model));
    std::vector<std::vector<float>> x(channels), y(channels), reference(channels);
    for (std::size_t k = 0; k < channels; ++k) {
        x[k] = noise(frames, 40 + static_cast<unsigned>(k), 0.2f + 0.2f * static_cast<float>(k));
        y[k].assign(frames, 0.0f);
        reference[k].resize(frames);
        auto mono = loaded->clone();
        mono->reset();
        mono->process(x[k].data(), reference[k].data(), frames);
    }
    for (std::size_t at = 0; at < frames; at += 100) {
        const std::size_t n = std::min<std::size_t>(100, frames - at);
        std::vector<const float*> in(channels);
        std::vector<float*> out(channels);
        for (std::size_t k = 0; k < channels; ++k) {
            in[k] = x[k].data() + at;
            out[k] = y[k].data() + at;
        }
        handler.process(in.data(), channels, out.data(), channels, n);
    }
    for (std::size_t k = 0; k < channels; ++k) {
        std::size_t wrong = 0;
        for (std::size_t t = 0; t < frames; ++t)
            wrong += y[k][t] != (t >= latency ? reference[k][t - latency] : 0.0f);
        EXPECT_EQ(wrong, 0u) << what << ": channel " << k << ", latency " << latency;
    }
}

TEST(NativeChannels, InlineHandlersStreamEachChannelExactly) {
    for (const char* file : {"lstm.json", "gru.json", "conv.json", "lstm.nam"})
        expect_handler_channels_exact(models / "native" / file, 3, InlineMode::always,
                                      AudioLayout::channels_first, file);
}

// The pool path used to run a mono model's channels as one long stream (channel 1 continuing
// channel 0's state); each channel is now its own stream, in either layout.
TEST(NativeChannels, PoolHandlersStreamEachChannelExactlyInEitherLayout) {
    for (const AudioLayout layout : {AudioLayout::channels_first, AudioLayout::channels_last})
        for (const char* file : {"lstm.json", "conv.json", "lstm.nam"})
            expect_handler_channels_exact(
                models / "native" / file, 2, InlineMode::never, layout,
                std::string(file) +
                    (layout == AudioLayout::channels_first ? " channels_first" : " channels_last"));
}

TEST(NativeChannels, InlineBatchReadsSilenceForMissingInputsAndRunsInPlace) {
    const auto file = models / "native" / "gru.json";
    InferenceHandler handler(
        channels_config(file, 2, InlineMode::always, AudioLayout::channels_first));
    handler.prepare(offline_host(64));
    ASSERT_TRUE(handler.runs_inline());
    auto model = native::load_model(ModelSource::file(file));
    const std::size_t frames = 640;
    auto left = noise(frames, 5);
    std::vector<float> expected_left(frames), expected_right(frames), silence(frames, 0.0f);
    model->process(left.data(), expected_left.data(), frames);
    model->reset();
    model->process(silence.data(), expected_right.data(), frames);
    // In place on channel 0; channel 1's input is missing (null) and its output taken.
    std::vector<float> right(frames, 9.0f);
    for (std::size_t at = 0; at < frames; at += 64) {
        const float* in[2] = {left.data() + at, nullptr};
        float* out[2] = {left.data() + at, right.data() + at};
        handler.process(in, 2, out, 2, 64);
    }
    EXPECT_EQ(left, expected_left);
    EXPECT_EQ(right, expected_right);
}

}  // namespace
}  // namespace legato::test
