// InferenceConfig::validate() and HostConfig::validate(): the checks a configuration passes
// before prepare(). The rules for one tensor on its own are in core/tensor_rules.cpp.

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/tensor_rules.hpp"
#include "legato/error.hpp"
#include "legato/host_config.hpp"
#include "legato/inference_config.hpp"

namespace legato {

namespace {

[[noreturn]] void config_error(const std::string& path, const std::string& what) {
    throw Error(path + ": " + what);
}

const TensorSpec* find_tensor(const std::vector<TensorSpec>& tensors, const std::string& name,
                              std::size_t* index) {
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        if (tensors[i].name == name) {
            *index = i;
            return &tensors[i];
        }
    }
    return nullptr;
}

void check_unique_names(const std::vector<TensorSpec>& tensors, const char* list) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        if (!seen.insert(tensors[i].name).second)
            config_error(std::string(list) + "[" + std::to_string(i) + "].name",
                         "'" + tensors[i].name + "' is used twice");
    }
}

bool finite_positive(double value) {
    return std::isfinite(value) && value > 0.0;
}

}  // namespace

void InferenceConfig::validate() const {
    using core::Direction;
    if (engines.empty())
        config_error("engines", "at least one engine is required");
    if (inputs.empty())
        config_error("inputs", "at least one input is required");
    if (outputs.empty())
        config_error("outputs", "at least one output is required");

    std::size_t hop = 0;
    std::string hop_path;
    auto check_list = [&](const std::vector<TensorSpec>& tensors, Direction direction,
                          const char* list) {
        bool has_audio = false;
        for (std::size_t i = 0; i < tensors.size(); ++i) {
            const std::string path = std::string(list) + "[" + std::to_string(i) + "]";
            core::validate_tensor(tensors[i], direction, path);
            if (tensors[i].role != TensorRole::audio)
                continue;
            has_audio = true;
            if (hop == 0) {
                hop = tensors[i].hop;
                hop_path = path + ".hop";
            } else if (tensors[i].hop != hop) {
                config_error(path + ".hop",
                             "must equal " + hop_path + " (" + std::to_string(hop) +
                                 "): every streamed tensor advances by the same hop, got " +
                                 std::to_string(tensors[i].hop));
            }
        }
        if (!has_audio)
            config_error(list, std::string("at least one ") +
                                   (direction == Direction::input ? "input" : "output") +
                                   " must have role audio (the streamed signal)");
        check_unique_names(tensors, list);
    };
    check_list(inputs, Direction::input, "inputs");
    check_list(outputs, Direction::output, "outputs");

    // State pairs: every state input is fed by exactly one state output of the same size.
    std::vector<int> input_fed(inputs.size(), 0);
    std::vector<int> output_used(outputs.size(), 0);
    for (std::size_t p = 0; p < state_pairs.size(); ++p) {
        const std::string path = "state_pairs[" + std::to_string(p) + "]";
        std::size_t out_index = 0;
        std::size_t in_index = 0;
        const TensorSpec* out = find_tensor(outputs, state_pairs[p].output, &out_index);
        const TensorSpec* in = find_tensor(inputs, state_pairs[p].input, &in_index);
        if (out == nullptr)
            config_error(path + ".output", "no output named '" + state_pairs[p].output + "'");
        if (in == nullptr)
            config_error(path + ".input", "no input named '" + state_pairs[p].input + "'");
        if (out->role != TensorRole::state)
            config_error(path + ".output", "'" + out->name + "' must have role state");
        if (in->role != TensorRole::state)
            config_error(path + ".input", "'" + in->name + "' must have role state");
        if (element_count(out->shape) != element_count(in->shape))
            config_error(path, "'" + out->name + "' has " +
                                   std::to_string(element_count(out->shape)) + " elements but '" +
                                   in->name + "' has " + std::to_string(element_count(in->shape)));
        if (++input_fed[in_index] > 1)
            config_error(path + ".input", "'" + in->name + "' is fed by two state pairs");
        if (++output_used[out_index] > 1)
            config_error(path + ".output", "'" + out->name + "' feeds two state pairs");
    }
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i].role == TensorRole::state && input_fed[i] == 0)
            config_error("inputs[" + std::to_string(i) + "]",
                         "state input '" + inputs[i].name +
                             "' needs a state_pairs entry naming the output that feeds it");
    }
    if (!state_pairs.empty() && !stateful)
        config_error("stateful",
                     "must be true when state_pairs are given: state flows from one "
                     "inference to the next, so they must run in order");

    if (max_inference_time_ms && !finite_positive(*max_inference_time_ms))
        config_error("max_inference_time_ms", "must be a positive number of milliseconds, got " +
                                                  std::to_string(*max_inference_time_ms));
    if (!(measure_percentile > 0.0 && measure_percentile <= 1.0))
        config_error("measure_percentile",
                     "must be in (0, 1], got " + std::to_string(measure_percentile));
    if (!(std::isfinite(measure_safety_factor) && measure_safety_factor >= 1.0))
        config_error("measure_safety_factor",
                     "must be at least 1, got " + std::to_string(measure_safety_factor));
    if (!(std::isfinite(measure_wake_allowance_ms) && measure_wake_allowance_ms >= 0.0))
        config_error("measure_wake_allowance_ms",
                     "must be zero or more, got " + std::to_string(measure_wake_allowance_ms));
    if (!(std::isfinite(inline_budget) && inline_budget > 0.0 && inline_budget <= 1.0))
        config_error("inline_budget", "must be above 0 and at most 1 (a fraction of the block's "
                                      "duration), got " + std::to_string(inline_budget));
    if (inline_mode == InlineMode::always && engines.size() > 1)
        config_error("inline", "\"always\" needs a single engine (an inline handler cannot switch "
                               "engines), the config has " + std::to_string(engines.size()));
    if (parallel_instances == 0 || parallel_instances > 64)
        config_error("parallel_instances",
                     "must be between 1 and 64, got " + std::to_string(parallel_instances));
    if (stateful && parallel_instances != 1)
        config_error("parallel_instances",
                     "must be 1 for a stateful model (its inferences run one "
                     "at a time, in order), got " +
                         std::to_string(parallel_instances));

    for (std::size_t e = 0; e < engines.size(); ++e) {
        const std::string path = "engines[" + std::to_string(e) + "]";
        const EngineModel& engine = engines[e];
        if (!engine.backend)
            config_error(path + ".backend", "is null");
        auto check_overrides = [&](const std::vector<TensorOverride>& overrides,
                                   const std::vector<TensorSpec>& tensors, Direction direction,
                                   const char* list) {
            if (overrides.empty())
                return;
            if (overrides.size() != tensors.size())
                config_error(path + "." + list, "has " + std::to_string(overrides.size()) +
                                                    " entries; expected none or one per " + list +
                                                    " entry (" + std::to_string(tensors.size()) +
                                                    ")");
            for (std::size_t i = 0; i < tensors.size(); ++i)
                core::resolve_tensor(tensors[i], &overrides[i], direction,
                                     path + "." + list + "[" + std::to_string(i) + "]");
        };
        check_overrides(engine.inputs, inputs, Direction::input, "inputs");
        check_overrides(engine.outputs, outputs, Direction::output, "outputs");
    }
}

void HostConfig::validate() const {
    if (!(std::isfinite(sample_rate) && sample_rate >= 1000.0 && sample_rate <= 1'536'000.0))
        throw Error("HostConfig.sample_rate: must be between 1000 and 1536000 Hz, got " +
                    std::to_string(sample_rate));
    if (max_block_size == 0)
        throw Error("HostConfig.max_block_size: must be at least 1");
    if (max_block_size > (std::size_t{1} << 20))
        throw Error("HostConfig.max_block_size: must be at most 1048576, got " +
                    std::to_string(max_block_size));
    if (latency_override && *latency_override > max_latency_override)
        throw Error("HostConfig.latency_override: must be at most " +
                    std::to_string(max_latency_override) + " samples, got " +
                    std::to_string(*latency_override));
}

}  // namespace legato
