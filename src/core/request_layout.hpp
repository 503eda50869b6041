#pragma once
// Where each tensor's raw samples sit inside one request's float block. One layout per handler;
// every request slot uses it.

#include <cstddef>
#include <vector>

#include "legato/inference_config.hpp"
#include "legato/pre_post_processor.hpp"

namespace legato {

struct RequestLayout {
    /// A [channels][length] region of a request. Unused (length 0) for tensors the region does
    /// not apply to (state tensors; audio/parameter mismatch).
    struct Region {
        std::size_t offset = 0;
        std::size_t channels = 0;
        std::size_t length = 0;  ///< samples per channel (audio) or values (parameters)
    };
    std::vector<Region> inputs;   ///< per InferenceConfig::inputs entry: window or parameter values
    std::vector<Region> outputs;  ///< per InferenceConfig::outputs entry: hop or output values
    std::size_t stride = 0;       ///< floats per request, padded to a cache line
};

}  // namespace legato

namespace legato::core {

/// [setup thread] The layout for `config`: audio inputs take channels x (past_context + hop),
/// parameter inputs their values, audio outputs channels x hop, parameter outputs their values.
RequestLayout make_request_layout(const InferenceConfig& config);

}  // namespace legato::core
