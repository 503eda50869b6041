#pragma once
// The real third-party models of the conformance suite (/work/shared/models, described by its
// cases.json) as Legato model configs, for benchmarking them.

#include <filesystem>
#include <string>
#include <vector>

#include "legato/config_file.hpp"

namespace legato::bench {

struct ConformanceModel {
    std::string name;  ///< the case name, e.g. "nafx-tcn-3blocks-onnx"
    std::string folder;
    std::string kind;  ///< stateless_window, sliding_windows_batch, stateful_explicit_state, ...
    ModelConfig config;
};

/// [setup thread] One config per case of `directory`/cases.json that is expected to load,
/// whose engine this build contains, and that is not a tf2onnx twin (same architecture as its
/// .tflite, other weights). Audio tensors stream at the case's recommended hop with
/// past_context = receptive_field - 1 (sliding windows: window_length = receptive_field,
/// window_hop 1); state pairs and parameter defaults as the case says. Cases left out are
/// described in `notes`. Throws legato::Error if cases.json is missing or malformed.
std::vector<ConformanceModel> load_conformance_models(const std::filesystem::path& directory,
                                                      std::vector<std::string>* notes);

/// [setup thread] The conformance suite's directory from the environment variable
/// LEGATO_CONFORMANCE_MODELS, or empty if it is unset or has no cases.json.
std::filesystem::path conformance_directory();

}  // namespace legato::bench
