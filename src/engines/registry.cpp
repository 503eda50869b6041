#include "legato/engines.hpp"

#include <algorithm>
#include <cctype>
#include <system_error>

#include "legato/bypass_backend.hpp"
#include "legato/error.hpp"
#include "legato/native_backend.hpp"
#if LEGATO_HAS_ONNXRUNTIME
#include "legato/onnxruntime_backend.hpp"
#endif
#if LEGATO_HAS_LIBTORCH
#include "legato/libtorch_backend.hpp"
#endif
#if LEGATO_HAS_TFLITE
#include "legato/tflite_backend.hpp"
#endif

namespace legato {

std::vector<std::string> available_engines() {
    std::vector<std::string> names{"bypass", "native"};
#if LEGATO_HAS_ONNXRUNTIME
    names.emplace_back("onnxruntime");
#endif
#if LEGATO_HAS_LIBTORCH
    names.emplace_back("libtorch");
#endif
#if LEGATO_HAS_TFLITE
    names.emplace_back("tflite");
#endif
    return names;
}

std::shared_ptr<Backend> make_backend(std::string_view engine) {
    if (engine == "bypass")
        return make_bypass_backend();
    if (engine == "native")
        return make_native_backend();
#if LEGATO_HAS_ONNXRUNTIME
    if (engine == "onnxruntime")
        return make_onnxruntime_backend();
#endif
#if LEGATO_HAS_LIBTORCH
    if (engine == "libtorch")
        return make_libtorch_backend();
#endif
#if LEGATO_HAS_TFLITE
    if (engine == "tflite")
        return make_tflite_backend();
#endif
    std::string available;
    for (const auto& name : available_engines())
        available += (available.empty() ? "" : ", ") + name;
    const std::string name(engine);
    const char* option = engine == "onnxruntime" ? "ONNXRUNTIME"
                         : engine == "libtorch"  ? "LIBTORCH"
                         : engine == "tflite"    ? "TFLITE"
                                                 : nullptr;
    if (option != nullptr)
        throw Error("engine '" + name +
                    "' is not built into this Legato (configure with "
                    "-DLEGATO_WITH_" +
                    option + "=ON); available: " + available);
    throw Error("engine '" + name + "' is unknown; available: " + available);
}

std::string engine_for_model_file(const std::filesystem::path& file) {
    std::string extension = file.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (extension == ".onnx" || extension == ".ort")
        return "onnxruntime";
    if (extension == ".pt" || extension == ".pth" || extension == ".torchscript")
        return "libtorch";
    if (extension == ".tflite")
        return "tflite";
    if (extension == ".nam")
        return "native";
    return {};
}

std::string model_file_problem(const std::filesystem::path& file) {
    if (engine_for_model_file(file).empty())
        return file.string() + ": unknown model file extension '" + file.extension().string() +
               "'; expected .onnx or .ort (ONNX Runtime), .pt, .pth or .torchscript (LibTorch), "
               ".tflite (TensorFlow Lite), .nam (native)";
    // Checked before the engine is looked up: a missing file is the more likely mistake.
    std::error_code error;
    const auto status = std::filesystem::status(file, error);
    if (status.type() == std::filesystem::file_type::not_found)
        return "model file not found: " + file.string();
    if (error)
        return "cannot access model file " + file.string() + ": " + error.message();
    if (!std::filesystem::is_regular_file(status))
        return "model path is not a regular file: " + file.string();
    return {};
}

ModelDescription describe_model(const std::filesystem::path& file, std::string_view entry_point) {
    if (std::string problem = model_file_problem(file); !problem.empty())
        throw Error(problem);
    const std::string engine = engine_for_model_file(file);
    std::shared_ptr<Backend> backend;
    try {
        backend = make_backend(engine);
    } catch (const Error& e) {
        throw Error(file.string() + ": " + e.what());
    }
    return backend->describe(ModelSource::file(file), entry_point);
}

}  // namespace legato
