// A native model file in place of a config (legato/model_file_config.hpp): the library's
// telling of a model from a config and the config it derives, then `legato info`, `run`,
// `check` and `bench` given the project's own native models (models/native/, made by
// make_native.py) end to end: the output of `run` against the PyTorch references and the
// engine's own stream, a Legato config .json still read as a config, and the errors for files
// that are neither or damaged.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "legato/legato.hpp"
#include "npy.hpp"
#include "tools/legato/audio_file.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path models_dir = LEGATO_TEST_MODELS_DIR;
const fs::path native_dir = models_dir / "native";
const fs::path legato_program = LEGATO_CLI_PROGRAM;

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

#define EXPECT_CONTAINS(text, part) \
    EXPECT_NE((text).find(part), std::string::npos) << "missing: " << (part) << "\nin:\n" << (text)

// The line `legato COMMAND` prints on stderr when it derived a config from a model file.
std::string derived_line(const std::string& command, const fs::path& file) {
    return "legato " + command + ": " + file.string() +
           " is a native model file: using the config derived from it";
}

class ModelFileInPlaceOfConfig : public ::testing::Test {
protected:
    void SetUp() override {
        directory_ = fs::temp_directory_path() /
                     ("legato_model_file_test_" + std::to_string(getpid()) + "_" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(directory_);
        fs::create_directories(directory_);
    }
    void TearDown() override { fs::remove_all(directory_); }

    fs::path file(const std::string& name) const { return directory_ / name; }

    fs::path write(const std::string& name, const std::string& text) const {
        std::ofstream(file(name)) << text;
        return file(name);
    }

    Outcome legato(const std::string& arguments) const {
        const std::string command = quoted(legato_program) + " " + arguments + " >" +
                                    quoted(file("out.txt")) + " 2>" + quoted(file("err.txt")) +
                                    " </dev/null";
        const int status = std::system(command.c_str());
        return {WIFEXITED(status) ? WEXITSTATUS(status) : 128, slurp(file("out.txt")),
                slurp(file("err.txt"))};
    }

    // The project's test signal (models/stream_mono.npy) as a 48 kHz float WAV.
    fs::path input_wav() const {
        legato::cli::PlanarAudio audio;
        audio.sample_rate = 48000.0;
        audio.channels = {legato::test::read_npy(models_dir / "stream_mono.npy").data};
        legato::cli::write_wav_float(file("in.wav"), audio);
        return file("in.wav");
    }

    fs::path directory_;
};

double max_error(const std::vector<float>& actual, const std::vector<float>& expected) {
    if (actual.size() != expected.size())
        return INFINITY;
    double worst = 0.0;
    for (std::size_t n = 0; n < expected.size(); ++n)
        worst = std::max(worst, std::abs(static_cast<double>(actual[n]) - expected[n]));
    return worst;
}

// The model streamed by the engine itself, in one call: the reference for files without a
// PyTorch one (the .nam files).
std::vector<float> engine_stream(const fs::path& model, const std::vector<float>& input) {
    auto instance = legato::make_backend("native")->create_streaming_instance(
        legato::ModelSource::file(model), input.size());
    std::vector<float> output(input.size());
    instance->process(input.data(), output.data(), input.size());
    return output;
}

// --- The library: telling files apart, the derived config -----------------------------------

TEST(ConfigFileKind, ModelsAndConfigsAreToldApartByContent) {
    using legato::ConfigFileKind;
    for (const char* model : {"lstm.json", "gru.json", "conv.json", "lstm.nam", "wavenet.nam"})
        EXPECT_EQ(legato::config_file_kind(native_dir / model), ConfigFileKind::native_model)
            << model;
    EXPECT_EQ(legato::config_file_kind(models_dir / "cnn_past.json"), ConfigFileKind::config);
    EXPECT_EQ(legato::config_file_kind(models_dir / "gain.json"), ConfigFileKind::config);
}

TEST(NativeModelConfig, NamFileGivesAStatefulInlineMonoConfigAtItsRate) {
    const legato::ModelConfig config = legato::native_model_config(native_dir / "lstm.nam");
    EXPECT_EQ(config.name, "lstm");
    ASSERT_TRUE(config.sample_rate.has_value());
    EXPECT_EQ(*config.sample_rate, 48000.0);
    EXPECT_EQ(config.engine_names(), std::vector<std::string>{"native"});
    EXPECT_EQ(config.inference.engines.at(0).model.path, fs::absolute(native_dir / "lstm.nam"));
    EXPECT_TRUE(config.inference.stateful);
    EXPECT_EQ(config.inference.inline_mode, legato::InlineMode::automatic);
    EXPECT_FALSE(config.inference.max_inference_time_ms.has_value());  // "measure"
    ASSERT_EQ(config.inference.inputs.size(), 1U);
    ASSERT_EQ(config.inference.outputs.size(), 1U);
    for (const legato::TensorSpec* spec :
         {&config.inference.inputs[0], &config.inference.outputs[0]}) {
        EXPECT_EQ(spec->role, legato::TensorRole::audio);
        EXPECT_EQ(spec->shape, (std::vector<std::int64_t>{1, 1, -1}));
        EXPECT_EQ(spec->channels, 1U);
        EXPECT_EQ(spec->hop, legato::native_model_config_hop);
        EXPECT_EQ(spec->past_context, 0U);
    }
    EXPECT_EQ(config.inference.inputs[0].name, "input");
    EXPECT_EQ(config.inference.outputs[0].name, "output");
    EXPECT_EQ(config.file, fs::absolute(native_dir / "lstm.nam"));
}

TEST(NativeModelConfig, RtneuralJsonStatesNoRateAndItsTextIsAConfig) {
    const fs::path model = native_dir / "gru.json";
    EXPECT_FALSE(legato::native_model_config(model).sample_rate.has_value());
    // The text reads as any config file does, relative to the model's folder.
    const legato::ModelConfig parsed =
        legato::parse_model_config(legato::native_model_config_json(model), native_dir);
    EXPECT_TRUE(parsed.inference.stateful);
    EXPECT_EQ(parsed.inference.engines.at(0).model.path, native_dir / "gru.json");
}

TEST_F(ModelFileInPlaceOfConfig, FilesThatAreNeitherOrBothAreRefusedSayingWhatWasExpected) {
    const std::pair<std::string, std::string> cases[] = {
        {R"({"layers": [], "engines": []})",
         R"(has keys of a Legato config ("engines") and of a native model ("layers"))"},
        {R"({"name": "x"})", "this JSON object has none of these keys"},
        {"[1, 2]", "this JSON is an array"},
    };
    int n = 0;
    for (const auto& [text, problem] : cases) {
        const fs::path path = write("file" + std::to_string(n++) + ".json", text);
        try {
            legato::config_file_kind(path);
            ADD_FAILURE() << text << " was accepted";
        } catch (const legato::Error& e) {
            const std::string what = e.what();
            EXPECT_EQ(what.rfind(path.string() + ": ", 0), 0U) << what;
            EXPECT_CONTAINS(what, problem);
            EXPECT_CONTAINS(what, "expected a Legato config");
            EXPECT_CONTAINS(what, "a native model file (an RTNeural JSON model with \"layers\"");
        }
    }
    // Not JSON: a config, whose reader then says where the syntax breaks.
    EXPECT_EQ(legato::config_file_kind(write("broken.json", "{\"engines\": [")),
              legato::ConfigFileKind::config);
}

// --- legato info ------------------------------------------------------------------------------

TEST_F(ModelFileInPlaceOfConfig, InfoDescribesTheModelAndPrintsTheDerivedConfig) {
    const Outcome info = legato("info " + quoted(native_dir / "lstm.nam"));
    ASSERT_EQ(info.exit_code, 0) << info.out << info.err;
    EXPECT_CONTAINS(info.out, "nam: NAM LSTM: 1 layer, hidden 2");
    EXPECT_CONTAINS(info.out, "Config derived from the model file");
    EXPECT_CONTAINS(info.out, "\"sample_rate\": 48000, as the file states");
    // Where "auto" runs it is measured, so either verdict may stand; one must, with its figures.
    const bool inline_verdict =
        info.out.find(
            "\"inline\": \"auto\" runs it inline, on the audio thread, with latency 0 "
            "at blocks of 256 frames at 48000 Hz") != std::string::npos;
    const bool pool_verdict =
        info.out.find("\"inline\": \"auto\" runs it on the worker pool at blocks of 256 frames") !=
        std::string::npos;
    EXPECT_TRUE(inline_verdict || pool_verdict) << info.out;
    EXPECT_CONTAINS(info.out, "% of the block");
    // The config is the last thing printed: the same config the library derives.
    const std::size_t brace = info.out.find("\n{\n");
    ASSERT_NE(brace, std::string::npos) << info.out;
    const legato::ModelConfig printed =
        legato::parse_model_config(info.out.substr(brace + 1), native_dir);
    const legato::ModelConfig derived = legato::native_model_config(native_dir / "lstm.nam");
    EXPECT_EQ(legato::to_json(printed, native_dir), legato::to_json(derived, native_dir));
    EXPECT_CONTAINS(info.out, "\"stateful\": true");
}

TEST_F(ModelFileInPlaceOfConfig, InfoReadsRtneuralJsonAndItsConfigOnlyOutputRuns) {
    // Saved next to the model, as docs/cli.md says, the printed config renders what the model
    // file itself renders.
    fs::copy_file(native_dir / "conv.json", file("conv.json"));
    const Outcome info = legato("info --config-only " + quoted(file("conv.json")));
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_EQ(info.out.rfind("{\n  \"name\": \"conv\",\n", 0), 0U) << info.out;
    EXPECT_CONTAINS(info.out, "\"engines\": [{\"engine\": \"native\", \"model\": \"conv.json\"}]");
    std::ofstream(file("derived.json")) << info.out;

    const fs::path in = input_wav();
    // Aligned, as "auto" may choose the pool for one run and inline for the other.
    const Outcome by_config =
        legato("run --no-progress --compensate-latency " + quoted(file("derived.json")) + " " +
               quoted(in) + " " + quoted(file("by_config.wav")));
    ASSERT_EQ(by_config.exit_code, 0) << by_config.err;
    EXPECT_EQ(by_config.err.find("native model file"), std::string::npos) << by_config.err;
    const Outcome by_model =
        legato("run --no-progress --compensate-latency " + quoted(file("conv.json")) + " " +
               quoted(in) + " " + quoted(file("by_model.wav")));
    ASSERT_EQ(by_model.exit_code, 0) << by_model.err;
    EXPECT_CONTAINS(by_model.err, derived_line("run", file("conv.json")));
    const auto a = legato::cli::read_audio_file(file("by_config.wav"));
    const auto b = legato::cli::read_audio_file(file("by_model.wav"));
    ASSERT_EQ(a.channel_count(), 1U);
    ASSERT_EQ(b.channel_count(), 1U);
    EXPECT_EQ(a.frames(), 8192U);
    EXPECT_LE(max_error(a.channels[0], b.channels[0]), 1e-6);
}

TEST_F(ModelFileInPlaceOfConfig, InfoJsonDescribesRtneuralAndNamModels) {
    const Outcome info = legato("info --json " + quoted(native_dir / "gru.json"));
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_CONTAINS(info.out, "\"engine\": \"native\"");
    EXPECT_CONTAINS(info.out, "rtneural-json: GRU(1->");
    EXPECT_EQ(info.out.find("\"sample_rate\""), std::string::npos) << "RTNeural JSON states none";
    // A NAM file states its rate and metadata: fields of their own.
    const Outcome nam = legato("info --json " + quoted(native_dir / "lstm.nam"));
    ASSERT_EQ(nam.exit_code, 0) << nam.err;
    EXPECT_CONTAINS(nam.out, "\"sample_rate\": 48000");
    EXPECT_CONTAINS(nam.out, "\"metadata\": {");
    EXPECT_CONTAINS(nam.out, "\"name\": \"legato-native-seed\"");
}

// --- legato run -------------------------------------------------------------------------------

// Each RTNeural model against PyTorch (models/native/*.out.npy); --compensate-latency aligns the
// output whichever way "auto" chose. Host blocks of 97 (prime) and varying, so hops and blocks do
// not line up.
TEST_F(ModelFileInPlaceOfConfig, RunRendersRtneuralModelsLikePyTorch) {
    const fs::path in = input_wav();
    for (const char* name : {"lstm", "gru", "conv"}) {
        const fs::path model = native_dir / (std::string(name) + ".json");
        const auto reference =
            legato::test::read_npy(native_dir / (std::string(name) + ".out.npy")).data;
        for (const char* blocks : {"--block 97", "--block 300 --variable-blocks"}) {
            const Outcome run =
                legato("run --no-progress --compensate-latency " + std::string(blocks) + " " +
                       quoted(model) + " " + quoted(in) + " " + quoted(file("out.wav")));
            ASSERT_EQ(run.exit_code, 0) << name << " " << blocks << ": " << run.err;
            EXPECT_CONTAINS(run.err, derived_line("run", model));
            EXPECT_EQ(run.err.find("derived"), run.err.rfind("derived")) << "one line";
            EXPECT_CONTAINS(run.out, "engine:               native");
            const auto out = legato::cli::read_audio_file(file("out.wav"));
            ASSERT_EQ(out.channel_count(), 1U);
            EXPECT_LE(max_error(out.channels[0], reference), 2e-6) << name << " " << blocks;
        }
    }
}

TEST_F(ModelFileInPlaceOfConfig, RunRendersNamFilesAsTheEngineStreamsThem) {
    const fs::path in = input_wav();
    const auto input = legato::test::read_npy(models_dir / "stream_mono.npy").data;
    for (const char* name : {"lstm.nam", "wavenet.nam"}) {
        const Outcome run =
            legato("run --no-progress --compensate-latency --block 61 " +
                   quoted(native_dir / name) + " " + quoted(in) + " " + quoted(file("out.wav")));
        ASSERT_EQ(run.exit_code, 0) << name << ": " << run.err;
        EXPECT_CONTAINS(run.err, derived_line("run", native_dir / name));
        EXPECT_CONTAINS(run.out, "sample rate:          48000 Hz");
        const auto out = legato::cli::read_audio_file(file("out.wav"));
        ASSERT_EQ(out.channel_count(), 1U);
        const auto reference = engine_stream(native_dir / name, input);
        EXPECT_LE(max_error(out.channels[0], reference), 1e-6) << name;
        double peak = 0.0;
        for (const float y : reference)
            peak = std::max(peak, static_cast<double>(std::abs(y)));
        EXPECT_GT(peak, 1e-3) << name << ": a silent reference proves nothing";
    }
}

TEST_F(ModelFileInPlaceOfConfig, RunRefusesANamFileAtAnotherRate) {
    legato::cli::PlanarAudio audio;
    audio.sample_rate = 44100.0;
    audio.channels = {std::vector<float>(1000, 0.1f)};
    legato::cli::write_wav_float(file("in44.wav"), audio);
    const Outcome run = legato("run --no-progress " + quoted(native_dir / "lstm.nam") + " " +
                               quoted(file("in44.wav")) + " " + quoted(file("out.wav")));
    EXPECT_EQ(run.exit_code, 5) << run.err;
    EXPECT_CONTAINS(run.err, "expects 48000 Hz");
}

// A Legato config .json naming a native model is still a config: read as written (its hop, its
// name), no derived line.
TEST_F(ModelFileInPlaceOfConfig, ALegatoConfigJsonIsStillReadAsAConfig) {
    const fs::path config = write("mine.json", R"({"name": "my_gru",
  "engines": [{"engine": "native", "model": ")" + (native_dir / "gru.json").string() +
                                                   R"("}],
  "inputs": [{"name": "in", "role": "audio", "shape": [1, 1, -1], "hop": 256}],
  "outputs": [{"name": "out", "role": "audio", "shape": [1, 1, -1], "hop": 256}],
  "stateful": true, "inline": "never", "max_inference_time_ms": 2})");
    EXPECT_EQ(legato::config_file_kind(config), legato::ConfigFileKind::config);
    const Outcome run = legato("run --no-progress --compensate-latency " + quoted(config) + " " +
                               quoted(input_wav()) + " " + quoted(file("out.wav")));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err.find("native model file"), std::string::npos) << run.err;
    EXPECT_CONTAINS(run.out, "model:                my_gru");
    const auto out = legato::cli::read_audio_file(file("out.wav"));
    EXPECT_LE(
        max_error(out.channels.at(0), legato::test::read_npy(native_dir / "gru.out.npy").data),
        2e-6);
    const Outcome check = legato("check --samples 4000 " + quoted(config));
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_EQ(check.err.find("native model file"), std::string::npos) << check.err;
}

// --- legato check and bench -------------------------------------------------------------------

TEST_F(ModelFileInPlaceOfConfig, CheckFindsTheDerivedConfigsStreamCorrectly) {
    for (const char* name : {"lstm.nam", "wavenet.nam", "lstm.json", "gru.json", "conv.json"}) {
        const fs::path model = native_dir / name;
        const Outcome check = legato("check --samples 4000 " + quoted(model));
        EXPECT_EQ(check.exit_code, 0) << name << ": " << check.out << check.err;
        EXPECT_CONTAINS(check.err, derived_line("check", model));
        EXPECT_CONTAINS(check.out, "(with the config derived from it) on native");
        EXPECT_CONTAINS(check.out, "Streams correctly with this config.");
        EXPECT_CONTAINS(check.out, "\"stateful\": true: the model's own state carries");
    }
}

TEST_F(ModelFileInPlaceOfConfig, BenchMeasuresANativeModelFile) {
    const fs::path model = native_dir / "gru.json";
    const Outcome bench =
        legato("bench " + quoted(model) + " --blocks 64,256 --iterations 5 --repetitions 2 --csv " +
               quoted(file("bench.csv")));
    ASSERT_EQ(bench.exit_code, 0) << bench.out << bench.err;
    EXPECT_CONTAINS(bench.err, derived_line("bench", model));
    const std::string csv = slurp(file("bench.csv"));
    EXPECT_CONTAINS(csv, "\nnative,64,");
    EXPECT_CONTAINS(csv, "\nnative,256,");
}

// --- errors, every command --------------------------------------------------------------------

TEST_F(ModelFileInPlaceOfConfig, EveryCommandNamesAFileThatIsNeitherAndADamagedModel) {
    const fs::path both = write("both.json", R"({"layers": [], "inputs": []})");
    const fs::path neither = write("neither.json", R"({"hop": 64})");
    // An LSTM of 3 units whose weights hold one array instead of three.
    const fs::path damaged =
        write("damaged.json", R"({"in_shape": [null, null, 1], "layers": [{"type": "lstm",
      "activation": "tanh", "shape": [null, null, 3], "weights": [[[1, 2, 3]]]}]})");
    const fs::path in = input_wav();
    for (const std::string command : {"info", "check", "run", "bench"}) {
        const auto invoke = [&](const fs::path& target) {
            std::string arguments = command + " " + quoted(target);
            if (command == "run")
                arguments += " " + quoted(in) + " " + quoted(file("out.wav"));
            return legato(arguments);
        };
        const std::string prefix = "legato " + command + ": ";
        const Outcome a = invoke(both);
        EXPECT_EQ(a.exit_code, 3) << command << ": " << a.err;
        EXPECT_CONTAINS(a.err, prefix + both.string() + ": has keys of a Legato config");
        const Outcome b = invoke(neither);
        EXPECT_EQ(b.exit_code, 3) << command << ": " << b.err;
        EXPECT_CONTAINS(b.err, prefix + neither.string() + ": expected a Legato config");
        const Outcome c = invoke(damaged);
        EXPECT_EQ(c.exit_code, 4) << command << ": " << c.err;
        EXPECT_CONTAINS(c.err, prefix + damaged.string() + ": layers[0] (lstm):");
        const Outcome d = invoke(file("missing.nam"));
        EXPECT_EQ(d.exit_code, 3) << command << ": " << d.err;
        EXPECT_CONTAINS(d.err, "missing.nam");
        EXPECT_FALSE(fs::exists(file("out.wav"))) << command;
    }
}

}  // namespace
