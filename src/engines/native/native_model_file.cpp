#include "native_model_file.hpp"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "legato/error.hpp"
#include "onnx_import.hpp"
#include "rtneural_json.hpp"

namespace legato::native {

std::unique_ptr<StreamModel> load_model(const ModelSource& source, const NamOptions& nam) {
    const std::string where = source.describe();
    std::string text;
    if (!source.bytes.empty()) {
        text.assign(source.bytes.begin(), source.bytes.end());
    } else {
        std::ifstream file(source.path, std::ios::binary);
        if (!file)
            throw Error("cannot read native model file " + where);
        text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    // ONNX by content (a protobuf ModelProto starts with its ir_version) or by extension.
    std::string extension = source.path.extension().string();
    for (char& c : extension)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (looks_like_onnx(text) || (source.bytes.empty() && extension == ".onnx")) {
#ifdef LEGATO_NATIVE_ONNX
        return load_onnx(text, where);
#else
        throw Error(where +
                    ": an ONNX model, but this build of Legato has no ONNX importer for the "
                    "native engine (built without libonnx-dev, as the WebAssembly build is); use "
                    "the onnxruntime engine or an RTNeural JSON / NAM file");
#endif
    }
    const nlohmann::json root = nlohmann::json::parse(text, nullptr, false);
    if (root.is_discarded())
        throw Error(where +
                    ": not a native model: not JSON and not ONNX (the native engine reads "
                    "RTNeural JSON, NAM .nam and ONNX files)");
    if (root.is_object() && root.contains("architecture"))
        return load_nam(text, where, nam);
    if (root.is_object() && root.contains("layers"))
        return load_rtneural_json(text, where);
    throw Error(where +
                ": not a native model: neither a NAM file (no \"architecture\") nor an "
                "RTNeural model (no \"layers\")");
}

ModelDescription description(const StreamModel& model) {
    const ModelInfo& info = model.info();
    ModelDescription d;
    d.engine = "native";
    d.format_details = info.format + ": " + info.architecture;
    if (info.sample_rate > 0)
        d.sample_rate = info.sample_rate;
    d.metadata = info.metadata;
    if (info.sample_rate > 0)
        d.format_details +=
            "; trained at " + std::to_string(static_cast<long>(info.sample_rate)) + " Hz";
    d.format_details +=
        info.receptive_field == 0
            ? "; recurrent (unbounded memory)"
            : "; receptive field " + std::to_string(info.receptive_field) + " samples";
    for (const auto& [key, value] : info.metadata)
        d.format_details += "; " + key + " " + value;
    if (!info.size_breakpoints.empty()) {
        // NAM's SetSlimmableSize ratios at which a larger variant takes over.
        std::string sizes;
        for (double point : info.size_breakpoints) {
            char text[32];
            std::snprintf(text, sizeof text, "%.3g", point);
            sizes += (sizes.empty() ? "" : ", ") + std::string(text);
        }
        d.format_details += "; slimmable: the size changes at " + sizes;
    }
    const auto tensor = [](const char* name, std::size_t values) {
        TensorDescription t;
        t.name = name;
        t.element_type = "float32";
        t.shape_known = true;
        if (values == 1) {
            t.shape = {1, 1, -1};
            t.dimension_names = {"", "", "hop"};
        } else {
            t.shape = {1, -1, static_cast<std::int64_t>(values)};
            t.dimension_names = {"", "hop", ""};
        }
        return t;
    };
    d.inputs.push_back(tensor("input", model.input_size()));
    d.outputs.push_back(tensor("output", model.output_size()));
    d.notes.push_back(
        "a streaming model: state carries from hop to hop, so run it with "
        "\"stateful\": true and no past context; any hop size works");
    return d;
}

}  // namespace legato::native
