#include "legato/tensor_resolution.hpp"

#include <string>

#include "core/tensor_rules.hpp"
#include "legato/error.hpp"

namespace legato {

EngineTensors resolve_engine_tensors(const InferenceConfig& config, std::size_t engine_index) {
    if (engine_index >= config.engines.size())
        throw Error("engines[" + std::to_string(engine_index) + "]: the config has only " +
                    std::to_string(config.engines.size()) + " engine(s)");
    const EngineModel& engine = config.engines[engine_index];
    const std::string path = "engines[" + std::to_string(engine_index) + "]";
    // The same rule EngineRuntime applies when it binds an engine's tensors.
    auto resolve_all = [&](const std::vector<TensorSpec>& specs,
                           const std::vector<TensorOverride>& overrides, core::Direction direction,
                           const char* list) {
        std::vector<TensorSpec> resolved;
        for (std::size_t i = 0; i < specs.size(); ++i)
            resolved.push_back(
                core::resolve_tensor(specs[i], overrides.empty() ? nullptr : &overrides.at(i),
                                     direction, path + "." + list + "[" + std::to_string(i) + "]"));
        return resolved;
    };
    EngineTensors tensors;
    tensors.inputs = resolve_all(config.inputs, engine.inputs, core::Direction::input, "inputs");
    tensors.outputs =
        resolve_all(config.outputs, engine.outputs, core::Direction::output, "outputs");
    return tensors;
}

}  // namespace legato
