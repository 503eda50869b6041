// libFuzzer target: JSON model configuration files (docs/config.md). Arbitrary bytes go through
// parse_model_config() with the project's models folder as base (seeded with models/*.json,
// so the fuzzer mutates real configs); a config that parses is written back with to_json() and
// must parse again to the same text. Anything but legato::Error escaping, a crash or a
// sanitizer report is a bug.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "legato/config_file.hpp"
#include "legato/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    legato::ModelConfig config;
    try {
        config = legato::parse_model_config(text, LEGATO_MODELS_DIR, true, "fuzz.json");
    } catch (const legato::Error&) {
        return 0;
    }
    const std::string written = legato::to_json(config, LEGATO_MODELS_DIR);
    const legato::ModelConfig again =
        legato::parse_model_config(written, LEGATO_MODELS_DIR, true, "fuzz-again.json");
    if (legato::to_json(again, LEGATO_MODELS_DIR) != written) std::abort();  // not a round trip
    return 0;
}
