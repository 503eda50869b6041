// Index arithmetic for audio tensors in each AudioLayout: the window and hop copies of
// legato/audio_tensor_copy.hpp.

#include "legato/audio_tensor_copy.hpp"

#include <algorithm>

#include "core/tensor_rules.hpp"

namespace legato {

namespace {

// Position of sample `i` (0 = oldest in the window) of channel `c` in a non-sliding tensor
// holding `length` samples per channel.
std::size_t audio_index(const TensorSpec& spec, std::size_t c, std::size_t i,
                        std::size_t length) noexcept {
    return spec.layout == AudioLayout::channels_last ? i * spec.channels + c : c * length + i;
}

}  // namespace

void write_window(std::span<const float> window, std::size_t channel, const TensorView& tensor) {
    const TensorSpec& spec = *tensor.spec;
    float* data = tensor.data.data();
    const std::size_t length = core::window_length(spec);
    const std::size_t count = std::min(window.size(), length);
    switch (spec.layout) {
        case AudioLayout::channels_first:
            std::copy_n(window.data(), count, data + channel * length);
            return;
        case AudioLayout::channels_last:
            for (std::size_t i = 0; i < count; ++i)
                data[i * spec.channels + channel] = window[i];
            return;
        case AudioLayout::sliding_windows_channels_last:
        case AudioLayout::sliding_windows_channels_first: {
            const std::size_t windows = spec.hop / spec.window_hop;
            const std::size_t size = spec.window_length;
            const bool last = spec.layout == AudioLayout::sliding_windows_channels_last;
            for (std::size_t b = 0; b < windows; ++b) {
                // Window b ends with the sample at step (b + 1) * window_hop of the hop.
                const std::size_t start = spec.past_context + (b + 1) * spec.window_hop - size;
                const float* source = window.data() + start;
                if (last) {
                    float* row = data + b * size * spec.channels + channel;
                    for (std::size_t w = 0; w < size; ++w)
                        row[w * spec.channels] = source[w];
                } else {
                    std::copy_n(source, size, data + (b * spec.channels + channel) * size);
                }
            }
            return;
        }
    }
}

void read_hop(const TensorView& tensor, std::size_t channel, std::span<float> hop) {
    const TensorSpec& spec = *tensor.spec;
    const float* data = tensor.data.data();
    const std::size_t length = core::window_length(spec);
    const std::size_t count = std::min(hop.size(), spec.hop);
    for (std::size_t t = 0; t < count; ++t)
        hop[t] = data[audio_index(spec, channel, spec.past_context + t, length)];
}

void read_input_hop(const TensorView& tensor, std::size_t channel, std::span<float> hop) noexcept {
    const TensorSpec& spec = *tensor.spec;
    const float* data = tensor.data.data();
    const std::size_t count = std::min(hop.size(), spec.hop);
    if (core::is_sliding(spec.layout)) {
        // Step t of the hop is in window t / window_hop at position W - window_hop + t %
        // window_hop.
        const bool last = spec.layout == AudioLayout::sliding_windows_channels_last;
        const std::size_t size = spec.window_length;
        for (std::size_t t = 0; t < count; ++t) {
            const std::size_t b = t / spec.window_hop;
            const std::size_t w = size - spec.window_hop + t % spec.window_hop;
            hop[t] = last ? data[(b * size + w) * spec.channels + channel]
                          : data[(b * spec.channels + channel) * size + w];
        }
        return;
    }
    const std::size_t length = core::window_length(spec);
    for (std::size_t t = 0; t < count; ++t)
        hop[t] = data[audio_index(spec, channel, spec.past_context + t, length)];
}

void write_output_hop(const TensorView& tensor, std::size_t channel,
                      std::span<const float> hop) noexcept {
    const TensorSpec& spec = *tensor.spec;
    float* data = tensor.data.data();
    const std::size_t length = core::window_length(spec);
    const std::size_t count = std::min(hop.size(), spec.hop);
    for (std::size_t t = 0; t < count; ++t)
        data[audio_index(spec, channel, spec.past_context + t, length)] = hop[t];
}

}  // namespace legato
