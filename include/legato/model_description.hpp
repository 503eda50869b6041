#pragma once
// What a model file declares about itself: its inputs and outputs with names, shapes and element
// types, as an engine reads them. Used to inspect a model and to start its config
// (`legato info`, docs/cli.md); Backend::describe and describe_model (engines.hpp) make one.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace legato {

/// One model input or output as the file declares it.
struct TensorDescription {
    std::string name;  ///< the model's name; TorchScript outputs have none ("output", "output_1")
    /// The declared shape, -1 for a dynamic or unknown dimension. Empty when !shape_known.
    std::vector<std::int64_t> shape;
    /// False when the format keeps no shapes (TorchScript) or the value is not a tensor.
    bool shape_known = false;
    /// "float32", "int64", ... as the engine names it; formats without element types give the
    /// declared type instead (TorchScript: "Tensor", "Optional[Tensor]", "int").
    std::string element_type;
    /// The symbolic names of the dimensions where the format keeps them (ONNX: "hop" for a
    /// dimension declared as hop, "" for fixed or unnamed ones); empty if it keeps none.
    std::vector<std::string> dimension_names;
};

/// What an engine reads from a model file.
struct ModelDescription {
    std::string engine;  ///< the Backend::name() that read it, e.g. "onnxruntime"
    /// Format facts for people: ONNX producer and graph, the TorchScript method's schema, the
    /// runtime version.
    std::string format_details;
    std::vector<TensorDescription> inputs;   ///< in the model's order
    std::vector<TensorDescription> outputs;  ///< in the model's order
    /// What a config writer must know: dimensions that are fixed in the file but resizable,
    /// shapes that must come from the user, tensors Legato cannot exchange (not float32).
    std::vector<std::string> notes;
    /// State the model keeps between runs that no tensor shows: module attributes a TorchScript
    /// method assigns (prim::SetAttr), e.g. {"h", "c"}. Such a model needs "stateful": true.
    std::vector<std::string> assigned_attributes;
    /// The sample rate the model was trained at, when the file states it (NAM: "sample_rate").
    std::optional<double> sample_rate;
    /// Further facts the file states, in its order (NAM metadata: loudness, input and output
    /// calibration levels, gain, author...), as (key, value text).
    std::vector<std::pair<std::string, std::string>> metadata;
};

}  // namespace legato
