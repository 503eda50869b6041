// The LibTorch engine: the project's TorchScript models streamed against their PyTorch
// references, state kept inside a module (reset, stateless use), entry points and output kinds,
// loading from bytes, parallel instances, and every error it reports.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/script.h>
#include <unistd.h>

#include "legato/legato.hpp"
#include "legato/libtorch_backend.hpp"
#include "npy.hpp"
#include "stream_support.hpp"

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

// A file in the temporary directory, removed when the test ends.
class TempFile {
public:
    TempFile(const std::string& name, const std::vector<std::uint8_t>& bytes)
        : path_(std::filesystem::temp_directory_path() /
                ("legato_libtorch_" + std::to_string(::getpid()) + "_" + name)) {
        std::ofstream file(path_, std::ios::binary);
        file.write(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size()));
    }
    ~TempFile() { std::filesystem::remove(path_); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

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

// --- Configs for the project's models (models/README.md) ------------------------------------

TensorSpec audio(std::string name, std::vector<std::int64_t> shape, std::size_t hop,
                 std::size_t channels = 1, std::size_t past = 0,
                 AudioLayout layout = AudioLayout::channels_first) {
    TensorSpec spec;
    spec.name = std::move(name);
    spec.shape = std::move(shape);
    spec.hop = hop;
    spec.channels = channels;
    spec.past_context = past;
    spec.layout = layout;
    return spec;
}

TensorSpec parameter(std::string name, std::vector<std::int64_t> shape,
                     std::vector<float> initial = {}) {
    TensorSpec spec;
    spec.name = std::move(name);
    spec.role = TensorRole::parameter;
    spec.shape = std::move(shape);
    spec.initial_value = std::move(initial);
    return spec;
}

// One engine (libtorch, `file`) and no tensors yet.
InferenceConfig torch_config(const std::string& file, const std::string& entry_point = {}) {
    InferenceConfig config;
    config.engines.push_back(
        {make_libtorch_backend(), ModelSource::file(model_file(file)), entry_point, {}, {}});
    config.max_inference_time_ms = 1.0;  // fixed: no measuring warm-up (offline rendering waits)
    config.warm_up = 1;
    return config;
}

InferenceConfig cnn_past_config(std::size_t hop) {
    InferenceConfig config = torch_config("cnn_past.pt");
    config.inputs = {audio("audio_in", {1, 1, -1}, hop, 1, 40)};
    config.outputs = {audio("audio_out", {1, 1, -1}, hop)};
    return config;
}

InferenceConfig lstm_state_config(std::size_t hop) {
    InferenceConfig config = torch_config("lstm_state.pt");
    config.inputs = {audio("audio_in", {1, -1, 1}, hop, 1, 0, AudioLayout::channels_last)};
    // TorchScript outputs are unnamed: these names only serve the state pairs.
    config.outputs = {audio("audio_out", {1, -1, 1}, hop, 1, 0, AudioLayout::channels_last)};
    add_state_pair(config, "h", {1, 1, 16});
    add_state_pair(config, "c", {1, 1, 16});
    return config;
}

InferenceConfig lstm_internal_config(std::size_t hop, bool stateful = true) {
    InferenceConfig config = torch_config("lstm_internal.pt");
    config.inputs = {audio("audio_in", {1, -1, 1}, hop, 1, 0, AudioLayout::channels_last)};
    config.outputs = {audio("audio_out", {1, -1, 1}, hop, 1, 0, AudioLayout::channels_last)};
    config.stateful = stateful;
    return config;
}

InferenceConfig hybrid_config(std::size_t hop) {
    InferenceConfig config = torch_config("hybrid.pt");
    TensorSpec windows =
        audio("windows", {-1, 1, 32}, hop, 1, 31, AudioLayout::sliding_windows_channels_first);
    windows.window_length = 32;
    windows.window_hop = 1;
    config.inputs = {windows};
    config.outputs = {audio("audio_out", {-1, 1}, hop, 1, 0, AudioLayout::channels_last)};
    return config;
}

InferenceConfig gain_config(std::size_t hop) {
    InferenceConfig config = torch_config("gain.pt");
    config.inputs = {audio("audio_in", {1, 1, -1}, hop), parameter("gain", {1}, {0.5f})};
    config.outputs = {audio("audio_out", {1, 1, -1}, hop), parameter("peak", {1})};
    return config;
}

InferenceConfig stereo_config(std::size_t hop) {
    InferenceConfig config = torch_config("stereo.pt");
    config.inputs = {audio("audio_in", {1, 2, -1}, hop, 2, 2)};
    config.outputs = {audio("audio_out", {1, 2, -1}, hop, 2)};
    return config;
}

// --- Streaming -------------------------------------------------------------------------------

HostConfig offline_host(std::size_t block) {
    HostConfig host;
    host.max_block_size = block;
    host.offline_rendering = true;  // wait for every result: exact whatever the scheduling
    return host;
}

struct Streamed {
    Signal output;
    std::size_t latency = 0;
    Statistics stats;
};

// Streams `input` (plus silence to flush the latency) at a fixed block size.
Streamed stream_through(
    InferenceConfig config, const Signal& input, std::size_t block,
    const std::function<void(InferenceHandler&, std::size_t frames_done)>& after_block = {}) {
    InferenceHandler handler(std::move(config), test_context());
    handler.prepare(offline_host(block));
    Streamed result;
    result.latency = handler.latency();
    HostSimulation simulation;
    simulation.block_sizes = {block};
    std::size_t done = 0;
    if (after_block)
        simulation.after_block = [&](std::size_t, std::size_t frames) {
            done += frames;
            after_block(handler, done);
        };
    const std::size_t hop = handler.config().inputs[0].hop;
    result.output = stream(handler, input, result.latency + block + hop, simulation);
    result.stats = handler.statistics();
    return result;
}

// The largest |output[n + latency] - reference[n]| over the reference, or infinity if the
// pre-roll (the first `latency` frames) is not silent.
double max_error(const Signal& output, const Signal& reference, std::size_t latency) {
    double worst = 0.0;
    for (std::size_t c = 0; c < reference.size(); ++c) {
        for (std::size_t n = 0; n < latency; ++n)
            if (output[c][n] != 0.0f)
                return INFINITY;
        for (std::size_t n = 0; n < reference[c].size(); ++n)
            worst = std::max(
                worst, std::abs(static_cast<double>(output[c][n + latency]) - reference[c][n]));
    }
    return worst;
}

// The output without its pre-roll, `frames` long.
Signal aligned(const Signal& output, std::size_t latency, std::size_t frames) {
    Signal result;
    for (const auto& channel : output)
        result.emplace_back(channel.begin() + static_cast<std::ptrdiff_t>(latency),
                            channel.begin() + static_cast<std::ptrdiff_t>(latency + frames));
    return result;
}

// --- 1. The project's models against their references ---------------------------------------

struct ModelCase {
    const char* name;  ///< also the model and reference file stem
    std::size_t hop;
    InferenceConfig (*config)(std::size_t hop);
    const char* stream;
};

InferenceConfig lstm_internal_stateful(std::size_t hop) {
    return lstm_internal_config(hop, true);
}

const ModelCase model_cases[] = {
    {"cnn_past", 256, cnn_past_config, "stream_mono.npy"},
    {"lstm_state", 256, lstm_state_config, "stream_mono.npy"},
    {"lstm_internal", 256, lstm_internal_stateful, "stream_mono.npy"},
    {"hybrid", 256, hybrid_config, "stream_mono.npy"},
    {"hybrid", 64, hybrid_config, "stream_mono.npy"},
    {"gain", 256, gain_config, "stream_mono.npy"},
    {"stereo", 256, stereo_config, "stream_stereo.npy"},
};

void PrintTo(const ModelCase& model, std::ostream* os) {
    *os << model.name << " hop " << model.hop;
}

using StreamParam = std::tuple<ModelCase, std::size_t /*block*/>;

class ProjectModels : public ::testing::TestWithParam<StreamParam> {};

TEST_P(ProjectModels, MatchTheirReferenceDelayedByLatency) {
    const auto& [model, block] = GetParam();
    const Signal input = read_signal(model.stream);
    const Signal reference = read_signal(std::string(model.name) + ".out.npy");
    ASSERT_EQ(input[0].size(), reference_frames);

    // gain: after every block, the peak output belongs to the newest hop that has been output
    // (hops are harvested as the output reaches hop * k + latency) and is max |x| of its input.
    std::size_t peak_checks = 0, peak_mismatches = 0;
    auto check_peak = [&](InferenceHandler& handler, std::size_t frames_done) {
        const std::size_t latency = handler.latency();
        if (frames_done <= latency)
            return;
        const std::size_t harvested = (frames_done - latency + model.hop - 1) / model.hop;
        const std::size_t first = (harvested - 1) * model.hop;
        float expected = 0.0f;
        for (std::size_t n = first; n < first + model.hop && n < input[0].size(); ++n)
            expected = std::max(expected, std::abs(input[0][n]));
        float peak = -1.0f;
        ASSERT_TRUE(handler.output_value("peak", std::span<float>(&peak, 1)));
        ++peak_checks;
        if (peak != expected)
            ++peak_mismatches;
    };
    const bool gain = std::string(model.name) == "gain";
    const Streamed result = stream_through(
        model.config(model.hop), input, block,
        gain ? std::function<void(InferenceHandler&, std::size_t)>(check_peak) : nullptr);

    const double error = max_error(result.output, reference, result.latency);
    std::printf("%s hop %zu block %zu: latency %zu, max abs error %.3g\n", model.name, model.hop,
                block, result.latency, error);
    EXPECT_LE(error, tolerance);
    EXPECT_EQ(result.stats.failed_inferences, 0u);
    EXPECT_EQ(result.stats.late_inferences, 0u);
    EXPECT_EQ(result.stats.substituted_frames, 0u);
    if (gain) {
        EXPECT_GT(peak_checks, reference_frames / block / 2);
        EXPECT_EQ(peak_mismatches, 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(Stream, ProjectModels,
                         ::testing::Combine(::testing::ValuesIn(model_cases),
                                            ::testing::Values(32, 100, 256, 1024)),
                         [](const ::testing::TestParamInfo<StreamParam>& param_info) {
                             const ModelCase& model = std::get<0>(param_info.param);
                             return std::string(model.name) + "_hop" + std::to_string(model.hop) +
                                    "_block" + std::to_string(std::get<1>(param_info.param));
                         });

// --- 2. State inside the module ----------------------------------------------------------------

// lstm_internal keeps h and c in module buffers. After reset() the stream restarts from the
// model's initial state; without it the state of the previous audio carries over.
TEST(LibTorchInternalState, ResetRestoresTheInitialState) {
    const Signal input = read_signal("stream_mono.npy");
    const Signal reference = read_signal("lstm_internal.out.npy");
    const Signal noise = make_signal(1, 3000, 5);
    constexpr std::size_t block = 256;
    HostSimulation simulation;
    simulation.block_sizes = {block};
    for (const bool reset : {true, false}) {
        SCOPED_TRACE(reset ? "with reset" : "without reset");
        InferenceHandler handler(lstm_internal_config(256), test_context());
        handler.prepare(offline_host(block));
        stream(handler, noise, handler.latency() + block, simulation);
        if (reset)
            handler.reset();
        const Signal output = stream(handler, input, handler.latency() + block, simulation);
        const double error = max_error(output, reference, handler.latency());
        if (reset) {
            EXPECT_LE(error, tolerance);
            EXPECT_EQ(handler.statistics().resets, 1u);
        } else {
            EXPECT_GT(error, 1e-3) << "the state of the noise should carry over";
        }
        EXPECT_EQ(handler.statistics().failed_inferences, 0u);
    }
}

// A stateless handler promises that every run starts from the model's initial state, even for a
// module that keeps state inside: the same hop fed again gives the same output. (The stateful
// control shows that the module does carry state between runs.)
TEST(LibTorchInternalState, StatelessHandlerRunsEveryHopFromTheInitialState) {
    constexpr std::size_t hop = 256, repeats = 8;
    const Signal stream_input = read_signal("stream_mono.npy");
    const Signal reference = read_signal("lstm_internal.out.npy");
    // The stream's first hop, repeated: from zero state each time, its output is the
    // reference's first hop.
    Signal input(1);
    Signal expected(1);
    for (std::size_t r = 0; r < repeats; ++r) {
        input[0].insert(input[0].end(), stream_input[0].begin(), stream_input[0].begin() + hop);
        expected[0].insert(expected[0].end(), reference[0].begin(), reference[0].begin() + hop);
    }
    for (const bool stateful : {false, true}) {
        SCOPED_TRACE(stateful ? "stateful" : "stateless");
        InferenceConfig config = lstm_internal_config(hop, stateful);
        if (!stateful)
            config.parallel_instances = 2;
        const Streamed result = stream_through(std::move(config), input, hop);
        const double error = max_error(result.output, expected, result.latency);
        if (stateful)
            EXPECT_GT(error, 1e-3);
        else
            EXPECT_LE(error, tolerance);
    }
}

// --- 3. Entry points and output kinds ----------------------------------------------------------

// methods.pt: forward(x) = 2x (a tensor), encode(x) = (3x, x + 1) (a tuple), decode(x) = [x - 1]
// (a list). The host has two channels: channel 0 feeds the model (channel 1 is ignored) and
// host output channel c receives model output channel c modulo the model's output channels.
TEST(LibTorchEntryPoints, MethodsReturningATensorATupleAndAList) {
    using Fn = float (*)(float);
    struct Case {
        const char* entry_point;
        std::vector<Fn> outputs;
    };
    const Case cases[] = {
        {"", {[](float x) { return 2.0f * x; }}},
        {"forward", {[](float x) { return 2.0f * x; }}},
        {"encode", {[](float x) { return 3.0f * x; }, [](float x) { return x + 1.0f; }}},
        {"decode", {[](float x) { return x - 1.0f; }}},
    };
    constexpr std::size_t hop = 64, block = 100, frames = 2000;
    Signal input = make_signal(2, frames, 3);
    std::fill(input[1].begin(), input[1].end(), 0.0f);
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string("entry point '") + c.entry_point + "'");
        InferenceConfig config = torch_config("methods.pt", c.entry_point);
        config.inputs = {audio("x", {1, 1, -1}, hop)};
        for (std::size_t o = 0; o < c.outputs.size(); ++o)
            config.outputs.push_back(audio("y" + std::to_string(o), {1, 1, -1}, hop));
        const Streamed result = stream_through(std::move(config), input, block);
        // Every streamed frame, the silence after the input included (x + 1 is 1 there).
        const std::size_t checked = result.output[0].size() - result.latency;
        Signal expected(2, std::vector<float>(checked));
        for (std::size_t ch = 0; ch < 2; ++ch)
            for (std::size_t n = 0; n < checked; ++n)
                expected[ch][n] = c.outputs[ch % c.outputs.size()](n < frames ? input[0][n] : 0.0f);
        EXPECT_EQ(count_mismatches(result.output, expected, result.latency, checked), 0u);
        EXPECT_EQ(result.stats.failed_inferences, 0u);
    }
}

// --- 4. Bytes, parallel instances --------------------------------------------------------------

TEST(LibTorchLoading, BytesAndParallelInstancesGiveTheSameOutputAsAFile) {
    const Signal input = read_signal("stream_mono.npy");
    constexpr std::size_t block = 128;
    const Streamed file = stream_through(cnn_past_config(256), input, block);

    InferenceConfig from_bytes = cnn_past_config(256);
    from_bytes.engines[0].model = ModelSource::memory(read_bytes(model_file("cnn_past.pt")));
    const Streamed bytes = stream_through(std::move(from_bytes), input, block);

    InferenceConfig parallel = cnn_past_config(256);
    parallel.parallel_instances = 3;
    const Streamed three = stream_through(std::move(parallel), input, block);

    const Signal expected = aligned(file.output, file.latency, reference_frames);
    EXPECT_EQ(max_error(file.output, read_signal("cnn_past.out.npy"), file.latency) <= tolerance,
              true);
    EXPECT_TRUE(aligned(bytes.output, bytes.latency, reference_frames) == expected);
    EXPECT_TRUE(aligned(three.output, three.latency, reference_frames) == expected);
    EXPECT_EQ(three.stats.failed_inferences, 0u);
}

// --- 5. Errors ---------------------------------------------------------------------------------

// What prepare() throws for `config`, or "no error".
std::string prepare_error(InferenceConfig config) {
    try {
        InferenceHandler handler(std::move(config), test_context());
        handler.prepare(offline_host(256));
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

#define EXPECT_CONTAINS(text, part) \
    EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

TEST(LibTorchErrors, MissingFile) {
    InferenceConfig config = cnn_past_config(256);
    const std::string path = model_file("no_such_model.pt");
    config.engines[0].model = ModelSource::file(path);
    const std::string message = prepare_error(std::move(config));
    EXPECT_CONTAINS(message, "engines[0] (libtorch, model " + path + "): ");
    EXPECT_CONTAINS(message, "model file not found: " + path);
}

TEST(LibTorchErrors, EmptyFile) {
    const TempFile empty("empty.pt", {});
    InferenceConfig config = cnn_past_config(256);
    config.engines[0].model = ModelSource::file(empty.path());
    EXPECT_CONTAINS(prepare_error(std::move(config)),
                    "model file is empty: " + empty.path() +
                        "; expected a TorchScript archive saved with torch.jit.save");
}

TEST(LibTorchErrors, TruncatedFileAndBytes) {
    std::vector<std::uint8_t> bytes = read_bytes(model_file("cnn_past.pt"));
    bytes.resize(bytes.size() / 2);
    const TempFile half("half.pt", bytes);
    InferenceConfig config = cnn_past_config(256);
    config.engines[0].model = ModelSource::file(half.path());
    const std::string from_file = prepare_error(std::move(config));
    EXPECT_CONTAINS(from_file, "cannot load " + half.path() + " as TorchScript: ");
    EXPECT_CONTAINS(from_file, "it is not a zip archive (no end-of-central-directory record");
    EXPECT_CONTAINS(from_file, "(expected a TorchScript archive saved with torch.jit.save)");

    config = cnn_past_config(256);
    const std::string what = "<" + std::to_string(bytes.size()) + " bytes in memory>";
    config.engines[0].model = ModelSource::memory(bytes);
    const std::string from_bytes = prepare_error(std::move(config));
    EXPECT_CONTAINS(
        from_bytes,
        "engines[0] (libtorch, model " + what + "): cannot load " + what +
            " as TorchScript: it is not a zip archive (no end-of-central-directory record");
}

TEST(LibTorchErrors, GarbageBytes) {
    std::vector<std::uint8_t> garbage(1000);
    for (std::size_t i = 0; i < garbage.size(); ++i)
        garbage[i] = static_cast<std::uint8_t>(i * 37 + 11);
    InferenceConfig config = cnn_past_config(256);
    config.engines[0].model = ModelSource::memory(garbage);
    const std::string message = prepare_error(std::move(config));
    EXPECT_CONTAINS(message,
                    "cannot load <1000 bytes in memory> as TorchScript: it is not a zip archive "
                    "(no end-of-central-directory record");
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
}

TEST(LibTorchErrors, UnknownEntryPoint) {
    InferenceConfig config = torch_config("methods.pt", "transmogrify");
    config.inputs = {audio("x", {1, 1, -1}, 64)};
    config.outputs = {audio("y", {1, 1, -1}, 64)};
    const std::string message = prepare_error(std::move(config));
    EXPECT_CONTAINS(message, model_file("methods.pt") +
                                 " has no method 'transmogrify'; its "
                                 "methods: ");
    for (const char* method : {"forward", "encode", "decode"})
        EXPECT_CONTAINS(message, method);
}

TEST(LibTorchErrors, WrongNumberOfInputs) {
    InferenceConfig config = lstm_state_config(256);
    config.inputs.resize(1);  // audio only: no h, c
    config.outputs.resize(1);
    config.state_pairs.clear();
    const std::string message = prepare_error(std::move(config));
    EXPECT_CONTAINS(message, model_file("lstm_state.pt") +
                                 " method 'forward' takes 3 tensor arguments (x, h, c); the config "
                                 "has 1 input (audio_in)");
}

// cnn_past without enough past context: [1, 1, 266] in, [1, 1, 226] out where 256 are
// expected. Found by the warm-up inference at prepare() and explained in the config's terms.
TEST(LibTorchErrors, PastContextTooSmallIsExplainedInTheConfigsTerms) {
    InferenceConfig config = cnn_past_config(256);
    config.inputs[0].past_context = 10;
    const std::string message = prepare_error(std::move(config));
    EXPECT_CONTAINS(message,
                    "engines[0] (libtorch): inputs[0].past_context: the model needs 40 samples "
                    "of past context, the config gives 10: from a window of 266 samples "
                    "(past_context 10 + hop 256) its output outputs[0] ('audio_out') has 226 "
                    "samples, 30 short of the hop; set \"past_context\": 40 (engine: output 0 "
                    "(audio_out) of " +
                        model_file("cnn_past.pt") + " method 'forward' has shape [1, 1, 226]");
}

// Known from the declared return type at load (a tensor), or only when a list is returned.
TEST(LibTorchErrors, FewerOutputsThanConfigured) {
    InferenceConfig config = cnn_past_config(256);
    config.outputs.push_back(audio("extra", {1, 1, -1}, 256));
    EXPECT_CONTAINS(prepare_error(std::move(config)),
                    model_file("cnn_past.pt") +
                        " method 'forward' returns 1 tensor (Tensor); the config has 2 outputs "
                        "(audio_out, extra)");

    config = torch_config("methods.pt", "decode");
    config.inputs = {audio("x", {1, 1, -1}, 64)};
    config.outputs = {audio("y0", {1, 1, -1}, 64), audio("y1", {1, 1, -1}, 64)};
    EXPECT_CONTAINS(prepare_error(std::move(config)),
                    "warm-up inference failed: " + model_file("methods.pt") +
                        " method 'decode' returned 1 output; the config has 2 outputs (y0, y1)");
}

// An error inside the TorchScript interpreter is reported by its last line, not its pages of
// traceback.
TEST(LibTorchErrors, ModelFailureIsReportedConcisely) {
    InferenceConfig config = cnn_past_config(256);
    config.inputs[0] = audio("audio_in", {1, 2, -1}, 256, 2, 40);  // a mono model fed stereo
    const std::string message = prepare_error(std::move(config));
    EXPECT_CONTAINS(message, "warm-up inference failed: " + model_file("cnn_past.pt") +
                                 " method 'forward' failed: RuntimeError: Given groups=1, weight "
                                 "of size [8, 1, 9], expected input[1, 2, 296] to have 1 "
                                 "channels, but got 2 channels instead");
    EXPECT_EQ(message.find("Traceback"), std::string::npos) << message;
}

TEST(LibTorchErrors, InvalidThreadCount) {
    LibTorchOptions options;
    options.threads = 0;
    try {
        make_libtorch_backend(options);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "LibTorchOptions.threads: must be at least 1, got 0");
    }
}

// --- Modules defined here: kinds of state, outputs and arguments the project models lack ---------

constexpr std::size_t scripted_hop = 64;

// A TorchScript module compiled from source and saved to bytes.
const std::vector<std::uint8_t>& scripted_model() {
    static const std::vector<std::uint8_t> bytes = [] {
        torch::jit::Module module("Scripted");
        module.register_buffer("acc", torch::zeros({1, 1, std::int64_t{scripted_hop}}));
        module.register_attribute("calls", c10::IntType::get(), std::int64_t{0});
        module.define(R"(
def forward(self, x):
    self.calls += 1
    self.acc = self.acc + x
    return self.acc, x * float(self.calls)

def ints(self, x):
    return x.long()

def need_int(self, x, n: int):
    return x * float(n)

def default_int(self, x, n: int = 2):
    return x * float(n)

def pair(self, x):
    return x, 1

def transposed(self, x):
    return x.transpose(1, 2)

def strided(self, x):
    return x.transpose(1, 2).contiguous().transpose(1, 2)
)");
        std::ostringstream out;
        module.save(out);
        const std::string text = out.str();
        return std::vector<std::uint8_t>(text.begin(), text.end());
    }();
    return bytes;
}

std::string scripted_what() {
    return "<" + std::to_string(scripted_model().size()) + " bytes in memory>";
}

InferenceConfig scripted_config(const std::string& entry_point, std::size_t channels = 1,
                                std::size_t outputs = 1) {
    InferenceConfig config;
    config.engines.push_back(
        {make_libtorch_backend(), ModelSource::memory(scripted_model()), entry_point, {}, {}});
    config.max_inference_time_ms = 1.0;
    config.warm_up = 1;
    const auto c = static_cast<std::int64_t>(channels);
    config.inputs = {audio("x", {1, c, -1}, scripted_hop, channels)};
    for (std::size_t o = 0; o < outputs; ++o)
        config.outputs.push_back(
            audio("y" + std::to_string(o), {1, c, -1}, scripted_hop, channels));
    return config;
}

// forward keeps state by reassigning attributes (self.acc = ..., self.calls += 1) rather than
// updating a buffer in place: y0 = the running sum of the hops, y1 = x * (runs so far).
TEST(LibTorchScripted, StateKeptByReassigningAttributes) {
    constexpr std::size_t hop = scripted_hop, frames = 10 * hop;
    Signal input = make_signal(2, frames, 9);
    std::fill(input[1].begin(), input[1].end(), 0.0f);  // host channel 1 is not a model input
    auto expected_for = [&](bool stateful, std::size_t total) {
        Signal expected(2, std::vector<float>(total, 0.0f));
        std::vector<float> acc(hop, 0.0f);
        for (std::size_t n = 0; n < total; ++n) {
            const float x = n < frames ? input[0][n] : 0.0f;
            const std::size_t run = stateful ? n / hop + 1 : 1;
            float& sum = acc[n % hop];
            sum = stateful ? sum + x : x;
            expected[0][n] = sum;
            expected[1][n] = x * static_cast<float>(run);
        }
        return expected;
    };
    for (const bool stateful : {false, true}) {
        SCOPED_TRACE(stateful ? "stateful" : "stateless");
        InferenceConfig config = scripted_config("forward", 1, 2);
        config.stateful = stateful;
        InferenceHandler handler(std::move(config), test_context());
        handler.prepare(offline_host(hop));
        HostSimulation simulation;
        simulation.block_sizes = {hop};
        // Twice, with a reset in between: both streams start from the initial state (and the
        // first from the state before warm-up).
        for (int pass = 0; pass < 2; ++pass) {
            if (pass == 1)
                handler.reset();
            const Signal output = stream(handler, input, handler.latency() + hop, simulation);
            const std::size_t checked = output[0].size() - handler.latency();
            EXPECT_EQ(count_mismatches(output, expected_for(stateful, checked), handler.latency(),
                                       checked),
                      0u)
                << "pass " << pass;
        }
        EXPECT_EQ(handler.statistics().failed_inferences, 0u);
    }
}

TEST(LibTorchScripted, ArgumentsWithDefaultsAndOutputsThatAreNotFloatTensors) {
    // n has a default: only x is passed.
    const Signal input = make_signal(1, 640, 4);
    const Streamed doubled = stream_through(scripted_config("default_int"), input, 64);
    Signal expected(1, std::vector<float>(input[0].size()));
    for (std::size_t n = 0; n < expected[0].size(); ++n)
        expected[0][n] = 2.0f * input[0][n];
    EXPECT_EQ(count_mismatches(doubled.output, expected, doubled.latency, expected[0].size()), 0u);

    const std::string what = scripted_what();
    EXPECT_CONTAINS(prepare_error(scripted_config("need_int")),
                    what +
                        " method 'need_int' argument 'n' is int without a default; the "
                        "libtorch engine passes only the config's inputs, as float tensors, "
                        "by position");
    EXPECT_CONTAINS(prepare_error(scripted_config("ints")),
                    "warm-up inference failed: output 0 (y0) of " + what +
                        " method 'ints' is Long; expected Float (float32)");
    EXPECT_CONTAINS(prepare_error(scripted_config("pair")),
                    what +
                        " method 'pair' returns Tuple[Tensor, int]; expected a Tensor, or a tuple "
                        "or list of tensors");
    EXPECT_CONTAINS(prepare_error(scripted_config("forward")),
                    what +
                        " method 'forward' returns 2 tensors (Tuple[Tensor, Tensor]); the config "
                        "has 1 output (y0)");
}

// An output must have the configured shape up to dimensions of size 1: a mono [1, T, 1] fits a
// [1, 1, T] output, a stereo [1, T, 2] does not fit [1, 2, T]. Strided outputs are copied in
// logical order.
TEST(LibTorchScripted, OutputShapesAndStrides) {
    const Signal mono = make_signal(1, 640, 6);
    const Streamed transposed = stream_through(scripted_config("transposed"), mono, 64);
    EXPECT_EQ(count_mismatches(transposed.output, mono, transposed.latency, mono[0].size()), 0u);

    const Signal stereo = make_signal(2, 640, 7);
    const Streamed strided = stream_through(scripted_config("strided", 2), stereo, 64);
    EXPECT_EQ(count_mismatches(strided.output, stereo, strided.latency, stereo[0].size()), 0u);

    EXPECT_CONTAINS(prepare_error(scripted_config("transposed", 2)),
                    "output 0 (y0) of " + scripted_what() +
                        " method 'transposed' has shape [1, 64, 2] (128 elements); expected [1, "
                        "2, 64] (128 elements; dimensions of size 1 may differ)");
}

// LibTorchOptions::threads (default 1) is process-wide: threads started later use it too.
// A run-time fault: models/bad/faulty_length.pt returns one sample too few whenever its window
// starts above 0.5 (and -x otherwise). Those hops fail on the worker, are substituted and
// counted, the error names the shape; every other hop is exact and nothing shifts.
TEST(LibTorchFaults, OutputOfTheWrongSizeAtRunTimeIsASubstitutedHop) {
    constexpr std::size_t hop = 64;
    InferenceConfig config = torch_config("bad/faulty_length.pt");
    config.inputs = {audio("audio_in", {1, 1, -1}, hop)};
    config.outputs = {audio("audio_out", {1, 1, -1}, hop)};
    InferenceHandler handler(config);
    HostConfig host;
    host.max_block_size = 100;
    host.offline_rendering = true;  // exact whatever the timing
    handler.prepare(host);          // warm-up sees silence: the right size
    const std::size_t frames = hop * 300;
    Signal input(1, std::vector<float>(frames));
    for (std::size_t n = 0; n < frames; ++n)
        input[0][n] = 0.9f * std::sin(0.0123f * static_cast<float>(n));
    HostSimulation simulation;
    simulation.block_sizes = {100};
    const std::size_t latency = handler.latency();
    const Signal output = stream(handler, input, latency + hop, simulation);
    std::size_t faulty = 0;
    for (std::size_t j = 0; j < frames / hop; ++j) {
        const bool fault = input[0][j * hop] > 0.5f;
        faulty += fault;
        for (std::size_t t = 0; t < hop; ++t)
            ASSERT_EQ(output[0][j * hop + latency + t], fault ? 0.0f : -input[0][j * hop + t])
                << "hop " << j << " sample " << t;
    }
    ASSERT_GT(faulty, 30u);
    const Statistics stats = handler.statistics();
    EXPECT_EQ(stats.failed_inferences, faulty);
    EXPECT_EQ(stats.late_inferences, 0u);
    EXPECT_EQ(stats.substituted_frames, faulty * hop);
    EXPECT_NE(handler.last_error().find("has shape [1, 1, 63]"), std::string::npos)
        << handler.last_error();
}

TEST(LibTorchOptions, OneIntraOpThreadByDefault) {
    make_libtorch_backend();
    int threads = 0;
    std::thread([&] { threads = at::get_num_threads(); }).join();
    EXPECT_EQ(threads, 1);
    EXPECT_EQ(at::get_num_interop_threads(), 1);
}

// --- 6. Registry -------------------------------------------------------------------------------

TEST(LibTorchRegistry, MadeByName) {
    EXPECT_EQ(make_backend("libtorch")->name(), "libtorch");
    const auto names = available_engines();
    EXPECT_NE(std::find(names.begin(), names.end(), "libtorch"), names.end());
}

}  // namespace
}  // namespace legato::test
