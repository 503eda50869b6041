#pragma once
// A native model file standing where a config is expected: a NAM `.nam` file or an RTNeural
// JSON model carries everything Legato needs to stream it, so a config can be derived from it
// (`legato run lstm.nam in.wav out.wav`). docs/config.md "Model files in place of a config".

#include <cstddef>
#include <filesystem>
#include <string>

#include "legato/config_file.hpp"

namespace legato {

/// What a file given in place of a config holds, decided by its content.
enum class ConfigFileKind {
    config,        ///< a Legato config (docs/config.md)
    native_model,  ///< a NAM `.nam` file or an RTNeural JSON model (the native engine)
};

/// The hop of a derived config. A native model steps sample by sample, so any hop works; it only
/// matters when the model runs on the pool (not inline), where the latency grows with the hop.
inline constexpr std::size_t native_model_config_hop = 64;

/// [setup thread] Tells a config from a native model file by content: a `.nam` file is a model;
/// any other file is a model when its JSON object has a model's keys ("layers": RTNeural,
/// "architecture": NAM) and none of a config's ("engines", "inputs", "outputs"), a config when it
/// has a config's keys and none of a model's. Text that is not JSON counts as a config, so that
/// the config reader says where the syntax breaks; a file that cannot be read too (the reader
/// says why). Reads the file; may block. Throws legato::Error naming the file and what was
/// expected when its JSON has the keys of both, of neither, or is not an object.
ConfigFileKind config_file_kind(const std::filesystem::path& file);

/// [setup thread] The JSON text of the config that streams native model `model` as it is meant
/// to run: engine "native" with the model by its file name (relative to the model's folder),
/// one audio input and one audio output shaped as the model's frames ([1, 1, -1] for a mono
/// model, [1, -1, N] channels last for N values per frame), hop native_model_config_hop, no past
/// context, "stateful": true (the model keeps its recurrent and convolution state from hop to
/// hop), "inline": "auto" (zero latency on the audio thread when the model is cheap enough),
/// "max_inference_time_ms": "measure", and the "sample_rate" the file states (NAM files do).
/// Loads the model once to read its sizes; may block. Throws legato::Error naming the file if
/// the native engine refuses it.
std::string native_model_config_json(const std::filesystem::path& model);

/// [setup thread] native_model_config_json(model), read as load_model_config reads a file:
/// `file` is `model`, the model path absolute. Throws legato::Error as both do.
ModelConfig native_model_config(const std::filesystem::path& model);

/// [setup thread] native_model_config(file) for a native model file (config_file_kind), else
/// load_model_config(file, skip_unavailable_engines). Throws legato::Error as they do.
ModelConfig load_config_or_native_model(const std::filesystem::path& file,
                                        bool skip_unavailable_engines = false);

}  // namespace legato
