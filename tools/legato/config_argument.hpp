#pragma once
// The config argument of `legato run`, `bench` and `check`: a config file, or a native model
// file (NAM `.nam`, RTNeural JSON) from which a config is derived (legato/model_file_config.hpp).

#include <filesystem>
#include <string_view>

#include "legato/config_file.hpp"
#include "legato/error.hpp"

namespace legato::cli {

/// The native engine refused the model file given in place of a config (damaged, unsupported):
/// the commands exit with exit_engine for it, as for a config whose model fails to load.
class ModelFileRefused : public Error {
public:
    using Error::Error;
};

/// [setup thread] The config `file` names: read as a config, or derived from the native model
/// file it is, which one line on stderr says ("legato COMMAND: FILE is a native model file:
/// ..."), so that nobody mistakes which config ran. Throws legato::Error naming the file (a
/// missing or invalid config, a file that is neither), ModelFileRefused for a model file the
/// native engine refuses.
/// `derived`, if given, tells which it was.
ModelConfig load_config_argument(std::string_view command, const std::filesystem::path& file,
                                 bool skip_unavailable_engines = true, bool* derived = nullptr);

}  // namespace legato::cli
