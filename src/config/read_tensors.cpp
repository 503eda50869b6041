// The "inputs" and "outputs" sections of a model configuration file.

#include <algorithm>
#include <string>
#include <utility>

#include "config/read_config.hpp"

namespace legato::config {

namespace {

constexpr std::string_view tensor_keys[] = {"name",       "role",         "shape",  "channels",
                                            "hop",        "past_context", "layout", "window_length",
                                            "window_hop", "default",      "range",  "label"};

TensorSpec read_tensor(const Reader& r, const Json& j, const std::string& path,
                       std::vector<ParameterInfo>* parameters) {
    r.object(j, path, tensor_keys);
    TensorSpec spec;
    if (!j.contains("name"))
        r.fail(Reader::at(path, "name"), "is required");
    spec.name = r.string(j["name"], Reader::at(path, "name"));
    if (j.contains("role"))
        spec.role = r.choice<TensorRole>(j["role"], Reader::at(path, "role"), role_names);
    if (!j.contains("shape"))
        r.fail(Reader::at(path, "shape"), "is required");
    spec.shape = r.shape(j["shape"], Reader::at(path, "shape"));
    const bool audio = spec.role == TensorRole::audio;
    // Keys that only mean something for one role are errors elsewhere, not silently ignored.
    for (const char* key :
         {"channels", "hop", "past_context", "layout", "window_length", "window_hop"})
        if (j.contains(key) && !audio)
            r.fail(Reader::at(path, key), "only audio tensors take it (role is " +
                                              std::string(role_names[static_cast<int>(spec.role)]) +
                                              ")");
    for (const char* key : {"default", "range", "label"})
        if (j.contains(key) && spec.role != TensorRole::parameter)
            r.fail(Reader::at(path, key), "only parameter tensors take it");
    if (j.contains("channels"))
        spec.channels = r.count(j["channels"], Reader::at(path, "channels"));
    if (j.contains("hop"))
        spec.hop = r.count(j["hop"], Reader::at(path, "hop"));
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
        if (j.contains("label"))
            info.label = r.string(j["label"], Reader::at(path, "label"));
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
                    r.fail(Reader::at(path, "default"), "lies outside range [" +
                                                            j["range"][0].dump() + ", " +
                                                            j["range"][1].dump() + "]");
        } else {
            info.minimum = std::min(0.0F, info.default_value);
            info.maximum = std::max(1.0F, info.default_value);
        }
        parameters->push_back(std::move(info));
    }
    return spec;
}

}  // namespace

std::vector<TensorSpec> read_tensors(const Reader& r, const Json& j, const std::string& path,
                                     std::vector<ParameterInfo>* parameters) {
    r.array(j, path);
    std::vector<TensorSpec> specs;
    for (std::size_t i = 0; i < j.size(); ++i)
        specs.push_back(read_tensor(r, j[i], Reader::at(path, i), parameters));
    return specs;
}

}  // namespace legato::config
