// The project's own native models (models/make_native.py: PyTorch LSTM, GRU and a causal
// Conv1D stack exported to RTNeural JSON by the script) stream like PyTorch, at every block
// size, directly and through an inline handler.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "engines/native/native_model_file.hpp"
#include "legato/legato.hpp"
#include "native_cases.hpp"
#include "npy.hpp"

namespace legato::test {
namespace {

const std::filesystem::path models = LEGATO_TEST_MODELS_DIR;

class OwnNativeModels : public ::testing::TestWithParam<std::string> {};

TEST_P(OwnNativeModels, StreamLikePyTorchAtEveryBlockSize) {
    const auto input = read_npy(models / "stream_mono.npy").data;
    const auto reference = read_npy(models / "native" / (GetParam() + ".out.npy")).data;
    auto model = native::load_model(ModelSource::file(models / "native" / (GetParam() + ".json")));
    for (const std::size_t block : native_cases::block_sizes()) {
        const auto out = native_cases::stream(*model, input, block);
        std::size_t at = 0;
        EXPECT_LE(native_cases::max_abs_error(out, reference, &at), 2e-6)
            << "block " << block << " (0 = varying), sample " << at;
    }
}

TEST_P(OwnNativeModels, InlineHandlerGivesTheSameStream) {
    const auto input = read_npy(models / "stream_mono.npy").data;
    const auto reference = read_npy(models / "native" / (GetParam() + ".out.npy")).data;
    const native_cases::InlineRun run = native_cases::stream_inline(
        ModelSource::file(models / "native" / (GetParam() + ".json")), input);
    ASSERT_TRUE(run.ran_inline);
    EXPECT_EQ(run.latency, 0u);
    EXPECT_LE(native_cases::max_abs_error(run.output, reference), 2e-6);
}

INSTANTIATE_TEST_SUITE_P(Models, OwnNativeModels, ::testing::Values("lstm", "gru", "conv"));

}  // namespace
}  // namespace legato::test
