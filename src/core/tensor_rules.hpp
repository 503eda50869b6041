#pragma once
// Rules that tie a tensor's shape to its role and layout, shared by config validation and
// engine setup.

#include <cstddef>
#include <string>

#include "legato/inference_config.hpp"
#include "legato/tensor_spec.hpp"

namespace legato::core {

enum class Direction { input, output };

inline bool is_sliding(AudioLayout layout) noexcept {
    return layout == AudioLayout::sliding_windows_channels_last ||
           layout == AudioLayout::sliding_windows_channels_first;
}

/// Samples per channel in an audio tensor's window: past_context + hop.
inline std::size_t window_length(const TensorSpec& spec) noexcept {
    return spec.past_context + spec.hop;
}

/// Elements an audio tensor must have, from its streaming fields and layout.
std::size_t required_audio_elements(const TensorSpec& spec) noexcept;

/// [setup thread] Checks one tensor on its own (names, shape, streaming fields, layout) and
/// throws legato::Error with `path` (e.g. "inputs[0]") prefixed to the field name.
void validate_tensor(const TensorSpec& spec, Direction direction, const std::string& path);

/// [setup thread] The spec as `engine` sees it: the override applied and a -1 dimension
/// resolved. Throws legato::Error naming `path` if the shape cannot fit.
TensorSpec resolve_tensor(const TensorSpec& spec, const TensorOverride* override_spec,
                          Direction direction, const std::string& path);

}  // namespace legato::core
