// libFuzzer target: loading a model from bytes through one engine wrapper (chosen at compile
// time: LEGATO_FUZZ_ENGINE = "onnxruntime", "libtorch" or "tflite"). Truncated, random and
// mutated model files go through InferenceHandler::prepare() (load, tensor checks, warm-up) and
// a few process() calls. A bad model must end in legato::Error naming the problem; anything
// else that escapes, a crash or an ASan/UBSan report is a bug. Seed corpus: the project's
// models (scripts/fuzz.sh).

#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_model_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        legato::InferenceHandler handler(legato::fuzz::model_config(
            LEGATO_FUZZ_ENGINE, std::vector<std::uint8_t>(data, data + size)));
        legato::HostConfig host;
        host.max_block_size = 64;
        host.offline_rendering = true;
        handler.prepare(host);
        std::vector<float> buffer(64, 0.5f);
        float* channels[1] = {buffer.data()};
        for (int call = 0; call < 3; ++call)
            handler.process(channels, 1, 64);
    } catch (const legato::Error&) {
        // The expected outcome for a broken model: a clear error.
    }
    return 0;
}
