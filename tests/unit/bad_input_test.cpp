// Bad input: every config check names its field and reason, prepare() failures leave the handler
// usable, process() copes exactly with odd host arguments, and the any-thread API rejects wrong
// names and sizes without side effects.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "legato/latency.hpp"
#include "stream_support.hpp"

namespace legato::test {
namespace {

// Keeps the process-wide pool alive across tests instead of restarting its threads per handler.
const std::shared_ptr<Context> shared_context = Context::shared();

constexpr std::size_t kHop = 64;
constexpr std::size_t kPast = 16;
constexpr float kSentinel = 42.0f;  // marks host output samples the handler never wrote
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------------------------
// Error helpers

// Runs `action` and returns the legato::Error message; records a failure if it does not throw
// exactly legato::Error.
std::string error_message(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "threw a non-legato exception: " << e.what();
        return {};
    } catch (...) {
        ADD_FAILURE() << "threw a non-std exception";
        return {};
    }
    ADD_FAILURE() << "did not throw";
    return {};
}

::testing::AssertionResult contains_all(const std::string& message,
                                        const std::vector<std::string>& parts) {
    for (const auto& part : parts)
        if (message.find(part) == std::string::npos)
            return ::testing::AssertionFailure()
                   << "message \"" << message << "\" lacks \"" << part << "\"";
    return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------------------
// Config builders

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

TensorSpec fixed_spec(std::string name, TensorRole role, std::vector<std::int64_t> shape) {
    TensorSpec spec;
    spec.name = std::move(name);
    spec.role = role;
    spec.shape = std::move(shape);
    return spec;
}

// A valid config: audio_in [1, 1, -1] (hop 64, past 16) -> audio_out [1, 1, -1] on bypass.
InferenceConfig base_config() {
    return make_config(make_bypass_backend(), kHop, kPast, 1, half_hop_ms(kHop));
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

// ---------------------------------------------------------------------------------------------
// 1. InferenceConfig validation, one row per check

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

// ---------------------------------------------------------------------------------------------
// 2. HostConfig::validate through prepare()

struct HostCase {
    std::string description;
    double sample_rate;
    std::size_t max_block_size;
    std::string expected;
};

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

TEST(HostConfigValidation, PrepareRejectsOutOfRangeValues) {
    const std::vector<HostCase> cases = {
        {"rate 0", 0.0, 512, "HostConfig.sample_rate: must be between 1000 and 1536000 Hz, got 0"},
        {"rate NaN", kNaN, 512, "HostConfig.sample_rate: must be between 1000 and 1536000 Hz"},
        {"rate inf", kInf, 512, "HostConfig.sample_rate: must be between 1000 and 1536000 Hz"},
        {"rate negative", -48000.0, 512, "HostConfig.sample_rate: must be between"},
        {"rate 999", 999.0, 512,
         "HostConfig.sample_rate: must be between 1000 and 1536000 Hz, "
         "got 999.000000"},
        {"rate 2e6", 2e6, 512,
         "HostConfig.sample_rate: must be between 1000 and 1536000 Hz, "
         "got 2000000.000000"},
        {"block 0", 48000.0, 0, "HostConfig.max_block_size: must be at least 1"},
        {"block 2^20+1", 48000.0, (std::size_t{1} << 20) + 1,
         "HostConfig.max_block_size: must be at most 1048576, got 1048577"},
    };
    InferenceHandler handler(base_config());
    for (const auto& row : cases) {
        SCOPED_TRACE(row.description);
        HostConfig host;
        host.sample_rate = row.sample_rate;
        host.max_block_size = row.max_block_size;
        EXPECT_TRUE(contains_all(error_message([&] { handler.prepare(host); }), {row.expected}));
        EXPECT_TRUE(contains_all(error_message([&] { host.validate(); }), {row.expected}));
        EXPECT_EQ(handler.latency(), 0u);  // nothing was prepared
    }
    // The limits themselves are accepted.
    for (const auto& [rate, block] :
         {std::pair{1000.0, std::size_t{1}}, std::pair{1'536'000.0, std::size_t{1} << 20}}) {
        HostConfig host;
        host.sample_rate = rate;
        host.max_block_size = block;
        EXPECT_NO_THROW(host.validate()) << rate << " Hz, block " << block;
    }
    // Still usable after all the rejections.
    HostConfig host;
    host.max_block_size = 64;
    EXPECT_NO_THROW(handler.prepare(host));
    EXPECT_GT(handler.latency(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Host driver for process() tests: explicit host buffers and pointer arrays.

class HostDriver {
public:
    HostDriver(InferenceHandler& handler, std::size_t input_channels, std::size_t output_channels,
               std::size_t total)
        : input(input_channels, std::vector<float>(total, 0.0f)),
          output(output_channels, std::vector<float>(total, kSentinel)),
          handler_(handler),
          in_pointers_(input_channels),
          out_pointers_(output_channels) {}

    /// Processes the next `frames` frames; channels listed in null_in / null_out are passed as
    /// null pointers, and null_*_array passes a null pointer array instead.
    void call(std::size_t frames, const std::vector<std::size_t>& null_in = {},
              const std::vector<std::size_t>& null_out = {}, bool null_in_array = false,
              bool null_out_array = false) {
        for (std::size_t c = 0; c < input.size(); ++c)
            in_pointers_[c] = contains(null_in, c) ? nullptr : input[c].data() + position;
        for (std::size_t c = 0; c < output.size(); ++c)
            out_pointers_[c] = contains(null_out, c) ? nullptr : output[c].data() + position;
        handler_.process(null_in_array ? nullptr : in_pointers_.data(), input.size(),
                         null_out_array ? nullptr : out_pointers_.data(), output.size(), frames);
        position += frames;
    }

    /// Calls with `blocks` (cycled) until `total` frames are processed; returns the calls made.
    std::size_t run(const std::vector<std::size_t>& blocks, std::size_t total,
                    const std::vector<std::size_t>& null_in = {},
                    const std::vector<std::size_t>& null_out = {}) {
        std::size_t calls = 0;
        for (; position < total; ++calls)
            call(std::min(blocks[calls % blocks.size()], total - position), null_in, null_out);
        return calls;
    }

    Signal input;
    Signal output;
    std::size_t position = 0;

private:
    static bool contains(const std::vector<std::size_t>& list, std::size_t value) {
        return std::find(list.begin(), list.end(), value) != list.end();
    }
    InferenceHandler& handler_;
    std::vector<const float*> in_pointers_;
    std::vector<float*> out_pointers_;
};

// A prepared offline handler running the window model on `channels` channels.
std::unique_ptr<InferenceHandler> window_handler(std::size_t channels,
                                                 std::size_t max_block_size = 64) {
    InferenceConfig config = make_config(make_custom_backend("window", window_model), kHop, kPast,
                                         channels, half_hop_ms(kHop));
    auto handler = std::make_unique<InferenceHandler>(config);
    HostConfig host;
    host.max_block_size = max_block_size;
    host.offline_rendering = true;  // exact output however fast we call
    handler->prepare(host);
    return handler;
}

constexpr std::size_t kFrames = 1500;  // input frames compared against the reference

// Frames to stream so that all kFrames input frames come out.
std::size_t total_frames(const InferenceHandler& handler) {
    return kFrames + handler.latency() + 2 * kHop;
}

// Host input: noise for the first kFrames frames (or the whole buffer if shorter), then silence.
void fill_input(HostDriver& driver, std::uint32_t seed = 3) {
    const std::size_t frames = std::min(kFrames, driver.input.empty() ? 0 : driver.input[0].size());
    const Signal noise = make_signal(driver.input.size(), frames, seed);
    for (std::size_t c = 0; c < driver.input.size(); ++c)
        std::copy(noise[c].begin(), noise[c].end(), driver.input[c].begin());
}

// The window model's output for the given channels of `input`.
Signal reference_of(const Signal& input) {
    return window_model_reference(input, kHop, kPast);
}

Signal pick(const Signal& signal, const std::vector<std::size_t>& channels) {
    Signal picked;
    for (const std::size_t c : channels)
        picked.push_back(signal[c]);
    return picked;
}

Signal silence(std::size_t channels, std::size_t frames) {
    return Signal(channels, std::vector<float>(frames, 0.0f));
}

// ---------------------------------------------------------------------------------------------
// 3. prepare() errors

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

// ---------------------------------------------------------------------------------------------
// 4. process() edge behaviour

TEST(ProcessEdges, BeforePrepareOutputsSilenceAndLeavesInputs) {
    InferenceHandler handler(
        make_config(make_custom_backend("window", window_model), kHop, kPast, 2, 0.5));
    HostDriver driver(handler, 2, 3, 300);
    fill_input(driver);
    const Signal input_before = driver.input;
    driver.call(100);
    driver.call(100, {1}, {1});  // null channels
    driver.call(100, {}, {}, true, true);
    EXPECT_EQ(driver.input, input_before);
    Signal expected = silence(3, 300);
    for (std::size_t n = 100; n < 300; ++n)
        expected[1][n] = kSentinel;  // null output channel, then null output array
    for (std::size_t n = 200; n < 300; ++n)
        expected[0][n] = expected[2][n] = kSentinel;
    EXPECT_EQ(driver.output, expected);
    // Null everything and zero frames are harmless too.
    handler.process(nullptr, 0, nullptr, 0, 64);
    handler.process(nullptr, 5, nullptr, 5, 0);
    EXPECT_EQ(handler.latency(), 0u);
    EXPECT_EQ(handler.statistics().blocks, 0u);
    EXPECT_EQ(handler.statistics().frames, 0u);
    // In-place: the buffers are outputs, so they are silenced.
    std::vector<float> a(50, 1.0f);
    std::vector<float> b(50, 2.0f);
    std::array<float*, 2> channels{a.data(), b.data()};
    handler.process(channels.data(), 2, 50);
    EXPECT_EQ(a, std::vector<float>(50, 0.0f));
    EXPECT_EQ(b, std::vector<float>(50, 0.0f));
}

TEST(ProcessEdges, ZeroFramesHasNoEffect) {
    auto handler = window_handler(1);
    HostDriver driver(*handler, 1, 1, total_frames(*handler));
    fill_input(driver);
    driver.call(64);
    const Statistics before = handler->statistics();
    EXPECT_EQ(before.blocks, 1u);
    for (int i = 0; i < 5; ++i) {
        driver.call(0);
        handler->process(nullptr, 0, nullptr, 0, 0);
    }
    const Statistics after = handler->statistics();
    EXPECT_EQ(after.blocks, before.blocks);
    EXPECT_EQ(after.frames, before.frames);
    EXPECT_EQ(after.inferences_submitted, before.inferences_submitted);
    EXPECT_EQ(after.oversized_blocks, 0u);
    EXPECT_EQ(driver.output[0][64], kSentinel);  // nothing written past the last block
    // And the stream carries on exactly, with zero-frame calls interleaved.
    while (driver.position < driver.input[0].size()) {
        driver.call(std::min<std::size_t>(37, driver.input[0].size() - driver.position));
        driver.call(0);
    }
    EXPECT_EQ(
        count_mismatches(driver.output, reference_of(driver.input), handler->latency(), kFrames),
        0u);
}

// The extremes of what hosts do: 8 kHz to 384 kHz, blocks of 1 and of 16384 frames, fixed and
// varying. Each streams exactly (offline, so whatever the machine's timing), and in real-time
// mode the latency computed for the rate covers the maximum inference time in samples.
struct ExtremeHost {
    double sample_rate;
    std::size_t block;
    bool variable;
};

class ExtremeHosts : public ::testing::TestWithParam<ExtremeHost> {};

TEST_P(ExtremeHosts, StreamExactlyWithTheLatencyOfTheirRate) {
    const ExtremeHost h = GetParam();
    constexpr std::size_t hop = 512;  // 1.33 ms at 384 kHz: a 1 ms inference keeps up
    constexpr std::size_t past = 20;
    InferenceConfig config =
        make_config(make_custom_backend("window", window_model), hop, past, 1, 1.0);
    InferenceHandler handler(config);
    HostConfig host;
    host.sample_rate = h.sample_rate;
    host.max_block_size = h.block;
    host.variable_block_size = h.variable;
    host.offline_rendering = true;
    handler.prepare(host);
    const std::size_t latency = handler.latency();
    LatencyInputs expected;
    expected.sample_rate = h.sample_rate;
    expected.max_block_size = h.block;
    expected.variable_block_size = h.variable;
    expected.hop = hop;
    expected.max_inference_time_ms = 1.0;
    EXPECT_EQ(latency, compute_latency(expected));
    // A result may take 1 ms after its hop is complete: rate / 1000 samples.
    EXPECT_GE(latency, static_cast<std::size_t>(h.sample_rate / 1000.0));
    const std::size_t frames = std::max<std::size_t>(4 * h.block, 6000);
    const Signal input = make_signal(1, frames);
    HostSimulation simulation;
    simulation.block_sizes = h.variable ? std::vector<std::size_t>{h.block, 1, h.block / 2 + 1}
                                        : std::vector<std::size_t>{h.block};
    const Signal output = stream(handler, input, latency + hop, simulation);
    EXPECT_EQ(count_mismatches(output, window_model_reference(input, hop, past), latency,
                               frames / hop * hop),
              0u);
    EXPECT_EQ(handler.statistics().oversized_blocks, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Rates, ExtremeHosts,
    ::testing::Values(ExtremeHost{8000.0, 1, false}, ExtremeHost{8000.0, 16384, false},
                      ExtremeHost{384000.0, 1, false}, ExtremeHost{384000.0, 16384, false},
                      ExtremeHost{384000.0, 16384, true}, ExtremeHost{44100.0, 1, true}),
    [](const ::testing::TestParamInfo<ExtremeHost>& param_info) {
        return std::to_string(static_cast<int>(param_info.param.sample_rate)) + "Hz_block" +
               std::to_string(param_info.param.block) +
               (param_info.param.variable ? "_varying" : "_fixed");
    });

TEST(ProcessEdges, OversizedBlocksAreChunkedExactlyAndCounted) {
    const std::vector<std::vector<std::size_t>> patterns = {
        {1000}, {4096}, {1000, 13, 64, 4096, 65, 1, 200}};
    for (const auto& blocks : patterns) {
        SCOPED_TRACE(::testing::PrintToString(blocks));
        auto handler = window_handler(2, 64);
        const std::size_t total = 9000 + handler->latency() + 2 * kHop;
        HostDriver driver(*handler, 2, 2, total);
        const Signal noise = make_signal(2, 9000, 11);
        for (std::size_t c = 0; c < 2; ++c)
            std::copy(noise[c].begin(), noise[c].end(), driver.input[c].begin());
        std::size_t calls = 0;
        std::size_t oversized = 0;
        while (driver.position < total) {
            const std::size_t frames =
                std::min(blocks[calls % blocks.size()], total - driver.position);
            oversized += frames > 64 ? 1 : 0;
            driver.call(frames);
            ++calls;
        }
        EXPECT_EQ(
            count_mismatches(driver.output, reference_of(driver.input), handler->latency(), 9000),
            0u);
        const Statistics stats = handler->statistics();
        EXPECT_EQ(stats.blocks, calls);
        EXPECT_EQ(stats.frames, total);
        EXPECT_EQ(stats.oversized_blocks, oversized);
        EXPECT_GT(stats.oversized_blocks, 0u);
        EXPECT_EQ(stats.late_inferences, 0u);
        EXPECT_EQ(stats.substituted_frames, 0u);
    }
}

TEST(ProcessEdges, NullInputChannelReadsSilence) {
    auto handler = window_handler(2);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 2, 2, total);
    fill_input(driver);
    driver.run({64, 100}, total, {1});
    Signal effective = driver.input;
    effective[1].assign(total, 0.0f);  // what the model must have seen
    EXPECT_EQ(count_mismatches(driver.output, reference_of(effective), handler->latency(), kFrames),
              0u);
    EXPECT_EQ(driver.output[1], std::vector<float>(total, 0.0f));  // written, as silence
}

TEST(ProcessEdges, NullInputArrayReadsSilence) {
    auto handler = window_handler(2);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 2, 2, total);
    fill_input(driver);
    // The first 640 frames with input, the rest with a null input array.
    driver.run({64}, 640);
    while (driver.position < total)
        driver.call(std::min<std::size_t>(64, total - driver.position), {}, {}, true);
    Signal effective = driver.input;
    for (auto& channel : effective)
        std::fill(channel.begin() + 640, channel.end(), 0.0f);
    EXPECT_EQ(count_mismatches(driver.output, reference_of(effective), handler->latency(), kFrames),
              0u);
}

TEST(ProcessEdges, NullOutputChannelIsSkippedOthersWritten) {
    auto handler = window_handler(2);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 2, 2, total);
    fill_input(driver);
    driver.run({64, 30}, total, {}, {0});
    EXPECT_EQ(driver.output[0], std::vector<float>(total, kSentinel));
    EXPECT_EQ(count_mismatches(pick(driver.output, {1}), pick(reference_of(driver.input), {1}),
                               handler->latency(), kFrames),
              0u);
}

TEST(ProcessEdges, NullOutputArrayKeepsTheStreamAligned) {
    auto handler = window_handler(1);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 1, 1, total);
    fill_input(driver);
    // Discard the first 704 output frames, then collect the rest.
    while (driver.position < 704)
        driver.call(64, {}, {}, false, true);
    driver.run({64}, total);
    const Signal reference = reference_of(driver.input);
    const std::size_t latency = handler->latency();
    EXPECT_EQ(std::count(driver.output[0].begin(), driver.output[0].begin() + 704, kSentinel), 704);
    std::size_t mismatches = 0;
    for (std::size_t n = 704; n < kFrames + latency; ++n)
        mismatches += driver.output[0][n] != (n < latency ? 0.0f : reference[0][n - latency]);
    EXPECT_EQ(mismatches, 0u);
    EXPECT_EQ(handler->statistics().blocks, driver.position / 64 + (driver.position % 64 != 0));
}

TEST(ProcessEdges, FewerHostInputsThanModelReadSilence) {
    auto handler = window_handler(2);  // the model has 2 input channels, the host gives 1
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 1, 2, total);
    fill_input(driver);
    driver.run({64}, total);
    Signal effective = {driver.input[0], std::vector<float>(total, 0.0f)};
    EXPECT_EQ(count_mismatches(driver.output, reference_of(effective), handler->latency(), kFrames),
              0u);
    EXPECT_EQ(driver.output[1], std::vector<float>(total, 0.0f));
}

TEST(ProcessEdges, ExtraHostInputsAreIgnored) {
    auto handler = window_handler(1);  // mono model, 3 host inputs
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 3, 1, total);
    fill_input(driver);
    driver.run({64}, total);
    EXPECT_EQ(count_mismatches(driver.output, reference_of(pick(driver.input, {0})),
                               handler->latency(), kFrames),
              0u);
}

TEST(ProcessEdges, MonoModelFillsEveryHostOutput) {
    auto handler = window_handler(1);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 1, 2, total);
    fill_input(driver);
    driver.run({64}, total);
    const Signal reference = reference_of(driver.input);
    const Signal both = {reference[0], reference[0]};
    EXPECT_EQ(count_mismatches(driver.output, both, handler->latency(), kFrames), 0u);
}

TEST(ProcessEdges, StereoModelOnThreeHostOutputsWraps) {
    // Host output 2 receives model output 2 % 2 = 0.
    auto handler = window_handler(2);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 2, 3, total);
    fill_input(driver);
    driver.run({64}, total);
    const Signal reference = reference_of(driver.input);
    EXPECT_EQ(count_mismatches(driver.output, {reference[0], reference[1], reference[0]},
                               handler->latency(), kFrames),
              0u);
}

TEST(ProcessEdges, FewerHostOutputsWriteOnlyThose) {
    auto handler = window_handler(2);  // stereo model, mono host output
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 2, 1, total);
    fill_input(driver);
    driver.run({64}, total);
    EXPECT_EQ(count_mismatches(driver.output, pick(reference_of(driver.input), {0}),
                               handler->latency(), kFrames),
              0u);
}

TEST(ProcessEdges, InPlaceEqualsSeparateBuffers) {
    const std::vector<std::size_t> blocks = {64, 17, 200, 1, 64};  // incl. oversized chunks
    auto separate = window_handler(2);
    const std::size_t total = total_frames(*separate);
    HostDriver driver(*separate, 2, 2, total);
    fill_input(driver);
    driver.run(blocks, total);

    auto in_place = window_handler(2);
    ASSERT_EQ(in_place->latency(), separate->latency());
    Signal buffers = driver.input;
    std::array<float*, 2> channels{};
    std::size_t position = 0;
    for (std::size_t call = 0; position < total; ++call) {
        const std::size_t frames = std::min(blocks[call % blocks.size()], total - position);
        for (std::size_t c = 0; c < 2; ++c)
            channels[c] = buffers[c].data() + position;
        in_place->process(channels.data(), 2, frames);
        position += frames;
    }
    EXPECT_EQ(buffers, driver.output);
    EXPECT_EQ(count_mismatches(buffers, reference_of(driver.input), separate->latency(), kFrames),
              0u);
}

// ---------------------------------------------------------------------------------------------
// 5. The any-thread API with wrong arguments

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
