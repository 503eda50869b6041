// The "engines" section of a model configuration file: which engines run the model, with their
// model files and per-engine tensor overrides.

#include <algorithm>
#include <string>
#include <utility>

#include "config/read_config.hpp"
#include "legato/engines.hpp"
#include "legato/error.hpp"

namespace legato::config {

namespace {

constexpr std::string_view engine_keys[] = {"engine", "model", "entry_point", "inputs", "outputs"};
constexpr std::string_view override_keys[] = {"name", "shape", "layout"};

TensorOverride read_override(const Reader& r, const Json& j, const std::string& path) {
    r.object(j, path, override_keys);
    TensorOverride o;
    if (j.contains("name"))
        o.name = r.string(j["name"], Reader::at(path, "name"));
    if (j.contains("shape"))
        o.shape = r.shape(j["shape"], Reader::at(path, "shape"));
    if (j.contains("layout"))
        o.layout = r.choice<AudioLayout>(j["layout"], Reader::at(path, "layout"), layout_names);
    return o;
}

}  // namespace

std::vector<EngineModel> read_engines(const Reader& r, const Json& value,
                                      const std::filesystem::path& base, bool skip_unavailable) {
    const Json& engines = r.array(value, "engines");
    if (engines.empty())
        r.fail("engines", "must name at least one engine");
    const auto available = available_engines();
    std::vector<EngineModel> models;
    std::vector<std::string> skipped;
    for (std::size_t e = 0; e < engines.size(); ++e) {
        const std::string path = Reader::at("engines", e);
        const Json& j = r.object(engines[e], path, engine_keys);
        if (!j.contains("engine"))
            r.fail(Reader::at(path, "engine"), "is required");
        const std::string name = r.string(j["engine"], Reader::at(path, "engine"));
        if (name == "custom")
            r.fail(Reader::at(path, "engine"),
                   "custom backends need code: add them with make_custom_backend() after loading");
        EngineModel engine;
        if (j.contains("model")) {
            std::filesystem::path model = r.string(j["model"], Reader::at(path, "model"));
            if (model.empty())
                r.fail(Reader::at(path, "model"), "must not be empty");
            if (model.is_relative())
                model = base / model;
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
            if (!j.contains(list))
                continue;
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
        models.push_back(std::move(engine));
    }
    if (models.empty()) {
        std::string list;
        for (const auto& name : skipped)
            list += (list.empty() ? "" : ", ") + name;
        std::string have;
        for (const auto& name : available)
            have += (have.empty() ? "" : ", ") + name;
        r.fail("engines",
               "none of the engines (" + list + ") is built into this Legato; it has " + have);
    }
    return models;
}

}  // namespace legato::config
