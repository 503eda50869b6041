#pragma once
// Values any thread may set while the audio thread runs: the active engine, reset requests,
// parameters, policies. Each is a single atomic (or an array of them): wait-free on both sides.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "legato/inference_config.hpp"

namespace legato::core {

struct Controls {
    std::atomic<std::uint32_t> engine{0};
    std::atomic<std::uint64_t> reset_requests{0};
    std::atomic<bool> offline_rendering{false};
    std::atomic<LatePolicy> late_policy{LatePolicy::silence};

    /// Parameter input i's values live at parameter_offset[i] .. + count (per config input;
    /// unused for other roles). Likewise output_value_* for parameter-role outputs.
    std::unique_ptr<std::atomic<float>[]> parameter_values;
    std::vector<std::size_t> parameter_offset;
    std::unique_ptr<std::atomic<float>[]> output_values;
    std::vector<std::size_t> output_value_offset;

    /// [setup thread] Sizes the arrays for `config` and sets initial parameter values.
    explicit Controls(const InferenceConfig& config);
};

}  // namespace legato::core
