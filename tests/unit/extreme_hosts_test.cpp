// Hosts at the extremes of sample rate and block size stream exactly, with the latency computed
// for their rate.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bad_input_support.hpp"
#include "legato/latency.hpp"

namespace legato::test {
namespace {

// The extremes of what hosts do: 8 kHz to 384 kHz, blocks of 1 and of 16384 frames, fixed and
// varying. Each streams exactly (offline, so whatever the machine's timing), and in real-time
// mode the latency computed for the rate covers the maximum inference time in samples.
struct ExtremeHost {
    double sample_rate;
    std::size_t block;
    bool variable;
};

class ExtremeHosts : public ::testing::TestWithParam<ExtremeHost> {};

TEST_P(ExtremeHosts, StreamExactlyWithTheLatencyOfTheirRate) {
    const ExtremeHost h = GetParam();
    constexpr std::size_t hop = 512;  // 1.33 ms at 384 kHz: a 1 ms inference keeps up
    constexpr std::size_t past = 20;
    InferenceConfig config =
        make_config(make_custom_backend("window", window_model), hop, past, 1, 1.0);
    InferenceHandler handler(config);
    HostConfig host;
    host.sample_rate = h.sample_rate;
    host.max_block_size = h.block;
    host.variable_block_size = h.variable;
    host.offline_rendering = true;
    handler.prepare(host);
    const std::size_t latency = handler.latency();
    LatencyInputs expected;
    expected.sample_rate = h.sample_rate;
    expected.max_block_size = h.block;
    expected.variable_block_size = h.variable;
    expected.hop = hop;
    expected.max_inference_time_ms = 1.0;
    EXPECT_EQ(latency, compute_latency(expected));
    // A result may take 1 ms after its hop is complete: rate / 1000 samples.
    EXPECT_GE(latency, static_cast<std::size_t>(h.sample_rate / 1000.0));
    const std::size_t frames = std::max<std::size_t>(4 * h.block, 6000);
    const Signal input = make_signal(1, frames);
    HostSimulation simulation;
    simulation.block_sizes = h.variable ? std::vector<std::size_t>{h.block, 1, h.block / 2 + 1}
                                        : std::vector<std::size_t>{h.block};
    const Signal output = stream(handler, input, latency + hop, simulation);
    EXPECT_EQ(count_mismatches(output, window_model_reference(input, hop, past), latency,
                               frames / hop * hop),
              0u);
    EXPECT_EQ(handler.statistics().oversized_blocks, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Rates, ExtremeHosts,
    ::testing::Values(ExtremeHost{8000.0, 1, false}, ExtremeHost{8000.0, 16384, false},
                      ExtremeHost{384000.0, 1, false}, ExtremeHost{384000.0, 16384, false},
                      ExtremeHost{384000.0, 16384, true}, ExtremeHost{44100.0, 1, true}),
    [](const ::testing::TestParamInfo<ExtremeHost>& param_info) {
        return std::to_string(static_cast<int>(param_info.param.sample_rate)) + "Hz_block" +
               std::to_string(param_info.param.block) +
               (param_info.param.variable ? "_varying" : "_fixed");
    });

}  // namespace
}  // namespace legato::test
