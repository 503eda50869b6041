// The any-thread API with wrong arguments: set_parameter(), output_value() and set_engine()
// reject wrong names, roles and sizes, return false and change nothing.

#include <gtest/gtest.h>

#include <array>
#include <span>

#include "bad_input_support.hpp"

namespace legato::test {
namespace {

// y = x * gain[0] + gain[1]; the parameter output "level" reports gain[0].
void gain_model(std::span<const TensorView> inputs, std::span<const TensorView> outputs) {
    const auto x = inputs[0].data;
    const auto gain = inputs[1].data;
    for (std::size_t t = 0; t < outputs[0].data.size(); ++t)
        outputs[0].data[t] = x[t] * gain[0] + gain[1];
    outputs[1].data[0] = gain[0];
}

InferenceConfig gain_config() {
    InferenceConfig config =
        make_config(make_custom_backend("gain-model", gain_model), kHop, 0, 1, half_hop_ms(kHop));
    TensorSpec gain = fixed_spec("gain", TensorRole::parameter, {2});
    gain.initial_value = {0.5f, 0.25f};
    config.inputs.push_back(gain);
    config.inputs.push_back(fixed_spec("h_in", TensorRole::state, {1}));
    config.outputs.push_back(fixed_spec("level", TensorRole::parameter, {1}));
    config.outputs.push_back(fixed_spec("h_out", TensorRole::state, {1}));
    config.state_pairs = {{"h_out", "h_in"}};
    config.stateful = true;
    config.engines.push_back({make_bypass_backend(), {}, {}, {}, {}});
    return config;
}

// Every rejected call returns false and changes nothing.
void expect_wrong_arguments_rejected(InferenceHandler& handler) {
    const std::array<float, 1> one{9.0f};
    const std::array<float, 3> three{9.0f, 9.0f, 9.0f};
    EXPECT_FALSE(handler.set_parameter("nope", 9.0f));
    EXPECT_FALSE(handler.set_parameter("", 9.0f));
    EXPECT_FALSE(handler.set_parameter("gain", 9.0f));  // needs 2 values
    EXPECT_FALSE(handler.set_parameter("gain", std::span<const float>(one)));
    EXPECT_FALSE(handler.set_parameter("gain", std::span<const float>(three)));
    EXPECT_FALSE(handler.set_parameter("gain", std::span<const float>()));
    EXPECT_FALSE(handler.set_parameter("audio_in", 9.0f));  // audio, not a parameter
    EXPECT_FALSE(handler.set_parameter("h_in", 9.0f));      // state, not a parameter
    EXPECT_FALSE(handler.set_parameter("level", 9.0f));     // an output

    std::array<float, 1> value{-7.0f};
    std::array<float, 2> two{-7.0f, -7.0f};
    EXPECT_FALSE(handler.output_value("nope", value));
    EXPECT_FALSE(handler.output_value("level", two));  // wrong size
    EXPECT_FALSE(handler.output_value("level", std::span<float>()));
    EXPECT_FALSE(handler.output_value("audio_out", value));
    EXPECT_FALSE(handler.output_value("h_out", value));
    EXPECT_FALSE(handler.output_value("gain", two));  // an input
    EXPECT_EQ(value[0], -7.0f);                       // untouched on failure
    EXPECT_EQ(two, (std::array<float, 2>{-7.0f, -7.0f}));

    const std::size_t engine = handler.engine();
    EXPECT_FALSE(handler.set_engine("nope"));
    EXPECT_FALSE(handler.set_engine(""));
    EXPECT_FALSE(handler.set_engine(std::size_t{99}));
    EXPECT_FALSE(handler.set_engine(std::size_t{2}));  // one past the last
    EXPECT_EQ(handler.engine(), engine);
    EXPECT_EQ(handler.engine_name(99), "");
    EXPECT_EQ(handler.engine_name(2), "");
}

TEST(AnyThreadApi, WrongArgumentsAreRejectedWithoutSideEffects) {
    InferenceHandler handler(gain_config());
    EXPECT_EQ(handler.engine_name(0), "gain-model");
    EXPECT_EQ(handler.engine_name(1), "bypass");
    // Valid switches work, and a rejected one leaves the last valid choice.
    EXPECT_TRUE(handler.set_engine("bypass"));
    EXPECT_EQ(handler.engine(), 1u);
    expect_wrong_arguments_rejected(handler);  // before prepare()
    EXPECT_EQ(handler.engine(), 1u);
    EXPECT_TRUE(handler.set_engine(std::size_t{0}));
    EXPECT_EQ(handler.engine(), 0u);
    std::array<float, 1> level{-1.0f};
    EXPECT_TRUE(handler.output_value("level", level));
    EXPECT_EQ(level[0], 0.0f);  // no inference yet

    HostConfig host;
    host.max_block_size = 64;
    host.offline_rendering = true;
    handler.prepare(host);
    expect_wrong_arguments_rejected(handler);  // after prepare()
    EXPECT_EQ(handler.engine(), 0u);

    // The rejected calls left the initial gain {0.5, 0.25}: the output shows exactly that.
    const std::size_t total = kFrames + handler.latency() + 2 * kHop;
    HostDriver driver(handler, 1, 1, total);
    fill_input(driver);
    driver.run({64}, total);
    Signal reference = pick(driver.input, {0});
    for (float& x : reference[0])
        x = x * 0.5f + 0.25f;
    EXPECT_EQ(count_mismatches(driver.output, reference, handler.latency(), kFrames), 0u);
    EXPECT_TRUE(handler.output_value("level", level));
    EXPECT_EQ(level[0], 0.5f);
    EXPECT_EQ(handler.statistics().failed_inferences, 0u);
}

}  // namespace
}  // namespace legato::test
