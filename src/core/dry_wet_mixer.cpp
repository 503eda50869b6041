#include "legato/dry_wet_mixer.hpp"

#include <algorithm>

namespace legato {

void DryWetMixer::prepare(std::size_t channels, std::size_t max_block_size, std::size_t latency) {
    channels_ = std::max<std::size_t>(channels, 1);
    max_block_ = std::max<std::size_t>(max_block_size, 1);
    latency_ = latency;
    capacity_ = latency_ + max_block_;
    delay_.assign(channels_ * capacity_, 0.0F);
    write_ = 0;
    pushed_ = 0;
    wet_ = -1.0F;
}

void DryWetMixer::push_dry(const float* const* input, std::size_t channels,
                           std::size_t frames) noexcept {
    if (capacity_ == 0)
        return;
    frames = std::min(frames, max_block_);
    for (std::size_t c = 0; c < channels_; ++c) {
        const float* in = (input != nullptr && c < channels) ? input[c] : nullptr;
        float* ring = delay_.data() + c * capacity_;
        std::size_t position = write_;
        for (std::size_t i = 0; i < frames; ++i) {
            ring[position] = in != nullptr ? in[i] : 0.0F;
            if (++position == capacity_)
                position = 0;
        }
    }
    write_ = (write_ + frames) % capacity_;
    pushed_ = frames;
}

void DryWetMixer::mix(float* const* output, std::size_t channels, std::size_t frames,
                      float wet) noexcept {
    if (capacity_ == 0 || output == nullptr)
        return;
    wet = std::clamp(wet, 0.0F, 1.0F);
    const float start = wet_ < 0.0F ? wet : wet_;
    wet_ = wet;
    frames = std::min(frames, pushed_);
    if (frames == 0)
        return;
    // The block stored last starts at write_ - pushed_; its dry partner is latency_ earlier.
    const std::size_t first = (write_ + 2 * capacity_ - pushed_ - latency_) % capacity_;
    const float step = (wet - start) / static_cast<float>(frames);
    for (std::size_t c = 0; c < channels; ++c) {
        float* out = output[c];
        if (out == nullptr)
            continue;
        const float* ring = delay_.data() + std::min(c, channels_ - 1) * capacity_;
        std::size_t position = first;
        for (std::size_t i = 0; i < frames; ++i) {
            const float w = start + step * static_cast<float>(i + 1);
            out[i] = w * out[i] + (1.0F - w) * ring[position];
            if (++position == capacity_)
                position = 0;
        }
    }
}

void DryWetMixer::reset() noexcept {
    std::fill(delay_.begin(), delay_.end(), 0.0F);
}

}  // namespace legato
