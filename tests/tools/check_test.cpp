// `legato check` and the starter config of `legato info`, end to end on the project's trap
// models (models/traps/, made by make_traps.py): each hides a streaming trap that the shapes
// alone do not show, and the tool must name it, say how it shows, and print the config that
// fixes it. Engines not in the build are skipped, saying so. Checks use a 6000-sample signal
// (`--samples`; the default is 12000): every trap shows in it.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "legato/engines.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path models_dir = LEGATO_TEST_MODELS_DIR;
const fs::path legato_program = LEGATO_CLI_PROGRAM;

bool built_in(const std::string& engine) {
    const auto names = legato::available_engines();
    return std::find(names.begin(), names.end(), engine) != names.end();
}

std::string quoted(const fs::path& path) {
    return "'" + path.string() + "'";
}

std::string slurp(const fs::path& file) {
    std::ifstream stream(file);
    std::stringstream text;
    text << stream.rdbuf();
    return text.str();
}

struct Outcome {
    int exit_code = -1;
    std::string out;
    std::string err;
};

class CheckCommand : public ::testing::Test {
protected:
    void SetUp() override {
        directory_ = fs::temp_directory_path() /
                     ("legato_check_test_" + std::to_string(getpid()) + "_" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(directory_);
        fs::create_directories(directory_);
    }
    void TearDown() override { fs::remove_all(directory_); }

    fs::path file(const std::string& name) const { return directory_ / name; }

    Outcome legato(const std::string& arguments) const {
        const std::string command = quoted(legato_program) + " " + arguments + " >" +
                                    quoted(file("out.txt")) + " 2>" + quoted(file("err.txt")) +
                                    " </dev/null";
        const int status = std::system(command.c_str());
        return {WIFEXITED(status) ? WEXITSTATUS(status) : 128, slurp(file("out.txt")),
                slurp(file("err.txt"))};
    }

    // A config file in the test directory for `model` with this text's tensors and flags.
    fs::path write_config(const std::string& name, const std::string& engine, const fs::path& model,
                          const std::string& body) const {
        const fs::path path = file(name + ".json");
        std::ofstream(path) << R"({"name": ")" << name << R"(", "sample_rate": 48000,
  "engines": [{"engine": ")" << engine
                            << R"(", "model": ")" << model.string() << R"("}],
)" << body << "}\n";
        return path;
    }

    fs::path directory_;
};

#define EXPECT_CONTAINS(text, part) \
    EXPECT_NE((text).find(part), std::string::npos) << "missing: " << (part) << "\nin:\n" << (text)

// A TorchScript LSTM that keeps its state in attributes forward() assigns (self.h = h_n).
TEST_F(CheckCommand, HiddenAttributeStateIsFoundAndStatefulSuggested) {
    if (!built_in("libtorch"))
        GTEST_SKIP() << "no LibTorch in this build";
    const fs::path model = models_dir / "traps" / "hidden_state.pt";
    const fs::path config = write_config("hidden", "libtorch", model, R"(
  "inputs": [{"name": "x", "role": "audio", "shape": [1, -1, 1], "hop": 256, "layout": "channels_last"}],
  "outputs": [{"name": "y", "role": "audio", "shape": [1, -1, 1], "hop": 256, "layout": "channels_last"}],
  "stateful": false)");
    const Outcome check = legato("check --samples 6000 " + quoted(config));
    EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
    EXPECT_CONTAINS(check.out, "Does NOT stream correctly");
    EXPECT_CONTAINS(check.out, "the model keeps state between inferences (TorchScript attributes");
    EXPECT_CONTAINS(check.out, "fix: \"stateful\": false -> true");
    EXPECT_CONTAINS(check.out, "\"stateful\": true");  // the fixed config

    // `legato info` reads the assignment from the graph and starts the config stateful.
    const Outcome info = legato("info " + quoted(model));
    EXPECT_EQ(info.exit_code, 0) << info.err;
    EXPECT_CONTAINS(info.out, "assigns module attributes (h, c)");
    EXPECT_CONTAINS(info.out, "\"stateful\": true");
}

// An ONNX LSTM whose initial state is a graph constant: state restarts at every inference.
TEST_F(CheckCommand, ConstantInitialStateIsFound) {
    if (!built_in("onnxruntime"))
        GTEST_SKIP() << "no ONNX Runtime in this build";
    const Outcome check =
        legato("check --samples 6000 " + quoted(models_dir / "traps" / "lstm_const_state.onnx"));
    EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
    EXPECT_CONTAINS(check.out, "with a constant or absent initial state");
    EXPECT_CONTAINS(check.out, "exporting the state as inputs and outputs");
}

// A fixed [2048, 1, 1] input: the starter config takes the window as the hop.
TEST_F(CheckCommand, FixedWindowGetsItsOwnHop) {
    if (!built_in("onnxruntime"))
        GTEST_SKIP() << "no ONNX Runtime in this build";
    const fs::path model = models_dir / "traps" / "fixed_window.onnx";
    const Outcome info = legato("info --config-only " + quoted(model));
    EXPECT_EQ(info.exit_code, 0) << info.err;
    EXPECT_CONTAINS(info.out, "\"shape\": [2048, 1, 1]");
    EXPECT_CONTAINS(info.out, "\"hop\": 2048");
    EXPECT_EQ(info.out.find("window_length"), std::string::npos) << info.out;
    const Outcome check = legato("check --samples 6000 " + quoted(model));
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_CONTAINS(check.out, "Streams correctly");
    EXPECT_CONTAINS(check.out, "the output is the same at blocks 1, 61, 2048 and 4099");
}

// Too little past context: a model that shortens its output (found at prepare), and one that
// keeps its input's length (found only by probing against the one-shot reference).
TEST_F(CheckCommand, PastContextTooSmallIsFoundWithTheValueNeeded) {
    if (!built_in("onnxruntime"))
        GTEST_SKIP() << "no ONNX Runtime in this build";
    const fs::path short_past = write_config("short", "onnxruntime", models_dir / "cnn_past.onnx",
                                             R"(
  "inputs": [{"name": "audio_in", "role": "audio", "shape": [1, 1, -1], "hop": 256, "past_context": 10}],
  "outputs": [{"name": "audio_out", "role": "audio", "shape": [1, 1, -1], "hop": 256}])");
    const Outcome shortening = legato("check --samples 6000 " + quoted(short_past));
    EXPECT_EQ(shortening.exit_code, 1) << shortening.out << shortening.err;
    EXPECT_CONTAINS(shortening.out, "inputs[0].past_context: the model needs 40 samples");
    EXPECT_CONTAINS(shortening.out, "fix: inputs[0].past_context 10 -> 40");
    EXPECT_CONTAINS(shortening.out, "\"past_context\": 40");

    const Outcome same =
        legato("check --samples 6000 " + quoted(models_dir / "traps" / "cnn_same.onnx"));
    EXPECT_EQ(same.exit_code, 1) << same.out << same.err;
    EXPECT_CONTAINS(same.out, "the model needs 24 samples of past input (found by probing");
    EXPECT_CONTAINS(same.out, "fix: past_context 0 -> 24 (input and output");
    // The starter config of `legato info` uses the probe.
    const Outcome info =
        legato("info --config-only " + quoted(models_dir / "traps" / "cnn_same.onnx"));
    EXPECT_EQ(info.exit_code, 0) << info.err;
    EXPECT_CONTAINS(info.out, "\"past_context\": 24");
}

TEST_F(CheckCommand, ACorrectConfigStreamsCorrectly) {
    if (!built_in("onnxruntime"))
        GTEST_SKIP() << "no ONNX Runtime in this build";
    const Outcome check = legato("check --samples 6000 " + quoted(models_dir / "cnn_past.json"));
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_CONTAINS(check.out, "Streams correctly with this config.");
    EXPECT_CONTAINS(check.out, "the streamed output equals a one-shot render");
}

TEST_F(CheckCommand, MissingFilesAndBadConfigsExitWith3) {
    const Outcome missing = legato("check --samples 6000 " + quoted(file("missing.json")));
    EXPECT_EQ(missing.exit_code, 3) << missing.err;
    EXPECT_CONTAINS(missing.err, "legato check: ");
    const Outcome model = legato("check --samples 6000 " + quoted(file("missing.onnx")));
    EXPECT_EQ(model.exit_code, 3) << model.err;
}

}  // namespace
