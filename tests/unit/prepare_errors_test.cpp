// prepare() errors (a model that cannot keep up, failing backends and warm-ups, bad latency
// overrides) name their cause and leave the handler usable, its previous preparation intact.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include "bad_input_support.hpp"

namespace legato::test {
namespace {

TEST(PrepareErrors, ModelThatCannotKeepUpIsRejectedAndRetryWorks) {
    // 2 ms per inference, but a 64-sample hop lasts 1.333 ms at 48 kHz with one instance.
    InferenceConfig config =
        make_config(make_custom_backend("window", window_model), kHop, kPast, 1, 2.0);
    InferenceHandler handler(config);
    HostConfig host;
    host.max_block_size = 64;
    host.offline_rendering = true;
    EXPECT_TRUE(
        contains_all(error_message([&] { handler.prepare(host); }),
                     {"max_inference_time_ms: 2.000 ms per inference cannot keep up",
                      "one hop of 64 samples every 1.333 ms", "at 1 inference(s) at a time"}));
    EXPECT_EQ(handler.latency(), 0u);

    // At 16 kHz a hop lasts 4 ms: the same handler prepares and streams exactly.
    host.sample_rate = 16000.0;
    ASSERT_NO_THROW(handler.prepare(host));
    EXPECT_DOUBLE_EQ(handler.max_inference_time_ms(), 2.0);
    HostDriver driver(handler, 1, 1, total_frames(handler));
    fill_input(driver);
    driver.run({64}, driver.input[0].size());
    EXPECT_EQ(
        count_mismatches(driver.output, reference_of(driver.input), handler.latency(), kFrames),
        0u);
}

TEST(PrepareErrors, FailedRePrepareKeepsTheRunningStream) {
    InferenceConfig config =
        make_config(make_custom_backend("window", window_model), kHop, kPast, 1, 2.0);
    InferenceHandler handler(config);
    HostConfig host;
    host.sample_rate = 16000.0;
    host.max_block_size = 64;
    host.offline_rendering = true;
    handler.prepare(host);
    const std::size_t latency = handler.latency();
    HostDriver driver(handler, 1, 1, total_frames(handler));
    fill_input(driver);
    driver.run({64}, 640);

    // Neither a bad host config nor an unsustainable rate replaces the prepared session.
    HostConfig bad = host;
    bad.sample_rate = 0.0;
    EXPECT_TRUE(
        contains_all(error_message([&] { handler.prepare(bad); }), {"HostConfig.sample_rate"}));
    bad = host;
    bad.sample_rate = 48000.0;
    EXPECT_TRUE(contains_all(error_message([&] { handler.prepare(bad); }),
                             {"max_inference_time_ms", "cannot keep up"}));
    EXPECT_EQ(handler.latency(), latency);
    EXPECT_EQ(handler.statistics().blocks, 10u);  // counters not cleared either

    driver.run({64}, driver.input[0].size());
    EXPECT_EQ(count_mismatches(driver.output, reference_of(driver.input), latency, kFrames), 0u);
}

// A custom backend whose instance factory throws `legato::Error("boom")` while `fail` is set.
std::shared_ptr<Backend> exploding_backend(std::shared_ptr<std::atomic<bool>> fail) {
    return make_custom_backend(
        "exploding", CustomInstanceFactory([fail](const InstanceSetup&) -> CustomFunction {
            if (fail->load())
                throw Error("boom");
            return window_model;
        }));
}

TEST(PrepareErrors, BackendFactoryErrorNamesEngineAndBackend) {
    auto fail = std::make_shared<std::atomic<bool>>(true);
    InferenceConfig config = make_config(exploding_backend(fail), kHop, kPast, 1, 0.5);
    InferenceHandler handler(config);
    HostConfig host;
    host.max_block_size = 64;
    host.offline_rendering = true;
    EXPECT_TRUE(contains_all(error_message([&] { handler.prepare(host); }),
                             {"engines[0] (exploding, model none): boom"}));
    EXPECT_EQ(handler.latency(), 0u);

    // Once the factory works, the same handler loads the engine and streams exactly.
    fail->store(false);
    ASSERT_NO_THROW(handler.prepare(host));
    HostDriver driver(handler, 1, 1, total_frames(handler));
    fill_input(driver);
    driver.run({64}, driver.input[0].size());
    EXPECT_EQ(
        count_mismatches(driver.output, reference_of(driver.input), handler.latency(), kFrames),
        0u);
}

TEST(PrepareErrors, BackendCreatingNoInstanceIsRejected) {
    struct NullBackend final : Backend {
        std::string name() const override { return "hollow"; }
        std::unique_ptr<ModelInstance> create_instance(const InstanceSetup&) override {
            return nullptr;
        }
    };
    InferenceConfig config = make_config(std::make_shared<NullBackend>(), kHop, kPast, 1, 0.5);
    InferenceHandler handler(config);
    EXPECT_TRUE(contains_all(error_message([&] { handler.prepare(HostConfig{}); }),
                             {"engines[0] (hollow): the backend created no instance"}));
}

TEST(PrepareErrors, EmptyCustomFunctionIsRejected) {
    EXPECT_TRUE(contains_all(error_message([] { make_custom_backend("void", CustomFunction{}); }),
                             {"make_custom_backend('void'): the function is empty"}));
    EXPECT_TRUE(
        contains_all(error_message([] { make_custom_backend("void", CustomInstanceFactory{}); }),
                     {"make_custom_backend('void'): the factory is empty"}));
}

TEST(PrepareErrors, WarmUpFailureNamesEngineAndReason) {
    auto fail = std::make_shared<std::atomic<bool>>(true);
    auto backend = make_custom_backend(
        "flaky", [fail](std::span<const TensorView> in, std::span<const TensorView> out) {
            if (fail->load())
                throw std::runtime_error("kaput");
            window_model(in, out);
        });
    InferenceConfig config = make_config(backend, kHop, kPast, 1, 0.5);
    config.warm_up = 2;
    InferenceHandler handler(config);
    HostConfig host;
    host.max_block_size = 64;
    host.offline_rendering = true;
    EXPECT_TRUE(contains_all(error_message([&] { handler.prepare(host); }),
                             {"engines[0] (flaky): warm-up inference failed: kaput"}));

    fail->store(false);
    ASSERT_NO_THROW(handler.prepare(host));
    HostDriver driver(handler, 1, 1, total_frames(handler));
    fill_input(driver);
    driver.run({64}, driver.input[0].size());
    EXPECT_EQ(
        count_mismatches(driver.output, reference_of(driver.input), handler.latency(), kFrames),
        0u);
    EXPECT_EQ(handler.statistics().failed_inferences, 0u);
}

// The second engine fails to load at the first prepare(); once it works, prepare() again must
// load it (the header: prepare "loads the models on every engine") and switching to it must run
// it.
TEST(PrepareErrors, RetryAfterSecondEngineFailedLoadsEveryEngine) {
    auto fail = std::make_shared<std::atomic<bool>>(true);
    InferenceConfig config = make_config(make_bypass_backend(), kHop, kPast, 1, 0.5);
    config.engines.push_back({exploding_backend(fail), {}, {}, {}, {}});
    InferenceHandler handler(config);
    HostConfig host;
    host.max_block_size = 64;
    host.offline_rendering = true;
    EXPECT_TRUE(contains_all(error_message([&] { handler.prepare(host); }),
                             {"engines[1] (exploding, model none): boom"}));

    fail->store(false);
    EXPECT_NO_THROW(handler.prepare(host)) << "the retry must load engines[1] as well";
    ASSERT_GT(handler.latency(), 0u);
    ASSERT_TRUE(handler.set_engine("exploding"));
    HostDriver driver(handler, 1, 1, total_frames(handler));
    fill_input(driver);
    driver.run({64}, driver.input[0].size());
    EXPECT_EQ(
        count_mismatches(driver.output, reference_of(driver.input), handler.latency(), kFrames), 0u)
        << "engines[1] (the window model) must be the one running";
}

TEST(PrepareErrors, NullContextIsRejected) {
    EXPECT_TRUE(
        contains_all(error_message([] { InferenceHandler handler(base_config(), nullptr); }),
                     {"InferenceHandler: context is null"}));
}

// An absurd latency_override must be rejected like every other bad setting: with a legato::Error
// naming the field (error.hpp: "the one exception type Legato throws"), not whatever the buffer
// allocation happens to throw.
TEST(PrepareErrors, AbsurdLatencyOverrideIsALegatoError) {
    InferenceHandler handler(base_config());
    HostConfig host;
    host.max_block_size = 64;
    host.latency_override = std::size_t{1} << 62;  // rings of 2^63 floats: cannot exist
    EXPECT_TRUE(contains_all(error_message([&] { handler.prepare(host); }), {"latency_override"}));
    // The handler stays usable.
    host.latency_override.reset();
    EXPECT_NO_THROW(handler.prepare(host));
    EXPECT_GT(handler.latency(), 0u);
}

// A latency_override below hop - block (an output sample is due before its hop is even
// complete) cannot be met, even offline: every hop is late, substituted and counted as late
// (host_config.hpp). No inference ever stalls, so none may be counted as dropped ("never
// submitted because every request slot was still held by stalled inferences").
// Below hop - 1 a hop's output would be due before its input is complete: prepare() refuses,
// naming the field and the bound; exactly hop - 1 is accepted and exact when rendering offline.
TEST(PrepareErrors, LatencyOverrideBelowHopMinusOneIsRejected) {
    InferenceHandler handler(
        make_config(make_custom_backend("window", window_model), kHop, kPast, 1, 0.5));
    HostConfig host;
    host.max_block_size = 32;
    host.latency_override = 16;
    host.offline_rendering = true;
    try {
        handler.prepare(host);
        FAIL() << "expected legato::Error";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("HostConfig.latency_override"), std::string::npos) << message;
        EXPECT_NE(message.find("hop - 1 (63)"), std::string::npos) << message;
    }
    host.latency_override = kHop - 1;
    handler.prepare(host);
    EXPECT_EQ(handler.latency(), kHop - 1);
    const std::size_t total = 54 * kHop;
    HostDriver driver(handler, 1, 1, total);
    fill_input(driver);
    driver.run({32}, total);
    Signal padded = driver.input;
    const Signal reference = window_model_reference(padded, kHop, kPast);
    EXPECT_EQ(count_mismatches(driver.output, reference, kHop - 1, total - kHop), 0u);
    EXPECT_EQ(handler.statistics().dropped_inferences, 0u);
}

}  // namespace
}  // namespace legato::test
