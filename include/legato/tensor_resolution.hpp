#pragma once
// The tensors as one engine of a config sees them, for code that drives a Backend itself
// (benchmarks comparing a direct engine call with the handler, engine tests).

#include <cstddef>
#include <vector>

#include "legato/inference_config.hpp"
#include "legato/tensor_spec.hpp"

namespace legato {

/// One engine's view of a config's tensors, in InferenceConfig::inputs / outputs order.
struct EngineTensors {
    std::vector<TensorSpec> inputs;
    std::vector<TensorSpec> outputs;
};

/// [setup thread] The specs engine `engine_index` of `config` is given by the handler: its
/// TensorOverride (name, shape, layout) applied and a -1 dimension resolved from the role and
/// layout (e.g. {1, 1, -1} with hop 256 and past_context 40 -> {1, 1, 296}). The shapes are
/// those the handler binds, so TensorViews over element_count(shape) floats can be handed to
/// Backend::create_instance. Throws legato::Error naming "engines[i].inputs[k]..." if the index
/// is out of range or a shape cannot fit the audio window.
EngineTensors resolve_engine_tensors(const InferenceConfig& config, std::size_t engine_index);

}  // namespace legato
