#pragma once
// Reading a parsed model configuration file (docs/config.md) into a ModelConfig, one function
// per section: the top level (read_config.cpp) reads the tensors (read_tensors.cpp), the engines
// (read_engines.cpp) and the context (read_context.cpp). Every function runs on the setup
// thread and throws legato::Error naming the file and the JSON path.

#include <filesystem>
#include <string>
#include <vector>

#include "config/json_reader.hpp"
#include "legato/config_file.hpp"

namespace legato::config {

/// [setup thread] The whole file: every section, then InferenceConfig::validate() with its
/// field names translated to JSON paths. Model paths are resolved against `base`; engines this
/// build lacks are left out if `skip_unavailable` (at least one must remain).
ModelConfig read_config(const Json& root, const std::filesystem::path& base, bool skip_unavailable,
                        const Reader& r);

/// [setup thread] The tensor array `j` at `path` ("inputs" or "outputs"). A parameter tensor's
/// default, range and label are appended to `parameters` unless it is null (outputs).
std::vector<TensorSpec> read_tensors(const Reader& r, const Json& j, const std::string& path,
                                     std::vector<ParameterInfo>* parameters);

/// [setup thread] The "engines" array, each with its backend made (or, if `skip_unavailable`,
/// left out when this build lacks it) and its model file checked to exist.
std::vector<EngineModel> read_engines(const Reader& r, const Json& value,
                                      const std::filesystem::path& base, bool skip_unavailable);

/// [setup thread] The "context" object: the worker pool's settings, defaults where it is silent.
ContextConfig read_context(const Reader& r, const Json& value);

}  // namespace legato::config
