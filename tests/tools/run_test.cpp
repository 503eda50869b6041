// `legato run` end to end: runs the built tool on WAV files of the test models' signals and
// compares what it writes with the PyTorch references (models/README.md), sample by sample.
// Also checks the tool's audio-file reader and writer against libsndfile directly.

#include <gtest/gtest.h>
#include <sndfile.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "npy.hpp"
#include "support/run_support.hpp"
#include "tools/legato/audio_file.hpp"

namespace {

// The non-negative number that follows `label` (after spaces) and is followed by `unit` in
// `text`, or -1. (std::regex trips GCC 12's -Wmaybe-uninitialized in sanitizer builds.)
double number_after(const std::string& text, const std::string& label, const std::string& unit) {
    for (std::size_t at = text.find(label); at != std::string::npos;
         at = text.find(label, at + 1)) {
        std::size_t begin = at + label.size();
        while (begin < text.size() && text[begin] == ' ')
            ++begin;
        std::size_t end = begin;
        while (end < text.size() &&
               (std::isdigit(static_cast<unsigned char>(text[end])) != 0 || text[end] == '.'))
            ++end;
        if (end > begin && text.compare(end, unit.size(), unit) == 0)
            return std::stod(text.substr(begin, end - begin));
    }
    return -1.0;
}

namespace fs = std::filesystem;

const fs::path models_dir = LEGATO_TEST_MODELS_DIR;
const fs::path legato_program = LEGATO_CLI_PROGRAM;

/// Planar samples read straight from libsndfile (independent of the tool's reader).
struct Wav {
    int sample_rate = 0;
    int format = 0;
    std::vector<std::vector<float>> channels;
    std::size_t frames() const { return channels.empty() ? 0 : channels[0].size(); }
};

void write_wav(const fs::path& file, const std::vector<std::vector<float>>& channels,
               int sample_rate, int format = SF_FORMAT_WAV | SF_FORMAT_FLOAT) {
    SF_INFO info{};
    info.samplerate = sample_rate;
    info.channels = static_cast<int>(channels.size());
    info.format = format;
    SNDFILE* sound_file = sf_open(file.c_str(), SFM_WRITE, &info);
    ASSERT_NE(sound_file, nullptr) << file << ": " << sf_strerror(nullptr);
    const std::size_t frames = channels[0].size();
    std::vector<float> interleaved(frames * channels.size());
    for (std::size_t n = 0; n < frames; ++n)
        for (std::size_t c = 0; c < channels.size(); ++c)
            interleaved[n * channels.size() + c] = channels[c][n];
    ASSERT_EQ(sf_writef_float(sound_file, interleaved.data(), static_cast<sf_count_t>(frames)),
              static_cast<sf_count_t>(frames));
    ASSERT_EQ(sf_close(sound_file), 0);
}

Wav read_wav(const fs::path& file) {
    Wav wav;
    SF_INFO info{};
    SNDFILE* sound_file = sf_open(file.c_str(), SFM_READ, &info);
    if (sound_file == nullptr) {
        ADD_FAILURE() << file << ": " << sf_strerror(nullptr);
        return wav;
    }
    wav.sample_rate = info.samplerate;
    wav.format = info.format;
    const auto frames = static_cast<std::size_t>(info.frames);
    const auto count = static_cast<std::size_t>(info.channels);
    std::vector<float> interleaved(frames * count);
    EXPECT_EQ(sf_readf_float(sound_file, interleaved.data(), info.frames), info.frames);
    sf_close(sound_file);
    wav.channels.assign(count, std::vector<float>(frames));
    for (std::size_t n = 0; n < frames; ++n)
        for (std::size_t c = 0; c < count; ++c)
            wav.channels[c][n] = interleaved[n * count + c];
    return wav;
}

/// The rows of a [C, N] reference array.
std::vector<std::vector<float>> rows(const legato::test::NpyArray& array) {
    const std::size_t count = array.shape.at(0);
    const std::size_t frames = array.shape.at(1);
    std::vector<std::vector<float>> channels(count);
    for (std::size_t c = 0; c < count; ++c)
        channels[c].assign(array.data.begin() + static_cast<std::ptrdiff_t>(c * frames),
                           array.data.begin() + static_cast<std::ptrdiff_t>((c + 1) * frames));
    return channels;
}

std::vector<std::vector<float>> reference(const std::string& name) {
    return rows(legato::test::read_npy(models_dir / name));
}

/// Largest |actual[offset + n] - expected[n]| over the expected samples.
double max_error(const std::vector<float>& actual, const std::vector<float>& expected,
                 std::size_t offset = 0) {
    if (actual.size() < offset + expected.size())
        return INFINITY;
    double worst = 0.0;
    for (std::size_t n = 0; n < expected.size(); ++n)
        worst = std::max(worst, std::abs(static_cast<double>(actual[offset + n]) - expected[n]));
    return worst;
}

struct Outcome {
    int exit_code = -1;
    std::string out;  ///< stdout
    std::string err;  ///< stderr
};

std::string slurp(const fs::path& file) {
    std::ifstream stream(file);
    std::stringstream text;
    text << stream.rdbuf();
    return text.str();
}

std::string quoted(const fs::path& path) {
    return "'" + path.string() + "'";
}

class RunCommand : public ::testing::Test {
protected:
    void SetUp() override {
        directory_ = fs::temp_directory_path() /
                     ("legato_run_test_" + std::to_string(getpid()) + "_" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(directory_);
        fs::create_directories(directory_);
    }
    void TearDown() override {
        if (!HasFailure())
            fs::remove_all(directory_);
        else
            std::fprintf(stderr, "files kept in %s\n", directory_.c_str());
    }

    fs::path file(const std::string& name) const { return directory_ / name; }

    /// Runs `legato ARGS`, capturing its exit code, stdout and stderr.
    Outcome legato(const std::string& arguments) const {
        const fs::path out = file("stdout.txt");
        const fs::path err = file("stderr.txt");
        const std::string command = quoted(legato_program) + " " + arguments + " >" + quoted(out) +
                                    " 2>" + quoted(err) + " </dev/null";
        const int status = std::system(command.c_str());
        Outcome outcome;
        outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        outcome.out = slurp(out);
        outcome.err = slurp(err);
        return outcome;
    }

    /// The latency the summary reports ("latency: N samples").
    static std::size_t printed_latency(const Outcome& outcome) {
        const double latency = number_after(outcome.out, "latency:", " samples");
        if (latency < 0.0) {
            ADD_FAILURE() << "no latency in the summary:\n" << outcome.out;
            return 0;
        }
        return static_cast<std::size_t>(latency);
    }

    fs::path mono_input() const {
        const fs::path path = file("mono.wav");
        write_wav(path, reference("stream_mono.npy"), 48000);
        return path;
    }

    fs::path directory_;
};

std::string config(const std::string& name) {
    return quoted(models_dir / (name + ".json"));
}

// --- the tool's audio files against libsndfile ---------------------------------------------

TEST_F(RunCommand, WriterWritesFloatWavInterleavedExactly) {
    legato::cli::PlanarAudio audio;
    audio.sample_rate = 44100;
    audio.channels = {{0.5F, -1.25F, 1e-30F, 3.0F}, {-0.5F, 0.25F, -7.0F, 0.0F}};
    legato::cli::write_wav_float(file("w.wav"), audio);
    const Wav wav = read_wav(file("w.wav"));
    EXPECT_EQ(wav.sample_rate, 44100);
    EXPECT_EQ(wav.format, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
    ASSERT_EQ(wav.channels.size(), 2U);
    EXPECT_EQ(wav.channels, audio.channels);  // bit-exact, out-of-range values kept
}

TEST_F(RunCommand, ReaderDeinterleavesAnyLengthAndFormat) {
    // Longer than the reader's chunk, 3 channels, 16-bit PCM: values are k / 32768.
    const std::size_t frames = 20000;
    std::vector<std::vector<float>> channels(3, std::vector<float>(frames));
    for (std::size_t n = 0; n < frames; ++n)
        for (std::size_t c = 0; c < 3; ++c)
            channels[c][n] =
                static_cast<float>(static_cast<int>((n * 7 + c * 1000) % 2000) - 1000) / 32768.0F;
    write_wav(file("pcm.wav"), channels, 22050, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    const legato::cli::PlanarAudio audio = legato::cli::read_audio_file(file("pcm.wav"));
    EXPECT_EQ(audio.sample_rate, 22050.0);
    EXPECT_EQ(audio.channels, channels);
}

TEST_F(RunCommand, ReaderNamesTheFileInErrors) {
    try {
        legato::cli::read_audio_file(file("absent.wav"));
        ADD_FAILURE() << "no error for a missing file";
    } catch (const legato::cli::AudioFileError& e) {
        EXPECT_NE(std::string(e.what()).find("absent.wav"), std::string::npos) << e.what();
    }
    std::ofstream(file("text.wav")) << "not audio at all";
    try {
        legato::cli::read_audio_file(file("text.wav"));
        ADD_FAILURE() << "no error for a text file";
    } catch (const legato::cli::AudioFileError& e) {
        EXPECT_NE(std::string(e.what()).find("text.wav"), std::string::npos) << e.what();
    }
}

// --- rendering -------------------------------------------------------------------------------

TEST_F(RunCommand, CompensatedOutputEqualsTheReference) {
    const auto expected = reference("cnn_past.out.npy");
    const Outcome run = legato("run " + config("cnn_past") + " " + quoted(mono_input()) + " " +
                               quoted(file("out.wav")) + " --compensate-latency --block 100");
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    const Wav out = read_wav(file("out.wav"));
    EXPECT_EQ(out.sample_rate, 48000);
    EXPECT_EQ(out.format, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
    ASSERT_EQ(out.channels.size(), 1U);
    ASSERT_EQ(out.frames(), expected[0].size());  // aligned and as long as the input
    EXPECT_LE(max_error(out.channels[0], expected[0]), 1e-6);
    EXPECT_NE(run.out.find("failed inferences:    0"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("late inferences:      0"), std::string::npos) << run.out;
}

TEST_F(RunCommand, UncompensatedOutputIsTheReferenceDelayedByTheLatency) {
    const auto expected = reference("cnn_past.out.npy");
    const Outcome run = legato("run " + config("cnn_past") + " " + quoted(mono_input()) + " " +
                               quoted(file("out.wav")) + " --block 100");
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    const std::size_t latency = printed_latency(run);
    EXPECT_GT(latency, 0U);
    const Wav out = read_wav(file("out.wav"));
    ASSERT_EQ(out.channels.size(), 1U);
    ASSERT_EQ(out.frames(), expected[0].size() + latency);  // the tail is flushed, not cut
    EXPECT_LE(max_error(out.channels[0], expected[0], latency), 1e-6);
    for (std::size_t n = 0; n < latency; ++n)
        ASSERT_EQ(out.channels[0][n], 0.0F) << "sample " << n << " is before the first output";
}

TEST_F(RunCommand, VariableBlocksGiveTheSameOutput) {
    const auto expected = reference("cnn_past.out.npy");
    const Outcome run =
        legato("run " + config("cnn_past") + " " + quoted(mono_input()) + " " +
               quoted(file("out.wav")) + " --compensate-latency --block 300 --variable-blocks");
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    const Wav out = read_wav(file("out.wav"));
    ASSERT_EQ(out.channels.size(), 1U);
    EXPECT_LE(max_error(out.channels[0], expected[0]), 1e-6);
}

TEST_F(RunCommand, EveryEngineGivesTheReference) {
    const auto expected = reference("cnn_past.out.npy");
    for (const char* engine : {"onnxruntime", "libtorch", "tflite"}) {
        SCOPED_TRACE(engine);
        const Outcome run =
            legato("run " + config("cnn_past") + " " + quoted(mono_input()) + " " +
                   quoted(file("out.wav")) + " --compensate-latency --engine " + engine);
        if (run.exit_code == 2 && run.err.find("no such engine in this build") != std::string::npos)
            continue;  // an engine this build does not contain
        ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
        EXPECT_NE(run.out.find(std::string("engine:               ") + engine), std::string::npos)
            << run.out;
        const Wav out = read_wav(file("out.wav"));
        ASSERT_EQ(out.channels.size(), 1U);
        EXPECT_LE(max_error(out.channels[0], expected[0]), 1e-5);
    }
}

TEST_F(RunCommand, StereoModelWithStereoFile) {
    const auto expected = reference("stereo.out.npy");
    write_wav(file("stereo.wav"), reference("stream_stereo.npy"), 48000);
    const Outcome run = legato("run " + config("stereo") + " " + quoted(file("stereo.wav")) + " " +
                               quoted(file("out.wav")) + " --compensate-latency --block 64");
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    const Wav out = read_wav(file("out.wav"));
    ASSERT_EQ(out.channels.size(), 2U);
    ASSERT_EQ(out.frames(), expected[0].size());
    EXPECT_LE(max_error(out.channels[0], expected[0]), 1e-6);
    EXPECT_LE(max_error(out.channels[1], expected[1]), 1e-6);
}

TEST_F(RunCommand, MonoModelRunsOncePerChannelOfAStereoFile) {
    // Left: the test signal. Right: the same signal `delay` samples later. cnn_past is a
    // causal, time-invariant convolution starting from silence, so the right output is the
    // reference delayed as well (after the first `delay` samples of silent input).
    const std::size_t delay = 1000;
    const auto signal = reference("stream_mono.npy")[0];
    std::vector<float> delayed(signal.size(), 0.0F);
    std::copy(signal.begin(), signal.end() - delay, delayed.begin() + delay);
    write_wav(file("stereo.wav"), {signal, delayed}, 48000);
    const auto expected = reference("cnn_past.out.npy")[0];
    const Outcome run = legato("run " + config("cnn_past") + " " + quoted(file("stereo.wav")) +
                               " " + quoted(file("out.wav")) + " --compensate-latency");
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_NE(run.out.find("one handler per channel"), std::string::npos) << run.out;
    const Wav out = read_wav(file("out.wav"));
    ASSERT_EQ(out.channels.size(), 2U);
    EXPECT_LE(max_error(out.channels[0], expected), 1e-6);
    const std::vector<float> expected_right(expected.begin(), expected.end() - delay);
    EXPECT_LE(max_error(out.channels[1], expected_right, delay), 1e-6);
}

TEST_F(RunCommand, ParameterIsSetBeforeProcessing) {
    // gain.out.npy is the signal times 0.5; times 0.25 is exactly half of it.
    auto expected = reference("gain.out.npy")[0];
    for (auto& sample : expected)
        sample *= 0.5F;
    const Outcome run = legato("run " + config("gain") + " " + quoted(mono_input()) + " " +
                               quoted(file("out.wav")) + " --compensate-latency --param gain=0.25");
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    const Wav out = read_wav(file("out.wav"));
    ASSERT_EQ(out.channels.size(), 1U);
    EXPECT_LE(max_error(out.channels[0], expected), 1e-7);
}

TEST_F(RunCommand, PacedRunReportsLateInferences) {
    // One second of the tools' test signal, callbacks at the real-time pace.
    write_wav(file("second.wav"), {legato::tools::make_test_signal(48000, 48000.0)}, 48000);
    const Outcome run = legato("run " + config("cnn_past") + " " + quoted(file("second.wav")) +
                               " " + quoted(file("out.wav")) + " --paced");
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_NE(run.out.find("late inferences:"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("paced in real time"), std::string::npos) << run.out;
    const double wall = number_after(run.out, "wall time:", " s");
    ASSERT_GE(wall, 0.0) << run.out;
    EXPECT_GE(wall, 0.95) << "a paced second took less than a second";
    const Wav out = read_wav(file("out.wav"));
    EXPECT_EQ(out.frames(), 48000U + printed_latency(run));
}

// --- errors and exit codes (tools/legato/exit_codes.hpp) -------------------------------------

/// A config for a single-engine mono model from models/bad/ (no past context, hop 256).
std::string bad_model_config(const std::string& engine, const std::string& model) {
    return R"({"name": "bad", "sample_rate": 48000, "engines": [{"engine": ")" + engine +
           R"(", "model": ")" + (models_dir / "bad" / model).string() + R"("}],
  "inputs": [{"name": "audio_in", "role": "audio", "shape": [1, 1, -1], "hop": 256}],
  "outputs": [{"name": "audio_out", "role": "audio", "shape": [1, 1, -1], "hop": 256}],
  "max_inference_time_ms": 2, "warm_up": 1})";
}

TEST_F(RunCommand, FailedInferencesAreReportedAndFailTheRun) {
    // faulty_length.pt returns a hop one sample short (an engine error) when the window's first
    // sample is above 0.5, else the negated input. Only the third hop starts high.
    std::ofstream(file("faulty.json")) << bad_model_config("libtorch", "faulty_length.pt");
    std::vector<float> signal(4 * 256, 0.25F);
    signal[2 * 256] = 0.75F;
    write_wav(file("in.wav"), {signal}, 48000);
    const Outcome run = legato("run " + quoted(file("faulty.json")) + " " + quoted(file("in.wav")) +
                               " " + quoted(file("out.wav")) + " --compensate-latency");
    if (run.exit_code == 2 && run.err.find("no such engine") != std::string::npos)
        GTEST_SKIP() << "no LibTorch in this build";
    EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
    EXPECT_NE(run.out.find("failed inferences:    1"), std::string::npos) << run.out;
    EXPECT_NE(run.err.find("failed"), std::string::npos) << run.err;
    // A failed run never writes OUT (the substitution itself is checked sample by sample in
    // tests/unit/fault_injection_test.cpp).
    EXPECT_NE(run.err.find("not written (left as it was)"), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(file("out.wav")));
}

TEST_F(RunCommand, ModelThatCannotLoadIsAnEngineError) {
    std::ofstream(file("bad.json")) << bad_model_config("onnxruntime", "unknown_operator.onnx");
    const Outcome run = legato("run " + quoted(file("bad.json")) + " " + quoted(mono_input()) +
                               " " + quoted(file("out.wav")));
    if (run.exit_code == 2 && run.err.find("no such engine") != std::string::npos)
        GTEST_SKIP() << "no ONNX Runtime in this build";
    EXPECT_EQ(run.exit_code, 4) << run.out << run.err;
    EXPECT_NE(run.err.find("unknown_operator.onnx"), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(file("out.wav"))) << "a failed run leaves no output file";
}

TEST_F(RunCommand, WrongSampleRateIsAMismatch) {
    write_wav(file("44k.wav"), reference("stream_mono.npy"), 44100);
    const Outcome run = legato("run " + config("cnn_past") + " " + quoted(file("44k.wav")) + " " +
                               quoted(file("out.wav")));
    EXPECT_EQ(run.exit_code, 5) << run.out << run.err;
    EXPECT_NE(run.err.find("44100 Hz"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("48000 Hz"), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(file("out.wav")));

    const Outcome allowed = legato("run " + config("cnn_past") + " " + quoted(file("44k.wav")) +
                                   " " + quoted(file("out.wav")) + " --allow-rate-mismatch");
    EXPECT_EQ(allowed.exit_code, 0) << allowed.out << allowed.err;
    EXPECT_NE(allowed.err.find("warning"), std::string::npos) << allowed.err;
    EXPECT_EQ(read_wav(file("out.wav")).sample_rate, 44100);
}

TEST_F(RunCommand, WrongChannelCountIsAMismatch) {
    const Outcome run = legato("run " + config("stereo") + " " + quoted(mono_input()) + " " +
                               quoted(file("out.wav")));
    EXPECT_EQ(run.exit_code, 5) << run.out << run.err;
    EXPECT_NE(run.err.find("1 channels but stereo takes 2"), std::string::npos) << run.err;
}

TEST_F(RunCommand, MissingFilesAreInputErrors) {
    const Outcome no_config = legato("run " + quoted(file("absent.json")) + " " +
                                     quoted(mono_input()) + " " + quoted(file("out.wav")));
    EXPECT_EQ(no_config.exit_code, 3) << no_config.err;
    EXPECT_NE(no_config.err.find("absent.json"), std::string::npos) << no_config.err;

    const Outcome no_audio = legato("run " + config("cnn_past") + " " + quoted(file("absent.wav")) +
                                    " " + quoted(file("out.wav")));
    EXPECT_EQ(no_audio.exit_code, 3) << no_audio.err;
    EXPECT_NE(no_audio.err.find("absent.wav"), std::string::npos) << no_audio.err;

    const Outcome bad_output = legato("run " + config("cnn_past") + " " + quoted(mono_input()) +
                                      " " + quoted(file("no/such/dir/out.wav")));
    EXPECT_EQ(bad_output.exit_code, 3) << bad_output.err;
    EXPECT_NE(bad_output.err.find("out.wav"), std::string::npos) << bad_output.err;
}

TEST_F(RunCommand, BadParametersAndEnginesAreUsageErrors) {
    const std::string files = " " + quoted(mono_input()) + " " + quoted(file("out.wav"));
    const Outcome unknown = legato("run " + config("gain") + files + " --param volume=1");
    EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
    EXPECT_NE(unknown.err.find("unknown parameter 'volume'"), std::string::npos) << unknown.err;
    EXPECT_NE(unknown.err.find("gain (Gain, 0..2, default 0.5)"), std::string::npos) << unknown.err;

    const Outcome malformed = legato("run " + config("gain") + files + " --param gain=loud");
    EXPECT_EQ(malformed.exit_code, 2) << malformed.err;
    EXPECT_NE(malformed.err.find("not a finite number"), std::string::npos) << malformed.err;

    const Outcome count = legato("run " + config("gain") + files + " --param gain=1,2");
    EXPECT_EQ(count.exit_code, 2) << count.err;
    EXPECT_NE(count.err.find("expects 1 value"), std::string::npos) << count.err;

    const Outcome engine = legato("run " + config("cnn_past") + files + " --engine coreml");
    EXPECT_EQ(engine.exit_code, 2) << engine.err;
    EXPECT_NE(engine.err.find("onnxruntime"), std::string::npos) << engine.err;

    const Outcome policy = legato("run " + config("cnn_past") + files + " --late-policy loud");
    EXPECT_EQ(policy.exit_code, 2) << policy.err;
    EXPECT_EQ(policy.err.rfind("legato run: --late-policy: ", 0), 0U) << policy.err;

    // The argument parser's range errors carry the command's prefix like every other message.
    const Outcome block = legato("run " + config("cnn_past") + files + " --block 0");
    EXPECT_EQ(block.exit_code, 2) << block.err;
    EXPECT_EQ(block.err.rfind("legato run: --block: Value 0 not in range", 0), 0U) << block.err;
}

// A config that does not fit the model is a config problem (exit 3) named by its file, in
// Legato's words: here a past context shorter than the model's receptive field.
TEST_F(RunCommand, PastContextTooSmallIsAConfigErrorNamingTheFile) {
    std::ifstream original(models_dir / "cnn_past.json");
    std::string text((std::istreambuf_iterator<char>(original)), std::istreambuf_iterator<char>());
    const std::string key = "\"past_context\": 40";
    ASSERT_NE(text.find(key), std::string::npos);
    text.replace(text.find(key), key.size(), "\"past_context\": 10");
    // Model paths relative to models/, as in the original.
    std::string::size_type at = 0;
    while ((at = text.find("\"cnn_past.", at)) != std::string::npos) {
        text.insert(at + 1, models_dir.string() + "/");
        at += models_dir.string().size() + 2;
    }
    std::ofstream(file("short.json")) << text;
    for (const char* engine : {"onnxruntime", "libtorch", "tflite"}) {
        const Outcome run =
            legato("run " + quoted(file("short.json")) + " " + quoted(mono_input()) + " " +
                   quoted(file("out.wav")) + " --engine " + engine);
        if (run.exit_code == 2 && run.err.find("no such engine") != std::string::npos)
            continue;
        EXPECT_EQ(run.exit_code, 3) << engine << ": " << run.err;
        EXPECT_EQ(run.err.rfind("legato run: " + file("short.json").string() + ": engines[", 0), 0U)
            << run.err;
        EXPECT_NE(run.err.find("inputs[0].past_context: the model needs 40 samples of past "
                               "context, the config gives 10"),
                  std::string::npos)
            << run.err;
        EXPECT_NE(run.err.find("set \"past_context\": 40"), std::string::npos) << run.err;
        EXPECT_FALSE(fs::exists(file("out.wav")));
    }
}

// --- output files are never lost ---------------------------------------------------------

/// Every file in the test directory but the tool's captured stdout/stderr: to show that no
/// temporary file is left behind.
std::vector<std::string> files_in(const fs::path& directory) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory)) {
        const std::string name = entry.path().filename().string();
        if (name != "stdout.txt" && name != "stderr.txt")
            names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

TEST_F(RunCommand, AFailedRunLeavesAnExistingOutputExactlyAsItWas) {
    const std::string original = "an existing file the user cares about\n";
    const fs::path out = file("out.wav");
    const std::string input = quoted(mono_input());
    std::ofstream(file("bad.json")) << bad_model_config("onnxruntime", "unknown_operator.onnx");
    std::ofstream(file("faulty.json")) << bad_model_config("libtorch", "faulty_length.pt");
    std::vector<float> high(4 * 256, 0.25F);
    high[2 * 256] = 0.75F;  // faulty_length.pt fails this hop
    write_wav(file("high.wav"), {high}, 48000);
    write_wav(file("44k.wav"), reference("stream_mono.npy"), 44100);
    struct Failure {
        int exit_code;
        std::string arguments;
        const char* needs;  // an engine the case needs, or null
    };
    const Failure failures[] = {
        {1,
         "run " + quoted(file("faulty.json")) + " " + quoted(file("high.wav")) + " " + quoted(out),
         "libtorch"},
        {2, "run " + config("gain") + " " + input + " " + quoted(out) + " --param volume=1",
         nullptr},
        {3, "run " + quoted(file("absent.json")) + " " + input + " " + quoted(out), nullptr},
        {4, "run " + quoted(file("bad.json")) + " " + input + " " + quoted(out), "onnxruntime"},
        {5, "run " + config("cnn_past") + " " + quoted(file("44k.wav")) + " " + quoted(out),
         nullptr},
    };
    const std::vector<std::string> before = [&] {
        std::ofstream(out) << original;
        return files_in(directory_);
    }();
    for (const Failure& failure : failures) {
        const Outcome run = legato(failure.arguments);
        if (failure.needs != nullptr && run.exit_code == 2 &&
            run.err.find("no such engine") != std::string::npos)
            continue;  // engine not in this build
        EXPECT_EQ(run.exit_code, failure.exit_code) << failure.arguments << "\n" << run.err;
        EXPECT_EQ(slurp(out), original) << "exit " << failure.exit_code << " changed " << out;
        EXPECT_EQ(files_in(directory_), before)
            << "exit " << failure.exit_code << " left a temporary file behind";
    }
}

TEST_F(RunCommand, OutputNamingTheInputIsRefusedUnlessAskedFor) {
    const fs::path in = mono_input();
    const std::string original = slurp(in);
    fs::create_symlink(in, file("link.wav"));
    fs::create_hard_link(in, file("hard.wav"));
    for (const char* name : {"mono.wav", "link.wav", "hard.wav"}) {
        const Outcome run =
            legato("run " + config("cnn_past") + " " + quoted(in) + " " + quoted(file(name)));
        EXPECT_EQ(run.exit_code, 2) << name << ": " << run.err;
        EXPECT_NE(run.err.find("legato run: "), std::string::npos) << run.err;
        EXPECT_NE(run.err.find("is the input file"), std::string::npos) << run.err;
        EXPECT_NE(run.err.find("--overwrite-input"), std::string::npos) << run.err;
        EXPECT_EQ(slurp(in), original) << name << " changed the input";
    }
    // Asked for: the input is replaced by its own render, through a temporary file (renamed
    // over the name given; another hard link keeps the original).
    const Outcome run = legato("run " + config("cnn_past") + " " + quoted(in) + " " + quoted(in) +
                               " --compensate-latency --overwrite-input");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const Wav rendered = read_wav(in);
    ASSERT_EQ(rendered.channels.size(), 1U);
    EXPECT_LT(max_error(rendered.channels[0], reference("cnn_past.out.npy")[0]), 1e-5);
    EXPECT_EQ(slurp(file("hard.wav")), original) << "the other hard link keeps the input";
}

TEST_F(RunCommand, ASuccessfulRunReplacesAnExistingOutput) {
    const fs::path out = file("out.wav");
    std::ofstream(out) << "old";
    const Outcome run = legato("run " + config("cnn_past") + " " + quoted(mono_input()) + " " +
                               quoted(out) + " --compensate-latency");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_LT(max_error(read_wav(out).channels[0], reference("cnn_past.out.npy")[0]), 1e-5);
    EXPECT_EQ(files_in(directory_), (std::vector<std::string>{"mono.wav", "out.wav"}));
}

}  // namespace
