// The TensorFlow Lite engine: the project's .tflite models (made by models/make_tflite.py from
// the PyTorch weights) streamed through a handler against the PyTorch references, state in
// variable tensors, model sources, and the errors for models this runtime cannot run.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "legato/legato.hpp"
#include "npy.hpp"
#include "stream_support.hpp"

namespace legato::test {
namespace {

const std::filesystem::path models = LEGATO_TEST_MODELS_DIR;
constexpr double tolerance = 1e-5;
constexpr std::size_t stream_frames = 8192;

std::filesystem::path model(const std::string& name) {
    return models / (name + ".tflite");
}

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

#define EXPECT_CONTAINS(text, part) \
    EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

TensorSpec audio(std::string name, std::vector<std::int64_t> shape, std::size_t hop,
                 std::size_t past = 0, std::size_t channels = 1,
                 AudioLayout layout = AudioLayout::channels_first) {
    TensorSpec spec;
    spec.name = std::move(name);
    spec.shape = std::move(shape);
    spec.hop = hop;
    spec.past_context = past;
    spec.channels = channels;
    spec.layout = layout;
    return spec;
}

// The TFLite layout of a conv model's audio tensor: NHWC [1, 1, T, C] (H = 1, W = time).
TensorOverride nhwc(std::size_t channels) {
    return {"", {1, 1, -1, static_cast<std::int64_t>(channels)}, AudioLayout::channels_last};
}

// Configs as PyTorch and ONNX describe the models ([1, C, T], channels first), with the
// per-engine overrides the .tflite files need; lstm_internal is [1, T, 1] in both.
InferenceConfig config_for(const std::string& name, std::size_t hop,
                           const std::shared_ptr<Backend>& backend, ModelSource source = {}) {
    InferenceConfig config;
    EngineModel engine{
        backend, source.empty() ? ModelSource::file(model(name)) : source, {}, {}, {}};
    if (name == "cnn_past" || name == "stereo") {
        const std::size_t channels = name == "stereo" ? 2 : 1;
        const std::size_t past = name == "stereo" ? 2 : 40;
        const auto c = static_cast<std::int64_t>(channels);
        config.inputs = {audio("audio_in", {1, c, -1}, hop, past, channels)};
        config.outputs = {audio("audio_out", {1, c, -1}, hop, 0, channels)};
        engine.inputs = {nhwc(channels)};
        engine.outputs = {nhwc(channels)};
    } else if (name == "gain") {
        config.inputs = {audio("audio_in", {1, 1, -1}, hop)};
        TensorSpec gain;
        gain.name = "gain";
        gain.role = TensorRole::parameter;
        gain.shape = {1};
        gain.initial_value = {1.0f};
        config.inputs.push_back(gain);
        config.outputs = {audio("audio_out", {1, 1, -1}, hop)};
        TensorSpec peak;
        peak.name = "peak";
        peak.role = TensorRole::parameter;
        peak.shape = {1};
        config.outputs.push_back(peak);
        engine.inputs = {{"", {1, -1, 1}, AudioLayout::channels_last}, {}};
        engine.outputs = {{"", {1, -1, 1}, AudioLayout::channels_last}, {}};
    } else if (name == "lstm_internal") {
        config.inputs = {audio("audio_in", {1, -1, 1}, hop, 0, 1, AudioLayout::channels_last)};
        config.outputs = {audio("audio_out", {1, -1, 1}, hop, 0, 1, AudioLayout::channels_last)};
        config.stateful = true;
    } else if (name == "hybrid") {
        TensorSpec windows =
            audio("windows", {-1, 1, 32}, hop, 31, 1, AudioLayout::sliding_windows_channels_first);
        windows.window_length = 32;
        windows.window_hop = 1;
        config.inputs = {windows};
        config.outputs = {audio("audio_out", {-1, 1}, hop, 0, 1, AudioLayout::channels_last)};
        engine.inputs = {{"", {-1, 32, 1}, AudioLayout::sliding_windows_channels_last}};
    }
    config.engines.push_back(std::move(engine));
    config.max_inference_time_ms = 1.0;
    config.warm_up = 2;
    return config;
}

struct StreamResult {
    Signal output;
    std::size_t latency = 0;
    Statistics stats;
    std::vector<float> peaks;  // gain: the peak output_value after each block
};

StreamResult stream_model(const InferenceConfig& config, const Signal& input, std::size_t block,
                          float gain = 0.5f) {
    InferenceHandler handler(config);
    HostConfig host;
    host.max_block_size = block;
    host.offline_rendering = true;
    handler.prepare(host);
    StreamResult result;
    HostSimulation simulation;
    simulation.block_sizes = {block};
    const bool has_gain = config.inputs.size() > 1 && config.inputs[1].name == "gain";
    if (has_gain) {
        EXPECT_TRUE(handler.set_parameter("gain", gain));
        simulation.after_block = [&](std::size_t, std::size_t) {
            float peak = -1.0f;
            EXPECT_TRUE(handler.output_value("peak", std::span<float>(&peak, 1)));
            result.peaks.push_back(peak);
        };
    }
    result.latency = handler.latency();
    const std::size_t hop = config.inputs[0].hop;
    result.output = stream(handler, input, result.latency + block + hop, simulation);
    result.stats = handler.statistics();
    return result;
}

// Largest |output[n + latency] - reference[n]|; the pre-roll before latency() must be silent.
double max_error(const StreamResult& result, const Signal& reference) {
    double worst = 0.0;
    for (std::size_t c = 0; c < reference.size(); ++c) {
        for (std::size_t n = 0; n < result.latency; ++n)
            worst = std::max(worst, std::abs(double(result.output[c][n])));
        for (std::size_t n = 0; n < reference[c].size(); ++n)
            worst = std::max(worst, std::abs(double(result.output[c][n + result.latency]) -
                                             double(reference[c][n])));
    }
    return worst;
}

std::map<std::string, double>& worst_errors() {
    static std::map<std::string, double> errors;
    return errors;
}

// 1. Every model against its PyTorch reference, for several host block sizes.

using StreamParam = std::tuple<std::string, std::size_t /*hop*/, std::size_t /*block*/>;
class TFLiteModels : public ::testing::TestWithParam<StreamParam> {
public:
    static void TearDownTestSuite() {
        for (const auto& [name, error] : worst_errors())
            std::printf("max abs error %-14s %.3g\n", name.c_str(), error);
    }
};

TEST_P(TFLiteModels, StreamMatchesThePyTorchReference) {
    const auto& [name, hop, block] = GetParam();
    const Signal input =
        read_npy_channels(models / (name == "stereo" ? "stream_stereo.npy" : "stream_mono.npy"));
    const Signal reference = read_npy_channels(models / (name + ".out.npy"));
    ASSERT_EQ(input[0].size(), stream_frames);
    const StreamResult result =
        stream_model(config_for(name, hop, make_tflite_backend()), input, block);
    EXPECT_EQ(result.stats.failed_inferences, 0u);
    EXPECT_EQ(result.stats.late_inferences, 0u);
    EXPECT_EQ(result.stats.substituted_frames, 0u);
    const double error = max_error(result, reference);
    EXPECT_LE(error, tolerance);
    double& worst = worst_errors()[name];
    worst = std::max(worst, error);

    if (name == "gain") {
        // After each block, peak is max |audio_in| of the last hop output so far: hop j is
        // output from frame j * hop + latency on.
        ASSERT_FALSE(result.peaks.empty());
        std::size_t processed = 0;
        for (std::size_t k = 0; k < result.peaks.size(); ++k) {
            processed += block;
            if (processed <= result.latency)
                continue;
            const std::size_t j = (processed - 1 - result.latency) / hop;
            float expected = 0.0f;
            for (std::size_t n = j * hop; n < (j + 1) * hop && n < stream_frames; ++n)
                expected = std::max(expected, std::abs(input[0][n]));
            ASSERT_EQ(result.peaks[k], expected) << "after block " << k;
        }
    }
}

// The files are made for hop 256 (except hybrid: B = 64); other hops resize them at load.
std::vector<StreamParam> stream_params() {
    std::vector<StreamParam> params;
    for (const std::string name : {"cnn_past", "stereo", "gain", "lstm_internal", "hybrid"}) {
        for (const std::size_t block : {32, 100, 256, 1024})
            params.emplace_back(name, 256, block);
        for (const std::size_t block : {100, 1024})
            params.emplace_back(name, 100, block);
    }
    for (const std::size_t block : {32, 100, 256, 1024})
        params.emplace_back("hybrid", 64, block);
    return params;
}

INSTANTIATE_TEST_SUITE_P(Reference, TFLiteModels, ::testing::ValuesIn(stream_params()),
                         [](const ::testing::TestParamInfo<StreamParam>& param_info) {
                             return std::get<0>(param_info.param) + "_hop" +
                                    std::to_string(std::get<1>(param_info.param)) + "_block" +
                                    std::to_string(std::get<2>(param_info.param));
                         });

// 2. Recurrent state in variable tensors.

TEST(TFLiteState, ResetRestartsTheStateInsideTheModel) {
    const Signal input = read_npy_channels(models / "stream_mono.npy");
    const Signal reference = read_npy_channels(models / "lstm_internal.out.npy");
    InferenceHandler handler(config_for("lstm_internal", 256, make_tflite_backend()));
    HostConfig host;
    host.max_block_size = 128;
    host.offline_rendering = true;
    handler.prepare(host);
    HostSimulation simulation;
    simulation.block_sizes = {128};
    StreamResult first;
    first.latency = handler.latency();
    first.output = stream(handler, input, first.latency + 128 + 256, simulation);
    EXPECT_LE(max_error(first, reference), tolerance);

    // Without a reset, the state left by the first stream (and its silent tail) changes the
    // output of a second one; after reset() it starts from zero again.
    handler.reset();
    StreamResult second;
    second.latency = handler.latency();
    second.output = stream(handler, input, second.latency + 128 + 256, simulation);
    EXPECT_LE(max_error(second, reference), tolerance);
    EXPECT_EQ(handler.statistics().resets, 1u);
    EXPECT_EQ(handler.statistics().failed_inferences, 0u);
}

// One instance created directly from a backend, with its own tensors.
class DirectInstance {
public:
    DirectInstance(const std::shared_ptr<Backend>& backend, const ModelSource& source,
                   std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs, bool stateful,
                   std::string entry_point = "")
        : inputs_(std::move(inputs)), outputs_(std::move(outputs)) {
        for (const auto& spec : inputs_)
            input_data_.emplace_back(element_count(spec.shape), 0.0f);
        for (const auto& spec : outputs_)
            output_data_.emplace_back(element_count(spec.shape), 0.0f);
        for (std::size_t i = 0; i < inputs_.size(); ++i)
            input_views_.push_back({&inputs_[i], input_data_[i]});
        for (std::size_t i = 0; i < outputs_.size(); ++i)
            output_views_.push_back({&outputs_[i], output_data_[i]});
        const InstanceSetup setup{source, entry_point, input_views_, output_views_, 0, stateful};
        instance_ = backend->create_instance(setup);
    }

    std::vector<float>& input(std::size_t i = 0) { return input_data_[i]; }
    const std::vector<float>& output(std::size_t i = 0) const { return output_data_[i]; }
    ModelInstance& instance() { return *instance_; }
    std::vector<float> run() {
        instance_->run();
        return output_data_[0];
    }

private:
    std::vector<TensorSpec> inputs_;
    std::vector<TensorSpec> outputs_;
    std::deque<std::vector<float>> input_data_;
    std::deque<std::vector<float>> output_data_;
    std::vector<TensorView> input_views_;
    std::vector<TensorView> output_views_;
    std::unique_ptr<ModelInstance> instance_;
};

DirectInstance lstm_instance(bool stateful, ModelSource source = {}) {
    return DirectInstance(
        make_tflite_backend(), source.empty() ? ModelSource::file(model("lstm_internal")) : source,
        {audio("audio_in", {1, 256, 1}, 256, 0, 1, AudioLayout::channels_last)},
        {audio("audio_out", {1, 256, 1}, 256, 0, 1, AudioLayout::channels_last)}, stateful);
}

double max_difference(const std::vector<float>& a, const float* b) {
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
    return worst;
}

TEST(TFLiteState, StatefulInstanceCarriesTheStateAndResetsOnRequest) {
    const Signal input = read_npy_channels(models / "stream_mono.npy");
    const Signal reference = read_npy_channels(models / "lstm_internal.out.npy");
    DirectInstance lstm = lstm_instance(true);
    std::copy_n(input[0].begin(), 256, lstm.input().begin());
    const std::vector<float> hop0 = lstm.run();
    EXPECT_LE(max_difference(hop0, reference[0].data()), tolerance);
    std::copy_n(input[0].begin() + 256, 256, lstm.input().begin());
    EXPECT_LE(max_difference(lstm.run(), reference[0].data() + 256), tolerance);

    lstm.instance().reset_state();
    std::copy_n(input[0].begin(), 256, lstm.input().begin());
    EXPECT_EQ(lstm.run(), hop0);
}

TEST(TFLiteState, StatelessInstanceStartsEveryRunFromTheInitialState) {
    const Signal input = read_npy_channels(models / "stream_mono.npy");
    const Signal reference = read_npy_channels(models / "lstm_internal.out.npy");
    DirectInstance fresh = lstm_instance(false);
    std::copy_n(input[0].begin() + 256, 256, fresh.input().begin());
    const std::vector<float> hop1_from_zero = fresh.run();
    // Hop 1 from zero state is not the streamed reference (which continues hop 0's state).
    EXPECT_GT(max_difference(hop1_from_zero, reference[0].data() + 256), 1e-3);

    DirectInstance lstm = lstm_instance(false);
    std::copy_n(input[0].begin(), 256, lstm.input().begin());
    lstm.run();
    std::copy_n(input[0].begin() + 256, 256, lstm.input().begin());
    EXPECT_EQ(lstm.run(), hop1_from_zero);
    EXPECT_EQ(lstm.run(), hop1_from_zero);
}

// 3. Model sources and parallel instances.

TEST(TFLiteSources, BytesAndFileGiveIdenticalResults) {
    const Signal input = read_npy_channels(models / "stream_mono.npy");
    for (const bool stateful : {true, false}) {
        DirectInstance file = lstm_instance(stateful);
        DirectInstance memory =
            lstm_instance(stateful, ModelSource::memory(read_bytes(model("lstm_internal"))));
        for (std::size_t j = 0; j < 4; ++j) {
            std::copy_n(input[0].begin() + static_cast<std::ptrdiff_t>(j * 256), 256,
                        file.input().begin());
            memory.input() = file.input();
            EXPECT_EQ(file.run(), memory.run()) << "hop " << j;
        }
    }
}

TEST(TFLiteSources, StreamFromBytesMatchesTheReference) {
    const Signal input = read_npy_channels(models / "stream_mono.npy");
    const Signal reference = read_npy_channels(models / "cnn_past.out.npy");
    const auto config = config_for("cnn_past", 256, make_tflite_backend(),
                                   ModelSource::memory(read_bytes(model("cnn_past"))));
    EXPECT_LE(max_error(stream_model(config, input, 256), reference), tolerance);
}

TEST(TFLiteSources, ParallelInstancesOfAStatelessModelAreExact) {
    const Signal input = read_npy_channels(models / "stream_mono.npy");
    const Signal reference = read_npy_channels(models / "hybrid.out.npy");
    const auto backend = make_tflite_backend();
    const StreamResult single = stream_model(config_for("hybrid", 64, backend), input, 64);
    InferenceConfig config = config_for("hybrid", 64, backend);
    config.parallel_instances = 3;
    ContextConfig context_config;
    context_config.worker_threads = 3;
    InferenceHandler handler(config, Context::create(context_config));
    HostConfig host;
    host.max_block_size = 64;
    host.offline_rendering = true;
    handler.prepare(host);
    HostSimulation simulation;
    simulation.block_sizes = {64};
    StreamResult parallel;
    parallel.latency = handler.latency();
    parallel.output = stream(handler, input, parallel.latency + 128, simulation);
    EXPECT_EQ(handler.statistics().failed_inferences, 0u);
    EXPECT_LE(max_error(parallel, reference), tolerance);
    // Every instance computes exactly what a single one does.
    for (std::size_t n = 0; n < stream_frames; ++n)
        ASSERT_EQ(parallel.output[0][n + parallel.latency], single.output[0][n + single.latency])
            << "frame " << n;
}

TEST(TFLiteSources, TwoThreadsPerInferenceMatchTheReference) {
    const Signal input = read_npy_channels(models / "stream_mono.npy");
    const Signal reference = read_npy_channels(models / "cnn_past.out.npy");
    TFLiteOptions options;
    options.threads = 2;
    const auto config = config_for("cnn_past", 256, make_tflite_backend(options));
    EXPECT_LE(max_error(stream_model(config, input, 256), reference), tolerance);
}

// 4. Errors at setup, with what is wrong and what was expected.

std::string create_error(const ModelSource& source, std::vector<TensorSpec> inputs,
                         std::vector<TensorSpec> outputs, std::string entry_point = "") {
    return error_of([&] {
        DirectInstance(make_tflite_backend(), source, std::move(inputs), std::move(outputs), false,
                       std::move(entry_point));
    });
}

std::string cnn_error(const ModelSource& source) {
    return create_error(source, {audio("audio_in", {1, 1, 296, 1}, 256, 40)},
                        {audio("audio_out", {1, 1, 256, 1}, 256)});
}

std::filesystem::path temp_file(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    const auto path = std::filesystem::temp_directory_path() / ("legato_tflite_test_" + name);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path;
}

TEST(TFLiteErrors, MissingFileIsNamedThroughTheHandler) {
    const auto missing = models / "no_such_model.tflite";
    auto config = config_for("cnn_past", 256, make_tflite_backend(), ModelSource::file(missing));
    InferenceHandler handler(config);
    EXPECT_EQ(error_of([&] { handler.prepare(HostConfig{}); }),
              "engines[0] (tflite, model " + missing.string() +
                  "): model file not found: " + missing.string());
}

// Through the handler, a window shorter than the model needs is explained in the config's
// terms, as a ConfigError (the `legato` tool exits with 3 and names the config file).
TEST(TFLiteErrors, PastContextTooSmallIsExplainedInTheConfigsTerms) {
    auto config = config_for("cnn_past", 256, make_tflite_backend());
    config.inputs[0].past_context = 20;
    InferenceHandler handler(config);
    EXPECT_THROW(handler.prepare(HostConfig{}), ConfigError);
    EXPECT_EQ(error_of([&] { handler.prepare(HostConfig{}); })
                  .rfind("engines[0] (tflite): inputs[0].past_context: the model needs 40 samples "
                         "of past context, the config gives 20: from a window of 276 samples "
                         "(past_context 20 + hop 256) its output outputs[0] ('audio_out') has 236 "
                         "samples, 20 short of the hop; set \"past_context\": 40 (engine: output "
                         "'audio_out' has shape [1, 1, 236, 1]",
                         0),
              0u);
}

TEST(TFLiteErrors, EmptyTruncatedAndGarbageModelsAreRefused) {
    const std::vector<std::uint8_t> good = read_bytes(model("cnn_past"));
    ASSERT_GT(good.size(), 1000u);
    const std::vector<std::uint8_t> half(
        good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2));
    std::vector<std::uint8_t> garbage(4096);
    std::uint32_t x = 12345;
    for (auto& byte : garbage) {
        x = x * 1664525u + 1013904223u;
        byte = static_cast<std::uint8_t>(x >> 24);
    }
    // Garbage that carries the identifier gets past the first check to the verifier.
    std::vector<std::uint8_t> labelled = garbage;
    std::copy_n("TFL3", 4, labelled.begin() + 4);
    // A valid header and the start of the model, the rest overwritten.
    std::vector<std::uint8_t> corrupt = good;
    std::fill(corrupt.begin() + 64, corrupt.end(), std::uint8_t{0xff});

    const std::string no_model = "not a TensorFlow Lite model (no 'TFL3' identifier at byte 4)";
    const std::string invalid =
        "not a valid TensorFlow Lite model: its flatbuffer does not verify against the TFLite "
        "schema (truncated or corrupt)";
    const auto empty_file = temp_file("empty.tflite", {});
    EXPECT_EQ(cnn_error(ModelSource::file(empty_file)),
              "model file is empty: " + empty_file.string());
    EXPECT_EQ(cnn_error(ModelSource::memory(half)), invalid);
    EXPECT_EQ(cnn_error(ModelSource::memory(garbage)), no_model);
    EXPECT_EQ(cnn_error(ModelSource::memory(labelled)), invalid);
    EXPECT_EQ(cnn_error(ModelSource::memory(corrupt)), invalid);
    EXPECT_EQ(cnn_error(ModelSource::memory({0x54, 0x46})), no_model);
    const auto half_file = temp_file("half.tflite", half);
    EXPECT_EQ(cnn_error(ModelSource::file(half_file)), invalid + ": " + half_file.string());
    const auto garbage_file = temp_file("garbage.tflite", garbage);
    EXPECT_EQ(cnn_error(ModelSource::file(garbage_file)), no_model + ": " + garbage_file.string());
    EXPECT_EQ(cnn_error(ModelSource::file(models)),
              "model path is not a regular file: " + models.string());
    EXPECT_EQ(cnn_error(ModelSource{}),
              "no model: the tflite backend needs a .tflite file or its bytes");
    for (const auto& path : {empty_file, half_file, garbage_file})
        std::filesystem::remove(path);
}

TEST(TFLiteErrors, UnknownTensorNamesListTheModelsTensors) {
    const auto source = ModelSource::file(model("cnn_past"));
    const std::string tensors =
        "the model's inputs: 'audio_in' [1, 1, 296, 1]; outputs: "
        "'audio_out' [1, 1, 256, 1]";
    EXPECT_EQ(create_error(source, {audio("args_0", {1, 1, 296, 1}, 256, 40)},
                           {audio("audio_out", {1, 1, 256, 1}, 256)}),
              "input 'args_0' not found in the model; " + tensors);
    EXPECT_EQ(create_error(source, {audio("audio_in", {1, 1, 296, 1}, 256, 40)},
                           {audio("Identity", {1, 1, 256, 1}, 256)}),
              "output 'Identity' not found in the model; " + tensors);
    // Every model input must be fed.
    EXPECT_EQ(create_error(ModelSource::file(model("gain")), {audio("audio_in", {1, 256, 1}, 256)},
                           {audio("audio_out", {1, 256, 1}, 256)}),
              "model input 'gain' is not fed by any configured input; the model's inputs: "
              "'audio_in' [1, 256, 1], 'gain' [1]; outputs: 'audio_out' [1, 256, 1], 'peak' [1]");
}

TEST(TFLiteErrors, ShapesTheModelCannotTakeAreRefused) {
    // Three channels into a two-channel conv: the runtime refuses the resized input.
    const std::string stereo = create_error(ModelSource::file(model("stereo")),
                                            {audio("audio_in", {1, 1, 258, 3}, 256, 2)},
                                            {audio("audio_out", {1, 1, 256, 3}, 256)});
    EXPECT_CONTAINS(stereo,
                    "TensorFlow Lite cannot run the model with the inputs resized to "
                    "audio_in [1, 1, 258, 3]: ");
    EXPECT_CONTAINS(stereo, "conv.cc");
    // A resizable input whose output then differs from the configured one (past context 20
    // instead of 40 leaves 20 samples fewer).
    EXPECT_EQ(create_error(ModelSource::file(model("cnn_past")),
                           {audio("audio_in", {1, 1, 276, 1}, 256, 20)},
                           {audio("audio_out", {1, 1, 256, 1}, 256)}),
              "output 'audio_out' has shape [1, 1, 236, 1] with inputs audio_in [1, 1, 276, 1]; "
              "the config expects [1, 1, 256, 1]");
    // A rank the model does not have.
    EXPECT_CONTAINS(
        create_error(ModelSource::file(model("cnn_past")), {audio("audio_in", {1, 296}, 256, 40)},
                     {audio("audio_out", {1, 256}, 256)}),
        "TensorFlow Lite cannot run the model with the inputs resized to audio_in "
        "[1, 296]: ");
    // The LSTM's state tensors have a fixed batch of 1: TFLite 2.2 cannot resize them.
    EXPECT_EQ(create_error(ModelSource::file(model("lstm_internal")),
                           {audio("audio_in", {2, 256, 1}, 256, 0, 2)},
                           {audio("audio_out", {2, 256, 1}, 256, 0, 2)}),
              "TensorFlow Lite cannot run the model with the inputs resized to audio_in "
              "[2, 256, 1]: tensorflow/lite/kernels/unidirectional_sequence_lstm.cc:373 "
              "NumElements(activation_state) != n_batch * n_output (16 != 32); Node number 0 "
              "(UNIDIRECTIONAL_SEQUENCE_LSTM) failed to prepare.");
    // Fewer samples than the receptive field (41).
    EXPECT_CONTAINS(create_error(ModelSource::file(model("cnn_past")),
                                 {audio("audio_in", {1, 1, 30, 1}, 20, 10)},
                                 {audio("audio_out", {1, 1, 20, 1}, 20)}),
                    "audio_in [1, 1, 30, 1]");
}

TEST(TFLiteErrors, NonFloatTensorsAreRefused) {
    EXPECT_EQ(
        create_error(ModelSource::file(models / "bad" / "int32_input.tflite"),
                     {audio("audio_in", {1, 256, 1}, 256)}, {audio("audio_out", {1, 256, 1}, 256)}),
        "input 'audio_in' has element type INT32; Legato exchanges float32 tensors only");
}

TEST(TFLiteErrors, ModelsForANewerRuntimeSaySo) {
    EXPECT_EQ(create_error(ModelSource::file(models / "bad" / "newer_operator.tflite"),
                           {audio("audio_in", {1, 4}, 4)}, {audio("audio_out", {1, 1}, 1)}),
              "the model needs a newer TensorFlow Lite than this runtime (2.2.0): Didn't find op "
              "for builtin opcode 'FULLY_CONNECTED' version '9'; Registration failed.");
}

TEST(TFLiteErrors, CustomOperatorsTheRuntimeLacksAreNamed) {
    EXPECT_EQ(
        create_error(ModelSource::file(models / "bad" / "custom_operator.tflite"),
                     {audio("audio_in", {1, 256, 1}, 256)}, {audio("audio_out", {1, 256, 1}, 256)}),
        "the model uses a custom operator this TensorFlow Lite runtime (2.2.0) does not "
        "have: Encountered unresolved custom op: LegatoWarble.; Node number 0 "
        "(LegatoWarble) failed to prepare.");
}

TEST(TFLiteErrors, RealModelForANewerRuntimeSaysSo) {
    const std::filesystem::path nafx =
        "/work/shared/models/nafx-tcn-2blocks/steerable-nafx-2_blocks-dynamic.tflite";
    if (!std::filesystem::exists(nafx))
        GTEST_SKIP() << nafx << " is not on this machine";
    const std::string message = create_error(ModelSource::file(nafx), {}, {});
    EXPECT_CONTAINS(message,
                    "the model needs a newer TensorFlow Lite than this runtime (2.2.0): "
                    "Didn't find op for builtin opcode '");
}

TEST(TFLiteErrors, EntryPointsAndThreadCountsAreChecked) {
    EXPECT_EQ(create_error(ModelSource::file(model("cnn_past")),
                           {audio("audio_in", {1, 1, 296, 1}, 256, 40)},
                           {audio("audio_out", {1, 1, 256, 1}, 256)}, "serving_default"),
              "entry_point 'serving_default': TensorFlow Lite models have one entry point; leave "
              "it empty");
    TFLiteOptions options;
    options.threads = 0;
    EXPECT_EQ(error_of([&] { make_tflite_backend(options); }),
              "TFLiteOptions::threads: must be at least 1, got 0");
}

// 5. The registry.

TEST(TFLiteRegistry, MakesTheBackendByName) {
    EXPECT_EQ(make_backend("tflite")->name(), "tflite");
    EXPECT_EQ(make_tflite_backend()->name(), "tflite");
}

}  // namespace
}  // namespace legato::test
