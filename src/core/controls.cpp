#include "core/controls.hpp"

namespace legato::core {

Controls::Controls(const InferenceConfig& config) : late_policy(config.late_policy) {
    std::size_t parameters = 0;
    for (const auto& spec : config.inputs) {
        parameter_offset.push_back(parameters);
        if (spec.role == TensorRole::parameter)
            parameters += element_count(spec.shape);
    }
    parameter_values = std::make_unique<std::atomic<float>[]>(parameters);
    for (std::size_t i = 0; i < config.inputs.size(); ++i) {
        const auto& spec = config.inputs[i];
        if (spec.role != TensorRole::parameter)
            continue;
        for (std::size_t v = 0; v < element_count(spec.shape); ++v)
            parameter_values[parameter_offset[i] + v].store(
                spec.initial_value.empty() ? 0.0f : spec.initial_value[v]);
    }
    std::size_t values = 0;
    for (const auto& spec : config.outputs) {
        output_value_offset.push_back(values);
        if (spec.role == TensorRole::parameter)
            values += element_count(spec.shape);
    }
    output_values = std::make_unique<std::atomic<float>[]>(values);
    for (std::size_t v = 0; v < values; ++v)
        output_values[v].store(0.0f);
}

}  // namespace legato::core
