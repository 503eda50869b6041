// JSON model configs: every file in models/ loads and streams its model exactly on every engine
// it names; every kind of mistake is reported with the file and the JSON path; to_json() and
// parse_model_config() are inverse.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "legato/config_file.hpp"
#include "legato/engines.hpp"
#include "legato/error.hpp"
#include "legato/inference_handler.hpp"
#include "npy.hpp"
#include "stream_support.hpp"

namespace legato {
namespace {

const std::filesystem::path models_dir = LEGATO_TEST_MODELS_DIR;

bool built_in(const std::string& engine) {
    const auto names = available_engines();
    return std::find(names.begin(), names.end(), engine) != names.end();
}

// --- every project config streams its model exactly --------------------------------------

struct ConfigCase {
    std::string model;
    std::string stream;
};

class ProjectConfig : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(ProjectConfig, StreamsTheReferenceOnEveryEngine) {
    const ConfigCase& c = GetParam();
    const ModelConfig config =
        load_model_config(models_dir / (c.model + ".json"), /*skip_unavailable_engines=*/true);
    EXPECT_EQ(config.name, c.model);
    ASSERT_TRUE(config.sample_rate.has_value());
    const test::Signal input = test::read_npy_channels(models_dir / c.stream);
    const test::Signal reference = test::read_npy_channels(models_dir / (c.model + ".out.npy"));
    for (std::size_t e = 0; e < config.inference.engines.size(); ++e) {
        SCOPED_TRACE(config.engine_names()[e]);
        InferenceConfig inference = config.inference;
        // One engine per handler: a stateful model's state must come from that engine alone.
        std::rotate(inference.engines.begin(),
                    inference.engines.begin() + static_cast<std::ptrdiff_t>(e),
                    inference.engines.end());
        InferenceHandler handler(inference);
        HostConfig host;
        host.max_block_size = 100;
        host.offline_rendering = true;
        handler.prepare(host);
        test::HostSimulation simulation;
        simulation.block_sizes = {100};
        const test::Signal output = test::stream(handler, input, handler.latency(), simulation);
        double worst = 0.0;
        for (std::size_t ch = 0; ch < reference.size(); ++ch)
            for (std::size_t t = 0; t < reference[ch].size(); ++t)
                worst = std::max(worst, std::abs(static_cast<double>(
                                            output[ch][t + handler.latency()] - reference[ch][t])));
        EXPECT_LT(worst, 1e-5) << c.model;
        EXPECT_EQ(handler.statistics().failed_inferences, 0U);
    }
}

INSTANTIATE_TEST_SUITE_P(Models, ProjectConfig,
                         ::testing::Values(ConfigCase{"cnn_past", "stream_mono.npy"},
                                           ConfigCase{"stereo", "stream_stereo.npy"},
                                           ConfigCase{"gain", "stream_mono.npy"},
                                           ConfigCase{"hybrid", "stream_mono.npy"},
                                           ConfigCase{"lstm_state", "stream_mono.npy"},
                                           ConfigCase{"lstm_internal", "stream_mono.npy"}),
                         [](const auto& param_info) { return param_info.param.model; });

TEST(ConfigFile, ReadsEveryKey) {
    const ModelConfig config = load_model_config(models_dir / "gain.json", true);
    ASSERT_EQ(config.inference.inputs.size(), 2U);
    EXPECT_EQ(config.inference.inputs[1].role, TensorRole::parameter);
    EXPECT_EQ(config.inference.inputs[1].initial_value, std::vector<float>{0.5F});
    ASSERT_EQ(config.parameters.size(), 1U);
    EXPECT_EQ(config.parameters[0].name, "gain");
    EXPECT_EQ(config.parameters[0].label, "Gain");
    EXPECT_EQ(config.parameters[0].minimum, 0.0F);
    EXPECT_EQ(config.parameters[0].maximum, 2.0F);
    EXPECT_EQ(config.parameters[0].default_value, 0.5F);
    EXPECT_EQ(config.inference.max_inference_time_ms, 2.0);
    // "measure" (or no key): measured during warm-up.
    const ModelConfig measured = parse_model_config(
        R"({"engines": [{"engine": "bypass"}], "max_inference_time_ms": "measure",
            "inputs": [{"name": "in", "shape": [1, 1, -1], "hop": 64}],
            "outputs": [{"name": "out", "shape": [1, 1, -1], "hop": 64}]})",
        ".");
    EXPECT_FALSE(measured.inference.max_inference_time_ms.has_value());
    EXPECT_TRUE(config.file.is_absolute());
    // Model paths are resolved against the file's folder.
    for (const auto& engine : config.inference.engines)
        EXPECT_EQ(engine.model.path.parent_path(),
                  std::filesystem::absolute(models_dir).lexically_normal());

    const ModelConfig state = load_model_config(models_dir / "lstm_state.json", true);
    EXPECT_TRUE(state.inference.stateful);
    ASSERT_EQ(state.inference.state_pairs.size(), 2U);
    EXPECT_EQ(state.inference.state_pairs[1].output, "c_out");
}

TEST(ConfigFile, ReadsContextAndTimingKeys) {
    const char* text = R"({
      "engines": [{"engine": "bypass"}],
      "inputs": [{"name": "in", "shape": [1, 2, -1], "channels": 2, "hop": 64, "past_context": 8}],
      "outputs": [{"name": "out", "shape": [1, 2, -1], "channels": 2, "hop": 64}],
      "max_inference_time_ms": 1.25,
      "measure": {"percentile": 0.9, "safety_factor": 2, "wake_allowance_ms": 0.5},
      "warm_up": 7, "parallel_instances": 3, "stateful": false, "late_policy": "repeat_last",
      "context": {"worker_threads": 2, "realtime_priority": false, "priority": 30,
                  "wake_strategy": "poll", "spin_before_sleep_us": 10, "max_handlers": 8}
    })";
    const ModelConfig c = parse_model_config(text, ".");
    EXPECT_EQ(c.inference.max_inference_time_ms, 1.25);
    EXPECT_EQ(c.inference.measure_percentile, 0.9);
    EXPECT_EQ(c.inference.measure_safety_factor, 2.0);
    EXPECT_EQ(c.inference.measure_wake_allowance_ms, 0.5);
    EXPECT_EQ(c.inference.warm_up, 7U);
    EXPECT_EQ(c.inference.parallel_instances, 3U);
    EXPECT_EQ(c.inference.late_policy, LatePolicy::repeat_last);
    EXPECT_EQ(c.inference.inputs[0].past_context, 8U);
    EXPECT_EQ(c.context.worker_threads, 2U);
    EXPECT_FALSE(c.context.realtime_priority);
    EXPECT_EQ(c.context.realtime_priority_level, 30);
    EXPECT_EQ(c.context.wake_strategy, WakeStrategy::poll);
    EXPECT_EQ(c.context.spin_before_sleep.count(), 10);
    EXPECT_EQ(c.context.max_handlers, 8U);
    EXPECT_EQ(c.engine_names(), std::vector<std::string>{"bypass"});
}

TEST(ConfigFile, ReadsTimerWakeKeys) {
    const ModelConfig c = parse_model_config(
        R"({"engines": [{"engine": "bypass"}],
            "inputs": [{"name": "in", "shape": [1, 1, -1], "hop": 64}],
            "outputs": [{"name": "out", "shape": [1, 1, -1], "hop": 64}],
            "context": {"wake_strategy": "timer", "timer_interval_us": 200,
                        "timer_idle_timeout_ms": 0}})",
        ".");
    EXPECT_EQ(c.context.wake_strategy, WakeStrategy::timer);
    EXPECT_EQ(c.context.timer_interval.count(), 200);
    EXPECT_EQ(c.context.timer_idle_timeout.count(), 0);
    EXPECT_EQ(parse_model_config(to_json(c, "."), ".").context.timer_idle_timeout.count(), 0);
}

TEST(ConfigFile, ReadsAnticipationKeysAndAnticipateIsTheDefault) {
    const char* base = R"({"engines": [{"engine": "bypass"}],
            "inputs": [{"name": "in", "shape": [1, 1, -1], "hop": 64}],
            "outputs": [{"name": "out", "shape": [1, 1, -1], "hop": 64}])";
    EXPECT_EQ(parse_model_config(std::string(base) + "}", ".").context.wake_strategy,
              WakeStrategy::anticipate);
    const ModelConfig c =
        parse_model_config(std::string(base) + R"(, "context": {"wake_strategy": "anticipate",
                        "anticipation_spin_us": 300, "anticipation_idle_timeout_ms": 20}})",
                           ".");
    EXPECT_EQ(c.context.wake_strategy, WakeStrategy::anticipate);
    EXPECT_EQ(c.context.anticipation_spin.count(), 300);
    EXPECT_EQ(c.context.anticipation_idle_timeout.count(), 20);
    const ModelConfig back = parse_model_config(to_json(c, "."), ".");
    EXPECT_EQ(back.context.wake_strategy, WakeStrategy::anticipate);
    EXPECT_EQ(back.context.anticipation_spin.count(), 300);
    EXPECT_EQ(back.context.anticipation_idle_timeout.count(), 20);
}

// --- round trip ---------------------------------------------------------------------------

TEST(ConfigFile, ToJsonRoundTrips) {
    for (const char* name : {"cnn_past", "gain", "hybrid", "lstm_state", "stereo"}) {
        SCOPED_TRACE(name);
        const ModelConfig first =
            load_model_config(models_dir / (std::string(name) + ".json"), true);
        const std::string text = to_json(first, models_dir);
        const ModelConfig second = parse_model_config(text, models_dir, true, name);
        EXPECT_EQ(to_json(second, models_dir), text);
        EXPECT_EQ(second.inference.inputs.size(), first.inference.inputs.size());
        EXPECT_EQ(second.engine_names(), first.engine_names());
        EXPECT_EQ(second.inference.engines[0].model.path, first.inference.engines[0].model.path);
    }
}

// --- errors name the file and the JSON path -----------------------------------------------

struct BadConfig {
    std::string label;
    std::string json;
    std::string expected;  // a substring of the message
};

std::string minimal(
    const std::string& inputs = R"([{"name": "in", "shape": [1, 1, -1], "hop": 64}])",
    const std::string& extra = "") {
    return R"({"engines": [{"engine": "bypass"}], "inputs": )" + inputs +
           R"(, "outputs": [{"name": "out", "shape": [1, 1, -1], "hop": 64}])" + extra + "}";
}

// `text` with the first `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const std::size_t at = text.find(from);
    if (at != std::string::npos)
        text.replace(at, from.size(), to);
    return text;
}

class ConfigErrors : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigErrors, NameTheField) {
    const BadConfig& c = GetParam();
    try {
        parse_model_config(c.json, models_dir, false, "bad.json");
        FAIL() << "accepted: " << c.json;
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("bad.json: "), std::string::npos) << message;
        EXPECT_NE(message.find(c.expected), std::string::npos)
            << "expected \"" << c.expected << "\" in: " << message;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigErrors,
    ::testing::Values(
        BadConfig{"not_json", "{\"engines\": [", "invalid JSON at line 1"},
        // Found by fuzzing: the parser throws out_of_range, not parse_error, for this.
        BadConfig{"number_overflow", minimal("[]", R"(, "max_inference_time_ms": 6e6000000)"),
                  "invalid JSON: number overflow parsing '6e6000000'"},
        BadConfig{"not_object", "[1, 2]", "expected an object, got an array"},
        BadConfig{"unknown_top_key", minimal("[]", R"(, "hopp": 3)"),
                  "hopp: unknown key; expected one of"},
        BadConfig{"misspelt_key", minimal(R"([{"name": "in", "shape": [1, 1, -1], "hopp": 64}])"),
                  "inputs[0].hopp: unknown key (did you mean \"hop\"?)"},
        BadConfig{"shape_type", minimal(R"([{"name": "in", "shape": "1x1", "hop": 64}])"),
                  "inputs[0].shape: expected an array of integers, got a string"},
        BadConfig{"shape_element", minimal(R"([{"name": "in", "shape": [1, 1.5, -1], "hop": 64}])"),
                  "inputs[0].shape[1]: expected an integer, got 1.5"},
        BadConfig{"shape_negative", minimal(R"([{"name": "in", "shape": [1, -3, -1], "hop": 64}])"),
                  "inputs[0].shape[1]: must be -1"},
        BadConfig{"missing_name", minimal(R"([{"shape": [1, 1, -1], "hop": 64}])"),
                  "inputs[0].name: is required"},
        BadConfig{"missing_inputs", R"({"engines": [{"engine": "bypass"}], "outputs": []})",
                  "inputs: is required"},
        BadConfig{"bad_role",
                  minimal(R"([{"name": "in", "role": "audi", "shape": [1, 1, -1], "hop": 64}])"),
                  "inputs[0].role: \"audi\" is not one of \"audio\", \"parameter\", \"state\""},
        BadConfig{"bad_layout",
                  minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 64, "layout": "nchw"}])"),
                  "inputs[0].layout: \"nchw\" is not one of"},
        BadConfig{"hop_zero", minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 0}])"),
                  "inputs[0].hop: must be at least 1"},
        BadConfig{"hop_negative", minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": -4}])"),
                  "inputs[0].hop: must be zero or more, got -4"},
        BadConfig{"hop_string", minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": "64"}])"),
                  "inputs[0].hop: expected an integer, got a string"},
        BadConfig{"audio_key_on_parameter",
                  minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 64},
                              {"name": "g", "role": "parameter", "shape": [1], "hop": 1}])"),
                  "inputs[1].hop: only audio tensors take it (role is parameter)"},
        BadConfig{"default_on_audio",
                  minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 64, "default": 1}])"),
                  "inputs[0].default: only parameter tensors take it"},
        BadConfig{"default_count", minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 64},
                              {"name": "g", "role": "parameter", "shape": [2], "default": [1, 2, 3]}])"),
                  "inputs[1].default: has 3 values; shape [2] needs 2"},
        BadConfig{"default_outside_range",
                  minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 64},
                              {"name": "g", "role": "parameter", "shape": [1], "default": 3, "range": [0, 1]}])"),
                  "inputs[1].default: lies outside range [0, 1]"},
        BadConfig{"range_reversed", minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 64},
                              {"name": "g", "role": "parameter", "shape": [1], "range": [1, 0]}])"),
                  "inputs[1].range: minimum must be below maximum"},
        BadConfig{
            "unknown_engine",
            R"({"engines": [{"engine": "tensorrt", "model": "x"}], "inputs": [], "outputs": []})",
            "engines[0].model: no such file"},
        BadConfig{
            "unknown_engine_name",
            R"({"engines": [{"engine": "tensorrt"}], "inputs": [{"name": "in", "shape": [1, 1, -1], "hop": 64}], "outputs": [{"name": "out", "shape": [1, 1, -1], "hop": 64}]})",
            "engines[0].model: is required for engine \"tensorrt\""},
        BadConfig{
            "unknown_engine_with_model",
            R"({"engines": [{"engine": "tensorrt", "model": "gain.onnx"}], "inputs": [{"name": "in", "shape": [1, 1, -1], "hop": 64}], "outputs": [{"name": "out", "shape": [1, 1, -1], "hop": 64}]})",
            "engines[0].engine: engine 'tensorrt' is unknown; available: bypass"},
        BadConfig{
            "missing_model_file",
            R"({"engines": [{"engine": "onnxruntime", "model": "nope.onnx"}], "inputs": [], "outputs": []})",
            "engines[0].model: no such file: "},
        BadConfig{"no_engines", replaced(minimal(), R"([{"engine": "bypass"}])", "[]"),
                  "engines: must name at least one engine"},
        BadConfig{"custom_engine", replaced(minimal(), "bypass", "custom"),
                  "engines[0].engine: custom backends need code"},
        BadConfig{"override_count",
                  replaced(minimal(), R"({"engine": "bypass"})",
                           R"({"engine": "bypass", "inputs": [{}, {}]})"),
                  "engines[0].inputs: has 2 entries; expected none or one per inputs entry (1)"},
        BadConfig{"override_key",
                  replaced(minimal(), R"({"engine": "bypass"})",
                           R"({"engine": "bypass", "inputs": [{"hop": 3}]})"),
                  "engines[0].inputs[0].hop: unknown key"},
        BadConfig{"max_time_word", minimal("[]", R"(, "max_inference_time_ms": "auto")"),
                  "max_inference_time_ms: expected milliseconds or \"measure\", got \"auto\""},
        BadConfig{"max_time_negative",
                  minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 64}])",
                          R"(, "max_inference_time_ms": -2)"),
                  "max_inference_time_ms: must be a positive number of milliseconds"},
        BadConfig{"measure_percentile",
                  minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 64}])",
                          R"(, "measure": {"percentile": 2})"),
                  "measure.percentile: must be in (0, 1]"},
        BadConfig{"measure_key", minimal("[]", R"(, "measure": {"percentil": 0.5})"),
                  "measure.percentil: unknown key (did you mean \"percentile\"?)"},
        BadConfig{"late_policy", minimal("[]", R"(, "late_policy": "drop")"),
                  "late_policy: \"drop\" is not one of \"silence\", \"dry\", \"repeat_last\""},
        BadConfig{"stateful_type", minimal("[]", R"(, "stateful": "yes")"),
                  "stateful: expected true or false, got a string"},
        BadConfig{"state_pair_missing",
                  minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 64}])",
                          R"(, "state_pairs": [{"output": "h_out"}])"),
                  "state_pairs[0].input: is required"},
        BadConfig{
            "state_pair_unknown",
            minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 64}])",
                    R"(, "stateful": true, "state_pairs": [{"output": "h_out", "input": "h_in"}])"),
            "state_pairs[0].output: no output named 'h_out'"},
        BadConfig{"context_priority", minimal("[]", R"(, "context": {"priority": 120})"),
                  "context.priority: must be a SCHED_FIFO priority 1..99, got 120"},
        BadConfig{"context_wake", minimal("[]", R"(, "context": {"wake_strategy": "spin"})"),
                  "context.wake_strategy: \"spin\" is not one of \"sleep\", \"poll\", \"timer\", "
                  "\"anticipate\""},
        BadConfig{"context_timer", minimal("[]", R"(, "context": {"timer_interval_us": 5})"),
                  "context.timer_interval_us: must be between 10 and 10000, got 5"},
        BadConfig{"context_timer_idle",
                  minimal("[]", R"(, "context": {"timer_idle_timeout_ms": 60001})"),
                  "context.timer_idle_timeout_ms: must be 0 (never) or between 1 and 60000, "
                  "got 60001"},
        BadConfig{"context_anticipation_spin",
                  minimal("[]", R"(, "context": {"anticipation_spin_us": 5})"),
                  "context.anticipation_spin_us: must be between 10 and 10000, got 5"},
        BadConfig{"context_anticipation_idle",
                  minimal("[]", R"(, "context": {"anticipation_idle_timeout_ms": 0})"),
                  "context.anticipation_idle_timeout_ms: must be between 1 and 60000, got 0"},
        BadConfig{"sample_rate", minimal("[]", R"(, "sample_rate": 0)"),
                  "sample_rate: must be between 1000 and 1536000 Hz, got 0"},
        BadConfig{"parallel_stateful",
                  minimal(R"([{"name": "in", "shape": [1, 1, -1], "hop": 64}])",
                          R"(, "stateful": true, "parallel_instances": 2)"),
                  "parallel_instances: must be 1 for a stateful model"},
        BadConfig{"huge_integer", minimal("[]", R"(, "warm_up": 18446744073709551615)"),
                  "warm_up: is too large"}),
    [](const auto& param_info) { return param_info.param.label; });

TEST(ConfigFile, FileErrorsNameTheFile) {
    const auto dir = std::filesystem::temp_directory_path() / "legato_config_file_test";
    std::filesystem::create_directories(dir);
    EXPECT_THROW(
        {
            try {
                load_model_config(dir / "absent.json");
            } catch (const Error& e) {
                EXPECT_NE(std::string(e.what()).find("absent.json: no such file"),
                          std::string::npos)
                    << e.what();
                throw;
            }
        },
        Error);
    EXPECT_THROW(load_model_config(dir), Error);  // a directory
    // A config beside its model: relative paths resolve against the file, not the working dir.
    std::filesystem::copy_file(models_dir / "gain.onnx", dir / "gain.onnx",
                               std::filesystem::copy_options::overwrite_existing);
    {
        std::ofstream out(dir / "moved.json");
        out << R"({"engines": [{"engine": "onnxruntime", "model": "gain.onnx"}],
                   "inputs": [{"name": "audio_in", "shape": [1, 1, -1], "hop": 64},
                              {"name": "gain", "role": "parameter", "shape": [1]}],
                   "outputs": [{"name": "audio_out", "shape": [1, 1, -1], "hop": 64},
                               {"name": "peak", "role": "parameter", "shape": [1]}]})";
    }
    if (built_in("onnxruntime")) {
        const ModelConfig moved = load_model_config(dir / "moved.json");
        EXPECT_EQ(moved.inference.engines[0].model.path, (dir / "gain.onnx").lexically_normal());
        EXPECT_EQ(moved.name, "moved");
        EXPECT_EQ(moved.parameters[0].default_value, 0.0F);
    }
    std::filesystem::remove_all(dir);
}

TEST(ConfigFile, UnavailableEnginesCanBeSkipped) {
    const std::string text = R"({"engines": [{"engine": "onnxruntime", "model": "gain.onnx"},
                                             {"engine": "bypass"}],
        "inputs": [{"name": "audio_in", "shape": [1, 1, -1], "hop": 64},
                   {"name": "gain", "role": "parameter", "shape": [1]}],
        "outputs": [{"name": "audio_out", "shape": [1, 1, -1], "hop": 64},
                    {"name": "peak", "role": "parameter", "shape": [1]}]})";
    const ModelConfig c = parse_model_config(text, models_dir, true);
    EXPECT_EQ(c.engine_names().back(), "bypass");
    EXPECT_EQ(c.engine_names().size(), built_in("onnxruntime") ? 2U : 1U);
}

}  // namespace
}  // namespace legato
