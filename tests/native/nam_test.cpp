// NAM (.nam) models in the native engine: the staged upstream models against
// NeuralAmpModelerCore's outputs at every block size, the loader's error messages, real-time
// safety of process() and independence of clones.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audio_thread_guard.hpp"
#include "engines/native/nam_file.hpp"
#include "legato/engines.hpp"
#include "legato/error.hpp"
#include "legato/model_description.hpp"
#include "legato/model_source.hpp"
#include "native_cases.hpp"

namespace {

using legato::native::load_nam;
using legato::native::StreamModel;
namespace cases = legato::test::native_cases;

std::string read_file(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

// Deterministic weights in [-0.5, 0.5).
std::vector<double> weights(std::size_t count, std::uint32_t seed = 1) {
    std::vector<double> out(count);
    for (double& w : out) {
        seed = seed * 1664525u + 1013904223u;
        w = static_cast<double>(seed >> 8) / 16777216.0 - 0.5;
    }
    return out;
}

std::vector<float> noise(std::size_t count, std::uint32_t seed) {
    std::vector<float> out;
    for (double w : weights(count, seed))
        out.push_back(static_cast<float>(w));
    return out;
}

// A small LSTM file: 1 layer, hidden 2 (36 cell weights), a linear head (3 weights per output).
nlohmann::json lstm_file(std::size_t out_channels = 1) {
    return {{"version", "0.5.4"},
            {"architecture", "LSTM"},
            {"config",
             {{"input_size", 1},
              {"hidden_size", 2},
              {"num_layers", 1},
              {"out_channels", out_channels}}},
            {"metadata", {{"loudness", -20.5}, {"input_level_dbu", 18.3}, {"name", "test"}}},
            {"weights", weights(36 + 3 * out_channels)},
            {"sample_rate", 48000}};
}

// A small two-array WaveNet (A1 shape, second array gated):
//   array 0: 1 -> 3 ch, k3, dilations 1 2, Tanh, head 2 (3 + 2 * 45 + 6 = 99 weights)
//   array 1: 3 -> 2 ch, k3, dilation 4, ReLU gated, head 1 + bias (6 + 38 + 3 = 47)
//   head_scale (1). Receptive field 1 + 2 + 4 + 8 = 15.
// With a condition_dsp (the 2-output LSTM above), every input mixin reads 2 values: 157.
nlohmann::json wavenet_file(bool with_condition_dsp = false) {
    const std::size_t condition = with_condition_dsp ? 2 : 1;
    nlohmann::json config = {{"layers",
                              {{{"input_size", 1},
                                {"condition_size", condition},
                                {"head_size", 2},
                                {"channels", 3},
                                {"kernel_size", 3},
                                {"dilations", {1, 2}},
                                {"activation", "Tanh"},
                                {"gated", false},
                                {"head_bias", false}},
                               {{"input_size", 3},
                                {"condition_size", condition},
                                {"head_size", 1},
                                {"channels", 2},
                                {"kernel_size", 3},
                                {"dilations", {4}},
                                {"activation", "ReLU"},
                                {"gated", true},
                                {"head_bias", true}}}},
                             {"head", nullptr},
                             {"head_scale", 0.02}};
    if (with_condition_dsp)
        config["condition_dsp"] = lstm_file(2);
    return {{"version", "0.5.4"},
            {"architecture", "WaveNet"},
            {"config", config},
            {"weights", weights(with_condition_dsp ? 157 : 147, 7)},
            {"sample_rate", 48000}};
}

std::unique_ptr<StreamModel> load(const nlohmann::json& file) {
    return load_nam(file.dump(), "test.nam");
}

// The message of the legato::Error that loading `text` throws ("" when it loads).
std::string load_error(const std::string& text) {
    try {
        load_nam(text, "test.nam");
    } catch (const legato::Error& e) {
        return e.what();
    }
    return "";
}

// The first index where |a - b| exceeds `tolerance` (or is NaN); the last index when none.
std::size_t first_over(const std::vector<float>& a, const std::vector<float>& b, double tolerance) {
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i)
        if (!(std::fabs(static_cast<double>(a[i]) - b[i]) <= tolerance))
            return i;
    return n - 1;
}

// Staged upstream models =====================================================================

TEST(NamReference, MatchesNeuralAmpModelerCoreAtEveryBlockSize) {
    std::string skip_reason;
    const std::vector<cases::Case> staged = cases::load("nam", skip_reason);
    if (staged.empty())
        GTEST_SKIP() << skip_reason;
    for (const cases::Case& c : staged) {
        SCOPED_TRACE("case " + c.name + " (" + c.model.string() + ")");
        std::unique_ptr<StreamModel> model;
        try {
            model = load_nam(read_file(c.model), c.model.string());
        } catch (const legato::Error& e) {
            ADD_FAILURE() << c.name << " does not load (unsupported feature): " << e.what();
            continue;
        }
        ASSERT_EQ(model->input_size(), 1u);
        double worst = 0.0;
        for (std::size_t block : cases::block_sizes()) {
            const std::vector<float> out = cases::stream(*model, c.input, block);
            std::size_t worst_at = 0;
            const double error = cases::max_abs_error(out, c.reference, &worst_at);
            worst = std::max(worst, error);
            const std::size_t first = first_over(out, c.reference, c.tolerance);
            EXPECT_LE(error, c.tolerance)
                << c.name << " at block size " << block << " (0 = varying): first sample over "
                << c.tolerance << " is " << first << " (output " << out[first] << ", reference "
                << c.reference[first] << "); max |error| " << error << " at " << worst_at;
        }
        std::cout << "conformance " << c.name << ": max |error| " << worst
                  << " over block sizes 1, 3, 64, 97, 4096, varying (tolerance " << c.tolerance
                  << ")\n";
    }
}

// Model facts ================================================================================

TEST(NamInfo, ReportsSampleRateMetadataAndReceptiveField) {
    const std::unique_ptr<StreamModel> lstm = load(lstm_file());
    EXPECT_EQ(lstm->info().format, "nam");
    EXPECT_EQ(lstm->info().sample_rate, 48000.0);
    EXPECT_EQ(lstm->info().receptive_field, 0u);  // recurrent
    auto has = [](const StreamModel& m, const std::string& key, const std::string& value) {
        for (const auto& [k, v] : m.info().metadata)
            if (k == key)
                return v == value;
        return false;
    };
    EXPECT_TRUE(has(*lstm, "loudness", "-20.5"));
    EXPECT_TRUE(has(*lstm, "input_level_dbu", "18.3"));
    EXPECT_TRUE(has(*lstm, "version", "0.5.4"));
    EXPECT_TRUE(has(*lstm, "prewarm_samples", "24000"));

    const std::unique_ptr<StreamModel> wavenet = load(wavenet_file());
    EXPECT_EQ(wavenet->info().receptive_field, 15u);
    EXPECT_TRUE(has(*wavenet, "prewarm_samples", "15"));
    EXPECT_NE(wavenet->info().architecture.find("WaveNet"), std::string::npos);
    const std::unique_ptr<StreamModel> conditioned = load(wavenet_file(true));
    EXPECT_EQ(conditioned->info().receptive_field, 0u);  // the condition model is recurrent
}

TEST(NamInfo, TheModelDescriptionCarriesTheRateAndMetadataAsFields) {
    const std::string text = lstm_file().dump();
    const legato::ModelDescription d = legato::make_backend("native")->describe(
        legato::ModelSource::memory(std::vector<std::uint8_t>(text.begin(), text.end())), "");
    ASSERT_TRUE(d.sample_rate.has_value());
    EXPECT_EQ(*d.sample_rate, 48000.0);
    const auto value = [&](const std::string& key) {
        for (const auto& [k, v] : d.metadata)
            if (k == key)
                return v;
        return std::string("(absent)");
    };
    EXPECT_EQ(value("loudness"), "-20.5");
    EXPECT_EQ(value("input_level_dbu"), "18.3");
    EXPECT_NE(d.format_details.find("trained at 48000 Hz"), std::string::npos) << d.format_details;

    // RTNeural JSON states no rate.
    const std::string json =
        R"({"in_shape": [null, null, 1], "layers": [{"type": "dense", "activation": "",
            "shape": [null, null, 1], "weights": [[[0.5]], [0.0]]}]})";
    const legato::ModelDescription r = legato::make_backend("native")->describe(
        legato::ModelSource::memory(std::vector<std::uint8_t>(json.begin(), json.end())), "");
    EXPECT_FALSE(r.sample_rate.has_value());
}

// Kernels of more taps than matmul_blocks takes in one pass (20: two passes, the input mixin in
// the second) give the same bits however the stream is cut into calls.
TEST(NamWaveNet, LongKernelsStreamTheSameAtEveryBlockSize) {
    nlohmann::json file = wavenet_file();
    for (auto& array : file["config"]["layers"])
        array["kernel_size"] = 20;
    file["weights"] = weights(589, 7);  // 405 (first array) + 183 (second) + head_scale
    const std::vector<float> in = noise(700, 5);
    std::vector<float> whole(700);
    load(file)->process(in.data(), whole.data(), 700);
    for (std::size_t block : {1u, 3u, 97u}) {
        const std::unique_ptr<StreamModel> model = load(file);
        std::vector<float> cut(700);
        for (std::size_t at = 0; at < 700; at += block)
            model->process(in.data() + at, cut.data() + at, std::min(block, 700 - at));
        EXPECT_EQ(cut, whole) << "blocks of " << block;
    }
}

TEST(NamContainer, RunsTheLargestSubmodel) {
    nlohmann::json small = lstm_file();
    small["config"]["hidden_size"] = 1;
    small["weights"] = weights(4 * 2 + 4 + 2 + 2);
    const nlohmann::json container = {{"version", "0.7.0"},
                                      {"architecture", "SlimmableContainer"},
                                      {"config",
                                       {{"submodels",
                                         {{{"max_value", 0.5}, {"model", small}},
                                          {{"max_value", 1.0}, {"model", lstm_file()}}}}}},
                                      {"weights", nlohmann::json::array()},
                                      {"sample_rate", 48000}};
    const std::unique_ptr<StreamModel> model = load(container);
    const std::unique_ptr<StreamModel> largest = load(lstm_file());
    const std::vector<float> in = noise(300, 9);
    std::vector<float> out1(300), out2(300);
    model->process(in.data(), out1.data(), 300);
    largest->process(in.data(), out2.data(), 300);
    EXPECT_EQ(out1, out2);
    EXPECT_NE(model->info().architecture.find("largest of 2 submodels"), std::string::npos);
}

TEST(NamPostStackHead, LoadsAndAddsItsReceptiveField) {
    // Head: Conv1D 1 -> 4 (k2, bias: 12 weights), Conv1D 4 -> 1 (k1, bias: 5), before
    // head_scale. Its receptive field adds 1 frame to the layer arrays' 15.
    nlohmann::json file = wavenet_file();
    file["config"]["head"] = {
        {"channels", 4}, {"out_channels", 1}, {"kernel_sizes", {2, 1}}, {"activation", "ReLU"}};
    file["weights"] = weights(147 + 17, 7);
    const std::unique_ptr<StreamModel> model = load(file);
    EXPECT_EQ(model->info().receptive_field, 16u);
    const std::vector<float> in = noise(300, 9);
    std::vector<float> out(300);
    model->process(in.data(), out.data(), 300);
    for (float v : out)
        ASSERT_TRUE(std::isfinite(v));
}

// Loader errors ==============================================================================

TEST(NamErrors, WeightCountNamesThePartThatRanShort) {
    nlohmann::json file = wavenet_file();
    file["weights"] = weights(5);  // rechannel takes 3, the first conv needs 30
    EXPECT_EQ(load_error(file.dump()),
              "test.nam: weights: layer array 0, layer 0 (conv) needs 30 more weights, the file "
              "has 2 left");
    file["weights"] = weights(147 + 5);
    EXPECT_EQ(load_error(file.dump())
                  .rfind("test.nam: weights: 5 values left over after the last layer", 0),
              0u)
        << load_error(file.dump());

    nlohmann::json lstm = lstm_file();
    lstm["weights"] = weights(30);
    EXPECT_EQ(load_error(lstm.dump()),  // the gate matrix takes 24
              "test.nam: weights: LSTM layer 0 (gate bias) needs 8 more weights, the file has 6 "
              "left");
}

TEST(NamErrors, NonFiniteWeightsAreRefused) {
    nlohmann::json file = wavenet_file();
    file["weights"][4] = 1e39;  // a double, but infinite as a float
    EXPECT_EQ(load_error(file.dump()), "test.nam: weights[4] is 1e+39, infinite as a float");

    // Python's json module writes NaN for a NaN weight; that is not JSON.
    std::string text = wavenet_file().dump();
    const std::size_t at = text.find("\"weights\":[") + 11;
    text.insert(at, "NaN,");
    EXPECT_NE(load_error(text).find("test.nam: holds NaN at byte"), std::string::npos)
        << load_error(text);
}

TEST(NamErrors, UnknownArchitectureMissingAndIllTypedFields) {
    nlohmann::json file = wavenet_file();
    file["architecture"] = "Foo";
    EXPECT_EQ(load_error(file.dump()),
              "test.nam: unsupported NAM architecture 'Foo' (supported: LSTM, WaveNet, "
              "SlimmableContainer)");

    file = wavenet_file();
    file["config"]["layers"][0].erase("channels");
    EXPECT_EQ(load_error(file.dump()), "test.nam: config.layers[0].channels is missing");

    file = wavenet_file();
    file["config"]["layers"][1]["dilations"][0] = "four";
    EXPECT_EQ(load_error(file.dump()),
              "test.nam: config.layers[1].dilations[0] must be a number, not string");

    file = wavenet_file();
    file["config"]["layers"][1]["input_size"] = 4;
    EXPECT_EQ(load_error(file.dump()),
              "test.nam: config.layers[1].input_size (4) must be 3 (the previous array's "
              "channels)");

    file = wavenet_file();
    file["version"] = "0.4.0";
    EXPECT_EQ(load_error(file.dump()),
              "test.nam: version '0.4.0' is not supported (supported: NAM file versions 0.5 to "
              "0.7)");

    file = wavenet_file(true);
    file["config"]["condition_dsp"]["config"].erase("hidden_size");
    EXPECT_EQ(load_error(file.dump()),
              "test.nam: config.condition_dsp.config.hidden_size is missing");

    EXPECT_NE(load_error("{\"version\": ").find("test.nam: not a NAM file (not valid JSON"),
              std::string::npos);
}

// Real-time safety and clones ================================================================

void expect_realtime_process(StreamModel& model) {
    const std::vector<float> in = noise(300 * model.input_size(), 3);
    std::vector<float> out(300 * model.output_size());
    legato::test::AudioThreadViolations v;
    {
        legato::test::AudioThreadGuard guard;
        model.process(in.data(), out.data(), 300);  // longer than the internal step
        model.reset();                              // includes the pre-warm
        model.process(in.data(), out.data(), 1);
        v = guard.violations();
    }
    EXPECT_TRUE(legato::test::NoViolations(v)) << model.info().architecture;
}

TEST(NamRealtime, ProcessAndResetNeitherAllocateNorLock) {
    LEGATO_REQUIRE_AUDIO_THREAD_GUARD();
    const std::unique_ptr<StreamModel> lstm = load(lstm_file());
    expect_realtime_process(*lstm);
    const std::unique_ptr<StreamModel> wavenet = load(wavenet_file());
    expect_realtime_process(*wavenet);
    const std::unique_ptr<StreamModel> conditioned = load(wavenet_file(true));
    expect_realtime_process(*conditioned);
}

void expect_independent_clone(StreamModel& original) {
    SCOPED_TRACE(original.info().architecture);
    const std::vector<float> a = noise(500, 11), b = noise(500, 12), c = noise(500, 13);
    std::vector<float> out1(500 * original.output_size()), out2(out1.size());
    original.process(a.data(), out1.data(), 500);  // a state away from reset
    const std::unique_ptr<StreamModel> copy = original.clone();
    // If state were shared, the original's run would move the copy's state too.
    original.process(b.data(), out1.data(), 500);
    copy->process(b.data(), out2.data(), 500);
    EXPECT_EQ(out1, out2);
    original.reset();
    copy->reset();
    original.process(c.data(), out1.data(), 500);
    copy->process(c.data(), out2.data(), 500);
    EXPECT_EQ(out1, out2);
}

TEST(NamClone, CopiesStateIndependently) {
    expect_independent_clone(*load(lstm_file()));
    expect_independent_clone(*load(wavenet_file()));
    expect_independent_clone(*load(wavenet_file(true)));
}

TEST(NamReset, RestoresTheStateRightAfterLoading) {
    for (const nlohmann::json& file : {lstm_file(), wavenet_file(), wavenet_file(true)}) {
        const std::unique_ptr<StreamModel> fresh = load(file);
        const std::unique_ptr<StreamModel> used = load(file);
        const std::vector<float> in = noise(700, 5);
        std::vector<float> out1(700 * fresh->output_size()), out2(out1.size());
        used->process(in.data(), out2.data(), 700);
        used->reset();
        fresh->process(in.data(), out1.data(), 700);
        used->process(in.data(), out2.data(), 700);
        EXPECT_EQ(out1, out2) << fresh->info().architecture;
    }
}

}  // namespace
