// InferenceConfig validation: every check (one table row each) rejects with a message that
// names the field and the reason; shapes too large to hold are refused by name.

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "bad_input_support.hpp"

namespace legato::test {
namespace {

TensorSpec audio_spec(std::string name, std::vector<std::int64_t> shape, std::size_t hop = kHop,
                      std::size_t past = 0, std::size_t channels = 1) {
    TensorSpec spec;
    spec.name = std::move(name);
    spec.shape = std::move(shape);
    spec.hop = hop;
    spec.past_context = past;
    spec.channels = channels;
    return spec;
}

// Adds a valid recurrent state pair h_out [1, 4] -> h_in [1, 4].
void add_state(InferenceConfig& c) {
    c.inputs.push_back(fixed_spec("h_in", TensorRole::state, {1, 4}));
    c.outputs.push_back(fixed_spec("h_out", TensorRole::state, {1, 4}));
    c.state_pairs.push_back({"h_out", "h_in"});
    c.stateful = true;
}

// Makes inputs[0] a valid sliding-window input: 64 windows of 32 samples, one per step.
void make_sliding(TensorSpec& spec) {
    spec.layout = AudioLayout::sliding_windows_channels_last;
    spec.window_length = 32;
    spec.window_hop = 1;
    spec.past_context = 31;
    spec.shape = {64, 32, 1};
}

struct ConfigCase {
    std::string description;
    std::function<void(InferenceConfig&)> mutate;
    std::vector<std::string> expected;  // substrings of the message after the prefix
};

std::vector<ConfigCase> config_cases() {
    using C = InferenceConfig;
    return {
        // Lists.
        {"no engines",
         [](C& c) { c.engines.clear(); },
         {"engines: at least one engine is required"}},
        {"no inputs", [](C& c) { c.inputs.clear(); }, {"inputs: at least one input is required"}},
        {"no outputs",
         [](C& c) { c.outputs.clear(); },
         {"outputs: at least one output is required"}},
        {"no audio input",
         [](C& c) { c.inputs = {fixed_spec("p", TensorRole::parameter, {1})}; },
         {"inputs: at least one input must have role audio"}},
        {"no audio output",
         [](C& c) { c.outputs = {fixed_spec("v", TensorRole::parameter, {1})}; },
         {"outputs: at least one output must have role audio"}},
        {"duplicate input name",
         [](C& c) { c.inputs.push_back(fixed_spec("audio_in", TensorRole::parameter, {1})); },
         {"inputs[1].name: 'audio_in' is used twice"}},
        {"duplicate output name",
         [](C& c) { c.outputs.push_back(fixed_spec("audio_out", TensorRole::parameter, {1})); },
         {"outputs[1].name: 'audio_out' is used twice"}},
        {"input hop differs",
         [](C& c) {
             c.inputs.push_back(audio_spec("side", {1, 1, -1}, 32));
         },
         {"inputs[1].hop: must equal inputs[0].hop (64)", "same hop", "got 32"}},
        {"output hop differs",
         [](C& c) { c.outputs[0].hop = 32; },
         {"outputs[0].hop: must equal inputs[0].hop (64)", "same hop", "got 32"}},

        // validate_tensor: streaming fields.
        {"empty input name",
         [](C& c) { c.inputs[0].name.clear(); },
         {"inputs[0].name: must not be empty"}},
        {"empty output name",
         [](C& c) { c.outputs[0].name.clear(); },
         {"outputs[0].name: must not be empty"}},
        {"zero input channels",
         [](C& c) { c.inputs[0].channels = 0; },
         {"inputs[0].channels: must be at least 1"}},
        {"zero output channels",
         [](C& c) { c.outputs[0].channels = 0; },
         {"outputs[0].channels: must be at least 1"}},
        {"zero input hop",
         [](C& c) { c.inputs[0].hop = 0; },
         {"inputs[0].hop: must be at least 1"}},
        {"zero output hop",
         [](C& c) { c.outputs[0].hop = 0; },
         {"outputs[0].hop: must be at least 1"}},
        {"sliding layout on output",
         [](C& c) { c.outputs[0].layout = AudioLayout::sliding_windows_channels_first; },
         {"outputs[0].layout: sliding-window layouts are for inputs only"}},
        {"sliding window_length 0",
         [](C& c) {
             make_sliding(c.inputs[0]);
             c.inputs[0].window_length = 0;
         },
         {"inputs[0].window_length: must be at least 1"}},
        {"sliding window_hop 0",
         [](C& c) {
             make_sliding(c.inputs[0]);
             c.inputs[0].window_hop = 0;
         },
         {"inputs[0].window_hop: must be at least 1"}},
        {"window_hop not dividing hop",
         [](C& c) {
             make_sliding(c.inputs[0]);
             c.inputs[0].window_hop = 5;
         },
         {"inputs[0].hop: must be a multiple of window_hop (5), got 64"}},
        {"sliding past_context too small",
         [](C& c) {
             make_sliding(c.inputs[0]);
             c.inputs[0].past_context = 30;
         },
         {"inputs[0].past_context: sliding windows of 32 samples every 1 samples need "
          "past_context >= 31, got 30"}},

        // validate_tensor: initial values.
        {"initial_value on audio input",
         [](C& c) { c.inputs[0].initial_value = {1.0f}; },
         {"inputs[0].initial_value: only parameter inputs take an initial value"}},
        {"initial_value on parameter output",
         [](C& c) {
             TensorSpec out = fixed_spec("level", TensorRole::parameter, {1});
             out.initial_value = {1.0f};
             c.outputs.push_back(out);
         },
         {"outputs[1].initial_value: only parameter inputs take an initial value"}},
        {"initial_value on state input",
         [](C& c) {
             add_state(c);
             c.inputs[1].initial_value = {0, 0, 0, 0};
         },
         {"inputs[1].initial_value: only parameter inputs take an initial value"}},
        {"parameter initial_value size mismatch",
         [](C& c) {
             TensorSpec p = fixed_spec("gain", TensorRole::parameter, {2});
             p.initial_value = {1.0f, 2.0f, 3.0f};
             c.inputs.push_back(p);
         },
         {"inputs[1].initial_value: has 3 values; shape [2] needs 2"}},

        // check_shape.
        {"empty shape",
         [](C& c) { c.inputs[0].shape.clear(); },
         {"inputs[0].shape: must have at least one dimension"}},
        {"dimension 0",
         [](C& c) {
             c.inputs[0].shape = {1, 0, -1};
         },
         {"inputs[0].shape: dimension 1 is 0; expected a positive size or -1"}},
        {"dimension -2",
         [](C& c) {
             c.outputs[0].shape = {1, 1, -2};
         },
         {"outputs[0].shape: dimension 2 is -2; expected a positive size or -1"}},
        {"two dynamic dimensions",
         [](C& c) {
             c.inputs[0].shape = {1, -1, -1};
         },
         {"inputs[0].shape: at most one dimension may be -1, got [1, -1, -1]"}},
        {"dynamic parameter shape",
         [](C& c) {
             c.inputs.push_back(fixed_spec("gain", TensorRole::parameter, {1, -1}));
         },
         {"inputs[1].shape: a parameter tensor needs a fixed shape (no -1), got [1, -1]"}},
        {"dynamic state shape",
         [](C& c) {
             add_state(c);
             c.outputs[1].shape = {1, -1};
         },
         {"outputs[1].shape: a state tensor needs a fixed shape (no -1), got [1, -1]"}},
        {"element count mismatch",
         [](C& c) {
             c.inputs[0].shape = {1, 1, 64};
         },
         {"inputs[0].shape: [1, 1, 64] holds 64 elements; the audio layout needs 80 elements "
          "(1 channels x 80 samples of past_context + hop)"}},
        {"output element count mismatch",
         [](C& c) {
             c.outputs[0].shape = {1, 2, 64};
         },
         {"outputs[0].shape: [1, 2, 64] holds 128 elements; the audio layout needs 64 elements"}},
        {"sliding element count mismatch",
         [](C& c) {
             make_sliding(c.inputs[0]);
             c.inputs[0].shape = {64, 31, 1};
         },
         {"inputs[0].shape: [64, 31, 1] holds 1984 elements; the audio layout needs 2048 "
          "elements (1 channels x 64 windows x 32 samples)"}},
        {"dynamic dimension cannot divide",
         [](C& c) {
             c.inputs[0].shape = {1, 3, -1};
         },
         {"inputs[0].shape: no size for the -1 dimension of [1, 3, -1] gives 80 elements"}},

        // State pairs.
        {"state pair names no output",
         [](C& c) {
             add_state(c);
             c.state_pairs[0].output = "nope";
         },
         {"state_pairs[0].output: no output named 'nope'"}},
        {"state pair names no input",
         [](C& c) {
             add_state(c);
             c.state_pairs[0].input = "nope";
         },
         {"state_pairs[0].input: no input named 'nope'"}},
        {"state pair output not state",
         [](C& c) {
             add_state(c);
             c.state_pairs[0].output = "audio_out";
         },
         {"state_pairs[0].output: 'audio_out' must have role state"}},
        {"state pair input not state",
         [](C& c) {
             add_state(c);
             c.state_pairs[0].input = "audio_in";
         },
         {"state_pairs[0].input: 'audio_in' must have role state"}},
        {"state pair size mismatch",
         [](C& c) {
             add_state(c);
             c.outputs[1].shape = {2, 4};
         },
         {"state_pairs[0]: 'h_out' has 8 elements but 'h_in' has 4"}},
        {"state input fed twice",
         [](C& c) {
             add_state(c);
             c.outputs.push_back(fixed_spec("h_out2", TensorRole::state, {4}));
             c.state_pairs.push_back({"h_out2", "h_in"});
         },
         {"state_pairs[1].input: 'h_in' is fed by two state pairs"}},
        {"state output feeds two",
         [](C& c) {
             add_state(c);
             c.inputs.push_back(fixed_spec("h_in2", TensorRole::state, {4}));
             c.state_pairs.push_back({"h_out", "h_in2"});
         },
         {"state_pairs[1].output: 'h_out' feeds two state pairs"}},
        {"state input without pair",
         [](C& c) {
             add_state(c);
             c.state_pairs.clear();
         },
         {"inputs[1]: state input 'h_in' needs a state_pairs entry"}},
        {"state pairs without stateful",
         [](C& c) {
             add_state(c);
             c.stateful = false;
         },
         {"stateful: must be true when state_pairs are given"}},

        // Timing and instances.
        {"max_inference_time_ms 0",
         [](C& c) { c.max_inference_time_ms = 0.0; },
         {"max_inference_time_ms: must be a positive number of milliseconds, got 0.000000"}},
        {"max_inference_time_ms negative",
         [](C& c) { c.max_inference_time_ms = -1.0; },
         {"max_inference_time_ms: must be a positive number of milliseconds, got -1.000000"}},
        {"max_inference_time_ms NaN",
         [](C& c) { c.max_inference_time_ms = kNaN; },
         {"max_inference_time_ms: must be a positive number of milliseconds, got ", "nan"}},
        {"max_inference_time_ms infinite",
         [](C& c) { c.max_inference_time_ms = kInf; },
         {"max_inference_time_ms: must be a positive number of milliseconds, got inf"}},
        {"measure_percentile 0",
         [](C& c) { c.measure_percentile = 0.0; },
         {"measure_percentile: must be in (0, 1], got 0.000000"}},
        {"measure_percentile above 1",
         [](C& c) { c.measure_percentile = 1.5; },
         {"measure_percentile: must be in (0, 1], got 1.500000"}},
        {"measure_percentile NaN",
         [](C& c) { c.measure_percentile = kNaN; },
         {"measure_percentile: must be in (0, 1], got ", "nan"}},
        {"measure_safety_factor below 1",
         [](C& c) { c.measure_safety_factor = 0.5; },
         {"measure_safety_factor: must be at least 1, got 0.500000"}},
        {"measure_safety_factor infinite",
         [](C& c) { c.measure_safety_factor = kInf; },
         {"measure_safety_factor: must be at least 1, got inf"}},
        {"measure_wake_allowance_ms negative",
         [](C& c) { c.measure_wake_allowance_ms = -0.1; },
         {"measure_wake_allowance_ms: must be zero or more, got -0.100000"}},
        {"measure_wake_allowance_ms NaN",
         [](C& c) { c.measure_wake_allowance_ms = kNaN; },
         {"measure_wake_allowance_ms: must be zero or more, got ", "nan"}},
        {"parallel_instances 0",
         [](C& c) { c.parallel_instances = 0; },
         {"parallel_instances: must be between 1 and 64, got 0"}},
        {"parallel_instances 65",
         [](C& c) { c.parallel_instances = 65; },
         {"parallel_instances: must be between 1 and 64, got 65"}},
        {"stateful with parallel instances",
         [](C& c) {
             c.stateful = true;
             c.parallel_instances = 2;
         },
         {"parallel_instances: must be 1 for a stateful model", "got 2"}},

        // Engines and overrides.
        {"null backend",
         [](C& c) { c.engines[0].backend = nullptr; },
         {"engines[0].backend: is null"}},
        {"null second backend",
         [](C& c) { c.engines.push_back({}); },
         {"engines[1].backend: is null"}},
        {"engine input override count",
         [](C& c) {
             c.engines[0].inputs = {TensorOverride{}, TensorOverride{}};
         },
         {"engines[0].inputs: has 2 entries; expected none or one per inputs entry (1)"}},
        {"engine output override count",
         [](C& c) {
             c.outputs.push_back(fixed_spec("level", TensorRole::parameter, {1}));
             c.engines[0].outputs = {TensorOverride{}};
         },
         {"engines[0].outputs: has 1 entries; expected none or one per outputs entry (2)"}},
        {"engine input override shape does not fit",
         [](C& c) {
             c.engines[0].inputs = {TensorOverride{"x", {1, 1, 100}, {}}};
         },
         {"engines[0].inputs[0].shape: [1, 1, 100] holds 100 elements; the audio layout needs "
          "80 elements"}},
        {"engine output override dynamic cannot divide",
         [](C& c) {
             c.engines[0].outputs = {TensorOverride{"", {3, -1}, {}}};
         },
         {"engines[0].outputs[0].shape: no size for the -1 dimension of [3, -1] gives 64"}},
        {"engine output override sliding layout",
         [](C& c) {
             c.engines[0].outputs = {
                 TensorOverride{"", {}, AudioLayout::sliding_windows_channels_last}};
         },
         {"engines[0].outputs[0].layout: sliding-window layouts are for inputs only"}},
        {"second engine override shape",
         [](C& c) {
             c.engines.push_back({make_bypass_backend(), {}, {}, {}, {}});
             c.engines[1].inputs = {TensorOverride{"", {1, -1, -1}, {}}};
         },
         {"engines[1].inputs[0].shape: at most one dimension may be -1"}},
    };
}

// gtest prints the parameter of a failing row: show its description, not its bytes.
void PrintTo(const ConfigCase& row, std::ostream* os) {
    *os << row.description;
}

class ConfigValidation : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(ConfigValidation, HandlerRejectsWithFieldAndReason) {
    const ConfigCase& row = GetParam();
    InferenceConfig config = base_config();
    row.mutate(config);
    const std::string message = error_message([&] { InferenceHandler handler(config); });
    const std::string prefix = "invalid InferenceConfig: ";
    ASSERT_EQ(message.rfind(prefix, 0), 0u) << message;
    EXPECT_TRUE(contains_all(message, row.expected));
    // The handler only adds the prefix to what validate() says.
    EXPECT_EQ(error_message([&] { config.validate(); }), message.substr(prefix.size()));
}

INSTANTIATE_TEST_SUITE_P(Rows, ConfigValidation, ::testing::ValuesIn(config_cases()),
                         [](const ::testing::TestParamInfo<ConfigCase>& param_info) {
                             std::string name;
                             for (const char ch : param_info.param.description)
                                 name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                             return name;
                         });

// The base configs the rows mutate must themselves be valid, or a row could pass by accident.
TEST(ConfigValidationBase, BaseConfigsAreValid) {
    EXPECT_NO_THROW(base_config().validate());
    InferenceConfig stateful = base_config();
    add_state(stateful);
    EXPECT_NO_THROW(stateful.validate());
    InferenceConfig sliding = base_config();
    make_sliding(sliding.inputs[0]);
    EXPECT_NO_THROW(sliding.validate());
    InferenceConfig overridden = base_config();
    overridden.engines[0].inputs = {TensorOverride{"x", {1, 80}, AudioLayout::channels_last}};
    overridden.engines[0].outputs = {TensorOverride{"", {-1}, {}}};
    EXPECT_NO_THROW(overridden.validate());
}

// Found by fuzz/fuzz_config.cpp (fuzz/regressions/config/): dimensions whose product wrapped
// to zero in 64 bits reached a division by zero. Shapes and audio windows are capped at 2^31
// elements, with a message, before any size is computed from them.
TEST(ConfigValidationLimits, HugeShapesAndWindowsAreRefusedByName) {
    auto error_of = [](const InferenceConfig& config) -> std::string {
        try {
            InferenceHandler handler(config);
        } catch (const Error& e) {
            return e.what();
        }
        return "accepted";
    };
    InferenceConfig wraps = make_config(make_bypass_backend(), 64);
    wraps.inputs[0].shape = {std::int64_t{1} << 32, std::int64_t{1} << 32, -1};
    EXPECT_NE(error_of(wraps).find("inputs[0].shape: [4294967296, 4294967296, -1] holds more "
                                   "than 2^31 elements"),
              std::string::npos)
        << error_of(wraps);
    InferenceConfig parameter = make_config(make_bypass_backend(), 64);
    TensorSpec huge;
    huge.name = "huge";
    huge.role = TensorRole::parameter;
    huge.shape = {1 << 20, 1 << 20};
    parameter.inputs.push_back(huge);
    EXPECT_NE(error_of(parameter).find("inputs[1].shape: [1048576, 1048576] holds more than 2^31"),
              std::string::npos)
        << error_of(parameter);
    InferenceConfig windows = make_config(make_bypass_backend(), std::size_t{1} << 24);
    windows.inputs[0].layout = AudioLayout::sliding_windows_channels_first;
    windows.inputs[0].window_length = std::size_t{1} << 24;
    windows.inputs[0].past_context = (std::size_t{1} << 24) - 1;
    windows.inputs[0].shape = {-1, 1, std::int64_t{1} << 24};
    EXPECT_NE(error_of(windows).find("more than the 2^31 a tensor may hold"), std::string::npos)
        << error_of(windows);
}

}  // namespace
}  // namespace legato::test
