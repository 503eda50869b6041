// The inline mode (InferenceConfig::inline_mode) with the native engine: process() runs the
// model on the audio thread with zero latency, sample-exact at every host block size, per
// channel, across reset(); "auto" falls back to the pool when the model does not fit the budget;
// "always" refuses what cannot run inline; the pool path streams the same model exactly.

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audio_thread_guard.hpp"
#include "engines/native/rtneural_json.hpp"
#include "legato/legato.hpp"
#include "native_cases.hpp"

namespace legato::test {
namespace {

using nlohmann::json;
using native_cases::random_array;

// GRU(1->8) -> Dense(8->1) in RTNeural's format.
std::string gru_model() {
    std::mt19937 rng(7);
    json model = {{"in_shape", {nullptr, nullptr, 1}}};
    model["layers"] = json::array(
        {{{"type", "gru"},
          {"activation", "tanh"},
          {"shape", {nullptr, nullptr, 8}},
          {"weights",
           {random_array(rng, 1, 24), random_array(rng, 8, 24), random_array(rng, 2, 24)}}},
         {{"type", "dense"},
          {"activation", ""},
          {"shape", {nullptr, nullptr, 1}},
          {"weights", {random_array(rng, 8, 1), random_array(rng, 1)}}}});
    return model.dump();
}

ModelSource model_bytes() {
    const std::string text = gru_model();
    return ModelSource::memory(std::vector<std::uint8_t>(text.begin(), text.end()));
}

InferenceConfig native_config(InlineMode mode, std::size_t channels = 1) {
    InferenceConfig config;
    config.engines.push_back({make_backend("native"), model_bytes(), {}, {}, {}});
    TensorSpec in;
    in.name = "in";
    in.shape = {1, static_cast<std::int64_t>(channels), -1};
    in.channels = channels;
    in.hop = 64;
    TensorSpec out = in;
    out.name = "out";
    config.inputs = {in};
    config.outputs = {out};
    config.stateful = true;
    config.max_inference_time_ms = 1.0;
    config.warm_up = 1;
    config.inline_mode = mode;
    return config;
}

std::vector<float> signal(std::size_t frames, float phase = 0.0f) {
    std::vector<float> x(frames);
    for (std::size_t n = 0; n < frames; ++n)
        x[n] = 0.5f * std::sin(0.031f * static_cast<float>(n) + phase) +
               0.2f * std::sin(0.0071f * static_cast<float>(n * n % 1000));
    return x;
}

// The model streamed directly, as the reference.
std::vector<float> direct(const std::vector<float>& x) {
    auto model = native::load_rtneural_json(gru_model(), "gru");
    std::vector<float> y(x.size());
    model->process(x.data(), y.data(), x.size());
    return y;
}

// Streams x through the handler (mono) in blocks following `pattern`.
std::vector<float> run(InferenceHandler& handler, const std::vector<float>& x,
                       const std::vector<std::size_t>& pattern) {
    std::vector<float> y(x.size());
    for (std::size_t at = 0, call = 0; at < x.size(); ++call) {
        const std::size_t n = std::min(pattern[call % pattern.size()], x.size() - at);
        const float* in[1] = {x.data() + at};
        float* out[1] = {y.data() + at};
        handler.process(in, 1, out, 1, n);
        at += n;
    }
    return y;
}

HostConfig host(std::size_t max_block, bool offline = true) {
    HostConfig h;
    h.sample_rate = 48000.0;
    h.max_block_size = max_block;
    h.offline_rendering = offline;
    return h;
}

TEST(InlineMode, AutoRunsAFittingNativeModelInlineWithZeroLatencyAtEveryBlockSize) {
    const auto x = signal(24000);
    const auto reference = direct(x);
    for (const auto& pattern : std::vector<std::vector<std::size_t>>{
             {1}, {3}, {64}, {97}, {512}, {1, 200, 17, 512, 64, 3}}) {
        InferenceHandler handler(native_config(InlineMode::automatic));
        handler.prepare(host(512));
        ASSERT_TRUE(handler.runs_inline());
        EXPECT_EQ(handler.latency(), 0u);
        EXPECT_EQ(run(handler, x, pattern), reference) << "first block " << pattern[0];
    }
}

TEST(InlineMode, StereoChannelsStreamIndependently) {
    InferenceHandler handler(native_config(InlineMode::always, 2));
    handler.prepare(host(128));
    ASSERT_TRUE(handler.runs_inline());
    const auto left = signal(9000);
    const auto right = signal(9000, 1.3f);
    std::vector<float> out_left(left.size()), out_right(right.size());
    for (std::size_t at = 0; at < left.size(); at += 100) {
        const std::size_t n = std::min<std::size_t>(100, left.size() - at);
        const float* in[2] = {left.data() + at, right.data() + at};
        float* out[2] = {out_left.data() + at, out_right.data() + at};
        handler.process(in, 2, out, 2, n);
    }
    EXPECT_EQ(out_left, direct(left));
    EXPECT_EQ(out_right, direct(right));
}

TEST(InlineMode, ResetRestartsTheStreamExactly) {
    InferenceHandler handler(native_config(InlineMode::always));
    handler.prepare(host(64));
    const auto x = signal(4096);
    run(handler, x, {64});
    handler.reset();
    EXPECT_EQ(run(handler, x, {64}), direct(x));
    EXPECT_EQ(handler.statistics().resets, 1u);
}

TEST(InlineMode, PoolPathStreamsTheSameModelDelayedByItsLatency) {
    InferenceHandler handler(native_config(InlineMode::never));
    handler.prepare(host(64));
    ASSERT_FALSE(handler.runs_inline());
    const std::size_t latency = handler.latency();
    EXPECT_GT(latency, 0u);
    const auto x = signal(24000);
    const auto y = run(handler, x, {64});
    const auto reference = direct(x);
    std::size_t wrong = 0;
    for (std::size_t n = 0; n < y.size(); ++n)
        if (y[n] != (n >= latency ? reference[n - latency] : 0.0f))
            ++wrong;
    EXPECT_EQ(wrong, 0u) << "latency " << latency;
}

TEST(InlineMode, AutoUsesThePoolWhenTheModelDoesNotFitTheBudget) {
    auto config = native_config(InlineMode::automatic);
    config.inline_budget = 1e-9;
    InferenceHandler handler(config);
    handler.prepare(host(64));
    EXPECT_FALSE(handler.runs_inline());
    EXPECT_GT(handler.latency(), 0u);
}

TEST(InlineMode, AlwaysRefusesWhatCannotRunInlineSayingWhy) {
    auto config = native_config(InlineMode::always);
    config.engines[0] = {make_backend("bypass"), {}, {}, {}, {}};
    InferenceHandler handler(config);
    try {
        handler.prepare(host(64));
        FAIL() << "prepared";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("the bypass engine cannot run inline"),
                  std::string::npos)
            << e.what();
    }
    auto with_past = native_config(InlineMode::always);
    with_past.inputs[0].past_context = 16;
    InferenceHandler second(with_past);
    try {
        second.prepare(host(64));
        FAIL() << "prepared";
    } catch (const Error& e) {
        EXPECT_NE(
            std::string(e.what()).find("inline: \"always\", but inputs[0].past_context is 16"),
            std::string::npos)
            << e.what();
    }
    // Auto with an engine that cannot: the pool, silently.
    auto bypass = native_config(InlineMode::automatic);
    bypass.engines[0] = {make_backend("bypass"), {}, {}, {}, {}};
    InferenceHandler third(bypass);
    third.prepare(host(64));
    EXPECT_FALSE(third.runs_inline());
}

TEST(InlineMode, ConfigFilesSelectIt) {
    const std::string text = R"({"name": "m", "engines": [{"engine": "bypass"}],
        "inputs": [{"name": "in", "shape": [1, 1, -1], "hop": 64}],
        "outputs": [{"name": "out", "shape": [1, 1, -1], "hop": 64}],
        "inline": "sometimes"})";
    try {
        parse_model_config(text, ".", true, "m.json");
        FAIL() << "accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("inline"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("auto"), std::string::npos) << e.what();
    }
}

TEST(InlineMode, ProcessIsRealTimeSafe) {
    LEGATO_REQUIRE_AUDIO_THREAD_GUARD();
    InferenceHandler handler(native_config(InlineMode::always, 2));
    handler.prepare(host(256, false));
    std::vector<float> a(256, 0.1f), b(256, -0.1f);
    float* channels[2] = {a.data(), b.data()};
    handler.process(channels, 2, 256);
    AudioThreadViolations v;
    {
        AudioThreadGuard guard;
        handler.process(channels, 2, 256);
        handler.reset();
        handler.process(channels, 2, 17);
        v = guard.violations();
    }
    EXPECT_TRUE(NoViolations(v));
}

}  // namespace
}  // namespace legato::test
