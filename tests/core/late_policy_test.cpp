// substitute() (src/core/late_policy.hpp): what replaces a hop whose inference did not deliver
// in time, per LatePolicy; sample-exact, across the rings' wrap points.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "audio_thread_guard.hpp"
#include "core/late_policy.hpp"

namespace legato::core {
namespace {

// Input channel c holds 1000 * (c + 1) + position at every position (exact in float).
float input_value(std::size_t channel, std::uint64_t position) {
    return 1000.0f * static_cast<float>(channel + 1) + static_cast<float>(position);
}
// Output channel c holds -(100 * (c + 1) + position % 100) before substitution.
float output_value(std::size_t channel, std::uint64_t position) {
    return -(100.0f * static_cast<float>(channel + 1) + static_cast<float>(position % 100));
}

void fill_input(rt::SampleRing& ring, std::uint64_t from, std::uint64_t to) {
    for (std::size_t c = 0; c < ring.channels(); ++c)
        for (std::uint64_t p = from; p < to; ++p) {
            const float x = input_value(c, p);
            ring.write(c, p, &x, 1);
        }
}
void fill_output(rt::SampleRing& ring, std::uint64_t from, std::uint64_t to) {
    for (std::size_t c = 0; c < ring.channels(); ++c)
        for (std::uint64_t p = from; p < to; ++p) {
            const float x = output_value(c, p);
            ring.write(c, p, &x, 1);
        }
}

std::vector<float> read(const rt::SampleRing& ring, std::size_t channel, std::uint64_t position,
                        std::size_t count) {
    std::vector<float> v(count);
    ring.read(channel, position, v.data(), count);
    return v;
}

constexpr std::size_t hop = 4;

TEST(LatePolicy, SilenceZeroesTheHopOnEveryChannelAndNothingElse) {
    // Output ring of 8 (two hops); every hop position over two laps, so the hop wraps or not.
    for (std::uint64_t position = hop; position < hop + 16; ++position) {
        rt::SampleRing input;
        input.reset(2, 16);
        rt::SampleRing output;
        output.reset(3, 2 * hop);
        fill_output(output, position - hop, position + hop);
        substitute(LatePolicy::silence, output, input, position, hop, 5);
        for (std::size_t c = 0; c < 3; ++c) {
            EXPECT_EQ(read(output, c, position, hop), std::vector<float>(hop, 0.0f))
                << "channel " << c << " position " << position;
            for (std::size_t i = 0; i < hop; ++i)
                EXPECT_EQ(read(output, c, position - hop + i, 1)[0],
                          output_value(c, position - hop + i));
        }
    }
}

TEST(LatePolicy, DryIsTheInputDelayedByTheLatencyOnInputChannelCModuloInputs) {
    // Three output channels from two input channels: output 2 takes input 0. Latency 5 in an
    // input ring of 16 and an output ring of 8, at positions over two laps of the input ring,
    // where either ring, both or neither wrap.
    const std::size_t latency = 5;
    for (std::uint64_t position = 16; position < 48; ++position) {
        rt::SampleRing input;
        input.reset(2, 16);
        fill_input(input, position + hop - 16, position + hop);
        rt::SampleRing output;
        output.reset(3, 2 * hop);
        fill_output(output, position - hop, position + hop);
        substitute(LatePolicy::dry, output, input, position, hop, latency);
        for (std::size_t c = 0; c < 3; ++c) {
            std::vector<float> expected(hop);
            for (std::size_t i = 0; i < hop; ++i)
                expected[i] = input_value(c % 2, position - latency + i);
            EXPECT_EQ(read(output, c, position, hop), expected)
                << "channel " << c << " position " << position;
            // The previous hop is untouched.
            EXPECT_EQ(read(output, c, position - hop, 1)[0], output_value(c, position - hop));
        }
    }
}

TEST(LatePolicy, DryFromOneInputChannelFeedsEveryOutputChannel) {
    rt::SampleRing input;
    input.reset(1, 16);
    fill_input(input, 100, 116);
    rt::SampleRing output;
    output.reset(2, 8);
    substitute(LatePolicy::dry, output, input, 111, hop, 0);  // zero latency: same positions
    for (std::size_t c = 0; c < 2; ++c)
        EXPECT_EQ(read(output, c, 111, hop),
                  (std::vector<float>{1111.0f, 1112.0f, 1113.0f, 1114.0f}));
}

TEST(LatePolicy, DryWithoutInputChannelsIsSilence) {
    rt::SampleRing input;
    input.reset(0, 16);
    ASSERT_EQ(input.channels(), 0u);
    rt::SampleRing output;
    output.reset(2, 8);
    fill_output(output, 6, 14);
    substitute(LatePolicy::dry, output, input, 10, hop, 3);
    for (std::size_t c = 0; c < 2; ++c) {
        EXPECT_EQ(read(output, c, 10, hop), std::vector<float>(hop, 0.0f));
        EXPECT_EQ(read(output, c, 6, hop),
                  (std::vector<float>{output_value(c, 6), output_value(c, 7), output_value(c, 8),
                                      output_value(c, 9)}));
    }
}

TEST(LatePolicy, RepeatLastRepeatsThePreviousHopAcrossTheWrap) {
    for (std::uint64_t position = hop; position < hop + 16; ++position) {
        rt::SampleRing input;
        input.reset(1, 16);
        rt::SampleRing output;
        output.reset(2, 2 * hop);
        fill_output(output, position - hop, position + hop);
        substitute(LatePolicy::repeat_last, output, input, position, hop, 7);
        for (std::size_t c = 0; c < 2; ++c) {
            std::vector<float> previous(hop);
            for (std::size_t i = 0; i < hop; ++i)
                previous[i] = output_value(c, position - hop + i);
            EXPECT_EQ(read(output, c, position, hop), previous)
                << "channel " << c << " position " << position;
            EXPECT_EQ(read(output, c, position - hop, hop), previous);
        }
    }
}

TEST(LatePolicy, RepeatLastTwiceRepeatsTheLastGoodHopAgain) {
    // Two late hops in a row: the second repeats the first substitute, i.e. the last good hop.
    rt::SampleRing input;
    input.reset(1, 16);
    rt::SampleRing output;
    output.reset(1, 2 * hop);
    fill_output(output, 2, 6);
    substitute(LatePolicy::repeat_last, output, input, 6, hop, 0);
    substitute(LatePolicy::repeat_last, output, input, 10, hop, 0);
    const std::vector<float> good{output_value(0, 2), output_value(0, 3), output_value(0, 4),
                                  output_value(0, 5)};
    EXPECT_EQ(read(output, 0, 6, hop), good);
    EXPECT_EQ(read(output, 0, 10, hop), good);
}

TEST(LatePolicy, SubstituteNeitherAllocatesNorLocks) {
    LEGATO_REQUIRE_AUDIO_THREAD_GUARD();
    rt::SampleRing input;
    input.reset(2, 16);
    rt::SampleRing output;
    output.reset(3, 8);
    test::AudioThreadViolations v;
    {
        test::AudioThreadGuard guard;
        substitute(LatePolicy::silence, output, input, 6, hop, 5);
        substitute(LatePolicy::dry, output, input, 10, hop, 5);
        substitute(LatePolicy::repeat_last, output, input, 14, hop, 5);
        v = guard.violations();
    }
    EXPECT_TRUE(test::NoViolations(v));
}

}  // namespace
}  // namespace legato::core
