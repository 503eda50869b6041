#pragma once
// Engines by name: which ones this build of Legato contains, and making one from its name
// (as configuration files do).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "legato/backend.hpp"
#include "legato/build_config.hpp"

namespace legato {

/// [any thread] The engines this build contains, by the names Backend::name() returns:
/// "bypass" always, then "onnxruntime", "libtorch", "tflite" if built in. ("custom" backends
/// need a function, so they are made with make_custom_backend.)
std::vector<std::string> available_engines();

/// [setup thread] A backend for `engine` with default options. Throws legato::Error naming the
/// engine and the available ones if it is unknown or not built in.
std::shared_ptr<Backend> make_backend(std::string_view engine);

}  // namespace legato
