// SampleRing (src/rt/sample_ring.hpp): a per-channel ring of samples addressed by absolute stream
// position, checked sample by sample against a reference that never wraps.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

#include "audio_thread_guard.hpp"
#include "rt/sample_ring.hpp"

namespace legato::rt {
namespace {

// The reference model: every sample ever written, indexed by absolute position - base.
class Reference {
public:
    Reference(std::size_t channels, std::uint64_t base) : base_(base), samples_(channels) {}

    void write(std::size_t channel, std::uint64_t position, const float* source,
               std::size_t count) {
        std::vector<float>& s = samples_[channel];
        const std::size_t begin = static_cast<std::size_t>(position - base_);
        if (s.size() < begin + count)
            s.resize(begin + count, 0.0f);
        for (std::size_t i = 0; i < count; ++i)
            s[begin + i] = source != nullptr ? source[i] : 0.0f;
    }

    float at(std::size_t channel, std::uint64_t position) const {
        const std::vector<float>& s = samples_[channel];
        const std::size_t i = static_cast<std::size_t>(position - base_);
        return i < s.size() ? s[i] : 0.0f;
    }

private:
    std::uint64_t base_;
    std::vector<std::vector<float>> samples_;
};

// Distinct, exactly representable values: channel, position and a tag.
std::vector<float> pattern(std::size_t channel, std::uint64_t position, std::size_t count,
                           float tag) {
    std::vector<float> v(count);
    for (std::size_t i = 0; i < count; ++i)
        v[i] =
            tag + 1000.0f * static_cast<float>(channel) + static_cast<float>((position + i) % 1000);
    return v;
}

std::vector<float> read(const SampleRing& ring, std::size_t channel, std::uint64_t position,
                        std::size_t count) {
    std::vector<float> v(count, -1.0f);
    ring.read(channel, position, v.data(), count);
    return v;
}

// Every read of every length at every start inside the last capacity() positions before `end`
// matches the reference.
::testing::AssertionResult matches(const SampleRing& ring, const Reference& reference,
                                   std::uint64_t end) {
    const std::size_t n = ring.capacity();
    const std::uint64_t oldest = end - n;
    for (std::size_t c = 0; c < ring.channels(); ++c) {
        for (std::uint64_t start = oldest; start < end; ++start) {
            const auto longest = static_cast<std::size_t>(end - start);
            const std::vector<float> got = read(ring, c, start, longest);
            for (std::size_t i = 0; i < longest; ++i) {
                if (got[i] != reference.at(c, start + i))
                    return ::testing::AssertionFailure()
                           << "channel " << c << " position " << start + i << ": ring " << got[i]
                           << ", reference " << reference.at(c, start + i);
            }
        }
    }
    return ::testing::AssertionSuccess();
}

TEST(SampleRing, CapacityRoundsUpToAPowerOfTwoOfAtLeastTwo) {
    const std::size_t asked[] = {0, 1, 2, 3, 4, 5, 8, 9, 1000, 1024, 1025};
    const std::size_t expected[] = {2, 2, 2, 4, 4, 8, 8, 16, 1024, 1024, 2048};
    for (std::size_t i = 0; i < std::size(asked); ++i) {
        SampleRing ring;
        ring.reset(3, asked[i]);
        EXPECT_EQ(ring.capacity(), expected[i]) << "min_capacity " << asked[i];
        EXPECT_EQ(ring.channels(), 3u);
    }
}

TEST(SampleRing, ResetZeroesEverySample) {
    SampleRing ring;
    ring.reset(2, 8);
    const std::vector<float> ones(8, 1.0f);
    ring.write(0, 0, ones.data(), 8);
    ring.write(1, 0, ones.data(), 8);
    ring.reset(2, 8);
    EXPECT_EQ(read(ring, 0, 0, 8), std::vector<float>(8, 0.0f));
    EXPECT_EQ(read(ring, 1, 0, 8), std::vector<float>(8, 0.0f));
}

TEST(SampleRing, WriteReadRoundTripsAtEveryOffsetAndLength) {
    // Capacity 8: every start position over two laps (every index, wrapping or not), every
    // length up to the whole ring, on both channels; the other channel is never touched.
    for (std::uint64_t start = 0; start < 16; ++start) {
        for (std::size_t count = 1; count <= 8; ++count) {
            SampleRing ring;
            ring.reset(2, 8);
            const std::vector<float> v = pattern(1, start, count, 0.5f);
            ring.write(1, start, v.data(), count);
            EXPECT_EQ(read(ring, 1, start, count), v) << "start " << start << " count " << count;
            // The same cells, one lap later and one lap earlier (when there is one).
            EXPECT_EQ(read(ring, 1, start + 8, count), v);
            if (start >= 8) {
                EXPECT_EQ(read(ring, 1, start - 8, count), v);
            }
            EXPECT_EQ(read(ring, 0, 0, 8), std::vector<float>(8, 0.0f));
        }
    }
}

TEST(SampleRing, StreamMatchesTheReferenceAfterEveryWrite) {
    // Blocks of every size from 1 to 8 written back to back on three channels, so writes start
    // and end at every index; after each, every read within the last lap matches.
    SampleRing ring;
    ring.reset(3, 8);
    Reference reference(3, 0);
    std::uint64_t position = 0;
    for (std::size_t round = 0; round < 40; ++round) {
        const std::size_t count = 1 + (round * 5) % 8;
        for (std::size_t c = 0; c < 3; ++c) {
            const std::vector<float> v = pattern(c, position, count, 0.25f);
            ring.write(c, position, v.data(), count);
            reference.write(c, position, v.data(), count);
        }
        position += count;
        if (position >= 8) {
            ASSERT_TRUE(matches(ring, reference, position)) << "after round " << round;
        }
    }
}

TEST(SampleRing, NullSourceWritesZerosAcrossTheWrap) {
    SampleRing ring;
    ring.reset(2, 8);
    Reference reference(2, 0);
    for (std::size_t c = 0; c < 2; ++c) {
        const std::vector<float> v = pattern(c, 0, 8, 7.0f);
        ring.write(c, 0, v.data(), 8);
        reference.write(c, 0, v.data(), 8);
    }
    // Positions 6..10: indices 6, 7, 0, 1, 2 of channel 1 only.
    ring.write(1, 6, nullptr, 5);
    reference.write(1, 6, nullptr, 5);
    EXPECT_EQ(read(ring, 1, 6, 5), std::vector<float>(5, 0.0f));
    // Positions 3..5 of channel 1 and all of channel 0 keep their values.
    EXPECT_EQ(read(ring, 1, 3, 3), pattern(1, 3, 3, 7.0f));
    EXPECT_EQ(read(ring, 0, 0, 8), pattern(0, 0, 8, 7.0f));
    for (std::uint64_t p = 3; p < 11; ++p)
        EXPECT_EQ(read(ring, 1, p, 1)[0], reference.at(1, p));
}

TEST(SampleRing, PositionsBeyondTwoToThe32AreFullUint64) {
    // Positions past 2^32 (and 2^40) must not be truncated to 32 bits: a stream at 48 kHz
    // passes 2^32 samples after about a day.
    for (const std::uint64_t base : {(std::uint64_t{1} << 32) - 5, (std::uint64_t{1} << 40) - 3}) {
        SampleRing ring;
        ring.reset(1, 8);
        Reference reference(1, base);
        std::uint64_t position = base;
        for (std::size_t round = 0; round < 12; ++round) {
            const std::size_t count = 1 + (round * 3) % 8;
            const std::vector<float> v = pattern(0, position, count, 0.75f);
            ring.write(0, position, v.data(), count);
            reference.write(0, position, v.data(), count);
            position += count;
            if (position - base >= 8) {
                ASSERT_TRUE(matches(ring, reference, position)) << "base " << base;
            }
        }
    }
    // 2^32 + 3 and 3 are the same cell (3 mod 8): the index is the position's low bits.
    SampleRing ring;
    ring.reset(1, 8);
    const float x = 42.0f;
    ring.write(0, (std::uint64_t{1} << 32) + 3, &x, 1);
    EXPECT_EQ(read(ring, 0, 3, 1), std::vector<float>{42.0f});
    EXPECT_EQ(read(ring, 0, (std::uint64_t{1} << 33) + 11, 1), std::vector<float>{42.0f});
}

TEST(SampleRing, CopyWithinRepeatsThePreviousHopAcrossTheWrap) {
    // hop 3 in a ring of 8: [p - 3, p) copied to [p, p + 3) for every p over two laps, so the
    // source, the target or both wrap.
    const std::size_t hop = 3;
    for (std::uint64_t p = hop; p < hop + 16; ++p) {
        SampleRing ring;
        ring.reset(2, 8);
        Reference reference(2, 0);
        for (std::size_t c = 0; c < 2; ++c) {
            const std::vector<float> v = pattern(c, p - hop, hop, 3.0f);
            ring.write(c, p - hop, v.data(), hop);
            reference.write(c, p - hop, v.data(), hop);
            // Something else where the copy goes, so a missing copy shows.
            const std::vector<float> old = pattern(c, p, hop, 500.0f);
            ring.write(c, p, old.data(), hop);
        }
        ring.copy_within(1, p - hop, p, hop);
        EXPECT_EQ(read(ring, 1, p, hop), pattern(1, p - hop, hop, 3.0f)) << "p " << p;
        EXPECT_EQ(read(ring, 1, p - hop, hop), pattern(1, p - hop, hop, 3.0f)) << "p " << p;
        // Channel 0 untouched.
        EXPECT_EQ(read(ring, 0, p, hop), pattern(0, p, hop, 500.0f)) << "p " << p;
    }
}

TEST(SampleRing, CopyWithinAtPositionsBeyondTwoToThe32) {
    // The previous hop of 4 at 2^33 - 2 (indices 6, 7, 0, 1) repeated at 2^33 + 2 (indices
    // 2..5); index i was written with 10 + i.
    SampleRing ring;
    ring.reset(1, 8);
    const std::uint64_t base = std::uint64_t{1} << 33;  // index 0
    ring.write(0, base - 8, pattern(0, 0, 8, 10.0f).data(), 8);
    ring.copy_within(0, base - 2, base + 2, 4);
    EXPECT_EQ(read(ring, 0, base + 2, 4), (std::vector<float>{16.0f, 17.0f, 10.0f, 11.0f}));
    EXPECT_EQ(read(ring, 0, base - 2, 4), (std::vector<float>{16.0f, 17.0f, 10.0f, 11.0f}));
}

TEST(SampleRing, CopyFromBetweenRingsOfDifferentCapacities) {
    // Small (8) from large (32) and large from small, at positions where the source, the
    // target or both wrap; channel 1 of the source into channel 0 of the target.
    struct Case {
        std::size_t source_capacity, target_capacity;
        std::uint64_t source_position, target_position;
        std::size_t count;
    };
    const Case cases[] = {
        {32, 8, 29, 6, 8},   // both wrap (source at index 29, target at 6)
        {32, 8, 40, 13, 5},  // target wraps (index 5 + 5 > 8)
        {32, 8, 60, 0, 8},   // source wraps, target does not
        {8, 32, 5, 30, 7},   // large target from a small source: both wrap
        {8, 32, 16, 64, 8},  // neither wraps
    };
    for (const Case& k : cases) {
        SampleRing source;
        source.reset(2, k.source_capacity);
        SampleRing target;
        target.reset(1, k.target_capacity);
        const std::uint64_t from = k.source_position + k.count - source.capacity();
        const std::vector<float> v = pattern(1, from, source.capacity(), 2.0f);
        source.write(1, from, v.data(), source.capacity());
        const std::vector<float> other = pattern(0, from, source.capacity(), 900.0f);
        source.write(0, from, other.data(), source.capacity());
        const std::uint64_t t_from = k.target_position + k.count - target.capacity();
        const std::vector<float> before = pattern(0, t_from, target.capacity(), 400.0f);
        target.write(0, t_from, before.data(), target.capacity());

        target.copy_from(source, 1, k.source_position, 0, k.target_position, k.count);

        EXPECT_EQ(read(target, 0, k.target_position, k.count),
                  pattern(1, k.source_position, k.count, 2.0f))
            << "capacities " << k.source_capacity << " -> " << k.target_capacity;
        // The rest of the target's lap is untouched.
        const std::size_t rest = target.capacity() - k.count;
        EXPECT_EQ(read(target, 0, t_from, rest), pattern(0, t_from, rest, 400.0f));
        // The source is unchanged.
        EXPECT_EQ(read(source, 1, from, source.capacity()), v);
    }
}

TEST(SampleRing, ClearZeroesEveryChannelAndKeepsTheShape) {
    SampleRing ring;
    ring.reset(2, 5);
    for (std::size_t c = 0; c < 2; ++c) {
        const std::vector<float> v = pattern(c, 0, 8, 1.0f);
        ring.write(c, 0, v.data(), 8);
    }
    ring.clear();
    EXPECT_EQ(ring.capacity(), 8u);
    EXPECT_EQ(ring.channels(), 2u);
    EXPECT_EQ(read(ring, 0, 0, 8), std::vector<float>(8, 0.0f));
    EXPECT_EQ(read(ring, 1, 0, 8), std::vector<float>(8, 0.0f));
}

TEST(SampleRing, OwnerThreadFunctionsNeitherAllocateNorLock) {
    LEGATO_REQUIRE_AUDIO_THREAD_GUARD();
    SampleRing ring;
    ring.reset(2, 8);
    SampleRing other;
    other.reset(2, 32);
    float block[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    test::AudioThreadViolations v;
    {
        test::AudioThreadGuard guard;
        ring.write(0, 6, block, 8);
        ring.write(1, 6, nullptr, 8);
        ring.read(0, 6, block, 8);
        ring.copy_within(0, 6, 14, 4);
        ring.copy_from(other, 1, 29, 1, 5, 8);
        ring.clear();
        v = guard.violations();
    }
    EXPECT_TRUE(test::NoViolations(v));
}

}  // namespace
}  // namespace legato::rt
