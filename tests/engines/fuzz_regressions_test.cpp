// Every input the fuzzers once crashed on (fuzz/regressions/<engine>/) is replayed through the
// same path as fuzz/fuzz_model.cpp in every build: it must be refused with a legato::Error that
// says what is wrong with the model, never crash.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "fuzz_model_config.hpp"
#include "legato/build_config.hpp"
#include "legato/config_file.hpp"

namespace legato::test {
namespace {

const std::filesystem::path regressions = LEGATO_FUZZ_REGRESSIONS_DIR;

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

class FuzzRegressions : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzRegressions, EveryFormerCrashIsAClearError) {
    const std::string engine = GetParam();
    const std::vector<std::string> engines = available_engines();
    const std::set<std::string> built(engines.begin(), engines.end());
    if (!built.count(engine))
        GTEST_SKIP() << engine << " is not built";
    const auto folder = regressions / engine;
    if (!std::filesystem::exists(folder))
        GTEST_SKIP() << "no regressions for " << engine;
    std::size_t replayed = 0;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        SCOPED_TRACE(entry.path().filename().string());
        try {
            InferenceHandler handler(fuzz::model_config(engine, read_bytes(entry.path())));
            HostConfig host;
            host.max_block_size = 64;
            handler.prepare(host);
            ADD_FAILURE() << "the model was accepted";
        } catch (const Error& e) {
            const std::string message = e.what();
            EXPECT_FALSE(message.empty());
            std::printf("%s: %s\n", entry.path().filename().c_str(), message.c_str());
        }
        ++replayed;
    }
    EXPECT_GT(replayed, 0u);
}

// JSON model configuration files that once crashed fuzz_json: each must be refused with a
// legato::Error naming the file.
TEST(FuzzRegressions, EveryFormerJsonCrashIsAClearError) {
    const auto folder = regressions / "json";
    std::size_t replayed = 0;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        SCOPED_TRACE(entry.path().filename().string());
        const std::vector<std::uint8_t> bytes = read_bytes(entry.path());
        const std::string text(bytes.begin(), bytes.end());
        try {
            parse_model_config(text, LEGATO_FUZZ_REGRESSIONS_DIR, true, "regression.json");
            ADD_FAILURE() << "the config was accepted";
        } catch (const Error& e) {
            const std::string message = e.what();
            EXPECT_EQ(message.rfind("regression.json: ", 0), 0u) << message;
            std::printf("%s: %s\n", entry.path().filename().c_str(), message.c_str());
        }
        ++replayed;
    }
    EXPECT_GT(replayed, 0u);
}

INSTANTIATE_TEST_SUITE_P(Engines, FuzzRegressions,
                         ::testing::Values("onnxruntime", "libtorch", "tflite"));

}  // namespace
}  // namespace legato::test
