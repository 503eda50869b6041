#include "legato/engines.hpp"

#include "legato/bypass_backend.hpp"
#include "legato/error.hpp"
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
    std::vector<std::string> names{"bypass"};
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

}  // namespace legato
