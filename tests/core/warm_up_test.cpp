// WarmUpMeter and WarmUpRule (src/core/warm_up.hpp): which warm-up runs count, when warm-up has
// settled, and the percentile the maximum inference time is measured from.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>

#include "core/warm_up.hpp"

namespace legato::core {
namespace {

// Records runs from `wall(i)` / `cpu(i)` (i = 0 is the cold run) until record() says warm-up
// is complete or `limit` runs were made; returns the number of runs made.
template <typename Wall, typename Cpu>
std::size_t run_until_complete(WarmUpMeter& meter, Wall wall, Cpu cpu, std::size_t limit = 5000) {
    for (std::size_t i = 0; i < limit; ++i) {
        if (meter.record(wall(i), cpu(i), 0.0))
            return i + 1;
    }
    return limit;
}

TEST(WarmUp, TheColdFirstRunNeverCounts) {
    for (const bool settle : {false, true}) {
        WarmUpMeter meter(3, settle);
        meter.record(100.0, 100.0, 0.0);
        EXPECT_EQ(meter.runs(), 1u);
        EXPECT_EQ(meter.counted(), 0u);
        EXPECT_EQ(meter.percentile(1.0), 0.0);  // nothing counted yet
        meter.record(1.0, 1.0, 0.0);
        EXPECT_EQ(meter.runs(), 2u);
        EXPECT_EQ(meter.counted(), 1u);
        EXPECT_EQ(meter.percentile(1.0), 1.0);  // the cold 100 ms is not in it
    }
}

TEST(WarmUp, WithoutSettlingItStopsAfterExactlyMinRunsInAll) {
    // The time is configured, not measured: min_runs runs (the cold one included), whatever the
    // timing, and nothing is discarded.
    WarmUpMeter meter(5, false);
    const double walls[] = {80.0, 1.0, 50.0, 30.0, 2.0};
    const double cpus[] = {80.0, 1.0, 50.0, 0.1, 2.0};  // the 4th mostly off the CPU
    for (std::size_t i = 0; i < 4; ++i)
        EXPECT_FALSE(meter.record(walls[i], cpus[i], 0.0)) << i;
    EXPECT_TRUE(meter.record(walls[4], cpus[4], 0.0));
    EXPECT_EQ(meter.runs(), 5u);
    EXPECT_EQ(meter.counted(), 4u);
    EXPECT_EQ(meter.discarded(), 0u);
    EXPECT_FALSE(meter.settled());
    // min_runs 1: the cold run alone.
    WarmUpMeter single(1, false);
    EXPECT_TRUE(single.record(10.0, 10.0, 0.0));
}

TEST(WarmUp, SettlingNeedsTwoWindowsAndAtLeastMinRunsCounted) {
    auto steady = [](std::size_t) { return 1.0; };
    // min_runs below two windows (2 x 16): settles at 32 counted runs.
    WarmUpMeter few(8, true);
    EXPECT_EQ(run_until_complete(few, steady, steady), 33u);
    EXPECT_TRUE(few.settled());
    EXPECT_EQ(few.counted(), 32u);
    // min_runs above: exactly min_runs counted runs.
    WarmUpMeter many(40, true);
    EXPECT_EQ(run_until_complete(many, steady, steady), 41u);
    EXPECT_TRUE(many.settled());
    EXPECT_EQ(many.counted(), 40u);
}

// An optimising engine (LibTorch's profiling executor): after the cold run, the first 10 counted
// runs take 20 ms, every later one 1 ms.
double optimising(std::size_t i) {
    return i == 0 ? 50.0 : i <= 10 ? 20.0 : 1.0;
}

TEST(WarmUp, AnOptimisingEngineSettlesOnceItsSlowRunsHaveLeftBothWindows) {
    WarmUpMeter meter(8, true);
    const std::size_t runs = run_until_complete(meter, optimising, optimising);
    // The windows compare their 99th percentiles (of 16 runs: the slowest), so they agree only
    // when the older window (counted runs n - 32 .. n - 17) holds none of the slow runs
    // (indices 0..9): at n = 42.
    EXPECT_EQ(meter.counted(), 42u);
    EXPECT_EQ(runs, 43u);
    EXPECT_TRUE(meter.settled());
    EXPECT_EQ(meter.discarded(), 0u);
    // The figure (the last 32 counted runs) holds only fast runs, at any percentile.
    EXPECT_EQ(meter.percentile(0.99), 1.0);
    EXPECT_EQ(meter.percentile(1.0), 1.0);
    EXPECT_EQ(meter.percentile(0.5), 1.0);
}

TEST(WarmUp, TheWindowsCompareTheRulesPercentile) {
    // With the 90th percentile (the 15th of 16 values) one slow run left in the older window
    // does not hold warm-up back: it settles at 41, and the slowest of the last 32 is still
    // that run. (This is why the rule compares the percentile that is measured.)
    WarmUpRule rule;
    rule.percentile = 0.9;
    WarmUpMeter meter(8, true, rule);
    EXPECT_EQ(run_until_complete(meter, optimising, optimising), 42u);
    EXPECT_EQ(meter.counted(), 41u);
    EXPECT_TRUE(meter.settled());
    EXPECT_EQ(meter.percentile(0.9), 1.0);
    EXPECT_EQ(meter.percentile(1.0), 20.0);
}

TEST(WarmUp, RunsMostlyOffTheCpuAreDiscardedAndRepeated) {
    // Runs of 0.5 ms all on the CPU; warm runs 10, 20 and 30 were preempted: 30 ms wall, 0.1 ms
    // CPU. They are discarded, counted in discarded(), and do not appear in the figure.
    WarmUpMeter meter(32, true);
    auto disturbed = [](std::size_t i) { return i == 10 || i == 20 || i == 30; };
    auto wall = [&](std::size_t i) { return disturbed(i) ? 30.0 : 0.5; };
    auto cpu = [&](std::size_t i) { return disturbed(i) ? 0.1 : 0.5; };
    EXPECT_EQ(run_until_complete(meter, wall, cpu), 1u + 32u + 3u);
    EXPECT_EQ(meter.discarded(), 3u);
    EXPECT_EQ(meter.counted(), 32u);
    EXPECT_TRUE(meter.settled());
    EXPECT_EQ(meter.percentile(1.0), 0.5);
}

TEST(WarmUp, AnEngineThatIsAlwaysMostlyOffTheCpuIsNotDiscardedWholesale) {
    // An engine waiting on threads of its own: 1 ms wall, 0.2 ms CPU, every run. Its typical
    // off-CPU time is 0.8 ms, so no run stands out; only a real outlier (30 ms) is discarded.
    WarmUpMeter meter(32, true);
    auto wall = [](std::size_t i) { return i == 12 ? 30.0 : 1.0; };
    auto cpu = [](std::size_t) { return 0.2; };
    EXPECT_EQ(run_until_complete(meter, wall, cpu), 1u + 32u + 1u);
    EXPECT_EQ(meter.discarded(), 1u);
    EXPECT_EQ(meter.counted(), 32u);
    EXPECT_TRUE(meter.settled());
    EXPECT_EQ(meter.percentile(1.0), 1.0);
}

TEST(WarmUp, MaxRunsStopsATimingThatNeverSettles) {
    WarmUpRule rule;
    rule.max_runs = 50;
    WarmUpMeter meter(8, true, rule);
    // 10 % slower every run: two windows of 16 never agree.
    auto growing = [](std::size_t i) { return std::pow(1.1, static_cast<double>(i)); };
    EXPECT_EQ(run_until_complete(meter, growing, growing), 50u);
    EXPECT_FALSE(meter.settled());
    EXPECT_EQ(meter.counted(), 49u);
    // The figure comes from the runs so far: the slowest of the last 32 is the last one.
    EXPECT_EQ(meter.percentile(1.0), std::pow(1.1, 49.0));
}

TEST(WarmUp, MaxSecondsStopsATimingThatNeverSettles) {
    EXPECT_EQ(WarmUpRule{}.max_seconds, 2.0);
    WarmUpMeter meter(8, true);
    std::size_t runs = 0;
    for (std::size_t i = 0; i < 100; ++i) {
        const double wall = std::pow(1.1, static_cast<double>(i));
        ++runs;
        if (meter.record(wall, wall, 0.25 * static_cast<double>(runs)))  // 0.25 s per run
            break;
    }
    EXPECT_EQ(runs, 8u);  // 8 x 0.25 = 2.0 s
    EXPECT_FALSE(meter.settled());
}

TEST(WarmUp, ThePercentileIsTakenOverTheLast2WindowsCountedRuns) {
    WarmUpRule rule;
    rule.window = 4;  // the last 8 counted runs
    WarmUpMeter meter(100, false, rule);
    meter.record(99.0, 99.0, 0.0);  // cold
    for (int k = 1; k <= 5; ++k)
        meter.record(static_cast<double>(k), static_cast<double>(k), 0.0);
    // Fewer than 8 counted: all of them (1..5).
    EXPECT_EQ(meter.percentile(0.5), 3.0);
    EXPECT_EQ(meter.percentile(1.0), 5.0);
    for (int k = 6; k <= 20; ++k)
        meter.record(static_cast<double>(k), static_cast<double>(k), 0.0);
    // 13..20, nearest rank.
    EXPECT_EQ(meter.percentile(0.0), 13.0);
    EXPECT_EQ(meter.percentile(0.5), 16.0);
    EXPECT_EQ(meter.percentile(0.8), 19.0);
    EXPECT_EQ(meter.percentile(0.9), 20.0);
    EXPECT_EQ(meter.percentile(1.0), 20.0);
}

}  // namespace
}  // namespace legato::core
