#pragma once
// DryWetMixer: blends the processed signal with the input, the input delayed by the handler's
// latency so that both line up (an undelayed dry signal would comb-filter against the wet one).

#include <cstddef>
#include <vector>

#include "legato/nonblocking.hpp"

namespace legato {

/// Per block: push_dry() the input before InferenceHandler::process() overwrites it, then
/// mix() into the processed output. The mix moves linearly to its new value across a block, so
/// automation does not click.
class DryWetMixer {
public:
    /// [setup thread] Sizes the delay line for `channels`, blocks up to `max_block_size` frames
    /// and `latency` samples of delay (InferenceHandler::latency()); clears it. Allocates.
    void prepare(std::size_t channels, std::size_t max_block_size, std::size_t latency);

    /// [audio thread, wait-free] Stores this block's input. `frames` must be at most the
    /// prepared max_block_size (larger blocks: split them); extra frames are ignored. Missing or
    /// null input channels store silence.
    void push_dry(const float* const* input, std::size_t channels,
                  std::size_t frames) noexcept LEGATO_NONBLOCKING;

    /// [audio thread, wait-free] output = wet * output + (1 - wet) * input delayed by latency,
    /// for the block stored by the last push_dry(). `wet` is clamped to [0, 1]. Output channels
    /// beyond the prepared count take the last prepared channel's dry signal.
    void mix(float* const* output, std::size_t channels, std::size_t frames,
             float wet) noexcept LEGATO_NONBLOCKING;

    /// [audio thread, wait-free] Clears the delay line (e.g. with InferenceHandler::reset()).
    void reset() noexcept LEGATO_NONBLOCKING;

    /// [any thread] The delay the dry signal gets, in samples.
    std::size_t latency() const noexcept { return latency_; }

private:
    std::vector<float> delay_;  // channels_ rings of capacity_ samples each
    std::size_t channels_ = 0;
    std::size_t capacity_ = 0;  // latency + max_block_size
    std::size_t latency_ = 0;
    std::size_t max_block_ = 0;
    std::size_t write_ = 0;   // ring position of the next sample push_dry() stores
    std::size_t pushed_ = 0;  // frames stored by the last push_dry()
    float wet_ = -1.0F;       // the mix at the end of the last block; < 0 before the first
};

}  // namespace legato
