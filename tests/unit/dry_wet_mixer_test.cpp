// DryWetMixer: the dry signal is the input delayed by exactly the latency, whatever the block
// sizes; mix values blend linearly and ramp across a block; push/mix never allocate or lock.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <vector>

#include "audio_thread_guard.hpp"
#include "legato/dry_wet_mixer.hpp"

namespace legato {
namespace {

std::vector<float> ramp_signal(std::size_t n, float offset) {
    std::vector<float> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = offset + static_cast<float>(i);  // exact in float
    return x;
}

// Streams two channels through the mixer in the given block pattern; the "wet" signal is
// constant 1000 so the dry part can be read back exactly.
std::vector<std::vector<float>> run(std::size_t latency, std::size_t max_block,
                                    const std::vector<std::size_t>& blocks, float wet,
                                    std::size_t total) {
    DryWetMixer mixer;
    mixer.prepare(2, max_block, latency);
    const std::vector<std::vector<float>> input{ramp_signal(total, 1.0F), ramp_signal(total, 5000.0F)};
    std::vector<std::vector<float>> output(2, std::vector<float>(total, 0.0F));
    for (std::size_t position = 0, call = 0; position < total; ++call) {
        const std::size_t n = std::min(blocks[call % blocks.size()], total - position);
        const float* in[] = {input[0].data() + position, input[1].data() + position};
        float* out[] = {output[0].data() + position, output[1].data() + position};
        for (float* channel : out) std::fill_n(channel, n, 1000.0F);
        mixer.push_dry(in, 2, n);
        mixer.mix(out, 2, n, wet);
        position += n;
    }
    return output;
}

TEST(DryWetMixer, DryIsTheInputDelayedByTheLatency) {
    for (const std::size_t latency : {0U, 1U, 63U, 256U, 1000U}) {
        for (const std::vector<std::size_t>& blocks :
             std::vector<std::vector<std::size_t>>{{64}, {1, 7, 64, 3}, {256}}) {
            const std::size_t total = 3000;
            const auto output = run(latency, 256, blocks, 0.0F, total);
            for (std::size_t c = 0; c < 2; ++c) {
                const float offset = c == 0 ? 1.0F : 5000.0F;
                for (std::size_t t = 0; t < total; ++t) {
                    const float expected = t < latency ? 0.0F : offset + static_cast<float>(t - latency);
                    ASSERT_EQ(output[c][t], expected)
                        << "latency " << latency << " channel " << c << " t " << t;
                }
            }
        }
    }
}

TEST(DryWetMixer, BlendsAndRampsLinearly) {
    const auto wet_only = run(10, 64, {64}, 1.0F, 640);
    for (const float x : wet_only[0]) ASSERT_EQ(x, 1000.0F);
    const auto half = run(0, 64, {64}, 0.5F, 640);
    for (std::size_t t = 0; t < 640; ++t)
        ASSERT_FLOAT_EQ(half[0][t], 0.5F * 1000.0F + 0.5F * (1.0F + static_cast<float>(t)));

    // A change of mix moves linearly across the next block, reaching the new value at its end.
    DryWetMixer mixer;
    mixer.prepare(1, 8, 0);
    std::vector<float> dry(8, 0.0F), wet(8, 1.0F);
    const float* in[] = {dry.data()};
    float* out[] = {wet.data()};
    mixer.push_dry(in, 1, 8);
    mixer.mix(out, 1, 8, 0.0F);  // first block: no ramp
    for (const float x : wet) ASSERT_EQ(x, 0.0F);
    std::fill(wet.begin(), wet.end(), 1.0F);
    mixer.push_dry(in, 1, 8);
    mixer.mix(out, 1, 8, 1.0F);
    for (std::size_t i = 0; i < 8; ++i)
        EXPECT_FLOAT_EQ(wet[i], static_cast<float>(i + 1) / 8.0F) << i;
}

TEST(DryWetMixer, MoreOutputsThanPreparedChannelsTakeTheLastDry) {
    DryWetMixer mixer;
    mixer.prepare(1, 4, 0);
    std::vector<float> dry{1, 2, 3, 4};
    std::vector<float> left(4, 9.0F), right(4, 9.0F);
    const float* in[] = {dry.data()};
    float* out[] = {left.data(), right.data(), nullptr};
    mixer.push_dry(in, 1, 4);
    mixer.mix(out, 3, 4, 0.0F);
    EXPECT_EQ(left, dry);
    EXPECT_EQ(right, dry);
}

TEST(DryWetMixer, ResetClearsTheDelayLine) {
    DryWetMixer mixer;
    mixer.prepare(1, 4, 5);
    std::vector<float> ones(4, 1.0F), twos(4, 2.0F), out(4, 0.0F);
    const float* in_ones[] = {ones.data()};
    const float* in_twos[] = {twos.data()};
    float* outs[] = {out.data()};
    mixer.push_dry(in_ones, 1, 4);
    mixer.push_dry(in_ones, 1, 4);
    mixer.reset();
    mixer.push_dry(in_twos, 1, 4);
    mixer.mix(outs, 1, 4, 0.0F);
    // The dry partners of this block lie 5 samples back: before the reset, so silence now.
    EXPECT_EQ(out, std::vector<float>(4, 0.0F));
}

TEST(DryWetMixer, AudioThreadCallsNeitherAllocateNorLock) {
    LEGATO_REQUIRE_AUDIO_THREAD_GUARD();
    DryWetMixer mixer;
    mixer.prepare(2, 512, 777);
    std::vector<float> a(512, 0.25F), b(512, 0.5F);
    const float* in[] = {a.data(), b.data()};
    float* out[] = {a.data(), b.data()};
    test::AudioThreadViolations violations;
    {
        test::AudioThreadGuard guard;
        for (int i = 0; i < 100; ++i) {
            mixer.push_dry(in, 2, 512);
            mixer.mix(out, 2, 512, static_cast<float>(i % 3) * 0.5F);
        }
        mixer.reset();
        violations = guard.violations();
    }
    EXPECT_TRUE(test::NoViolations(violations));
}

}  // namespace
}  // namespace legato
