// HostConfig validation through prepare(): out-of-range sample rates and block sizes are refused
// with the field and the range, the limits are accepted, and the handler stays usable.

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "bad_input_support.hpp"

namespace legato::test {
namespace {

struct HostCase {
    std::string description;
    double sample_rate;
    std::size_t max_block_size;
    std::string expected;
};

TEST(HostConfigValidation, PrepareRejectsOutOfRangeValues) {
    const std::vector<HostCase> cases = {
        {"rate 0", 0.0, 512, "HostConfig.sample_rate: must be between 1000 and 1536000 Hz, got 0"},
        {"rate NaN", kNaN, 512, "HostConfig.sample_rate: must be between 1000 and 1536000 Hz"},
        {"rate inf", kInf, 512, "HostConfig.sample_rate: must be between 1000 and 1536000 Hz"},
        {"rate negative", -48000.0, 512, "HostConfig.sample_rate: must be between"},
        {"rate 999", 999.0, 512,
         "HostConfig.sample_rate: must be between 1000 and 1536000 Hz, "
         "got 999.000000"},
        {"rate 2e6", 2e6, 512,
         "HostConfig.sample_rate: must be between 1000 and 1536000 Hz, "
         "got 2000000.000000"},
        {"block 0", 48000.0, 0, "HostConfig.max_block_size: must be at least 1"},
        {"block 2^20+1", 48000.0, (std::size_t{1} << 20) + 1,
         "HostConfig.max_block_size: must be at most 1048576, got 1048577"},
    };
    InferenceHandler handler(base_config());
    for (const auto& row : cases) {
        SCOPED_TRACE(row.description);
        HostConfig host;
        host.sample_rate = row.sample_rate;
        host.max_block_size = row.max_block_size;
        EXPECT_TRUE(contains_all(error_message([&] { handler.prepare(host); }), {row.expected}));
        EXPECT_TRUE(contains_all(error_message([&] { host.validate(); }), {row.expected}));
        EXPECT_EQ(handler.latency(), 0u);  // nothing was prepared
    }
    // The limits themselves are accepted.
    for (const auto& [rate, block] :
         {std::pair{1000.0, std::size_t{1}}, std::pair{1'536'000.0, std::size_t{1} << 20}}) {
        HostConfig host;
        host.sample_rate = rate;
        host.max_block_size = block;
        EXPECT_NO_THROW(host.validate()) << rate << " Hz, block " << block;
    }
    // Still usable after all the rejections.
    HostConfig host;
    host.max_block_size = 64;
    EXPECT_NO_THROW(handler.prepare(host));
    EXPECT_GT(handler.latency(), 0u);
}

}  // namespace
}  // namespace legato::test
