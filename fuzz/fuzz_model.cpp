// libFuzzer target: loading a model from bytes through one engine wrapper (chosen at compile
// time: LEGATO_FUZZ_ENGINE = "onnxruntime", "libtorch" or "tflite"). Truncated, random and
// mutated model files go through InferenceHandler::prepare() (load, tensor checks, warm-up) and
// a few process() calls. A bad model must end in legato::Error naming the problem; anything
// else that escapes, a crash or an ASan/UBSan report is a bug. Seed corpus: the project's
// models (scripts/fuzz.sh).

#include <cstdint>
#include <string>
#include <vector>

#include "legato/legato.hpp"

namespace {

legato::TensorSpec audio(const char* name, std::vector<std::int64_t> shape, std::size_t past) {
    legato::TensorSpec spec;
    spec.name = name;
    spec.shape = std::move(shape);
    spec.hop = 64;
    spec.past_context = past;
    return spec;
}

// The streaming config of models/cnn_past (the most common seed), in the engine's own layout.
legato::InferenceConfig config_for(std::vector<std::uint8_t> bytes) {
    const std::string engine = LEGATO_FUZZ_ENGINE;
    legato::InferenceConfig config;
    legato::EngineModel model{legato::make_backend(engine),
                              legato::ModelSource::memory(std::move(bytes)),
                              {},
                              {},
                              {}};
    config.inputs = {audio("audio_in", {1, 1, -1}, 40)};
    config.outputs = {audio("audio_out", {1, 1, -1}, 0)};
    if (engine == "tflite") {
        model.inputs = {{"", {1, 1, -1, 1}, legato::AudioLayout::channels_last}};
        model.outputs = {{"", {1, 1, -1, 1}, legato::AudioLayout::channels_last}};
    }
    config.engines.push_back(std::move(model));
    config.max_inference_time_ms = 2.0;
    config.warm_up = 1;
    return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        legato::InferenceHandler handler(config_for(std::vector<std::uint8_t>(data, data + size)));
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
