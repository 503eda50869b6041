// The top level of a model configuration file: the keys outside the tensor, engine and context
// sections, and the final InferenceConfig::validate() in the file's own words.

#include <string>
#include <utility>

#include "config/read_config.hpp"
#include "legato/error.hpp"

namespace legato::config {

namespace {

constexpr std::string_view top_keys[] = {
    "name",        "description", "sample_rate",        "engines",
    "inputs",      "outputs",     "state_pairs",        "max_inference_time_ms",
    "measure",     "warm_up",     "parallel_instances", "stateful",
    "late_policy", "context",     "inline",      "inline_budget"};
constexpr std::string_view state_pair_keys[] = {"output", "input"};
constexpr std::string_view measure_keys[] = {"percentile", "safety_factor", "wake_allowance_ms"};

// Translates InferenceConfig::validate()'s field names into this file's keys.
std::string json_path_of(std::string message) {
    const std::pair<std::string_view, std::string_view> renames[] = {
        {"measure_percentile", "measure.percentile"},
        {"measure_safety_factor", "measure.safety_factor"},
        {"measure_wake_allowance_ms", "measure.wake_allowance_ms"},
        {".initial_value", ".default"},
        {".backend", ".engine"},
    };
    const std::size_t colon = message.find(": ");
    std::string path = message.substr(0, colon);
    for (const auto& [from, to] : renames) {
        const std::size_t at = path.find(from);
        if (at != std::string::npos)
            path.replace(at, from.size(), to);
    }
    return colon == std::string::npos ? path : path + message.substr(colon);
}

}  // namespace

ModelConfig read_config(const Json& root, const std::filesystem::path& base, bool skip_unavailable,
                        const Reader& r) {
    r.object(root, "", top_keys);
    ModelConfig config;
    InferenceConfig& inference = config.inference;
    if (root.contains("name"))
        config.name = r.string(root["name"], "name");
    if (root.contains("description"))
        config.description = r.string(root["description"], "description");
    if (root.contains("sample_rate")) {
        const double rate = r.number(root["sample_rate"], "sample_rate");
        if (!(rate >= 1000.0 && rate <= 1'536'000.0))
            r.fail("sample_rate",
                   "must be between 1000 and 1536000 Hz, got " + root["sample_rate"].dump());
        config.sample_rate = rate;
    }

    if (!root.contains("inputs"))
        r.fail("inputs", "is required");
    if (!root.contains("outputs"))
        r.fail("outputs", "is required");
    inference.inputs = read_tensors(r, root["inputs"], "inputs", &config.parameters);
    inference.outputs = read_tensors(r, root["outputs"], "outputs", nullptr);

    if (!root.contains("engines"))
        r.fail("engines", "is required");
    inference.engines = read_engines(r, root["engines"], base, skip_unavailable);

    if (root.contains("state_pairs")) {
        const Json& pairs = r.array(root["state_pairs"], "state_pairs");
        for (std::size_t p = 0; p < pairs.size(); ++p) {
            const std::string path = Reader::at("state_pairs", p);
            const Json& j = r.object(pairs[p], path, state_pair_keys);
            for (const char* key : {"output", "input"})
                if (!j.contains(key))
                    r.fail(Reader::at(path, key), "is required");
            inference.state_pairs.push_back({r.string(j["output"], Reader::at(path, "output")),
                                             r.string(j["input"], Reader::at(path, "input"))});
        }
    }
    if (root.contains("max_inference_time_ms")) {
        const Json& j = root["max_inference_time_ms"];
        if (j.is_string()) {
            if (j.get<std::string>() != "measure")
                r.fail("max_inference_time_ms",
                       "expected milliseconds or \"measure\", got " + j.dump());
        } else {
            inference.max_inference_time_ms = r.number(j, "max_inference_time_ms");
        }
    }
    if (root.contains("measure")) {
        const Json& j = r.object(root["measure"], "measure", measure_keys);
        if (j.contains("percentile"))
            inference.measure_percentile = r.number(j["percentile"], "measure.percentile");
        if (j.contains("safety_factor"))
            inference.measure_safety_factor = r.number(j["safety_factor"], "measure.safety_factor");
        if (j.contains("wake_allowance_ms"))
            inference.measure_wake_allowance_ms =
                r.number(j["wake_allowance_ms"], "measure.wake_allowance_ms");
    }
    if (root.contains("warm_up")) {
        inference.warm_up = r.count(root["warm_up"], "warm_up");
        if (inference.warm_up > 10000)
            r.fail("warm_up", "must be at most 10000, got " + root["warm_up"].dump());
    }
    if (root.contains("parallel_instances"))
        inference.parallel_instances = r.count(root["parallel_instances"], "parallel_instances");
    if (root.contains("stateful"))
        inference.stateful = r.boolean(root["stateful"], "stateful");
    if (root.contains("late_policy"))
        inference.late_policy =
            r.choice<LatePolicy>(root["late_policy"], "late_policy", late_policy_names);

    if (root.contains("inline"))
        inference.inline_mode = r.choice<InlineMode>(root["inline"], "inline", inline_mode_names);
    if (root.contains("inline_budget"))
        inference.inline_budget = r.number(root["inline_budget"], "inline_budget");

    if (root.contains("context"))
        config.context = read_context(r, root["context"]);

    try {
        inference.validate();
    } catch (const Error& error) {
        r.fail("", json_path_of(error.what()));
    }
    return config;
}

}  // namespace legato::config
