// The output equals the model's output delayed by exactly latency() samples, for every host
// block size, hop and past context.

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <tuple>

#include "stream_support.hpp"

namespace legato::test {
namespace {

enum class Model { identity, window };

std::shared_ptr<Backend> make_backend(Model model) {
    return model == Model::identity ? make_bypass_backend()
                                    : make_custom_backend("window-model", window_model);
}

Signal reference_for(Model model, const Signal& padded, std::size_t hop, std::size_t past) {
    return model == Model::identity ? padded : window_model_reference(padded, hop, past);
}

// Streams `frames` of noise (plus enough silence to flush the latency) and counts frames that
// differ from the reference delayed by latency().
std::size_t run_alignment(Model model, std::size_t hop, std::size_t past, std::size_t channels,
                          HostConfig host, const HostSimulation& simulation, std::size_t frames,
                          Statistics* stats_out = nullptr) {
    InferenceConfig config =
        make_config(make_backend(model), hop, past, channels, half_hop_ms(hop));
    std::shared_ptr<Context> context = Context::shared();
    if (simulation.paced) {
        config.max_inference_time_ms = paced_max_inference_time_ms;
        config.parallel_instances = paced_instances(hop);
        context = paced_context();
    }
    InferenceHandler handler(config, context);
    handler.prepare(host);
    const std::size_t latency = handler.latency();
    const Signal input = make_signal(channels, frames, static_cast<std::uint32_t>(hop * 31 + past));
    const std::size_t tail = latency + host.max_block_size + hop;
    const Signal output = stream(handler, input, tail, simulation);
    Signal padded = input;
    for (auto& channel : padded)
        channel.resize(frames + tail, 0.0f);
    const Signal reference = reference_for(model, padded, hop, past);
    if (stats_out != nullptr)
        *stats_out = handler.statistics();
    // Every frame of the input, plus the zeros after it within complete hops.
    return count_mismatches(output, reference, latency, frames);
}

using GridParam =
    std::tuple<Model, std::size_t /*block*/, std::size_t /*hop*/, std::size_t /*past*/>;

class AlignmentGrid : public ::testing::TestWithParam<GridParam> {};

TEST_P(AlignmentGrid, OutputIsReferenceDelayedByLatency) {
    const auto [model, block, hop, past] = GetParam();
    HostConfig host;
    host.max_block_size = block;
    host.offline_rendering = true;  // unpaced: wait for results instead of substituting
    HostSimulation simulation;
    simulation.block_sizes = {block};
    const std::size_t frames = std::max<std::size_t>({4 * hop, 2 * block, 600});
    Statistics stats;
    EXPECT_EQ(run_alignment(model, hop, past, 1, host, simulation, frames, &stats), 0u);
    EXPECT_EQ(stats.late_inferences, 0u);
    EXPECT_EQ(stats.substituted_frames, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Grid, AlignmentGrid,
    ::testing::Combine(::testing::Values(Model::identity, Model::window),
                       ::testing::Values(1, 7, 32, 64, 100, 128, 256, 300, 512, 1024, 4096),
                       ::testing::Values(1, 64, 128, 256, 2048), ::testing::Values(0, 149)),
    [](const ::testing::TestParamInfo<GridParam>& param_info) {
        return std::string(std::get<0>(param_info.param) == Model::identity ? "identity"
                                                                            : "window") +
               "_block" + std::to_string(std::get<1>(param_info.param)) + "_hop" +
               std::to_string(std::get<2>(param_info.param)) + "_past" +
               std::to_string(std::get<3>(param_info.param));
    });

TEST(Alignment, RandomVaryingBlockSizes) {
    std::mt19937 random(7);
    for (const std::size_t hop : {1, 64, 100, 256, 2048}) {
        for (const std::size_t past : {0, 149}) {
            HostConfig host;
            host.max_block_size = 512;
            host.variable_block_size = true;
            host.offline_rendering = true;
            HostSimulation simulation;
            std::uniform_int_distribution<std::size_t> size(1, 512);
            for (int i = 0; i < 97; ++i)
                simulation.block_sizes.push_back(size(random));
            EXPECT_EQ(run_alignment(Model::window, hop, past, 2, host, simulation, 6000), 0u)
                << "hop " << hop << " past " << past;
        }
    }
}

TEST(Alignment, InPlaceProcessing) {
    HostConfig host;
    host.max_block_size = 100;
    host.offline_rendering = true;
    HostSimulation simulation;
    simulation.block_sizes = {100};
    simulation.in_place = true;
    EXPECT_EQ(run_alignment(Model::window, 128, 149, 2, host, simulation, 3000), 0u);
}

TEST(Alignment, StereoAndMultichannel) {
    for (const std::size_t channels : {2, 3, 8}) {
        HostConfig host;
        host.max_block_size = 300;
        host.offline_rendering = true;
        HostSimulation simulation;
        simulation.block_sizes = {300};
        EXPECT_EQ(run_alignment(Model::window, 256, 149, channels, host, simulation, 3000), 0u)
            << channels << " channels";
    }
}

// Paced in real time without offline waiting: every result must arrive before it is due.
using PacedParam = std::tuple<std::size_t /*block*/, std::size_t /*hop*/, std::size_t /*past*/>;
class PacedAlignment : public ::testing::TestWithParam<PacedParam> {};

// Every attempt must be exact apart from counted substitutions, and on time unless the
// hypervisor stole the CPU (expect_no_late_inferences).
TEST_P(PacedAlignment, NoLateInferenceAndExactOutput) {
    const auto [block, hop, past] = GetParam();
    HostConfig host;
    host.max_block_size = block;
    HostSimulation simulation;
    simulation.block_sizes = {block};
    simulation.paced = true;
    const std::size_t frames = std::max<std::size_t>(9600, 4 * hop);  // at least 0.2 s
    expect_on_time([&] {
        Statistics stats;
        std::size_t overruns = 0;
        HostSimulation paced = simulation;
        paced.host_overruns = &overruns;
        const std::size_t mismatches =
            run_alignment(Model::window, hop, past, 1, host, paced, frames, &stats);
        EXPECT_LE(mismatches, stats.substituted_frames) << "a difference that was not counted";
        EXPECT_EQ(stats.substituted_frames, stats.late_inferences * hop);
        return PacedAttempt{stats.late_inferences, overruns};
    });
}

INSTANTIATE_TEST_SUITE_P(Paced, PacedAlignment,
                         ::testing::Combine(::testing::Values(64, 256, 300, 1024),
                                            ::testing::Values(64, 256, 2048),
                                            ::testing::Values(0, 149)),
                         [](const ::testing::TestParamInfo<PacedParam>& param_info) {
                             return "block" + std::to_string(std::get<0>(param_info.param)) +
                                    "_hop" + std::to_string(std::get<1>(param_info.param)) +
                                    "_past" + std::to_string(std::get<2>(param_info.param));
                         });

}  // namespace
}  // namespace legato::test
