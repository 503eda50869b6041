// Slimmable NAM models at a size other than the default: a slimmable WaveNet slimmed by the
// engine gives the same bits as the plain file of that size that models/make_slimmable.py
// writes by slicing the named tensors (an independent slicing), the sizes at which a model
// changes, SlimmableContainer's choice of submodel, and what cannot be slimmed.

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engines/native/nam_file.hpp"
#include "engines/native/native_model_file.hpp"
#include "legato/error.hpp"
#include "native_cases.hpp"
#include "npy.hpp"

namespace {

using legato::native::load_nam;
using legato::native::NamOptions;
using legato::native::StreamModel;
namespace cases = legato::test::native_cases;

const std::filesystem::path models = LEGATO_TEST_MODELS_DIR;

std::string text(const std::string& name) {
    return cases::read_text(models / "native" / name);
}

std::unique_ptr<StreamModel> at_size(const std::string& file, std::optional<double> size) {
    NamOptions options;
    options.slimmable_size = size;
    return load_nam(text(file), file, options);
}

std::string load_error(const std::string& file_text, double size) {
    NamOptions options;
    options.slimmable_size = size;
    try {
        load_nam(file_text, "test.nam", options);
    } catch (const legato::Error& e) {
        return e.what();
    }
    return "(loaded)";
}

std::vector<float> input() {
    return legato::test::read_npy(models / "stream_mono.npy").data;
}

struct SizeCase {
    double size;
    const char* plain;     ///< the file of that size ("" : the slimmable file itself, full)
    const char* channels;  ///< in the description
};

class NamSlimmableSize : public testing::TestWithParam<SizeCase> {};

TEST_P(NamSlimmableSize, GivesTheBitsOfThePlainFileOfThatSize) {
    const SizeCase& c = GetParam();
    const std::unique_ptr<StreamModel> slimmed = at_size("slimmable.nam", c.size);
    const std::string plain_file = *c.plain ? c.plain : "slimmable.nam";
    const std::unique_ptr<StreamModel> plain = load_nam(text(plain_file), plain_file);
    const std::vector<float> in = input();
    for (std::size_t block : {1u, 64u, 0u}) {
        SCOPED_TRACE("block " + std::to_string(block));
        const std::vector<float> got = cases::stream(*slimmed, in, block);
        const std::vector<float> want = cases::stream(*plain, in, 64);
        ASSERT_EQ(got.size(), in.size());
        ASSERT_EQ(got, want) << "max error " << cases::max_abs_error(got, want);
    }
    EXPECT_NE(slimmed->info().architecture.find(c.channels), std::string::npos)
        << slimmed->info().architecture;
}

INSTANTIATE_TEST_SUITE_P(
    EverySize, NamSlimmableSize,
    testing::Values(SizeCase{0.0, "slimmable-2-1.nam", "size 0: channels 2, 1)"},
                    SizeCase{0.2, "slimmable-2-1.nam", "size 0.2: channels 2, 1)"},
                    SizeCase{1.0 / 3.0, "slimmable-2-2.nam", "size 0.333: channels 2, 2)"},
                    SizeCase{0.45, "slimmable-2-2.nam", "size 0.45: channels 2, 2)"},
                    SizeCase{0.5, "slimmable-4-2.nam", "size 0.5: channels 4, 2)"},
                    SizeCase{0.6, "slimmable-4-2.nam", "size 0.6: channels 4, 2)"},
                    SizeCase{2.0 / 3.0, "", "(slimmable, full size)"},
                    SizeCase{1.0, "", "(slimmable, full size)"}));

TEST(NamSlimmable, TheSlimmedModelsDifferFromEachOther) {
    // Guards the comparison above against files that happen to agree (head_scale 0.02 keeps
    // the outputs near 0.01).
    const std::vector<float> in = input();
    std::vector<std::vector<float>> outputs;
    for (double size : {0.0, 0.4, 0.5, 1.0})
        outputs.push_back(cases::stream(*at_size("slimmable.nam", size), in, 64));
    for (std::size_t i = 0; i < outputs.size(); ++i)
        for (std::size_t j = i + 1; j < outputs.size(); ++j)
            EXPECT_GT(cases::max_abs_error(outputs[i], outputs[j]), 1e-4) << i << " vs " << j;
}

TEST(NamSlimmable, BreakpointsAreTheSizesWhereTheChannelsChange) {
    const std::unique_ptr<StreamModel> model = at_size("slimmable.nam", std::nullopt);
    EXPECT_EQ(model->info().size_breakpoints, (std::vector<double>{1.0 / 3.0, 0.5, 2.0 / 3.0}));
    // Slimmed, it still reports the breakpoints of the file (the sizes it was made from).
    EXPECT_EQ(at_size("slimmable.nam", 0.0)->info().size_breakpoints.size(), 3u);
    EXPECT_TRUE(load_nam(text("wavenet.nam"), "wavenet.nam")->info().size_breakpoints.empty());
    // legato info (the model description) says where.
    EXPECT_NE(legato::native::description(*model).format_details.find(
                  "; slimmable: the size changes at 0.333, 0.5, 0.667"),
              std::string::npos)
        << legato::native::description(*model).format_details;
    // A size is ignored by a model with one size.
    EXPECT_TRUE(at_size("slimmable-2-1.nam", 0.0)->info().size_breakpoints.empty());
}

TEST(NamSlimmable, AWholeRangeOfAllowedChannelsWhenTheFileGivesNone) {
    nlohmann::json file = nlohmann::json::parse(text("slimmable.nam"));
    file["config"]["layers"][1]["slimmable"].erase("kwargs");  // upstream: 1 .. channels
    NamOptions options;
    options.slimmable_size = 0.4;
    const auto model = load_nam(file.dump(), "test.nam", options);
    EXPECT_NE(model->info().architecture.find("channels 2, 2)"), std::string::npos)
        << model->info().architecture;
}

TEST(NamSlimmable, SizesOutsideTheRangeAndUnslimmableArraysAreRefused) {
    const std::string file_text = text("slimmable.nam");
    EXPECT_EQ(load_error(file_text, 1.5),
              "test.nam: slimmable size 1.500000 is outside [0, 1] (NAM's SetSlimmableSize "
              "ratio)");
    EXPECT_EQ(load_error(file_text, std::nan("")).find("is outside [0, 1]") != std::string::npos,
              true);

    nlohmann::json file = nlohmann::json::parse(file_text);
    file["config"]["layers"][0]["head"] = {
        {"out_channels", 3}, {"kernel_size", 2}, {"bias", false}};
    // The head rechannel (3 x 2) takes a second tap: 6 more weights, where array 0's end.
    file["weights"].insert(file["weights"].begin() + 146, 6, 0.1);
    EXPECT_EQ(load_error(file.dump(), 0.0),
              "test.nam: config.layers[0]: cannot be slimmed: head kernel_size is 2 (upstream "
              "slims head kernels of 1)");
    EXPECT_EQ(load_error(file.dump(), 1.0), "(loaded)");  // full size needs no slimming
}

TEST(NamSlimmable, TheWeightCountIsCheckedWhileSlimming) {
    nlohmann::json file = nlohmann::json::parse(text("slimmable.nam"));
    file["weights"].erase(file["weights"].end() - 1);
    // At full size the WaveNet itself counts, slimmed the slicing does: both name the part.
    EXPECT_EQ(load_error(file.dump(), 1.0),
              "test.nam: weights: head_scale needs 1 more weights, the file has 0 left");
    EXPECT_EQ(load_error(file.dump(), 0.0),
              "test.nam: weights: head_scale needs 1 more weights, the file has 0 left");
}

TEST(NamContainer, ASizePicksTheFirstSubmodelItIsBelow) {
    const nlohmann::json small = nlohmann::json::parse(text("slimmable-2-1.nam"));
    const nlohmann::json large = nlohmann::json::parse(text("wavenet.nam"));
    const nlohmann::json container = {
        {"version", "0.7.0"},
        {"architecture", "SlimmableContainer"},
        {"config",
         {{"submodels",
           {{{"max_value", 0.25}, {"model", small}}, {{"max_value", 1.0}, {"model", large}}}}}},
        {"weights", nlohmann::json::array()},
        {"sample_rate", 48000}};
    const std::vector<float> in = input();
    const auto run = [&](const std::string& file_text, std::optional<double> size) {
        NamOptions options;
        options.slimmable_size = size;
        return cases::stream(*load_nam(file_text, "test.nam", options), in, 64);
    };
    const std::vector<float> small_out = run(small.dump(), std::nullopt);
    const std::vector<float> large_out = run(large.dump(), std::nullopt);
    EXPECT_EQ(run(container.dump(), 0.0), small_out);
    EXPECT_EQ(run(container.dump(), 0.2), small_out);
    EXPECT_EQ(run(container.dump(), 0.25), large_out);  // not below 0.25: the next one
    EXPECT_EQ(run(container.dump(), 1.0), large_out);
    EXPECT_EQ(run(container.dump(), std::nullopt), large_out);
    NamOptions options;
    options.slimmable_size = 0.1;
    const auto model = load_nam(container.dump(), "test.nam", options);
    EXPECT_EQ(model->info().size_breakpoints, std::vector<double>{0.25});
    EXPECT_NE(model->info().architecture.find("submodel 1 of 2"), std::string::npos)
        << model->info().architecture;
}

TEST(NamSlimmable, TheUpstreamSlimmableWaveNetSlimsToEverySize) {
    std::string skip;
    for (const cases::Case& c : cases::load("nam", skip)) {
        if (c.name != "nam-slimmable-wavenet")
            continue;
        const std::string file_text = cases::read_text(c.model);
        std::vector<std::vector<float>> outputs;
        for (double size : {0.0, 1.0 / 3.0, 2.0 / 3.0}) {
            NamOptions options;
            options.slimmable_size = size;
            const auto model = load_nam(file_text, c.name, options);
            outputs.push_back(cases::stream(*model, c.input, 64));
            for (float v : outputs.back())
                ASSERT_TRUE(std::isfinite(v));
        }
        // Full size is the model the reference was rendered with.
        EXPECT_LE(cases::max_abs_error(outputs[2], c.reference), c.tolerance);
        EXPECT_GT(cases::max_abs_error(outputs[0], c.reference), c.tolerance);
        return;
    }
    GTEST_SKIP() << (skip.empty() ? "nam-slimmable-wavenet is not in cases.json" : skip);
}

}  // namespace
