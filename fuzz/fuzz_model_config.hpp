#pragma once
// The config the model-loading fuzz targets give each input (shared with the regression test
// tests/engines/fuzz_regressions_test.cpp, which replays fuzz/regressions/ in every build).

#include <cstdint>
#include <string>
#include <vector>

#include "legato/legato.hpp"

namespace legato::fuzz {

/// models/cnn_past's streaming config (the most common seed), in `engine`'s layout, with the
/// model given as bytes.
inline InferenceConfig model_config(const std::string& engine, std::vector<std::uint8_t> bytes) {
    auto audio = [](const char* name, std::size_t past) {
        TensorSpec spec;
        spec.name = name;
        spec.shape = {1, 1, -1};
        spec.hop = 64;
        spec.past_context = past;
        return spec;
    };
    InferenceConfig config;
    EngineModel model{make_backend(engine), ModelSource::memory(std::move(bytes)), {}, {}, {}};
    config.inputs = {audio("audio_in", 40)};
    config.outputs = {audio("audio_out", 0)};
    if (engine == "tflite") {
        model.inputs = {{"", {1, 1, -1, 1}, AudioLayout::channels_last}};
        model.outputs = {{"", {1, 1, -1, 1}, AudioLayout::channels_last}};
    }
    config.engines.push_back(std::move(model));
    config.max_inference_time_ms = 2.0;
    config.warm_up = 1;
    return config;
}

}  // namespace legato::fuzz
