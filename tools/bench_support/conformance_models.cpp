#include "bench_support/conformance_models.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "legato/engines.hpp"
#include "legato/error.hpp"

namespace legato::bench {

namespace {

using nlohmann::json;

std::string engine_for(const std::string& format) {
    if (format == "onnx")
        return "onnxruntime";
    if (format == "torchscript")
        return "libtorch";
    if (format == "tflite")
        return "tflite";
    return {};
}

// The declared shape with its dynamic (string) dimension as -1; sets `dynamic` to its index.
json resolved_shape(const json& declared, std::ptrdiff_t* dynamic) {
    json shape = json::array();
    *dynamic = -1;
    for (std::size_t i = 0; i < declared.size(); ++i) {
        if (declared[i].is_string()) {
            shape.push_back(-1);
            *dynamic = static_cast<std::ptrdiff_t>(i);
        } else {
            shape.push_back(declared[i].get<std::int64_t>());
        }
    }
    return shape;
}

// One tensor entry of a Legato config from a case tensor.
json tensor_entry(const json& tensor, const json& c, bool input) {
    const std::string role = tensor.at("role").get<std::string>();
    const json& declared = tensor.at("shape");
    std::ptrdiff_t dynamic = -1;
    json entry{{"name", tensor.at("name")}, {"role", role}};
    entry["shape"] = resolved_shape(declared, &dynamic);
    if (role == "parameter") {
        const auto& parameters = c.value("parameters", json::object());
        if (input && parameters.contains(tensor.at("name").get<std::string>()))
            entry["default"] = parameters.at(tensor.at("name").get<std::string>());
        return entry;
    }
    if (role == "state")
        return entry;
    const std::size_t rank = declared.size();
    const auto receptive_field = c.at("receptive_field").get<std::size_t>();
    entry["hop"] = c.at("hop");
    if (c.at("kind") == "sliding_windows_batch" && input) {
        // [B, C, W] or [B, W, C]: the window length sits last for channel-first windows.
        const bool window_last = declared[rank - 1].is_number() &&
                                 declared[rank - 1].get<std::size_t>() == receptive_field;
        entry["layout"] =
            window_last ? "sliding_windows_channels_first" : "sliding_windows_channels_last";
        entry["channels"] = declared[window_last ? 1 : 2];
        entry["window_length"] = receptive_field;
        entry["window_hop"] = 1;
        entry["past_context"] = receptive_field - 1;
        return entry;
    }
    if (c.at("kind") == "sliding_windows_batch") {  // [B, C]: one sample per window
        entry["layout"] = "channels_last";
        entry["channels"] = declared[rank - 1];
        return entry;
    }
    // Time is the dynamic dimension: last = [.., C, T], otherwise [.., T, C].
    const bool time_last = dynamic == static_cast<std::ptrdiff_t>(rank) - 1;
    entry["layout"] = time_last ? "channels_first" : "channels_last";
    entry["channels"] = declared[time_last ? rank - 2 : rank - 1];
    if (input && receptive_field > 1)
        entry["past_context"] = receptive_field - 1;
    return entry;
}

}  // namespace

std::filesystem::path conformance_directory() {
    const char* value = std::getenv("LEGATO_CONFORMANCE_MODELS");
    if (value == nullptr || *value == '\0')
        return {};
    const std::filesystem::path directory(value);
    return std::filesystem::exists(directory / "cases.json") ? directory : std::filesystem::path{};
}

std::vector<ConformanceModel> load_conformance_models(const std::filesystem::path& directory,
                                                      std::vector<std::string>* notes) {
    const std::filesystem::path file = directory / "cases.json";
    std::ifstream stream(file);
    if (!stream)
        throw Error(file.string() + ": cannot open");
    json cases;
    try {
        cases = json::parse(stream);
    } catch (const json::exception& e) {
        throw Error(file.string() + ": " + e.what());
    }
    const std::vector<std::string> engines = available_engines();
    std::vector<ConformanceModel> models;
    for (const json& c : cases) {
        try {
            const std::string name = c.at("name").get<std::string>();
            const std::string engine = engine_for(c.at("format").get<std::string>());
            if (c.at("expected") != "ok") {
                notes->push_back(name + ": left out, expected to fail loading (" +
                                 c.at("expected").get<std::string>() + ")");
                continue;
            }
            if (name.ends_with("-tflite-twin"))
                continue;  // the same network as its .tflite case, with other weights
            if (std::find(engines.begin(), engines.end(), engine) == engines.end()) {
                notes->push_back(name + ": left out, engine '" + engine + "' is not built in");
                continue;
            }
            json config{{"name", name},
                        {"sample_rate", c.value("sample_rate", 48000)},
                        {"engines", json::array({{{"engine", engine}, {"model", c.at("model")}}})},
                        {"inputs", json::array()},
                        {"outputs", json::array()}};
            for (const json& tensor : c.at("inputs"))
                config["inputs"].push_back(tensor_entry(tensor, c, true));
            for (const json& tensor : c.at("outputs"))
                config["outputs"].push_back(tensor_entry(tensor, c, false));
            if (!c.value("state_pairs", json::array()).empty()) {
                config["state_pairs"] = json::array();
                for (const json& pair : c.at("state_pairs"))
                    config["state_pairs"].push_back({{"output", pair[0]}, {"input", pair[1]}});
                config["stateful"] = true;
            }
            const std::filesystem::path folder = directory / c.at("folder").get<std::string>();
            models.push_back({name, c.at("folder").get<std::string>(),
                              c.at("kind").get<std::string>(),
                              parse_model_config(config.dump(), folder, false, name)});
        } catch (const json::exception& e) {
            throw Error(file.string() + ": a case is malformed: " + e.what());
        } catch (const Error& e) {  // e.g. a model file missing: the others still run
            notes->push_back(c.value("name", std::string("?")) + ": left out: " + e.what());
        }
    }
    return models;
}

}  // namespace legato::bench
