#include "tools/legato/config_argument.hpp"

#include <cstdio>
#include <string>
#include <system_error>

#include "legato/model_file_config.hpp"

namespace legato::cli {

ModelConfig load_config_argument(std::string_view command, const std::filesystem::path& file,
                                 bool skip_unavailable_engines, bool* derived) {
    const bool model = config_file_kind(file) == ConfigFileKind::native_model;
    if (derived != nullptr)
        *derived = model;
    if (!model)
        return load_model_config(file, skip_unavailable_engines);
    std::error_code error;
    if (!std::filesystem::exists(file, error))
        throw Error(file.string() + ": no such file");
    ModelConfig config;
    try {
        config = native_model_config(file);
    } catch (const Error& e) {
        throw ModelFileRefused(e.what());
    }
    // stderr: stdout stays what scripts read (bench's table, check's fixed config).
    std::fprintf(stderr,
                 "legato %.*s: %s is a native model file: using the config derived from it "
                 "(engine native, stateful, inline auto, hop %zu; `legato info %s` prints it)\n",
                 static_cast<int>(command.size()), command.data(), file.string().c_str(),
                 native_model_config_hop, file.string().c_str());
    return config;
}

}  // namespace legato::cli
