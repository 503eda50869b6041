// JSON model configuration files (docs/config.md): parsing and loading them (the reading of
// each section is in config/read_*.cpp), and ModelConfig -> JSON.

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "config/json_reader.hpp"
#include "config/read_config.hpp"
#include "legato/config_file.hpp"
#include "legato/engines.hpp"
#include "legato/error.hpp"

namespace legato {

namespace {

using config::Json;
using config::late_policy_names;
using config::layout_names;
using config::role_names;
using config::wake_strategy_names;

std::string read_text(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
        throw Error(file.string() + ": no such file");
    if (std::filesystem::is_directory(file, ec))
        throw Error(file.string() + ": is a directory, expected a JSON config file");
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw Error(file.string() + ": cannot be opened for reading");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw Error(file.string() + ": read error");
    return text.str();
}

Json write_tensor(const TensorSpec& spec, const std::vector<ParameterInfo>& parameters) {
    Json j;
    j["name"] = spec.name;
    j["role"] = role_names[static_cast<int>(spec.role)];
    j["shape"] = spec.shape;
    if (spec.role == TensorRole::audio) {
        j["channels"] = spec.channels;
        j["hop"] = spec.hop;
        if (spec.past_context != 0)
            j["past_context"] = spec.past_context;
        j["layout"] = layout_names[static_cast<int>(spec.layout)];
        if (spec.layout == AudioLayout::sliding_windows_channels_first ||
            spec.layout == AudioLayout::sliding_windows_channels_last) {
            j["window_length"] = spec.window_length;
            j["window_hop"] = spec.window_hop;
        }
    }
    if (spec.role == TensorRole::parameter) {
        if (spec.initial_value.size() == 1)
            j["default"] = spec.initial_value.front();
        else if (!spec.initial_value.empty())
            j["default"] = spec.initial_value;
        for (const auto& info : parameters) {
            if (info.name != spec.name)
                continue;
            j["range"] = {info.minimum, info.maximum};
            if (info.label != info.name)
                j["label"] = info.label;
        }
    }
    return j;
}

}  // namespace

std::vector<std::string> ModelConfig::engine_names() const {
    std::vector<std::string> names;
    for (const auto& engine : inference.engines)
        names.push_back(engine.backend ? engine.backend->name() : std::string("?"));
    return names;
}

ModelConfig parse_model_config(std::string_view json_text,
                               const std::filesystem::path& base_directory,
                               bool skip_unavailable_engines, std::string_view origin) {
    const config::Reader reader{std::string(origin)};
    Json root;
    try {
        root = Json::parse(json_text.begin(), json_text.end(), nullptr, true,
                           /*ignore_comments=*/false);
    } catch (const Json::parse_error& error) {
        // nlohmann's message ends with the byte position; give line and column too.
        const std::size_t at = std::min<std::size_t>(error.byte, json_text.size());
        std::size_t line = 1, column = 1;
        for (std::size_t i = 0; i + 1 < at; ++i) {
            if (json_text[i] == '\n')
                ++line, column = 1;
            else
                ++column;
        }
        std::string what = error.what();
        const std::size_t colon = what.find("parse error");
        reader.fail("", "invalid JSON at line " + std::to_string(line) + ", column " +
                            std::to_string(column) + ": " +
                            (colon == std::string::npos ? what : what.substr(colon)));
    } catch (const Json::exception& error) {
        // The parser also throws out_of_range for a number no double can hold ("1e999"); it
        // carries no byte position, only the text of the number.
        std::string what = error.what();
        const std::size_t bracket = what.find("] ");
        reader.fail("", "invalid JSON: " +
                            (bracket == std::string::npos ? what : what.substr(bracket + 2)));
    }
    return config::read_config(root, base_directory, skip_unavailable_engines, reader);
}

ModelConfig load_model_config(const std::filesystem::path& file, bool skip_unavailable_engines) {
    const std::string text = read_text(file);
    const std::filesystem::path absolute = std::filesystem::absolute(file);
    ModelConfig config =
        parse_model_config(text, absolute.parent_path(), skip_unavailable_engines, file.string());
    config.file = absolute;
    if (config.name.empty())
        config.name = file.stem().string();
    return config;
}

std::string to_json(const ModelConfig& config, const std::filesystem::path& base_directory) {
    const InferenceConfig& inference = config.inference;
    if (inference.pre_post_processor)
        throw Error("to_json: a config with a pre/post-processor cannot be written as JSON");
    Json root;
    if (!config.name.empty())
        root["name"] = config.name;
    if (!config.description.empty())
        root["description"] = config.description;
    if (config.sample_rate)
        root["sample_rate"] = *config.sample_rate;
    Json engines = Json::array();
    for (std::size_t e = 0; e < inference.engines.size(); ++e) {
        const EngineModel& engine = inference.engines[e];
        const std::string name = engine.backend ? engine.backend->name() : "";
        const auto available = available_engines();
        if (std::find(available.begin(), available.end(), name) == available.end())
            throw Error("to_json: engines[" + std::to_string(e) + "] (\"" + name +
                        "\") is not an engine a config file can name");
        if (!engine.model.bytes.empty())
            throw Error("to_json: engines[" + std::to_string(e) +
                        "] holds its model in memory; a config file needs a path");
        Json j;
        j["engine"] = name;
        if (!engine.model.path.empty()) {
            std::error_code ec;
            const auto relative = std::filesystem::relative(engine.model.path, base_directory, ec);
            j["model"] = (ec || relative.empty() ? engine.model.path : relative).generic_string();
        }
        if (!engine.entry_point.empty())
            j["entry_point"] = engine.entry_point;
        for (const auto* list : {&engine.inputs, &engine.outputs}) {
            if (list->empty())
                continue;
            Json overrides = Json::array();
            for (const auto& o : *list) {
                Json item = Json::object();
                if (!o.name.empty())
                    item["name"] = o.name;
                if (!o.shape.empty())
                    item["shape"] = o.shape;
                if (o.layout)
                    item["layout"] = layout_names[static_cast<int>(*o.layout)];
                overrides.push_back(item);
            }
            j[list == &engine.inputs ? "inputs" : "outputs"] = overrides;
        }
        engines.push_back(j);
    }
    root["engines"] = engines;
    for (const auto* list : {&inference.inputs, &inference.outputs}) {
        Json tensors = Json::array();
        for (const auto& spec : *list)
            tensors.push_back(write_tensor(spec, config.parameters));
        root[list == &inference.inputs ? "inputs" : "outputs"] = tensors;
    }
    if (!inference.state_pairs.empty()) {
        Json pairs = Json::array();
        for (const auto& p : inference.state_pairs)
            pairs.push_back({{"output", p.output}, {"input", p.input}});
        root["state_pairs"] = pairs;
    }
    if (inference.max_inference_time_ms)
        root["max_inference_time_ms"] = *inference.max_inference_time_ms;
    else
        root["max_inference_time_ms"] = "measure";
    root["measure"] = {{"percentile", inference.measure_percentile},
                       {"safety_factor", inference.measure_safety_factor},
                       {"wake_allowance_ms", inference.measure_wake_allowance_ms}};
    root["warm_up"] = inference.warm_up;
    root["parallel_instances"] = inference.parallel_instances;
    root["stateful"] = inference.stateful;
    root["late_policy"] = late_policy_names[static_cast<int>(inference.late_policy)];
    root["inline"] = config::inline_mode_names[static_cast<int>(inference.inline_mode)];
    root["inline_budget"] = inference.inline_budget;
    const ContextConfig& c = config.context;
    root["context"] = {{"worker_threads", c.worker_threads},
                       {"realtime_priority", c.realtime_priority},
                       {"priority", c.realtime_priority_level},
                       {"wake_strategy", wake_strategy_names[static_cast<int>(c.wake_strategy)]},
                       {"spin_before_sleep_us", c.spin_before_sleep.count()},
                       {"timer_interval_us", c.timer_interval.count()},
                       {"timer_idle_timeout_ms", c.timer_idle_timeout.count()},
                       {"anticipation_spin_us", c.anticipation_spin.count()},
                       {"anticipation_idle_timeout_ms", c.anticipation_idle_timeout.count()},
                       {"max_handlers", c.max_handlers}};
    return root.dump(2) + "\n";
}

}  // namespace legato
