// The native engine's RTNeural JSON importer and layers: the staged upstream models stream like
// RTNeural at every block size; broken files give errors naming layer, field and expectation;
// process() is real-time safe.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "audio_thread_guard.hpp"
#include "engines/native/rtneural_json.hpp"
#include "legato/error.hpp"
#include "native_cases.hpp"

namespace legato::test {
namespace {

using nlohmann::json;
using native_cases::random_array;

// LSTM(1->hidden) -> Dense(hidden->1), as RTNeural's exporter writes it.
std::string lstm_model(std::size_t hidden, unsigned seed = 1) {
    std::mt19937 rng(seed);
    json model = {{"in_shape", {nullptr, nullptr, 1}}};
    model["layers"] =
        json::array({{{"type", "lstm"},
                      {"activation", "tanh"},
                      {"shape", {nullptr, nullptr, hidden}},
                      {"weights",
                       {random_array(rng, 1, 4 * hidden), random_array(rng, hidden, 4 * hidden),
                        random_array(rng, 4 * hidden)}}},
                     {{"type", "dense"},
                      {"activation", ""},
                      {"shape", {nullptr, nullptr, 1}},
                      {"weights", {random_array(rng, hidden, 1), random_array(rng, 1)}}}});
    return model.dump();
}

std::string error_of(const std::string& text) {
    try {
        native::load_rtneural_json(text, "m.json");
    } catch (const Error& e) {
        return e.what();
    }
    return "(loaded)";
}

TEST(RTNeuralJson, StagedModelsStreamLikeRTNeuralAtEveryBlockSize) {
    std::string skip;
    const auto cases = native_cases::load("rtneural-json", skip);
    if (cases.empty())
        GTEST_SKIP() << skip;
    std::size_t compared = 0;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        std::unique_ptr<native::StreamModel> model;
        try {
            model = native::load_rtneural_json(native_cases::read_text(c.model), c.model.string());
        } catch (const Error& e) {
            // Conv2D models (2-D frames) are outside the native engine: refused by name.
            EXPECT_NE(std::string(e.what()).find("Conv2D models"), std::string::npos) << e.what();
            continue;
        }
        double worst = 0.0;
        for (const std::size_t block : native_cases::block_sizes()) {
            const auto out = native_cases::stream(*model, c.input, block);
            std::size_t at = 0;
            const double error = native_cases::max_abs_error(out, c.reference, &at);
            EXPECT_LE(error, c.tolerance) << "block " << block << " (0 = varying): sample " << at;
            worst = std::max(worst, error);
        }
        // The conformance table (closing notes, docs/engines.md) reads these lines.
        std::printf(
            "conformance %s: max |error| %.2g over block sizes 1, 3, 64, 97, 4096, varying "
            "(tolerance %.2g)\n",
            c.name.c_str(), worst, c.tolerance);
        ++compared;
    }
    EXPECT_GE(compared, 10u);
}

TEST(RTNeuralJson, ErrorsNameLayerFieldAndExpectation) {
    json good = json::parse(lstm_model(4));
    EXPECT_EQ(error_of(good.dump()), "(loaded)");

    json bad = good;
    bad["layers"][0]["weights"][1].erase(0);
    EXPECT_EQ(error_of(bad.dump()),
              "m.json: layers[0] (lstm): weights[1] must have 4 rows (one per unit), it has 3");

    bad = good;
    bad["layers"][1]["weights"][1][0] = 1e39;
    EXPECT_EQ(error_of(bad.dump()),
              "m.json: layers[1] (dense): weights[1][0] is not finite as a 32-bit float (1e+39)");

    bad = good;
    bad["layers"][1]["type"] = "conv3d";
    EXPECT_NE(
        error_of(bad.dump()).find("layers[1] (conv3d): layer type \"conv3d\" is not supported"),
        std::string::npos);

    bad = good;
    bad["layers"][1]["activation"] = "swish";
    EXPECT_NE(error_of(bad.dump()).find("activation \"swish\" is not supported"),
              std::string::npos);

    bad = good;
    bad["layers"][1]["shape"] = {nullptr, nullptr, 2};
    EXPECT_NE(error_of(bad.dump()).find("layers[1] (dense): weights[0]"), std::string::npos);

    EXPECT_NE(error_of("{\"layers\": [").find("m.json: not a JSON file"), std::string::npos);
    EXPECT_EQ(error_of("{}"), "m.json: not an RTNeural model (no \"in_shape\" and \"layers\")");
}

TEST(RTNeuralJson, CloneStreamsTheSameAndKeepsItsOwnState) {
    auto model = native::load_rtneural_json(lstm_model(8), "m.json");
    auto copy = model->clone();
    std::vector<float> in(256), a(256), b(256);
    for (std::size_t n = 0; n < in.size(); ++n)
        in[n] = std::sin(0.05f * static_cast<float>(n));
    model->process(in.data(), a.data(), in.size());
    copy->process(in.data(), b.data(), in.size());
    EXPECT_EQ(a, b);
    model->process(in.data(), a.data(), in.size());  // state moved on: differs from a fresh run
    copy->reset();
    copy->process(in.data(), b.data(), in.size());
    EXPECT_NE(a, b);
}

TEST(RTNeuralJson, ProcessIsRealTimeSafe) {
    LEGATO_REQUIRE_AUDIO_THREAD_GUARD();
    auto model = native::load_rtneural_json(lstm_model(40), "m.json");
    std::vector<float> in(512, 0.25f), out(512);
    AudioThreadViolations v;
    {
        AudioThreadGuard guard;
        model->process(in.data(), out.data(), in.size());
        model->reset();
        model->process(in.data(), out.data(), 1);
        v = guard.violations();
    }
    EXPECT_TRUE(NoViolations(v));
}

}  // namespace
}  // namespace legato::test
