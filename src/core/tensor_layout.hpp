#pragma once
// Index arithmetic for audio tensors in each AudioLayout.

#include <cstddef>
#include <span>

#include "legato/tensor_spec.hpp"

namespace legato::core {

/// [any thread] Reads the newest `hop.size()` samples of channel `channel` from an audio input
/// tensor (any layout, sliding windows included). Used by the bypass backend.
void read_input_hop(const TensorView& tensor, std::size_t channel, std::span<float> hop) noexcept;

/// [any thread] Writes `hop` as channel `channel` of an audio output tensor after its
/// past_context (the inverse of read_hop).
void write_output_hop(const TensorView& tensor, std::size_t channel,
                      std::span<const float> hop) noexcept;

}  // namespace legato::core
