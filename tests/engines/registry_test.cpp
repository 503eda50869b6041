// The engine registry: which engines are built in, and making them by name.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "legato/legato.hpp"

namespace legato::test {
namespace {

bool built(const std::string& engine) {
    const auto names = available_engines();
    return std::find(names.begin(), names.end(), engine) != names.end();
}

TEST(EngineRegistry, ListsWhatIsBuiltIn) {
    EXPECT_TRUE(built("bypass"));
    EXPECT_EQ(built("onnxruntime"), LEGATO_HAS_ONNXRUNTIME == 1);
    EXPECT_EQ(built("libtorch"), LEGATO_HAS_LIBTORCH == 1);
    EXPECT_EQ(built("tflite"), LEGATO_HAS_TFLITE == 1);
}

TEST(EngineRegistry, MakesEveryAvailableEngineByItsName) {
    for (const auto& name : available_engines())
        EXPECT_EQ(make_backend(name)->name(), name);
}

TEST(EngineRegistry, ExplainsWhatIsMissing) {
    auto message = [](const std::string& name) {
        try {
            make_backend(name);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message("tensorrt").find("engine 'tensorrt' is unknown; available: bypass"),
              std::string::npos);
    for (const auto& [engine, option] : {std::pair{"onnxruntime", "LEGATO_WITH_ONNXRUNTIME"},
                                         {"libtorch", "LEGATO_WITH_LIBTORCH"},
                                         {"tflite", "LEGATO_WITH_TFLITE"}}) {
        if (!built(engine)) {
            EXPECT_NE(message(engine).find(option), std::string::npos) << message(engine);
        }
    }
}

}  // namespace
}  // namespace legato::test
