// `legato info`'s output, read back: the starter config it prints for every project model is a
// valid config file (TorchScript's, which has no shapes, is refused at "shape"), its --json
// description is JSON naming every tensor, and where its guesses are complete the starter
// config streams exactly like the PyTorch reference (models/README.md).

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "legato/legato.hpp"
#include "npy.hpp"
#include "stream_support.hpp"

namespace legato::test {
namespace {

namespace fs = std::filesystem;

const fs::path models_dir = LEGATO_TEST_MODELS_DIR;

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout only
};

CommandResult run_cli(const std::string& arguments) {
    const std::string command = std::string(LEGATO_CLI) + " " + arguments + " 2>/dev/null";
    CommandResult result;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr)
        return result;
    std::array<char, 4096> buffer{};
    std::size_t got = 0;
    while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        result.output.append(buffer.data(), got);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

bool built(const std::string& engine) {
    const auto names = available_engines();
    return std::find(names.begin(), names.end(), engine) != names.end();
}

// Every model file of the project whose engine this build has.
std::vector<fs::path> project_models() {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(models_dir)) {
        const std::string engine = engine_for_model_file(entry.path());
        if (!engine.empty() && built(engine))
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

TEST(InfoStarterConfig, ParsesForEveryModelWithShapes) {
    const auto files = project_models();
    if (files.empty())
        GTEST_SKIP() << "no engine built in";
    for (const fs::path& file : files) {
        SCOPED_TRACE(file.string());
        const CommandResult result = run_cli("info --config-only " + file.string());
        ASSERT_EQ(result.exit_code, 0);
        const bool torchscript = engine_for_model_file(file) == "libtorch";
        try {
            const ModelConfig config =
                parse_model_config(result.output, models_dir, false, file.filename().string());
            EXPECT_FALSE(torchscript) << "a TorchScript starter config has no shapes";
            EXPECT_EQ(config.name, file.stem().string());
            EXPECT_EQ(config.engine_names(), std::vector<std::string>{engine_for_model_file(file)});
            ASSERT_EQ(config.inference.engines.size(), 1u);
        } catch (const Error& e) {
            EXPECT_TRUE(torchscript) << e.what();
            EXPECT_NE(std::string(e.what()).find("inputs[0].shape"), std::string::npos) << e.what();
        }
    }
}

TEST(InfoDescription, JsonNamesEveryTensor) {
    if (!built("onnxruntime"))
        GTEST_SKIP() << "ONNX Runtime not built in";
    const CommandResult result = run_cli("info --json " + (models_dir / "gain.onnx").string());
    ASSERT_EQ(result.exit_code, 0);
    const auto json = nlohmann::json::parse(result.output);
    EXPECT_EQ(json["engine"], "onnxruntime");
    EXPECT_EQ(json["file"], (models_dir / "gain.onnx").string());
    ASSERT_EQ(json["inputs"].size(), 2u);
    EXPECT_EQ(json["inputs"][0]["name"], "audio_in");
    EXPECT_EQ(json["inputs"][0]["shape"], nlohmann::json({1, 1, -1}));
    EXPECT_EQ(json["inputs"][0]["dimension_names"], nlohmann::json({"", "", "hop"}));
    EXPECT_EQ(json["inputs"][0]["element_type"], "float32");
    EXPECT_EQ(json["inputs"][1]["name"], "gain");
    EXPECT_EQ(json["inputs"][1]["shape"], nlohmann::json({1}));
    ASSERT_EQ(json["outputs"].size(), 2u);
    EXPECT_EQ(json["outputs"][0]["name"], "audio_out");
    EXPECT_EQ(json["outputs"][1]["name"], "peak");
    EXPECT_TRUE(json["notes"].is_array());
}

TEST(InfoDescription, TorchScriptShapesAreNull) {
    if (!built("libtorch"))
        GTEST_SKIP() << "LibTorch not built in";
    const CommandResult result = run_cli("info --json " + (models_dir / "lstm_state.pt").string());
    ASSERT_EQ(result.exit_code, 0);
    const auto json = nlohmann::json::parse(result.output);
    ASSERT_EQ(json["inputs"].size(), 3u);
    EXPECT_EQ(json["inputs"][1]["name"], "h");
    EXPECT_TRUE(json["inputs"][1]["shape"].is_null());
    EXPECT_EQ(json["outputs"].size(), 3u);
}

// --- Starter configs that are right as printed ---------------------------------------------

Signal read_signal(const std::string& file) {
    return read_npy_channels(models_dir / file);
}

struct CompleteGuess {
    std::string file;   // in models/
    std::string input;  // reference stream
    std::string reference;
};

class InfoCompleteGuess : public ::testing::TestWithParam<CompleteGuess> {};

// Roles, layouts, past_context (from sliding windows or fixed TFLite shapes) and state pairs
// are all guessed right for these: the printed config streams like PyTorch.
TEST_P(InfoCompleteGuess, StreamsLikeTheReference) {
    const CompleteGuess& model = GetParam();
    const fs::path file = models_dir / model.file;
    if (!built(engine_for_model_file(file)))
        GTEST_SKIP() << engine_for_model_file(file) << " not built in";
    const CommandResult result = run_cli("info --config-only " + file.string());
    ASSERT_EQ(result.exit_code, 0);
    ModelConfig config = parse_model_config(result.output, models_dir, false, model.file);
    EXPECT_FALSE(config.inference.max_inference_time_ms.has_value());  // "measure"
    // Measuring on a machine shared with other builds can exceed the hop period (hybrid:
    // 7 ms); this test is about the guessed tensors, and offline rendering waits anyway.
    config.inference.max_inference_time_ms = 1.0;
    ContextConfig context;
    context.worker_threads = 1;
    context.realtime_priority = false;
    InferenceHandler handler(config.inference, Context::create(context));
    HostConfig host;
    host.max_block_size = 256;
    host.offline_rendering = true;  // exact results on a busy machine
    handler.prepare(host);
    // gain.out.npy was made with gain 0.5; the starter config's default is 0.
    if (model.file.rfind("gain.", 0) == 0) {
        ASSERT_TRUE(handler.set_parameter("gain", 0.5f));
    }
    const Signal input = read_signal(model.input);
    const Signal reference = read_signal(model.reference);
    HostSimulation simulation;
    simulation.block_sizes = {256};
    const Signal output = stream(handler, input, handler.latency(), simulation);
    ASSERT_EQ(output.size(), reference.size());
    double error = 0.0;
    for (std::size_t c = 0; c < reference.size(); ++c)
        for (std::size_t n = 0; n < reference[c].size(); ++n)
            error = std::max(error, std::abs(static_cast<double>(output[c][n + handler.latency()]) -
                                             static_cast<double>(reference[c][n])));
    EXPECT_LE(error, 1e-5) << handler.last_error();
    EXPECT_EQ(handler.statistics().failed_inferences, 0u) << handler.last_error();
}

INSTANTIATE_TEST_SUITE_P(
    ProjectModels, InfoCompleteGuess,
    ::testing::Values(CompleteGuess{"gain.onnx", "stream_mono.npy", "gain.out.npy"},
                      CompleteGuess{"lstm_state.onnx", "stream_mono.npy", "lstm_state.out.npy"},
                      CompleteGuess{"hybrid.onnx", "stream_mono.npy", "hybrid.out.npy"},
                      CompleteGuess{"cnn_past.tflite", "stream_mono.npy", "cnn_past.out.npy"},
                      CompleteGuess{"stereo.tflite", "stream_stereo.npy", "stereo.out.npy"},
                      CompleteGuess{"hybrid.tflite", "stream_mono.npy", "hybrid.out.npy"},
                      CompleteGuess{"gain.tflite", "stream_mono.npy", "gain.out.npy"}),
    [](const ::testing::TestParamInfo<CompleteGuess>& param_info) {
        std::string name = param_info.param.file;
        std::replace(name.begin(), name.end(), '.', '_');
        return name;
    });

}  // namespace
}  // namespace legato::test
