// The ONNX Runtime engine: the project's models streamed against their PyTorch references,
// loading from bytes, parallel instances, buffers bound once, and every setup error it reports.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <onnxruntime_c_api.h>

#include "legato/legato.hpp"
#include "legato/onnxruntime_backend.hpp"
#include "npy.hpp"
#include "stream_support.hpp"

// ONNX Runtime 1.30 leaks 14 bytes once per process, inside the library (a known leak, not
// Legato's). LeakSanitizer reads this hook in the AddressSanitizer build; nothing else calls it.
extern "C" const char* __lsan_default_suppressions() {
    return "leak:libonnxruntime.so\n";
}

namespace legato::test {
namespace {

const std::filesystem::path models_dir = LEGATO_TEST_MODELS_DIR;
constexpr std::size_t reference_frames = 8192;
constexpr double tolerance = 1e-5;

std::string model_file(const std::string& name) {
    return (models_dir / name).string();
}

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

Signal read_signal(const std::string& file) {
    return read_npy_channels(models_dir / file);
}

// Workers at normal priority: these tests check results, not timing, on a shared machine.
// Three workers so that three parallel instances really run at once.
std::shared_ptr<Context> test_context() {
    static const std::shared_ptr<Context> context = [] {
        ContextConfig config;
        config.worker_threads = 3;
        config.realtime_priority = false;
        return Context::create(config);
    }();
    return context;
}

TensorSpec audio_tensor(std::string name, std::vector<std::int64_t> shape, std::size_t channels,
                        std::size_t hop, std::size_t past_context = 0,
                        AudioLayout layout = AudioLayout::channels_first) {
    TensorSpec spec;
    spec.name = std::move(name);
    spec.shape = std::move(shape);
    spec.channels = channels;
    spec.hop = hop;
    spec.past_context = past_context;
    spec.layout = layout;
    return spec;
}

TensorSpec fixed_tensor(std::string name, TensorRole role, std::vector<std::int64_t> shape) {
    TensorSpec spec;
    spec.name = std::move(name);
    spec.role = role;
    spec.shape = std::move(shape);
    return spec;
}

InferenceConfig onnx_config(ModelSource source,
                            std::shared_ptr<Backend> backend = make_onnxruntime_backend()) {
    InferenceConfig config;
    config.engines.push_back({std::move(backend), std::move(source), {}, {}, {}});
    config.max_inference_time_ms = 1.0;  // fixed, so that nothing is measured
    config.warm_up = 1;
    return config;
}

// The streaming configs of models/README.md.

InferenceConfig cnn_past_config(ModelSource source, std::size_t hop) {
    InferenceConfig config = onnx_config(std::move(source));
    config.inputs = {audio_tensor("audio_in", {1, 1, -1}, 1, hop, 40)};
    config.outputs = {audio_tensor("audio_out", {1, 1, -1}, 1, hop)};
    return config;
}

InferenceConfig lstm_state_config(ModelSource source, std::size_t hop) {
    InferenceConfig config = onnx_config(std::move(source));
    config.inputs = {
        audio_tensor("audio_in", {1, -1, 1}, 1, hop, 0, AudioLayout::channels_last),
        fixed_tensor("h_in", TensorRole::state, {1, 1, 16}),
        fixed_tensor("c_in", TensorRole::state, {1, 1, 16}),
    };
    config.outputs = {
        audio_tensor("audio_out", {1, -1, 1}, 1, hop, 0, AudioLayout::channels_last),
        fixed_tensor("h_out", TensorRole::state, {1, 1, 16}),
        fixed_tensor("c_out", TensorRole::state, {1, 1, 16}),
    };
    config.state_pairs = {{"h_out", "h_in"}, {"c_out", "c_in"}};
    config.stateful = true;
    return config;
}

InferenceConfig hybrid_config(ModelSource source, std::size_t hop) {
    InferenceConfig config = onnx_config(std::move(source));
    TensorSpec windows = audio_tensor("windows", {-1, 1, 32}, 1, hop, 31,
                                      AudioLayout::sliding_windows_channels_first);
    windows.window_length = 32;
    windows.window_hop = 1;
    config.inputs = {windows};
    config.outputs = {audio_tensor("audio_out", {-1, 1}, 1, hop, 0, AudioLayout::channels_last)};
    return config;
}

InferenceConfig gain_config(ModelSource source, std::size_t hop) {
    InferenceConfig config = onnx_config(std::move(source));
    TensorSpec gain = fixed_tensor("gain", TensorRole::parameter, {1});
    gain.initial_value = {0.5f};  // what gain.out.npy was made with
    config.inputs = {audio_tensor("audio_in", {1, 1, -1}, 1, hop), gain};
    config.outputs = {audio_tensor("audio_out", {1, 1, -1}, 1, hop),
                      fixed_tensor("peak", TensorRole::parameter, {1})};
    return config;
}

InferenceConfig stereo_config(ModelSource source, std::size_t hop) {
    InferenceConfig config = onnx_config(std::move(source));
    config.inputs = {audio_tensor("audio_in", {1, 2, -1}, 2, hop, 2)};
    config.outputs = {audio_tensor("audio_out", {1, 2, -1}, 2, hop)};
    return config;
}

struct ModelCase {
    std::string name;
    InferenceConfig (*config)(ModelSource, std::size_t hop);
    std::string input;  // reference input stream
    std::vector<std::size_t> hops;
};

const std::vector<ModelCase>& model_cases() {
    static const std::vector<ModelCase> cases = {
        {"cnn_past", cnn_past_config, "stream_mono.npy", {256}},
        {"lstm_state", lstm_state_config, "stream_mono.npy", {256}},
        {"hybrid", hybrid_config, "stream_mono.npy", {256, 64}},
        {"gain", gain_config, "stream_mono.npy", {256}},
        {"stereo", stereo_config, "stream_stereo.npy", {256}},
    };
    return cases;
}

HostConfig offline_host(std::size_t block) {
    HostConfig host;
    host.max_block_size = block;
    host.offline_rendering = true;
    return host;
}

struct Rendered {
    Signal output;
    std::size_t latency = 0;
};

// Streams `input` (and `latency` frames of silence) through a handler at a fixed block size.
Rendered render(InferenceConfig config, const Signal& input, std::size_t block) {
    InferenceHandler handler(std::move(config), test_context());
    handler.prepare(offline_host(block));
    Rendered rendered;
    rendered.latency = handler.latency();
    HostSimulation host;
    host.block_sizes = {block};
    rendered.output = stream(handler, input, rendered.latency, host);
    const Statistics statistics = handler.statistics();
    EXPECT_EQ(statistics.failed_inferences, 0u) << handler.last_error();
    EXPECT_EQ(statistics.substituted_frames, 0u);
    return rendered;
}

// The largest |output - reference delayed by latency| over the reference; infinity if the
// pre-roll (before `latency`) is not silent or the output is too short.
double max_abs_error(const Rendered& rendered, const Signal& reference) {
    double error = 0.0;
    for (std::size_t c = 0; c < reference.size(); ++c) {
        const auto& out = rendered.output.at(c);
        if (out.size() < rendered.latency + reference[c].size())
            return std::numeric_limits<double>::infinity();
        for (std::size_t n = 0; n < rendered.latency; ++n)
            if (out[n] != 0.0f)
                return std::numeric_limits<double>::infinity();
        for (std::size_t n = 0; n < reference[c].size(); ++n)
            error = std::max(error, std::abs(static_cast<double>(out[n + rendered.latency]) -
                                             static_cast<double>(reference[c][n])));
    }
    return error;
}

class ProjectModel : public ::testing::TestWithParam<ModelCase> {};

// Every project model, at every hop and host block size, equals PyTorch's whole-stream output
// delayed by latency().
TEST_P(ProjectModel, StreamsLikeTheReference) {
    const ModelCase& model = GetParam();
    const Signal input = read_signal(model.input);
    const Signal reference = read_signal(model.name + ".out.npy");
    ASSERT_EQ(input[0].size(), reference_frames);
    ASSERT_EQ(reference[0].size(), reference_frames);
    const ModelSource file = ModelSource::file(model_file(model.name + ".onnx"));
    double worst = 0.0;
    for (const std::size_t hop : model.hops) {
        for (const std::size_t block : {32u, 100u, 256u, 1024u}) {
            const Rendered rendered = render(model.config(file, hop), input, block);
            const double error = max_abs_error(rendered, reference);
            EXPECT_LE(error, tolerance) << "hop " << hop << ", block " << block;
            worst = std::max(worst, error);
        }
    }
    std::printf("%s: max abs error %.3g\n", model.name.c_str(), worst);
    RecordProperty("max_abs_error", std::to_string(worst));
}

// The same bytes in memory give bit-identical output.
TEST_P(ProjectModel, LoadsFromBytesLikeFromTheFile) {
    const ModelCase& model = GetParam();
    const Signal input = read_signal(model.input);
    const std::string path = model_file(model.name + ".onnx");
    const std::size_t hop = model.hops.front();
    const Rendered from_file = render(model.config(ModelSource::file(path), hop), input, 256);
    const Rendered from_bytes =
        render(model.config(ModelSource::memory(read_bytes(path)), hop), input, 256);
    ASSERT_EQ(from_file.latency, from_bytes.latency);
    EXPECT_EQ(from_file.output, from_bytes.output);
    EXPECT_LE(max_abs_error(from_bytes, read_signal(model.name + ".out.npy")), tolerance);
}

INSTANTIATE_TEST_SUITE_P(OnnxRuntime, ProjectModel, ::testing::ValuesIn(model_cases()),
                         [](const auto& test_case) { return test_case.param.name; });

// The non-streamed peak output, read after each call, is max |x| of the hop that call output.
TEST(OnnxRuntime, PeakOutputFollowsTheHopThatWasOutput) {
    constexpr std::size_t hop = 256;
    InferenceHandler handler(gain_config(ModelSource::file(model_file("gain.onnx")), hop),
                             test_context());
    handler.prepare(offline_host(hop));  // one hop per call
    const std::size_t latency = handler.latency();
    ASSERT_EQ(latency % hop, 0u);
    const Signal input = read_signal("stream_mono.npy");
    std::vector<float> peaks;
    HostSimulation host;
    host.block_sizes = {hop};
    host.after_block = [&](std::size_t, std::size_t) {
        float peak = -1.0f;
        EXPECT_TRUE(handler.output_value("peak", std::span<float>(&peak, 1)));
        peaks.push_back(peak);
    };
    stream(handler, input, latency, host);
    const std::size_t hops = reference_frames / hop;
    ASSERT_EQ(peaks.size(), hops + latency / hop);
    std::size_t nonzero = 0;
    for (std::size_t j = 0; j < hops; ++j) {
        float expected = 0.0f;
        for (std::size_t t = 0; t < hop; ++t)
            expected = std::max(expected, std::abs(input[0][j * hop + t]));
        EXPECT_EQ(peaks[j + latency / hop], expected) << "hop " << j;
        nonzero += expected > 0.0f ? 1 : 0;
    }
    EXPECT_GT(nonzero, hops / 2);  // the signal is not silent: the check means something
}

// Three instances of a stateless model, run in parallel, give exactly the single-instance output.
TEST(OnnxRuntime, ParallelInstancesGiveTheSameOutput) {
    const ModelSource file = ModelSource::file(model_file("cnn_past.onnx"));
    const Signal input = read_signal("stream_mono.npy");
    const Rendered single = render(cnn_past_config(file, 256), input, 1024);
    InferenceConfig parallel_config = cnn_past_config(file, 256);
    parallel_config.parallel_instances = 3;
    const Rendered parallel = render(parallel_config, input, 1024);
    for (std::size_t n = 0; n < reference_frames; ++n)
        ASSERT_EQ(parallel.output[0][n + parallel.latency], single.output[0][n + single.latency])
            << "frame " << n;
    EXPECT_LE(max_abs_error(parallel, read_signal("cnn_past.out.npy")), tolerance);
}

// More intra-op threads compute the same model (within the reference tolerance).
TEST(OnnxRuntime, RunsWithMoreIntraOpThreads) {
    OnnxRuntimeOptions options;
    options.intra_op_threads = 2;
    InferenceConfig config = onnx_config(ModelSource::file(model_file("cnn_past.onnx")),
                                         make_onnxruntime_backend(options));
    config.inputs = {audio_tensor("audio_in", {1, 1, -1}, 1, 256, 40)};
    config.outputs = {audio_tensor("audio_out", {1, 1, -1}, 1, 256)};
    const Rendered rendered = render(config, read_signal("stream_mono.npy"), 256);
    EXPECT_LE(max_abs_error(rendered, read_signal("cnn_past.out.npy")), tolerance);
}

// Without a handler: the instance reads Legato's input buffers and writes the results straight
// into Legato's output buffers, on every run, with no copy in between.
TEST(OnnxRuntime, BindsLegatosBuffersOnce) {
    constexpr std::size_t hop = 256;
    const TensorSpec audio_in = audio_tensor("audio_in", {1, 1, hop}, 1, hop);
    const TensorSpec gain = fixed_tensor("gain", TensorRole::parameter, {1});
    const TensorSpec audio_out = audio_tensor("audio_out", {1, 1, hop}, 1, hop);
    const TensorSpec peak = fixed_tensor("peak", TensorRole::parameter, {1});
    std::vector<float> x(hop), g(1), y(hop), p(1);
    const std::vector<TensorView> inputs = {{&audio_in, x}, {&gain, g}};
    const std::vector<TensorView> outputs = {{&audio_out, y}, {&peak, p}};
    const ModelSource model = ModelSource::file(model_file("gain.onnx"));
    auto backend = make_onnxruntime_backend();
    EXPECT_EQ(backend->name(), "onnxruntime");
    auto instance = backend->create_instance({model, "", inputs, outputs, 0, false});
    ASSERT_NE(instance, nullptr);

    for (const float gain_value : {0.5f, -2.0f}) {
        for (std::size_t t = 0; t < hop; ++t)
            x[t] = std::sin(0.05f * static_cast<float>(t)) * gain_value;
        g[0] = gain_value;
        std::fill(y.begin(), y.end(), std::numeric_limits<float>::quiet_NaN());
        p[0] = std::numeric_limits<float>::quiet_NaN();
        instance->run();
        float expected_peak = 0.0f;
        for (std::size_t t = 0; t < hop; ++t) {
            ASSERT_EQ(y[t], x[t] * gain_value) << "gain " << gain_value << ", sample " << t;
            expected_peak = std::max(expected_peak, std::abs(x[t]));
        }
        EXPECT_EQ(p[0], expected_peak) << "gain " << gain_value;
    }
    instance->reset_state();  // ONNX graphs keep no state: a no-op that must not throw
}

// --- Errors: each surfaces through prepare() with the core's engines[0] prefix. ---

std::string prepare_error(InferenceConfig config) {
    try {
        InferenceHandler handler(std::move(config), test_context());
        handler.prepare(offline_host(256));
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

std::string prefix(const std::string& model) {
    return "engines[0] (onnxruntime, model " + model + "): ";
}

TEST(OnnxRuntimeErrors, MissingFile) {
    const std::string path = model_file("no_such_model.onnx");
    EXPECT_EQ(prepare_error(cnn_past_config(ModelSource::file(path), 256)),
              prefix(path) + "model file not found: " + path);
}

TEST(OnnxRuntimeErrors, EmptyFile) {
    const std::string path = ::testing::TempDir() + "legato_onnxruntime_empty.onnx";
    std::ofstream(path, std::ios::binary | std::ios::trunc).close();
    EXPECT_EQ(prepare_error(cnn_past_config(ModelSource::file(path), 256)),
              prefix(path) + "model file is empty: " + path);
    std::filesystem::remove(path);
}

TEST(OnnxRuntimeErrors, Directory) {
    const std::string path = models_dir.string();
    EXPECT_EQ(prepare_error(cnn_past_config(ModelSource::file(path), 256)),
              prefix(path) + "model path is a directory, not an .onnx file: " + path);
}

TEST(OnnxRuntimeErrors, NoModel) {
    EXPECT_EQ(prepare_error(cnn_past_config(ModelSource{}, 256)),
              "engines[0] (onnxruntime, model none): no model given: the onnxruntime backend "
              "needs an .onnx file path or its bytes");
}

TEST(OnnxRuntimeErrors, TruncatedModel) {
    std::vector<std::uint8_t> bytes = read_bytes(model_file("cnn_past.onnx"));
    bytes.resize(bytes.size() / 2);
    const std::string described = "<" + std::to_string(bytes.size()) + " bytes in memory>";
    const std::string message = prepare_error(cnn_past_config(ModelSource::memory(bytes), 256));
    EXPECT_EQ(message.rfind(
                  prefix(described) + "ONNX Runtime could not load model " + described + ": ", 0),
              0u)
        << message;
    EXPECT_NE(message.find("protobuf parsing failed"), std::string::npos) << message;
}

TEST(OnnxRuntimeErrors, GarbageBytes) {
    std::vector<std::uint8_t> bytes(1000);
    std::uint32_t x = 12345;
    for (auto& byte : bytes) {
        x = x * 1664525u + 1013904223u;
        byte = static_cast<std::uint8_t>(x >> 24);
    }
    const std::string described = "<1000 bytes in memory>";
    const std::string message = prepare_error(cnn_past_config(ModelSource::memory(bytes), 256));
    EXPECT_EQ(message.rfind(
                  prefix(described) + "ONNX Runtime could not load model " + described + ": ", 0),
              0u)
        << message;
    EXPECT_NE(message.find("protobuf parsing failed"), std::string::npos) << message;
}

TEST(OnnxRuntimeErrors, WrongInputName) {
    const std::string path = model_file("cnn_past.onnx");
    InferenceConfig config = cnn_past_config(ModelSource::file(path), 256);
    config.inputs[0].name = "audio";
    EXPECT_EQ(prepare_error(config), prefix(path) + "ONNX model " + path +
                                         " has no input 'audio'; its inputs are: audio_in");
}

TEST(OnnxRuntimeErrors, WrongOutputName) {
    const std::string path = model_file("gain.onnx");
    InferenceConfig config = gain_config(ModelSource::file(path), 256);
    config.outputs[1].name = "level";
    EXPECT_EQ(prepare_error(config),
              prefix(path) + "ONNX model " + path +
                  " has no output 'level'; its outputs are: audio_out, peak");
}

TEST(OnnxRuntimeErrors, EngineOverrideNamesAreTheOnesMatched) {
    const std::string path = model_file("cnn_past.onnx");
    InferenceConfig config = cnn_past_config(ModelSource::file(path), 256);
    config.inputs[0].name = "x";  // the config's own name; the override gives the ONNX one
    config.outputs[0].name = "y";
    config.engines[0].inputs = {TensorOverride{"audio_in", {}, {}}};
    config.engines[0].outputs = {TensorOverride{"audio_output", {}, {}}};
    EXPECT_EQ(prepare_error(config),
              prefix(path) + "ONNX model " + path +
                  " has no output 'audio_output'; its outputs are: audio_out");
    config.engines[0].outputs = {TensorOverride{"audio_out", {}, {}}};
    EXPECT_EQ(prepare_error(config), "no error");
}

TEST(OnnxRuntimeErrors, ModelInputNotCovered) {
    const std::string path = model_file("gain.onnx");
    InferenceConfig config = gain_config(ModelSource::file(path), 256);
    config.inputs.pop_back();  // no gain
    EXPECT_EQ(prepare_error(config),
              prefix(path) + "ONNX model " + path +
                  " has input 'gain' [1], which the config does not give (config inputs: "
                  "audio_in); add a TensorSpec named 'gain'");
}

TEST(OnnxRuntimeErrors, ModelOutputNotCovered) {
    const std::string path = model_file("gain.onnx");
    InferenceConfig config = gain_config(ModelSource::file(path), 256);
    config.outputs.pop_back();  // no peak
    EXPECT_EQ(prepare_error(config),
              prefix(path) + "ONNX model " + path +
                  " has output 'peak' [1], which the config does not give "
                  "(config outputs: audio_out); add a TensorSpec named 'peak'");
}

TEST(OnnxRuntimeErrors, WrongRank) {
    const std::string path = model_file("cnn_past.onnx");
    InferenceConfig config = cnn_past_config(ModelSource::file(path), 256);
    config.inputs[0].shape = {1, -1};
    EXPECT_EQ(prepare_error(config), prefix(path) + "ONNX model " + path +
                                         ": input 'audio_in' has rank 3 [1, 1, window]; the "
                                         "config's shape [1, 296] has rank 2");
}

TEST(OnnxRuntimeErrors, WrongStaticDimension) {
    const std::string path = model_file("stereo.onnx");
    InferenceConfig config = stereo_config(ModelSource::file(path), 256);
    config.inputs[0] = audio_tensor("audio_in", {1, 1, -1}, 1, 256, 2);
    config.outputs[0] = audio_tensor("audio_out", {1, 1, -1}, 1, 256);
    EXPECT_EQ(prepare_error(config), prefix(path) + "ONNX model " + path +
                                         ": input 'audio_in' has shape [1, 2, window]; the "
                                         "config's shape [1, 1, 258] differs in dimension 1 "
                                         "(expected 2, got 1)");
}

TEST(OnnxRuntimeErrors, Int64Input) {
    const std::string path = model_file("bad/int64_input.onnx");
    InferenceConfig config = onnx_config(ModelSource::file(path));
    config.inputs = {audio_tensor("audio_in", {1, 1, -1}, 1, 256)};
    config.outputs = {audio_tensor("audio_out", {1, 1, -1}, 1, 256)};
    EXPECT_EQ(prepare_error(config), prefix(path) + "ONNX model " + path +
                                         ": input 'audio_in' is int64; expected float32");
}

TEST(OnnxRuntimeErrors, UnknownOperator) {
    const std::string path = model_file("bad/unknown_operator.onnx");
    InferenceConfig config = onnx_config(ModelSource::file(path));
    config.inputs = {audio_tensor("audio_in", {1, 1, -1}, 1, 256)};
    config.outputs = {audio_tensor("audio_out", {1, 1, -1}, 1, 256)};
    const std::string message = prepare_error(config);
    const std::string expected =
        prefix(path) + "ONNX model " + path + " uses an operator this ONNX Runtime (" +
        std::string(OrtGetApiBase()->GetVersionString()) + ") does not implement: ";
    EXPECT_EQ(message.rfind(expected, 0), 0u) << message;
    EXPECT_NE(message.find("Warble"), std::string::npos) << message;
}

TEST(OnnxRuntimeErrors, EntryPoint) {
    const std::string path = model_file("cnn_past.onnx");
    InferenceConfig config = cnn_past_config(ModelSource::file(path), 256);
    config.engines[0].entry_point = "encode";
    EXPECT_EQ(prepare_error(config), prefix(path) +
                                         "ONNX models have one graph and no entry points; "
                                         "entry_point must be empty, got 'encode'");
}

// A config whose window is shorter than the model needs: ONNX Runtime refuses to write the
// shorter output into the bound buffer; Legato says which field to change, to what, and why,
// as a ConfigError (the `legato` tool exits with 3 and names the config file).
TEST(OnnxRuntimeErrors, PastContextTooSmallIsExplainedInTheConfigsTerms) {
    const std::string path = model_file("cnn_past.onnx");
    InferenceConfig config = cnn_past_config(ModelSource::file(path), 256);
    config.inputs[0].past_context = 0;  // the model then outputs 256 - 40 samples, not 256
    InferenceHandler handler(config);
    try {
        handler.prepare(HostConfig{});
        FAIL() << "prepare() accepted a window shorter than the model needs";
    } catch (const ConfigError& e) {
        const std::string message = e.what();
        EXPECT_EQ(message.rfind("engines[0] (onnxruntime): inputs[0].past_context: the model "
                                "needs 40 samples of past context, the config gives 0: from a "
                                "window of 256 samples (past_context 0 + hop 256) its output "
                                "outputs[0] ('audio_out') has 216 samples, 40 short of the hop; "
                                "set \"past_context\": 40",
                                0),
                  0u)
            << message;
        EXPECT_EQ(message.find("OrtValue"), std::string::npos) << message;
    }
}

TEST(OnnxRuntimeErrors, Options) {
    OnnxRuntimeOptions options;
    options.intra_op_threads = 0;
    try {
        make_onnxruntime_backend(options);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "OnnxRuntimeOptions.intra_op_threads: must be at least 1, got 0");
    }
}

TEST(OnnxRuntime, IsInTheRegistry) {
    EXPECT_EQ(make_backend("onnxruntime")->name(), "onnxruntime");
}

}  // namespace
}  // namespace legato::test
