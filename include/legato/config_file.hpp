#pragma once
// Model configuration files: an InferenceConfig (and context settings) written as JSON, so a
// model can be swapped without recompiling. docs/config.md documents every key.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "legato/context.hpp"
#include "legato/inference_config.hpp"

namespace legato {

/// What a host or plugin may show for a parameter input (JSON "range", "label"). Legato itself
/// only uses the default (TensorSpec::initial_value).
struct ParameterInfo {
    std::string name;   ///< the parameter input's tensor name (set_parameter() takes it)
    std::string label;  ///< display name; the tensor name if the file gives none
    float minimum = 0.0F;
    float maximum = 1.0F;
    float default_value = 0.0F;  ///< the first element of the initial value
};

/// A configuration file, read and validated.
struct ModelConfig {
    std::string name;         ///< "name", or the file name without extension
    std::string description;  ///< "description", may be empty
    /// The sample rate the model was trained at ("sample_rate"); unset = any rate.
    std::optional<double> sample_rate;
    InferenceConfig inference;  ///< model paths resolved relative to the file, validated
    ContextConfig context;      ///< "context"; defaults where the file says nothing
    std::vector<ParameterInfo> parameters;  ///< one per parameter input, in input order
    std::filesystem::path file;             ///< the file it was read from (empty for text)

    /// The engine names in InferenceConfig::engines order (e.g. {"onnxruntime", "tflite"}).
    std::vector<std::string> engine_names() const;
};

/// [setup thread] Reads and validates a configuration file. Engines are made with
/// make_backend(); an engine this build does not contain is an error naming it, unless
/// `skip_unavailable_engines` is set (then it is left out; at least one engine must remain).
/// Model files must exist. Throws legato::Error "FILE: JSON.PATH: problem", e.g.
/// "cnn.json: inputs[1].shape: expected an array of integers, got a string"; unknown keys are
/// errors too ("inputs[0].hopp: unknown key (did you mean "hop"?)").
ModelConfig load_model_config(const std::filesystem::path& file,
                              bool skip_unavailable_engines = false);

/// [setup thread] As load_model_config, from JSON text; relative model paths are resolved
/// against `base_directory`. `origin` names the text in messages (e.g. a file name).
ModelConfig parse_model_config(std::string_view json_text,
                               const std::filesystem::path& base_directory,
                               bool skip_unavailable_engines = false,
                               std::string_view origin = "<config>");

/// [setup thread] The JSON text for a config (model paths relative to `base_directory` where
/// possible). parse_model_config(to_json(c, d), d) gives back c. Custom backends and
/// pre/post-processors cannot be written and make it throw legato::Error.
std::string to_json(const ModelConfig& config, const std::filesystem::path& base_directory);

}  // namespace legato
