#pragma once
// Copying one channel of audio between contiguous samples (a window or a hop) and a model
// tensor laid out as its TensorSpec says (AudioLayout, sliding windows included). The building
// blocks of the default PrePostProcessor, for custom processors and for engines that move
// audio themselves (the bypass backend).
//
// Every function: Preconditions: `tensor.spec` is an audio-role spec resolved for this tensor,
// `tensor.data` holds element_count(tensor.spec->shape) floats, and `channel` is below
// tensor.spec->channels. Non-blocking: wait-free (no allocation, no locks, no system calls);
// the cost is one pass over the samples copied.

#include <cstddef>
#include <span>

#include "legato/tensor_spec.hpp"

namespace legato {

/// [any thread] Copies one channel's window into an audio input tensor laid out as its spec
/// says (the building block of the default pre_process, for custom processors).
/// Effects: `window` holds past_context + hop samples, oldest first (as InputWindows::samples
/// gives them); they go to channel `channel` of `tensor`, each sliding window (hop / window_hop
/// of them) receiving its window_length samples. Other channels are untouched. In the
/// non-sliding layouts a shorter `window` fills only the leading samples.
/// Preconditions (sliding layouts): `window` holds all past_context + hop samples.
void write_window(std::span<const float> window, std::size_t channel, const TensorView& tensor);

/// [any thread] Copies one channel's hop out of an audio output tensor, skipping the spec's
/// past_context (the building block of the default post_process).
/// Effects: the first min(hop.size(), spec hop) elements of `hop` get samples past_context,
/// past_context + 1, ... of channel `channel`.
/// Preconditions: a non-sliding layout (sliding windows are for inputs only).
void read_hop(const TensorView& tensor, std::size_t channel, std::span<float> hop);

/// [any thread] Reads the newest hop of channel `channel` from an audio input tensor in any
/// layout: in the non-sliding layouts the samples after past_context (as read_hop), in the
/// sliding layouts the last window_hop samples of each window, in order.
/// Effects: fills the first min(hop.size(), spec hop) elements of `hop`.
void read_input_hop(const TensorView& tensor, std::size_t channel, std::span<float> hop) noexcept;

/// [any thread] Writes `hop` as channel `channel` of an audio output tensor after its
/// past_context (the inverse of read_hop).
/// Effects: samples past_context, past_context + 1, ... of channel `channel` get the first
/// min(hop.size(), spec hop) elements of `hop`; the past_context samples are untouched.
/// Preconditions: a non-sliding layout (sliding windows are for inputs only).
void write_output_hop(const TensorView& tensor, std::size_t channel,
                      std::span<const float> hop) noexcept;

}  // namespace legato
