// combined(): the statistics of the handlers behind one effect (one per channel) read as one.

#include <gtest/gtest.h>

#include "legato/statistics.hpp"

namespace legato::test {
namespace {

Statistics channel(std::uint64_t scale, double mean_ms, double max_ms) {
    Statistics s;
    s.blocks = 10 * scale;
    s.frames = 2560 * scale;
    s.oversized_blocks = 1 * scale;
    s.inferences_submitted = 10 * scale;
    s.inferences_completed = 9 * scale;
    s.late_inferences = 2 * scale;
    s.dropped_inferences = 1 * scale;
    s.failed_inferences = 3 * scale;
    s.substituted_frames = 512 * scale;
    s.resets = scale;
    s.mean_inference_ms = mean_ms;
    s.max_inference_ms = max_ms;
    s.latency_samples = 256 * scale;
    s.max_inference_time_ms = 1.0 * static_cast<double>(scale);
    s.engine = scale;
    s.worker_threads = scale;
    s.realtime_workers = scale;
    return s;
}

TEST(Statistics, CombinedSumsCountsKeepsMaximaAndWeighsTheMean) {
    const Statistics total = combined(channel(1, 1.0, 3.0), channel(2, 4.0, 2.0));
    EXPECT_EQ(total.blocks, 30u);
    EXPECT_EQ(total.frames, 7680u);
    EXPECT_EQ(total.oversized_blocks, 3u);
    EXPECT_EQ(total.inferences_submitted, 30u);
    EXPECT_EQ(total.inferences_completed, 27u);
    EXPECT_EQ(total.late_inferences, 6u);
    EXPECT_EQ(total.dropped_inferences, 3u);
    EXPECT_EQ(total.failed_inferences, 9u);
    EXPECT_EQ(total.substituted_frames, 1536u);
    EXPECT_EQ(total.resets, 3u);
    EXPECT_DOUBLE_EQ(total.max_inference_ms, 3.0);
    // 9 inferences at 1 ms and 18 at 4 ms.
    EXPECT_DOUBLE_EQ(total.mean_inference_ms, (9.0 * 1.0 + 18.0 * 4.0) / 27.0);
    EXPECT_EQ(total.latency_samples, 512u);
    EXPECT_DOUBLE_EQ(total.max_inference_time_ms, 2.0);
    // Engine and pool are the first handler's.
    EXPECT_EQ(total.engine, 1u);
    EXPECT_EQ(total.worker_threads, 1u);
    EXPECT_EQ(total.realtime_workers, 1u);
}

TEST(Statistics, CombinedWithNothingCompletedKeepsAZeroMean) {
    const Statistics total = combined(Statistics{}, Statistics{});
    EXPECT_EQ(total.inferences_completed, 0u);
    EXPECT_DOUBLE_EQ(total.mean_inference_ms, 0.0);
}

TEST(Statistics, CombinedIsUsableAtCompileTime) {
    constexpr Statistics total = combined(Statistics{}, Statistics{});
    static_assert(total.blocks == 0);
    SUCCEED();
}

}  // namespace
}  // namespace legato::test
