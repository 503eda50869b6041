#pragma once
// SampleRing: a fixed-capacity ring of audio samples per channel, addressed by absolute stream
// position (a sample count since the stream started), so callers never track wrap-around.
//
// One owner thread (the audio thread in Legato) reads and writes it; it is not a queue between
// threads. The capacity is a power of two fixed by reset(), so a position maps to an index with
// one mask. Reading or writing `count` samples costs at most two memcpy/memset per channel.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "legato/nonblocking.hpp"

namespace legato::rt {

class SampleRing {
public:
    /// [setup thread] Sizes the ring for `channels` channels holding at least `min_capacity`
    /// samples each (rounded up to a power of two, at least 2) and zeroes it.
    /// Effects: allocates. Throws std::bad_alloc / std::length_error.
    void reset(std::size_t channels, std::size_t min_capacity) {
        capacity_ = std::bit_ceil(std::max<std::size_t>(min_capacity, 2));
        channels_ = channels;
        samples_.assign(channels_ * capacity_, 0.0f);
    }

    /// [owner thread] Zeroes every sample. Wait-free, no allocation.
    void clear() noexcept LEGATO_NONBLOCKING { std::fill(samples_.begin(), samples_.end(), 0.0f); }

    std::size_t channels() const noexcept LEGATO_NONBLOCKING { return channels_; }
    /// Samples per channel the ring holds (a power of two).
    std::size_t capacity() const noexcept LEGATO_NONBLOCKING { return capacity_; }

    /// [owner thread] Writes `count` samples of `source` (or zeros when `source` is null) to
    /// channel `channel` at stream positions [position, position + count).
    /// Preconditions: channel < channels(), count <= capacity(). Wait-free, no allocation.
    void write(std::size_t channel, std::uint64_t position, const float* source,
               std::size_t count) noexcept LEGATO_NONBLOCKING {
        float* ring = data(channel);
        const std::size_t start = index(position);
        const std::size_t first = std::min(count, capacity_ - start);
        // Zero-length copies are skipped: a null pointer is undefined even with a length of 0.
        if (source != nullptr) {
            if (first > 0)
                std::memcpy(ring + start, source, first * sizeof(float));
            if (count > first)
                std::memcpy(ring, source + first, (count - first) * sizeof(float));
        } else {
            if (first > 0)
                std::memset(ring + start, 0, first * sizeof(float));
            if (count > first)
                std::memset(ring, 0, (count - first) * sizeof(float));
        }
    }

    /// [owner thread] Copies channel `channel`'s samples at positions [position, position +
    /// count) to `target`. Positions older than capacity() samples have been overwritten.
    /// Preconditions: channel < channels(), count <= capacity(). Wait-free, no allocation.
    void read(std::size_t channel, std::uint64_t position, float* target,
              std::size_t count) const noexcept LEGATO_NONBLOCKING {
        const float* ring = data(channel);
        const std::size_t start = index(position);
        const std::size_t first = std::min(count, capacity_ - start);
        if (first > 0)
            std::memcpy(target, ring + start, first * sizeof(float));
        if (count > first)
            std::memcpy(target + first, ring, (count - first) * sizeof(float));
    }

    /// [owner thread] Copies positions [from, from + count) of channel `channel` to positions
    /// [to, to + count) of the same channel, front to back (so `to` may lie after `from`
    /// within the ring, as when a hop repeats the previous one). Wait-free, no allocation.
    void copy_within(std::size_t channel, std::uint64_t from, std::uint64_t to,
                     std::size_t count) noexcept LEGATO_NONBLOCKING {
        float* ring = data(channel);
        for (std::size_t done = 0; done < count;) {
            // One contiguous stretch of source and target at a time.
            const std::size_t source = index(from + done);
            const std::size_t target = index(to + done);
            const std::size_t run =
                std::min({count - done, capacity_ - source, capacity_ - target});
            std::memmove(ring + target, ring + source, run * sizeof(float));
            done += run;
        }
    }

    /// [owner thread of both rings] Copies `count` samples of `source`'s channel
    /// `source_channel` at positions from `source_position` into this ring's channel `channel` at
    /// positions from `position`. Wait-free, no allocation.
    void copy_from(const SampleRing& source, std::size_t source_channel,
                   std::uint64_t source_position, std::size_t channel, std::uint64_t position,
                   std::size_t count) noexcept LEGATO_NONBLOCKING {
        float* ring = data(channel);
        for (std::size_t done = 0; done < count;) {
            const std::size_t target = index(position + done);
            const std::size_t run = std::min(count - done, capacity_ - target);
            source.read(source_channel, source_position + done, ring + target, run);
            done += run;
        }
    }

private:
    std::size_t index(std::uint64_t position) const noexcept LEGATO_NONBLOCKING {
        return static_cast<std::size_t>(position & (capacity_ - 1));
    }
    float* data(std::size_t channel) noexcept LEGATO_NONBLOCKING {
        return samples_.data() + channel * capacity_;
    }
    const float* data(std::size_t channel) const noexcept LEGATO_NONBLOCKING {
        return samples_.data() + channel * capacity_;
    }

    std::vector<float> samples_;
    std::size_t capacity_ = 0;
    std::size_t channels_ = 0;
};

}  // namespace legato::rt
