// process() with odd host arguments: before prepare(), zero frames, oversized blocks, null
// channels and arrays, more or fewer host channels than the model has, in-place buffers.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "bad_input_support.hpp"

namespace legato::test {
namespace {

// A prepared offline handler running the window model on `channels` channels.
std::unique_ptr<InferenceHandler> window_handler(std::size_t channels,
                                                 std::size_t max_block_size = 64) {
    InferenceConfig config = make_config(make_custom_backend("window", window_model), kHop, kPast,
                                         channels, half_hop_ms(kHop));
    auto handler = std::make_unique<InferenceHandler>(config);
    HostConfig host;
    host.max_block_size = max_block_size;
    host.offline_rendering = true;  // exact output however fast we call
    handler->prepare(host);
    return handler;
}

Signal silence(std::size_t channels, std::size_t frames) {
    return Signal(channels, std::vector<float>(frames, 0.0f));
}

TEST(ProcessEdges, BeforePrepareOutputsSilenceAndLeavesInputs) {
    InferenceHandler handler(
        make_config(make_custom_backend("window", window_model), kHop, kPast, 2, 0.5));
    HostDriver driver(handler, 2, 3, 300);
    fill_input(driver);
    const Signal input_before = driver.input;
    driver.call(100);
    driver.call(100, {1}, {1});  // null channels
    driver.call(100, {}, {}, true, true);
    EXPECT_EQ(driver.input, input_before);
    Signal expected = silence(3, 300);
    for (std::size_t n = 100; n < 300; ++n)
        expected[1][n] = kSentinel;  // null output channel, then null output array
    for (std::size_t n = 200; n < 300; ++n)
        expected[0][n] = expected[2][n] = kSentinel;
    EXPECT_EQ(driver.output, expected);
    // Null everything and zero frames are harmless too.
    handler.process(nullptr, 0, nullptr, 0, 64);
    handler.process(nullptr, 5, nullptr, 5, 0);
    EXPECT_EQ(handler.latency(), 0u);
    EXPECT_EQ(handler.statistics().blocks, 0u);
    EXPECT_EQ(handler.statistics().frames, 0u);
    // In-place: the buffers are outputs, so they are silenced.
    std::vector<float> a(50, 1.0f);
    std::vector<float> b(50, 2.0f);
    std::array<float*, 2> channels{a.data(), b.data()};
    handler.process(channels.data(), 2, 50);
    EXPECT_EQ(a, std::vector<float>(50, 0.0f));
    EXPECT_EQ(b, std::vector<float>(50, 0.0f));
}

TEST(ProcessEdges, ZeroFramesHasNoEffect) {
    auto handler = window_handler(1);
    HostDriver driver(*handler, 1, 1, total_frames(*handler));
    fill_input(driver);
    driver.call(64);
    const Statistics before = handler->statistics();
    EXPECT_EQ(before.blocks, 1u);
    for (int i = 0; i < 5; ++i) {
        driver.call(0);
        handler->process(nullptr, 0, nullptr, 0, 0);
    }
    const Statistics after = handler->statistics();
    EXPECT_EQ(after.blocks, before.blocks);
    EXPECT_EQ(after.frames, before.frames);
    EXPECT_EQ(after.inferences_submitted, before.inferences_submitted);
    EXPECT_EQ(after.oversized_blocks, 0u);
    EXPECT_EQ(driver.output[0][64], kSentinel);  // nothing written past the last block
    // And the stream carries on exactly, with zero-frame calls interleaved.
    while (driver.position < driver.input[0].size()) {
        driver.call(std::min<std::size_t>(37, driver.input[0].size() - driver.position));
        driver.call(0);
    }
    EXPECT_EQ(
        count_mismatches(driver.output, reference_of(driver.input), handler->latency(), kFrames),
        0u);
}

TEST(ProcessEdges, OversizedBlocksAreChunkedExactlyAndCounted) {
    const std::vector<std::vector<std::size_t>> patterns = {
        {1000}, {4096}, {1000, 13, 64, 4096, 65, 1, 200}};
    for (const auto& blocks : patterns) {
        SCOPED_TRACE(::testing::PrintToString(blocks));
        auto handler = window_handler(2, 64);
        const std::size_t total = 9000 + handler->latency() + 2 * kHop;
        HostDriver driver(*handler, 2, 2, total);
        const Signal noise = make_signal(2, 9000, 11);
        for (std::size_t c = 0; c < 2; ++c)
            std::copy(noise[c].begin(), noise[c].end(), driver.input[c].begin());
        std::size_t calls = 0;
        std::size_t oversized = 0;
        while (driver.position < total) {
            const std::size_t frames =
                std::min(blocks[calls % blocks.size()], total - driver.position);
            oversized += frames > 64 ? 1 : 0;
            driver.call(frames);
            ++calls;
        }
        EXPECT_EQ(
            count_mismatches(driver.output, reference_of(driver.input), handler->latency(), 9000),
            0u);
        const Statistics stats = handler->statistics();
        EXPECT_EQ(stats.blocks, calls);
        EXPECT_EQ(stats.frames, total);
        EXPECT_EQ(stats.oversized_blocks, oversized);
        EXPECT_GT(stats.oversized_blocks, 0u);
        EXPECT_EQ(stats.late_inferences, 0u);
        EXPECT_EQ(stats.substituted_frames, 0u);
    }
}

TEST(ProcessEdges, NullInputChannelReadsSilence) {
    auto handler = window_handler(2);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 2, 2, total);
    fill_input(driver);
    driver.run({64, 100}, total, {1});
    Signal effective = driver.input;
    effective[1].assign(total, 0.0f);  // what the model must have seen
    EXPECT_EQ(count_mismatches(driver.output, reference_of(effective), handler->latency(), kFrames),
              0u);
    EXPECT_EQ(driver.output[1], std::vector<float>(total, 0.0f));  // written, as silence
}

TEST(ProcessEdges, NullInputArrayReadsSilence) {
    auto handler = window_handler(2);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 2, 2, total);
    fill_input(driver);
    // The first 640 frames with input, the rest with a null input array.
    driver.run({64}, 640);
    while (driver.position < total)
        driver.call(std::min<std::size_t>(64, total - driver.position), {}, {}, true);
    Signal effective = driver.input;
    for (auto& channel : effective)
        std::fill(channel.begin() + 640, channel.end(), 0.0f);
    EXPECT_EQ(count_mismatches(driver.output, reference_of(effective), handler->latency(), kFrames),
              0u);
}

TEST(ProcessEdges, NullOutputChannelIsSkippedOthersWritten) {
    auto handler = window_handler(2);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 2, 2, total);
    fill_input(driver);
    driver.run({64, 30}, total, {}, {0});
    EXPECT_EQ(driver.output[0], std::vector<float>(total, kSentinel));
    EXPECT_EQ(count_mismatches(pick(driver.output, {1}), pick(reference_of(driver.input), {1}),
                               handler->latency(), kFrames),
              0u);
}

TEST(ProcessEdges, NullOutputArrayKeepsTheStreamAligned) {
    auto handler = window_handler(1);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 1, 1, total);
    fill_input(driver);
    // Discard the first 704 output frames, then collect the rest.
    while (driver.position < 704)
        driver.call(64, {}, {}, false, true);
    driver.run({64}, total);
    const Signal reference = reference_of(driver.input);
    const std::size_t latency = handler->latency();
    EXPECT_EQ(std::count(driver.output[0].begin(), driver.output[0].begin() + 704, kSentinel), 704);
    std::size_t mismatches = 0;
    for (std::size_t n = 704; n < kFrames + latency; ++n)
        mismatches += driver.output[0][n] != (n < latency ? 0.0f : reference[0][n - latency]);
    EXPECT_EQ(mismatches, 0u);
    EXPECT_EQ(handler->statistics().blocks, driver.position / 64 + (driver.position % 64 != 0));
}

TEST(ProcessEdges, FewerHostInputsThanModelReadSilence) {
    auto handler = window_handler(2);  // the model has 2 input channels, the host gives 1
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 1, 2, total);
    fill_input(driver);
    driver.run({64}, total);
    Signal effective = {driver.input[0], std::vector<float>(total, 0.0f)};
    EXPECT_EQ(count_mismatches(driver.output, reference_of(effective), handler->latency(), kFrames),
              0u);
    EXPECT_EQ(driver.output[1], std::vector<float>(total, 0.0f));
}

TEST(ProcessEdges, ExtraHostInputsAreIgnored) {
    auto handler = window_handler(1);  // mono model, 3 host inputs
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 3, 1, total);
    fill_input(driver);
    driver.run({64}, total);
    EXPECT_EQ(count_mismatches(driver.output, reference_of(pick(driver.input, {0})),
                               handler->latency(), kFrames),
              0u);
}

TEST(ProcessEdges, MonoModelFillsEveryHostOutput) {
    auto handler = window_handler(1);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 1, 2, total);
    fill_input(driver);
    driver.run({64}, total);
    const Signal reference = reference_of(driver.input);
    const Signal both = {reference[0], reference[0]};
    EXPECT_EQ(count_mismatches(driver.output, both, handler->latency(), kFrames), 0u);
}

TEST(ProcessEdges, StereoModelOnThreeHostOutputsWraps) {
    // Host output 2 receives model output 2 % 2 = 0.
    auto handler = window_handler(2);
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 2, 3, total);
    fill_input(driver);
    driver.run({64}, total);
    const Signal reference = reference_of(driver.input);
    EXPECT_EQ(count_mismatches(driver.output, {reference[0], reference[1], reference[0]},
                               handler->latency(), kFrames),
              0u);
}

TEST(ProcessEdges, FewerHostOutputsWriteOnlyThose) {
    auto handler = window_handler(2);  // stereo model, mono host output
    const std::size_t total = total_frames(*handler);
    HostDriver driver(*handler, 2, 1, total);
    fill_input(driver);
    driver.run({64}, total);
    EXPECT_EQ(count_mismatches(driver.output, pick(reference_of(driver.input), {0}),
                               handler->latency(), kFrames),
              0u);
}

TEST(ProcessEdges, InPlaceEqualsSeparateBuffers) {
    const std::vector<std::size_t> blocks = {64, 17, 200, 1, 64};  // incl. oversized chunks
    auto separate = window_handler(2);
    const std::size_t total = total_frames(*separate);
    HostDriver driver(*separate, 2, 2, total);
    fill_input(driver);
    driver.run(blocks, total);

    auto in_place = window_handler(2);
    ASSERT_EQ(in_place->latency(), separate->latency());
    Signal buffers = driver.input;
    std::array<float*, 2> channels{};
    std::size_t position = 0;
    for (std::size_t call = 0; position < total; ++call) {
        const std::size_t frames = std::min(blocks[call % blocks.size()], total - position);
        for (std::size_t c = 0; c < 2; ++c)
            channels[c] = buffers[c].data() + position;
        in_place->process(channels.data(), 2, frames);
        position += frames;
    }
    EXPECT_EQ(buffers, driver.output);
    EXPECT_EQ(count_mismatches(buffers, reference_of(driver.input), separate->latency(), kFrames),
              0u);
}

}  // namespace
}  // namespace legato::test
