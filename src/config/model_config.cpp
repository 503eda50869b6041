// JSON model configuration files (docs/config.md): JSON -> ModelConfig with errors that name
// the JSON path, and ModelConfig -> JSON.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "legato/config_file.hpp"
#include "legato/engines.hpp"
#include "legato/error.hpp"

namespace legato {

namespace {

using Json = nlohmann::ordered_json;  // ordered: to_json() keeps the documented key order

constexpr std::string_view role_names[] = {"audio", "parameter", "state"};
constexpr std::string_view layout_names[] = {"channels_first", "channels_last",
                                             "sliding_windows_channels_last",
                                             "sliding_windows_channels_first"};
constexpr std::string_view late_policy_names[] = {"silence", "dry", "repeat_last"};
constexpr std::string_view wake_strategy_names[] = {"sleep", "poll", "timer"};

std::string type_name(const Json& value) {
    switch (value.type()) {
        case Json::value_t::null: return "null";
        case Json::value_t::object: return "an object";
        case Json::value_t::array: return "an array";
        case Json::value_t::string: return "a string";
        case Json::value_t::boolean: return "a boolean";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned: return "an integer";
        case Json::value_t::number_float: return "a number";
        default: return "an unsupported value";
    }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                               diagonal + (a[i - 1] == b[j - 1] ? 0U : 1U)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string quoted_list(std::span<const std::string_view> names) {
    std::string text;
    for (const auto name : names) text += (text.empty() ? "\"" : ", \"") + std::string(name) + "\"";
    return text;
}

// Reads one JSON value at a known path; every error names the file and the path.
class Reader {
public:
    explicit Reader(std::string origin) : origin_(std::move(origin)) {}

    [[noreturn]] void fail(const std::string& path, const std::string& what) const {
        throw Error(origin_ + ": " + (path.empty() ? "" : path + ": ") + what);
    }

    static std::string at(const std::string& path, std::string_view key) {
        return path.empty() ? std::string(key) : path + "." + std::string(key);
    }
    static std::string at(const std::string& path, std::size_t index) {
        return path + "[" + std::to_string(index) + "]";
    }

    const Json& object(const Json& value, const std::string& path,
                       std::span<const std::string_view> known_keys) const {
        if (!value.is_object()) fail(path, "expected an object, got " + type_name(value));
        for (const auto& item : value.items()) {
            const std::string& key = item.key();
            if (std::find(known_keys.begin(), known_keys.end(), key) != known_keys.end())
                continue;
            std::string_view closest;
            std::size_t best = 3;  // suggest only near misses
            for (const auto known : known_keys) {
                const std::size_t d = edit_distance(key, known);
                if (d < best) best = d, closest = known;
            }
            fail(at(path, key), closest.empty() ? "unknown key; expected one of " +
                                                      quoted_list(known_keys)
                                                : "unknown key (did you mean \"" +
                                                      std::string(closest) + "\"?)");
        }
        return value;
    }

    const Json& array(const Json& value, const std::string& path) const {
        if (!value.is_array()) fail(path, "expected an array, got " + type_name(value));
        return value;
    }

    std::string string(const Json& value, const std::string& path) const {
        if (!value.is_string()) fail(path, "expected a string, got " + type_name(value));
        return value.get<std::string>();
    }

    bool boolean(const Json& value, const std::string& path) const {
        if (!value.is_boolean()) fail(path, "expected true or false, got " + type_name(value));
        return value.get<bool>();
    }

    double number(const Json& value, const std::string& path) const {
        if (!value.is_number()) fail(path, "expected a number, got " + type_name(value));
        const double x = value.get<double>();
        if (!std::isfinite(x)) fail(path, "expected a finite number");
        return x;
    }

    std::int64_t integer(const Json& value, const std::string& path) const {
        if (value.is_number_float()) {
            const double x = value.get<double>();
            if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9.0e15)
                return static_cast<std::int64_t>(x);
            fail(path, "expected an integer, got " + value.dump());
        }
        if (value.is_number_unsigned() &&
            value.get<std::uint64_t>() >
                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            fail(path, "is too large: " + value.dump());
        if (!value.is_number_integer()) fail(path, "expected an integer, got " + type_name(value));
        return value.get<std::int64_t>();
    }

    std::size_t count(const Json& value, const std::string& path) const {
        const std::int64_t n = integer(value, path);
        if (n < 0) fail(path, "must be zero or more, got " + std::to_string(n));
        return static_cast<std::size_t>(n);
    }

    template <typename Enum>
    Enum choice(const Json& value, const std::string& path,
                std::span<const std::string_view> names) const {
        const std::string text = string(value, path);
        for (std::size_t i = 0; i < names.size(); ++i)
            if (text == names[i]) return static_cast<Enum>(i);
        fail(path, "\"" + text + "\" is not one of " + quoted_list(names));
    }

    std::vector<std::int64_t> shape(const Json& value, const std::string& path) const {
        if (!value.is_array())
            fail(path, "expected an array of integers, got " + type_name(value));
        std::vector<std::int64_t> dims;
        for (std::size_t i = 0; i < value.size(); ++i) {
            const std::int64_t d = integer(value[i], at(path, i));
            if (d < -1) fail(at(path, i), "must be -1 (resolved at prepare) or a size, got " +
                                              std::to_string(d));
            dims.push_back(d);
        }
        return dims;
    }

    std::vector<float> values(const Json& value, const std::string& path) const {
        std::vector<float> out;
        if (value.is_array()) {
            for (std::size_t i = 0; i < value.size(); ++i)
                out.push_back(static_cast<float>(number(value[i], at(path, i))));
        } else {
            out.push_back(static_cast<float>(number(value, path)));
        }
        return out;
    }

private:
    std::string origin_;
};

constexpr std::string_view top_keys[] = {"name",
                                         "description",
                                         "sample_rate",
                                         "engines",
                                         "inputs",
                                         "outputs",
                                         "state_pairs",
                                         "max_inference_time_ms",
                                         "measure",
                                         "warm_up",
                                         "parallel_instances",
                                         "stateful",
                                         "late_policy",
                                         "context"};
constexpr std::string_view engine_keys[] = {"engine", "model", "entry_point", "inputs", "outputs"};
constexpr std::string_view override_keys[] = {"name", "shape", "layout"};
constexpr std::string_view tensor_keys[] = {"name",  "role",        "shape",
                                            "channels", "hop",      "past_context",
                                            "layout", "window_length", "window_hop",
                                            "default", "range",     "label"};
constexpr std::string_view state_pair_keys[] = {"output", "input"};
constexpr std::string_view measure_keys[] = {"percentile", "safety_factor", "wake_allowance_ms"};
constexpr std::string_view context_keys[] = {"worker_threads", "realtime_priority", "priority",
                                             "wake_strategy",  "spin_before_sleep_us",
                                             "timer_interval_us", "timer_idle_timeout_ms",
                                             "max_handlers"};

TensorSpec read_tensor(const Reader& r, const Json& j, const std::string& path,
                       std::vector<ParameterInfo>* parameters) {
    r.object(j, path, tensor_keys);
    TensorSpec spec;
    if (!j.contains("name")) r.fail(Reader::at(path, "name"), "is required");
    spec.name = r.string(j["name"], Reader::at(path, "name"));
    if (j.contains("role"))
        spec.role = r.choice<TensorRole>(j["role"], Reader::at(path, "role"), role_names);
    if (!j.contains("shape")) r.fail(Reader::at(path, "shape"), "is required");
    spec.shape = r.shape(j["shape"], Reader::at(path, "shape"));
    const bool audio = spec.role == TensorRole::audio;
    // Keys that only mean something for one role are errors elsewhere, not silently ignored.
    for (const char* key : {"channels", "hop", "past_context", "layout", "window_length",
                            "window_hop"})
        if (j.contains(key) && !audio)
            r.fail(Reader::at(path, key), "only audio tensors take it (role is " +
                                              std::string(role_names[static_cast<int>(spec.role)]) +
                                              ")");
    for (const char* key : {"default", "range", "label"})
        if (j.contains(key) && spec.role != TensorRole::parameter)
            r.fail(Reader::at(path, key), "only parameter tensors take it");
    if (j.contains("channels")) spec.channels = r.count(j["channels"], Reader::at(path, "channels"));
    if (j.contains("hop")) spec.hop = r.count(j["hop"], Reader::at(path, "hop"));
    if (j.contains("past_context"))
        spec.past_context = r.count(j["past_context"], Reader::at(path, "past_context"));
    if (j.contains("layout"))
        spec.layout = r.choice<AudioLayout>(j["layout"], Reader::at(path, "layout"), layout_names);
    if (j.contains("window_length"))
        spec.window_length = r.count(j["window_length"], Reader::at(path, "window_length"));
    if (j.contains("window_hop"))
        spec.window_hop = r.count(j["window_hop"], Reader::at(path, "window_hop"));
    if (spec.role == TensorRole::parameter && parameters != nullptr) {
        ParameterInfo info;
        info.name = spec.name;
        info.label = spec.name;
        if (j.contains("default"))
            spec.initial_value = r.values(j["default"], Reader::at(path, "default"));
        info.default_value = spec.initial_value.empty() ? 0.0F : spec.initial_value.front();
        if (j.contains("label")) info.label = r.string(j["label"], Reader::at(path, "label"));
        if (j.contains("range")) {
            const std::string range_path = Reader::at(path, "range");
            const auto range = r.values(j["range"], range_path);
            if (range.size() != 2 || !j["range"].is_array())
                r.fail(range_path, "expected [minimum, maximum]");
            if (!(range[0] < range[1]))
                r.fail(range_path, "minimum must be below maximum");
            info.minimum = range[0];
            info.maximum = range[1];
            for (const float v : spec.initial_value)
                if (v < info.minimum || v > info.maximum)
                    r.fail(Reader::at(path, "default"), "lies outside range [" + j["range"][0].dump() +
                                                           ", " + j["range"][1].dump() + "]");
        } else {
            info.minimum = std::min(0.0F, info.default_value);
            info.maximum = std::max(1.0F, info.default_value);
        }
        parameters->push_back(std::move(info));
    }
    return spec;
}

TensorOverride read_override(const Reader& r, const Json& j, const std::string& path) {
    r.object(j, path, override_keys);
    TensorOverride o;
    if (j.contains("name")) o.name = r.string(j["name"], Reader::at(path, "name"));
    if (j.contains("shape")) o.shape = r.shape(j["shape"], Reader::at(path, "shape"));
    if (j.contains("layout"))
        o.layout = r.choice<AudioLayout>(j["layout"], Reader::at(path, "layout"), layout_names);
    return o;
}

std::vector<TensorSpec> read_tensors(const Reader& r, const Json& j, const std::string& path,
                                     std::vector<ParameterInfo>* parameters) {
    r.array(j, path);
    std::vector<TensorSpec> specs;
    for (std::size_t i = 0; i < j.size(); ++i)
        specs.push_back(read_tensor(r, j[i], Reader::at(path, i), parameters));
    return specs;
}

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
        if (at != std::string::npos) path.replace(at, from.size(), to);
    }
    return colon == std::string::npos ? path : path + message.substr(colon);
}

ModelConfig read_config(const Json& root, const std::filesystem::path& base, bool skip_unavailable,
                        const Reader& r) {
    r.object(root, "", top_keys);
    ModelConfig config;
    InferenceConfig& inference = config.inference;
    if (root.contains("name")) config.name = r.string(root["name"], "name");
    if (root.contains("description"))
        config.description = r.string(root["description"], "description");
    if (root.contains("sample_rate")) {
        const double rate = r.number(root["sample_rate"], "sample_rate");
        if (!(rate >= 1000.0 && rate <= 1'536'000.0))
            r.fail("sample_rate", "must be between 1000 and 1536000 Hz, got " +
                                      root["sample_rate"].dump());
        config.sample_rate = rate;
    }

    if (!root.contains("inputs")) r.fail("inputs", "is required");
    if (!root.contains("outputs")) r.fail("outputs", "is required");
    inference.inputs = read_tensors(r, root["inputs"], "inputs", &config.parameters);
    inference.outputs = read_tensors(r, root["outputs"], "outputs", nullptr);

    if (!root.contains("engines")) r.fail("engines", "is required");
    const Json& engines = r.array(root["engines"], "engines");
    if (engines.empty()) r.fail("engines", "must name at least one engine");
    const auto available = available_engines();
    std::vector<std::string> skipped;
    for (std::size_t e = 0; e < engines.size(); ++e) {
        const std::string path = Reader::at("engines", e);
        const Json& j = r.object(engines[e], path, engine_keys);
        if (!j.contains("engine")) r.fail(Reader::at(path, "engine"), "is required");
        const std::string name = r.string(j["engine"], Reader::at(path, "engine"));
        if (name == "custom")
            r.fail(Reader::at(path, "engine"),
                   "custom backends need code: add them with make_custom_backend() after loading");
        EngineModel engine;
        if (j.contains("model")) {
            std::filesystem::path model = r.string(j["model"], Reader::at(path, "model"));
            if (model.empty()) r.fail(Reader::at(path, "model"), "must not be empty");
            if (model.is_relative()) model = base / model;
            model = model.lexically_normal();
            std::error_code ec;
            if (!std::filesystem::is_regular_file(model, ec))
                r.fail(Reader::at(path, "model"), "no such file: " + model.string());
            engine.model = ModelSource::file(model);
        } else if (name != "bypass") {
            r.fail(Reader::at(path, "model"), "is required for engine \"" + name + "\"");
        }
        if (j.contains("entry_point"))
            engine.entry_point = r.string(j["entry_point"], Reader::at(path, "entry_point"));
        for (const char* list : {"inputs", "outputs"}) {
            if (!j.contains(list)) continue;
            const std::string list_path = Reader::at(path, list);
            r.array(j[list], list_path);
            auto& overrides = std::string_view(list) == "inputs" ? engine.inputs : engine.outputs;
            for (std::size_t i = 0; i < j[list].size(); ++i)
                overrides.push_back(read_override(r, j[list][i], Reader::at(list_path, i)));
        }
        if (std::find(available.begin(), available.end(), name) == available.end() &&
            skip_unavailable) {
            skipped.push_back(name);
            continue;
        }
        try {
            engine.backend = make_backend(name);
        } catch (const Error& error) {
            r.fail(Reader::at(path, "engine"), error.what());
        }
        inference.engines.push_back(std::move(engine));
    }
    if (inference.engines.empty()) {
        std::string list;
        for (const auto& name : skipped) list += (list.empty() ? "" : ", ") + name;
        std::string have;
        for (const auto& name : available) have += (have.empty() ? "" : ", ") + name;
        r.fail("engines", "none of the engines (" + list + ") is built into this Legato; it has " +
                              have);
    }

    if (root.contains("state_pairs")) {
        const Json& pairs = r.array(root["state_pairs"], "state_pairs");
        for (std::size_t p = 0; p < pairs.size(); ++p) {
            const std::string path = Reader::at("state_pairs", p);
            const Json& j = r.object(pairs[p], path, state_pair_keys);
            for (const char* key : {"output", "input"})
                if (!j.contains(key)) r.fail(Reader::at(path, key), "is required");
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
    if (root.contains("stateful")) inference.stateful = r.boolean(root["stateful"], "stateful");
    if (root.contains("late_policy"))
        inference.late_policy =
            r.choice<LatePolicy>(root["late_policy"], "late_policy", late_policy_names);

    if (root.contains("context")) {
        const Json& j = r.object(root["context"], "context", context_keys);
        ContextConfig& c = config.context;
        if (j.contains("worker_threads")) {
            c.worker_threads = r.count(j["worker_threads"], "context.worker_threads");
            if (c.worker_threads > 256)
                r.fail("context.worker_threads",
                       "must be at most 256, got " + j["worker_threads"].dump());
        }
        if (j.contains("realtime_priority"))
            c.realtime_priority = r.boolean(j["realtime_priority"], "context.realtime_priority");
        if (j.contains("priority")) {
            const std::int64_t p = r.integer(j["priority"], "context.priority");
            if (p < 1 || p > 99)
                r.fail("context.priority", "must be a SCHED_FIFO priority 1..99, got " +
                                               std::to_string(p));
            c.realtime_priority_level = static_cast<int>(p);
        }
        if (j.contains("wake_strategy"))
            c.wake_strategy = r.choice<WakeStrategy>(j["wake_strategy"], "context.wake_strategy",
                                                     wake_strategy_names);
        if (j.contains("spin_before_sleep_us")) {
            const std::size_t us = r.count(j["spin_before_sleep_us"], "context.spin_before_sleep_us");
            if (us > 1'000'000)
                r.fail("context.spin_before_sleep_us", "must be at most 1000000 (1 s), got " +
                                                           std::to_string(us));
            c.spin_before_sleep = std::chrono::microseconds(us);
        }
        if (j.contains("timer_interval_us")) {
            const std::size_t us = r.count(j["timer_interval_us"], "context.timer_interval_us");
            if (us < 10 || us > 10'000)
                r.fail("context.timer_interval_us",
                       "must be between 10 and 10000, got " + std::to_string(us));
            c.timer_interval = std::chrono::microseconds(us);
        }
        if (j.contains("timer_idle_timeout_ms")) {
            const std::size_t ms =
                r.count(j["timer_idle_timeout_ms"], "context.timer_idle_timeout_ms");
            if (ms > 60'000)
                r.fail("context.timer_idle_timeout_ms",
                       "must be 0 (never) or between 1 and 60000, got " + std::to_string(ms));
            c.timer_idle_timeout = std::chrono::milliseconds(ms);
        }
        if (j.contains("max_handlers")) {
            c.max_handlers = r.count(j["max_handlers"], "context.max_handlers");
            if (c.max_handlers == 0 || c.max_handlers > 65536)
                r.fail("context.max_handlers",
                       "must be between 1 and 65536, got " + j["max_handlers"].dump());
        }
    }

    try {
        inference.validate();
    } catch (const Error& error) {
        r.fail("", json_path_of(error.what()));
    }
    return config;
}

std::string read_text(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
        throw Error(file.string() + ": no such file");
    if (std::filesystem::is_directory(file, ec))
        throw Error(file.string() + ": is a directory, expected a JSON config file");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file.string() + ": cannot be opened for reading");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw Error(file.string() + ": read error");
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
        if (spec.past_context != 0) j["past_context"] = spec.past_context;
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
            if (info.name != spec.name) continue;
            j["range"] = {info.minimum, info.maximum};
            if (info.label != info.name) j["label"] = info.label;
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
    const Reader reader{std::string(origin)};
    Json root;
    try {
        root = Json::parse(json_text.begin(), json_text.end(), nullptr, true,
                           /*ignore_comments=*/false);
    } catch (const Json::parse_error& error) {
        // nlohmann's message ends with the byte position; give line and column too.
        const std::size_t at = std::min<std::size_t>(error.byte, json_text.size());
        std::size_t line = 1, column = 1;
        for (std::size_t i = 0; i + 1 < at; ++i) {
            if (json_text[i] == '\n') ++line, column = 1;
            else ++column;
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
    return read_config(root, base_directory, skip_unavailable_engines, reader);
}

ModelConfig load_model_config(const std::filesystem::path& file, bool skip_unavailable_engines) {
    const std::string text = read_text(file);
    const std::filesystem::path absolute = std::filesystem::absolute(file);
    ModelConfig config = parse_model_config(text, absolute.parent_path(), skip_unavailable_engines,
                                            file.string());
    config.file = absolute;
    if (config.name.empty()) config.name = file.stem().string();
    return config;
}

std::string to_json(const ModelConfig& config, const std::filesystem::path& base_directory) {
    const InferenceConfig& inference = config.inference;
    if (inference.pre_post_processor)
        throw Error("to_json: a config with a pre/post-processor cannot be written as JSON");
    Json root;
    if (!config.name.empty()) root["name"] = config.name;
    if (!config.description.empty()) root["description"] = config.description;
    if (config.sample_rate) root["sample_rate"] = *config.sample_rate;
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
        if (!engine.entry_point.empty()) j["entry_point"] = engine.entry_point;
        for (const auto* list : {&engine.inputs, &engine.outputs}) {
            if (list->empty()) continue;
            Json overrides = Json::array();
            for (const auto& o : *list) {
                Json item = Json::object();
                if (!o.name.empty()) item["name"] = o.name;
                if (!o.shape.empty()) item["shape"] = o.shape;
                if (o.layout) item["layout"] = layout_names[static_cast<int>(*o.layout)];
                overrides.push_back(item);
            }
            j[list == &engine.inputs ? "inputs" : "outputs"] = overrides;
        }
        engines.push_back(j);
    }
    root["engines"] = engines;
    for (const auto* list : {&inference.inputs, &inference.outputs}) {
        Json tensors = Json::array();
        for (const auto& spec : *list) tensors.push_back(write_tensor(spec, config.parameters));
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
    const ContextConfig& c = config.context;
    root["context"] = {{"worker_threads", c.worker_threads},
                       {"realtime_priority", c.realtime_priority},
                       {"priority", c.realtime_priority_level},
                       {"wake_strategy", wake_strategy_names[static_cast<int>(c.wake_strategy)]},
                       {"spin_before_sleep_us", c.spin_before_sleep.count()},
                       {"timer_interval_us", c.timer_interval.count()},
                       {"timer_idle_timeout_ms", c.timer_idle_timeout.count()},
                       {"max_handlers", c.max_handlers}};
    return root.dump(2) + "\n";
}

}  // namespace legato
