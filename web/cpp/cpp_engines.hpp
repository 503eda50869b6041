#pragma once
// C++ engines compiled into the web module: an application links its own Backend (for example
// one made with legato::make_custom_backend) into the module and registers it by name; a config
// then selects it with {"engine": "cpp", "name": "<name>"} (parse_web_config in legato_web.cpp).
// They run on the pool's threads like every native engine.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "legato/backend.hpp"

namespace legato::web {

/// [setup thread, before handlers use it] Makes `make()`'s backend selectable as `name`.
/// Registering a name again replaces it.
void register_cpp_engine(const std::string& name, std::function<std::shared_ptr<Backend>()> make);

/// [setup thread] A new backend registered as `name`; throws legato::ConfigError naming the
/// registered ones when there is none.
std::shared_ptr<Backend> make_cpp_engine(const std::string& name);

/// [setup thread] The registered names.
std::vector<std::string> cpp_engine_names();

}  // namespace legato::web
