// SubmissionForecast (src/scheduling/submission_forecast.hpp): when a handler's next request is
// expected, from the nominal block period and the phase of its process() calls.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>

#include "audio_thread_guard.hpp"
#include "scheduling/submission_forecast.hpp"

namespace legato::scheduling {
namespace {

constexpr double ns_per_sample = 20'000.0;  // 50 kHz: nominal periods are exact integers
constexpr std::int64_t t0 = 1'000'000'000;

// Streams `calls` process() calls of `frames` samples, `period_ns` apart, for a hop of `hop`,
// and checks after each that the forecast names the time of the call that completes the next
// hop (the call in which the request is submitted).
void expect_forecast_names_the_completing_call(std::size_t hop, std::size_t frames) {
    const std::int64_t period_ns = static_cast<std::int64_t>(frames) * 20'000;
    const std::size_t calls = 40;
    SubmissionForecast forecast;
    std::uint64_t position = 0;
    for (std::size_t k = 0; k < calls; ++k) {
        const std::int64_t now = t0 + static_cast<std::int64_t>(k) * period_ns;
        position += frames;
        forecast.on_call(now, frames, hop - position % hop, ns_per_sample);
        ASSERT_EQ(forecast.period_ns(), period_ns);
        // The first later call after which a new hop is complete.
        std::uint64_t p = position;
        std::int64_t completing = now;
        do {
            completing += period_ns;
            p += frames;
        } while (p / hop == (p - frames) / hop);
        EXPECT_EQ(forecast.expected_ns(), completing)
            << "hop " << hop << ", blocks of " << frames << ", after call " << k;
    }
}

TEST(SubmissionForecast, NoForecastBeforeTheFirstCall) {
    const SubmissionForecast forecast;
    EXPECT_EQ(forecast.expected_ns(), 0);
    EXPECT_EQ(forecast.period_ns(), 0);
}

TEST(SubmissionForecast, BlockEqualToTheHop) {
    // Every call completes a hop: the next request comes with the next call.
    SubmissionForecast forecast;
    forecast.on_call(t0, 256, 256, ns_per_sample);
    EXPECT_EQ(forecast.period_ns(), 5'120'000);  // seeded with the nominal 256 / 50 kHz
    EXPECT_EQ(forecast.expected_ns(), t0 + 5'120'000);
    expect_forecast_names_the_completing_call(256, 256);
}

TEST(SubmissionForecast, BlockSmallerThanTheHop) {
    // Several calls per hop: 4 (256 / 64), and hops that are no multiple of the block.
    expect_forecast_names_the_completing_call(256, 64);
    expect_forecast_names_the_completing_call(100, 64);
    expect_forecast_names_the_completing_call(48, 40);
}

TEST(SubmissionForecast, BlockLargerThanTheHop) {
    // Every call completes one hop or more: again the next call.
    expect_forecast_names_the_completing_call(64, 256);
    expect_forecast_names_the_completing_call(100, 256);
}

constexpr std::int64_t period = 5'120'000;  // 256 samples at 50 kHz

TEST(SubmissionForecast, ThePeriodIsTheBlocksNominalDuration) {
    // Calls every 5 ms (the host's clock runs fast) do not change the period of 5.12 ms; a
    // smaller block changes it at once.
    SubmissionForecast forecast;
    std::int64_t now = t0;
    for (int k = 0; k < 20; ++k, now += 5'000'000) {
        forecast.on_call(now, 256, 256, ns_per_sample);
        EXPECT_EQ(forecast.period_ns(), period);
        EXPECT_EQ(forecast.expected_ns(), now + period);  // each call is earlier than the rhythm
    }
    forecast.on_call(now, 128, 128, ns_per_sample);
    EXPECT_EQ(forecast.period_ns(), 2'560'000);
    EXPECT_EQ(forecast.expected_ns(), now + 2'560'000);
}

TEST(SubmissionForecast, ALateCallShiftsTheForecastBy1_64thOfItsLateness) {
    // The host keeps an absolute schedule: a call woken 300 µs late says nothing about the next.
    SubmissionForecast forecast;
    for (int k = 0; k < 5; ++k)
        forecast.on_call(t0 + k * period, 256, 256, ns_per_sample);
    forecast.on_call(t0 + 5 * period + 300'000, 256, 256, ns_per_sample);
    EXPECT_EQ(forecast.expected_ns(), t0 + 6 * period + 300'000 / 64);
    // The next call on schedule comes earlier than that phase: the phase returns to it.
    forecast.on_call(t0 + 6 * period, 256, 256, ns_per_sample);
    EXPECT_EQ(forecast.expected_ns(), t0 + 7 * period);
    // One call far behind (2 ms > a quarter period) is not yet a new schedule either.
    forecast.on_call(t0 + 7 * period + 2'000'000, 256, 256, ns_per_sample);
    EXPECT_EQ(forecast.expected_ns(), t0 + 8 * period + 2'000'000 / 64);
    forecast.on_call(t0 + 8 * period, 256, 256, ns_per_sample);
    EXPECT_EQ(forecast.expected_ns(), t0 + 9 * period);
}

TEST(SubmissionForecast, JitteredCallsKeepTheForecastOnTheSchedule) {
    // Calls woken up to 300 µs late (never early); every sixth on time. The forecast stays
    // within 15 µs of the schedule and returns to it exactly with each on-time call.
    SubmissionForecast forecast;
    const std::int64_t jitter[] = {0, 300'000, 120'000, 40'000, 250'000, 180'000};
    for (int k = 0; k < 300; ++k) {
        forecast.on_call(t0 + k * period + jitter[k % 6], 256, 256, ns_per_sample);
        const std::int64_t scheduled = t0 + (k + 1) * period;
        EXPECT_GE(forecast.expected_ns(), scheduled) << "call " << k;
        EXPECT_LE(forecast.expected_ns(), scheduled + 15'000) << "call " << k;
        if (jitter[k % 6] == 0) {
            EXPECT_EQ(forecast.expected_ns(), scheduled) << "call " << k;
        }
    }
}

TEST(SubmissionForecast, AnEarlierCallMovesThePhaseToIt) {
    // A call before the rhythm (a burst, or the host's schedule moved earlier) is the new phase.
    SubmissionForecast forecast;
    for (int k = 0; k < 4; ++k)
        forecast.on_call(t0 + k * period, 256, 256, ns_per_sample);
    const std::int64_t early = t0 + 4 * period - 100'000;
    forecast.on_call(early, 256, 256, ns_per_sample);
    EXPECT_EQ(forecast.expected_ns(), early + period);
    // A second call 1 µs later (a burst): earlier than the rhythm again.
    forecast.on_call(early + 1'000, 256, 256, ns_per_sample);
    EXPECT_EQ(forecast.expected_ns(), early + 1'000 + period);
}

TEST(SubmissionForecast, FourCallsInARowFarBehindResynchronise) {
    // The host pauses and restarts its schedule 10.5 periods later (as after an xrun). The first
    // three calls of the new schedule leave the forecast behind them; the fourth in a row more
    // than a quarter period behind the phase resynchronises, and it is exact from then on.
    SubmissionForecast forecast;
    for (int k = 0; k < 4; ++k)
        forecast.on_call(t0 + k * period, 256, 256, ns_per_sample);
    const std::int64_t restart = t0 + 3 * period + 21 * period / 2;
    for (int j = 0; j < 3; ++j) {
        const std::int64_t now = restart + j * period;
        forecast.on_call(now, 256, 256, ns_per_sample);
        EXPECT_LT(forecast.expected_ns(), now) << "call " << j << " of the new schedule";
    }
    for (int j = 3; j < 6; ++j) {
        const std::int64_t now = restart + j * period;
        forecast.on_call(now, 256, 256, ns_per_sample);
        EXPECT_EQ(forecast.expected_ns(), now + period) << "call " << j << " of the new schedule";
    }
}

TEST(SubmissionForecast, ClearForgetsTheForecastAndStartsAFreshPhase) {
    SubmissionForecast forecast;
    for (int k = 0; k < 4; ++k)
        forecast.on_call(t0 + k * period, 256, 256, ns_per_sample);
    forecast.clear();
    EXPECT_EQ(forecast.expected_ns(), 0);
    // A new stream, off the old schedule, with blocks of 128 (2.56 ms) and a hop of 256: the
    // first call is the phase (not a call far behind the old one).
    const std::int64_t now = t0 + 20 * period + 777'777;
    forecast.on_call(now, 128, 128, ns_per_sample);
    EXPECT_EQ(forecast.period_ns(), 2'560'000);
    EXPECT_EQ(forecast.expected_ns(), now + 2'560'000);
    forecast.on_call(now + 2'560'000, 128, 256, ns_per_sample);
    EXPECT_EQ(forecast.expected_ns(), now + 3 * 2'560'000);
}

TEST(SubmissionForecast, ClearResetsTheLearntPeriod) {
    // clear() forgets the rhythm: the published period too ("0 = none yet").
    SubmissionForecast forecast;
    forecast.on_call(t0, 256, 256, ns_per_sample);
    forecast.clear();
    EXPECT_EQ(forecast.period_ns(), 0);
}

TEST(SubmissionForecast, AudioThreadFunctionsNeitherAllocateNorLock) {
    LEGATO_REQUIRE_AUDIO_THREAD_GUARD();
    SubmissionForecast forecast;
    test::AudioThreadViolations v;
    {
        test::AudioThreadGuard guard;
        forecast.on_call(t0, 256, 100, ns_per_sample);
        forecast.on_call(t0 + 5'000'000, 256, 200, ns_per_sample);
        forecast.clear();
        v = guard.violations();
    }
    EXPECT_TRUE(test::NoViolations(v));
}

}  // namespace
}  // namespace legato::scheduling
