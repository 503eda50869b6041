#pragma once
// The starter config `legato info` writes for a model file, shared with `legato check`.

#include <filesystem>
#include <string>
#include <vector>

namespace legato::cli {

struct StarterConfig {
    std::string json;                  ///< the config, as `legato info --config-only` prints it
    std::vector<std::string> remarks;  ///< what the guesses rest on, for people
};

/// [setup thread] The starter config for `model`: roles, shapes, hop and past context guessed
/// from its description, then (if `refine`) corrected by streaming it (stream_check.hpp: hidden
/// state, the receptive field). Throws legato::Error if the model cannot be described.
StarterConfig make_starter_config(const std::filesystem::path& model,
                                  const std::string& entry_point = {}, bool refine = true);

}  // namespace legato::cli
