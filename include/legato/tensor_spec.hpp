#pragma once
// How a model tensor relates to the audio stream: its role, shape and memory layout.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace legato {

/// What a tensor carries.
enum class TensorRole {
    audio,  ///< streamed: a window of samples per inference (inputs) or a hop of samples (outputs)
    parameter,  ///< not streamed: a value set from any thread (inputs) or read by any thread
                ///< (outputs)
    state,      ///< recurrent state fed from a paired state output into a state input (StatePair)
};

/// How the samples of an audio tensor are laid out in memory (row-major, batch dims of size 1
/// may precede). T is the number of samples per channel in the tensor, C the channel count.
enum class AudioLayout {
    channels_first,  ///< [..., C, T]: all samples of channel 0, then channel 1, ...
    channels_last,   ///< [..., T, C]: interleaved, one frame of C samples after another
    /// [B, W, C]: B = hop / window_hop windows of W = window_length samples, window b ending at
    /// the b-th step of the hop (oldest sample first). Inputs only. For models that map a batch
    /// of sliding windows to one output step each (e.g. GuitarLSTM).
    sliding_windows_channels_last,
    sliding_windows_channels_first,  ///< [B, C, W]: as above, channel-major inside a window
};

/// Describes one model input or output.
///
/// For audio inputs the tensor holds a window of past_context + hop samples per channel: the
/// past_context most recent samples before this inference's hop, then the hop's samples. For
/// audio outputs it holds past_context + hop samples per channel, of which the leading
/// past_context are discarded (0 for models that output exactly one hop).
struct TensorSpec {
    std::string name;  ///< the model's tensor name (engines without names match by position)
    TensorRole role = TensorRole::audio;
    /// Full tensor shape. One dimension may be -1: it is resolved at prepare so that the element
    /// count matches what the role and layout need (e.g. {1, 1, -1} with hop 256 -> {1, 1, 256}).
    std::vector<std::int64_t> shape;

    // Audio tensors.
    std::size_t channels = 1;
    std::size_t hop = 0;           ///< samples consumed (inputs) / produced (outputs) per inference
    std::size_t past_context = 0;  ///< see above
    AudioLayout layout = AudioLayout::channels_first;
    std::size_t window_length = 0;  ///< sliding-window layouts: samples per window
    std::size_t window_hop = 1;     ///< sliding-window layouts: samples between window ends

    /// Parameter inputs: the value until set_parameter() changes it (empty = zeros).
    std::vector<float> initial_value;
};

/// Element count of a fully resolved shape (no -1 dimensions).
std::size_t element_count(std::span<const std::int64_t> shape) noexcept;

/// A model tensor bound to a buffer that Legato owns. The buffer and spec stay valid and at the
/// same address for the lifetime of the model instance they were given to, so engines can bind
/// them once.
struct TensorView {
    const TensorSpec* spec = nullptr;  ///< the engine-resolved spec (name, shape, layout)
    std::span<float> data;             ///< element_count(spec->shape) floats, row-major

    const std::string& name() const noexcept { return spec->name; }
    std::span<const std::int64_t> shape() const noexcept { return spec->shape; }
};

}  // namespace legato
