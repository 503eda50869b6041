// plan_idle() and WakeMargin (src/scheduling/anticipation.hpp): what an idle worker does around
// the forecast arrival of the next request, on a simulated clock.

#include <gtest/gtest.h>

#include <cstdint>

#include "scheduling/anticipation.hpp"

namespace legato::scheduling {
namespace {

constexpr std::int64_t expected = 1'000'000'000;
constexpr std::int64_t margin = 70'000;
// Spin until 200 µs after, sleep from 50 ms after; naps of at most 20 ms ahead, 50 µs overdue.
const AnticipationSettings settings;

::testing::AssertionResult plan_is(const IdlePlan& plan, IdleAction action, std::int64_t until) {
    if (plan.action == action && plan.until_ns == until)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "got action " << static_cast<int>(plan.action) << " until " << plan.until_ns
           << ", expected action " << static_cast<int>(action) << " until " << until;
}

TEST(PlanIdle, DefaultSettings) {
    EXPECT_EQ(settings.spin_after_ns, 200'000);
    EXPECT_EQ(settings.stop_after_ns, 50'000'000);
    EXPECT_EQ(settings.max_nap_ns, 20'000'000);
    EXPECT_EQ(settings.overdue_nap_ns, 50'000);
}

TEST(PlanIdle, WithoutAForecastSleepsUntilWoken) {
    EXPECT_TRUE(plan_is(plan_idle(expected, 0, margin, settings), IdleAction::sleep, 0));
    EXPECT_TRUE(plan_is(plan_idle(0, 0, margin, settings), IdleAction::sleep, 0));
}

TEST(PlanIdle, FarAheadNapsUntilTheMarginButAtMostMaxNap) {
    // 5 ms ahead: nap until expected - margin.
    EXPECT_TRUE(plan_is(plan_idle(expected - 5'000'000, expected, margin, settings),
                        IdleAction::nap, expected - margin));
    // 50 ms ahead: nap 20 ms, then ask again.
    const std::int64_t now = expected - 50'000'000;
    EXPECT_TRUE(
        plan_is(plan_idle(now, expected, margin, settings), IdleAction::nap, now + 20'000'000));
    // The boundary: 20 ms + margin ahead naps exactly until expected - margin either way.
    const std::int64_t edge = expected - margin - 20'000'000;
    EXPECT_TRUE(
        plan_is(plan_idle(edge, expected, margin, settings), IdleAction::nap, expected - margin));
    // One nanosecond before the margin still naps (for that nanosecond).
    EXPECT_TRUE(plan_is(plan_idle(expected - margin - 1, expected, margin, settings),
                        IdleAction::nap, expected - margin));
}

TEST(PlanIdle, WithinTheMarginSpins) {
    for (const std::int64_t now : {expected - margin, expected - 1, expected}) {
        EXPECT_TRUE(plan_is(plan_idle(now, expected, margin, settings), IdleAction::spin, 0))
            << "now = expected " << now - expected;
    }
    // A wider margin starts spinning earlier.
    EXPECT_TRUE(
        plan_is(plan_idle(expected - 500'000, expected, 600'000, settings), IdleAction::spin, 0));
}

TEST(PlanIdle, JustPastTheExpectedTimeSpinsUntilSpinAfter) {
    EXPECT_TRUE(plan_is(plan_idle(expected + 1, expected, margin, settings), IdleAction::spin, 0));
    EXPECT_TRUE(
        plan_is(plan_idle(expected + 199'999, expected, margin, settings), IdleAction::spin, 0));
}

TEST(PlanIdle, OverdueNapsBrieflyUntilStopAfter) {
    // From spin_after on the host is late: naps of overdue_nap (50 µs, the time the audio thread
    // allows a worker to wake), so that the late request still finds a worker about to look.
    std::int64_t now = expected + 200'000;
    EXPECT_TRUE(plan_is(plan_idle(now, expected, margin, settings), IdleAction::nap, now + 50'000));
    now = expected + 30'000'000;
    EXPECT_TRUE(plan_is(plan_idle(now, expected, margin, settings), IdleAction::nap, now + 50'000));
    // The last nap ends at expected + stop_after exactly.
    now = expected + 50'000'000 - 30'000;
    EXPECT_TRUE(plan_is(plan_idle(now, expected, margin, settings), IdleAction::nap,
                        expected + 50'000'000));
    now = expected + 50'000'000 - 1;
    EXPECT_TRUE(plan_is(plan_idle(now, expected, margin, settings), IdleAction::nap,
                        expected + 50'000'000));
}

TEST(PlanIdle, AStaleForecastSleeps) {
    EXPECT_TRUE(plan_is(plan_idle(expected + 50'000'000, expected, margin, settings),
                        IdleAction::sleep, 0));
    EXPECT_TRUE(plan_is(plan_idle(expected + 3'600'000'000'000, expected, margin, settings),
                        IdleAction::sleep, 0));
}

TEST(PlanIdle, CustomSettingsMoveEveryBoundary) {
    AnticipationSettings custom;
    custom.spin_after_ns = 10'000;
    custom.stop_after_ns = 1'000'000;
    custom.max_nap_ns = 300'000;
    custom.overdue_nap_ns = 120'000;
    EXPECT_TRUE(plan_is(plan_idle(expected - 1'000'000, expected, margin, custom), IdleAction::nap,
                        expected - 700'000));
    EXPECT_TRUE(
        plan_is(plan_idle(expected + 9'999, expected, margin, custom), IdleAction::spin, 0));
    EXPECT_TRUE(plan_is(plan_idle(expected + 10'000, expected, margin, custom), IdleAction::nap,
                        expected + 130'000));
    EXPECT_TRUE(plan_is(plan_idle(expected + 900'000, expected, margin, custom), IdleAction::nap,
                        expected + 1'000'000));
    EXPECT_TRUE(
        plan_is(plan_idle(expected + 1'000'000, expected, margin, custom), IdleAction::sleep, 0));
}

TEST(WakeMargin, StartsAtTheInitialWorstPlusTheAllowance) {
    const WakeMargin m;
    EXPECT_EQ(m.margin_ns(), 50'000 + WakeMargin::allowance_ns);
    EXPECT_EQ(WakeMargin::allowance_ns, 20'000);
}

TEST(WakeMargin, GrowsWithALateWakeUpAndDecaysByOne32ndPerOnTimeWakeUp) {
    WakeMargin m;
    m.record(1'000'000, 1'300'000);  // 300 µs late
    EXPECT_EQ(m.margin_ns(), 320'000);
    m.record(2'000'000, 2'000'000);  // on time: 300'000 - 300'000 / 32
    EXPECT_EQ(m.margin_ns(), 290'625 + 20'000);
    m.record(3'000'000, 2'999'000);  // early counts as on time: 290'625 - 9'082
    EXPECT_EQ(m.margin_ns(), 281'543 + 20'000);
    m.record(4'000'000, 4'100'000);  // 100 µs late, below the decayed worst: decays anyway
    EXPECT_EQ(m.margin_ns(), 281'543 - 8'798 + 20'000);
    m.record(5'000'000, 5'400'000);  // 400 µs late: a new worst
    EXPECT_EQ(m.margin_ns(), 420'000);
}

TEST(WakeMargin, ClampsToItsBounds) {
    WakeMargin m;
    m.record(0, 5'000'000);  // 5 ms late
    EXPECT_EQ(m.margin_ns(), WakeMargin::max_ns);
    std::int64_t previous = m.margin_ns();
    for (int k = 0; k < 1000; ++k) {
        m.record(k, k);
        EXPECT_LE(m.margin_ns(), previous);
        previous = m.margin_ns();
    }
    EXPECT_EQ(m.margin_ns(), WakeMargin::min_ns);
    EXPECT_EQ(WakeMargin::min_ns, 30'000);
    EXPECT_EQ(WakeMargin::max_ns, 1'000'000);
}

}  // namespace
}  // namespace legato::scheduling
