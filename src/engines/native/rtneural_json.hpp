#pragma once
// RTNeural's Keras-style JSON model files (what its Python exporter writes and its dynamic
// parser reads): dense, time-distributed-dense, conv1d, lstm, gru, prelu, batchnorm and
// activation layers.

#include <memory>
#include <string>
#include <string_view>

#include "stream_model.hpp"

namespace legato::native {

/// [setup thread] Loads a model from the file's text. Throws legato::Error starting with
/// `where` and naming the layer, the field and what was expected (weight shapes, non-finite
/// weights, unsupported layer types or activations).
std::unique_ptr<StreamModel> load_rtneural_json(std::string_view text, const std::string& where);

/// [any thread] True if `text` looks like an RTNeural model (a JSON object with "layers" and
/// "in_shape"), for telling it apart from a .nam file or a Legato config.
bool looks_like_rtneural_json(std::string_view text);

}  // namespace legato::native
