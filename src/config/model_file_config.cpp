// A config derived from a native model file (legato/model_file_config.hpp): telling a model file
// from a config by content, and the config that streams the model inline.

#include "legato/model_file_config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "config/json_reader.hpp"
#include "legato/engines.hpp"
#include "legato/error.hpp"
#include "legato/model_source.hpp"

namespace legato {

namespace {

using config::Json;

// What is expected wherever a config may be given, for error messages.
constexpr const char* expected_text =
    "expected a Legato config (a JSON object with \"engines\", \"inputs\" and \"outputs\": "
    "docs/config.md) or a native model file (an RTNeural JSON model with \"layers\", a NAM file "
    "with \"architecture\")";

bool has_nam_extension(const std::filesystem::path& file) {
    std::string extension = file.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return extension == ".nam";
}

// The file's text, or nothing when it cannot be read (the config reader then says why).
std::optional<std::string> read_text(const std::filesystem::path& file) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(file, error))
        return std::nullopt;
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string keys_found(const Json& root, std::initializer_list<const char*> keys) {
    std::string found;
    for (const char* key : keys)
        if (root.contains(key))
            found += (found.empty() ? "\"" : ", \"") + std::string(key) + "\"";
    return found;
}

// An audio tensor as the native engine takes it: [1, 1, -1] for one value per frame, else
// [1, -1, N] with the N values of a frame last (native_backend.hpp).
Json audio_tensor(const TensorDescription& tensor, bool input) {
    const bool mono = !tensor.shape_known || tensor.shape.size() != 3 || tensor.shape.back() < 0;
    const std::int64_t values = mono ? 1 : tensor.shape.back();
    Json j{{"name", tensor.name},
           {"role", "audio"},
           {"shape", mono ? Json::array({1, 1, -1}) : Json::array({1, -1, values})},
           {"channels", values},
           {"hop", native_model_config_hop}};
    if (input)
        j["past_context"] = 0;  // the model keeps its own history
    j["layout"] = mono ? "channels_first" : "channels_last";
    return j;
}

}  // namespace

ConfigFileKind config_file_kind(const std::filesystem::path& file) {
    if (has_nam_extension(file))
        return ConfigFileKind::native_model;  // the importer checks the content
    const std::optional<std::string> text = read_text(file);
    if (!text)
        return ConfigFileKind::config;
    const Json root = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded())
        return ConfigFileKind::config;
    if (!root.is_object())
        throw Error(file.string() + ": " + expected_text + "; this JSON is " +
                    config::type_name(root));
    const std::string config_keys = keys_found(root, {"engines", "inputs", "outputs"});
    const std::string model_keys = keys_found(root, {"layers", "architecture"});
    if (!config_keys.empty() && !model_keys.empty())
        throw Error(file.string() + ": has keys of a Legato config (" + config_keys +
                    ") and of a native model (" + model_keys + "): " + expected_text +
                    ", not both");
    if (!model_keys.empty())
        return ConfigFileKind::native_model;
    if (!config_keys.empty())
        return ConfigFileKind::config;
    throw Error(file.string() + ": " + expected_text + "; this JSON object has none of these keys");
}

std::string native_model_config_json(const std::filesystem::path& model) {
    std::error_code error;
    if (!std::filesystem::exists(model, error))
        throw Error(model.string() + ": no such file");
    ModelDescription description;
    try {
        description = make_backend("native")->describe(ModelSource::file(model), {});
    } catch (const Error& e) {
        const std::string what = e.what();
        // The engine names the file in its messages; say it once.
        throw Error(what.find(model.string()) == std::string::npos ? model.string() + ": " + what
                                                                   : what);
    }
    if (description.inputs.size() != 1 || description.outputs.size() != 1)
        throw Error(model.string() + ": the native engine describes " +
                    std::to_string(description.inputs.size()) + " inputs and " +
                    std::to_string(description.outputs.size()) +
                    " outputs; a derived config needs one of each");

    Json root{{"name", model.stem().string()},
              {"description", "Derived by Legato from " + model.filename().string() + " (" +
                                  description.format_details + ")"}};
    // The rate the file states (NAM's "sample_rate"; RTNeural JSON states none).
    if (const std::optional<double> rate = description.sample_rate) {
        if (*rate == std::floor(*rate) && *rate < 1e9)
            root["sample_rate"] = static_cast<std::int64_t>(*rate);  // 48000, not 48000.0
        else
            root["sample_rate"] = *rate;
    }
    root["engines"] = Json::array({{{"engine", "native"}, {"model", model.filename().string()}}});
    root["inputs"] = Json::array({audio_tensor(description.inputs.front(), true)});
    root["outputs"] = Json::array({audio_tensor(description.outputs.front(), false)});
    root["stateful"] = true;
    root["inline"] = "auto";
    root["max_inference_time_ms"] = "measure";
    return root.dump(2) + "\n";
}

ModelConfig native_model_config(const std::filesystem::path& model) {
    const std::filesystem::path absolute = std::filesystem::absolute(model);
    ModelConfig config = parse_model_config(native_model_config_json(model), absolute.parent_path(),
                                            false, model.string());
    config.file = absolute;
    return config;
}

ModelConfig load_config_or_native_model(const std::filesystem::path& file,
                                        bool skip_unavailable_engines) {
    if (config_file_kind(file) == ConfigFileKind::native_model)
        return native_model_config(file);
    return load_model_config(file, skip_unavailable_engines);
}

}  // namespace legato
