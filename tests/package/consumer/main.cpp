// Uses an installed Legato: streams a signal through a custom backend (a gain) and checks the
// output against the input delayed by the reported latency; inspects model files with the
// engines the installed library contains. Exits non-zero on any mismatch.
//
//   legato_consumer [MODELS_DIR]   (MODELS_DIR: Legato's models/, for the engine check)

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include <legato/legato.hpp>

namespace {

constexpr std::size_t hop = 64;
constexpr std::size_t block = 256;
constexpr std::size_t blocks = 16;
constexpr float gain = 0.5F;

float input_sample(std::size_t n) {
    return std::sin(0.01F * static_cast<float>(n)) + 0.25F * std::sin(0.37F * static_cast<float>(n));
}

// The custom backend's model is a gain: output = gain * input, delayed by latency().
int check_streaming() {
    auto model = legato::make_custom_backend("gain", [](auto inputs, auto outputs) {
        for (std::size_t i = 0; i < outputs[0].data.size(); ++i)
            outputs[0].data[i] = gain * inputs[0].data[i];
    });
    legato::InferenceConfig config;
    config.engines.push_back({model, {}, {}, {}, {}});
    legato::TensorSpec in;
    in.name = "audio_in";
    in.shape = {1, 1, -1};
    in.hop = hop;
    legato::TensorSpec out = in;
    out.name = "audio_out";
    config.inputs = {in};
    config.outputs = {out};
    config.max_inference_time_ms = 1.0;

    legato::InferenceHandler handler(config);
    legato::HostConfig host;
    host.sample_rate = 48000;
    host.max_block_size = block;
    handler.prepare(host);
    handler.set_offline_rendering(true);  // exact output whatever the machine's load
    const std::size_t latency = handler.latency();
    if (latency == 0) {
        std::fprintf(stderr, "FAIL: latency() is 0 after prepare()\n");
        return 1;
    }

    std::vector<float> output;
    std::vector<float> buffer(block);
    for (std::size_t b = 0; b < blocks; ++b) {
        for (std::size_t i = 0; i < block; ++i) buffer[i] = input_sample(b * block + i);
        float* channels[] = {buffer.data()};
        handler.process(channels, 1, channels, 1, block);
        output.insert(output.end(), buffer.begin(), buffer.end());
    }
    for (std::size_t n = 0; n < output.size(); ++n) {
        const float expected = n < latency ? 0.0F : gain * input_sample(n - latency);
        if (std::fabs(output[n] - expected) > 1e-6F) {
            std::fprintf(stderr, "FAIL: sample %zu is %.7f, expected %.7f (latency %zu)\n", n,
                         static_cast<double>(output[n]), static_cast<double>(expected), latency);
            return 1;
        }
    }
    std::printf("streaming: %zu samples match gain * input delayed by latency %zu\n",
                output.size(), latency);
    return 0;
}

// The engines are linked into the installed shared library; reading a model proves they load
// (from the library's RUNPATH) and work.
int check_engines(const std::filesystem::path& models) {
    const struct {
        const char* engine;
        const char* file;
    } files[] = {{"onnxruntime", "cnn_past.onnx"}, {"libtorch", "cnn_past.pt"},
                 {"tflite", "cnn_past.tflite"}};
    const auto engines = legato::available_engines();
    std::printf("engines:");
    for (const auto& engine : engines) std::printf(" %s", engine.c_str());
    std::printf("\n");
    for (const auto& [engine, file] : files) {
        bool built_in = false;
        for (const auto& e : engines) built_in = built_in || e == engine;
        if (!built_in) continue;
        const auto description = legato::describe_model(models / file);
        if (description.engine != engine || description.inputs.size() != 1 ||
            description.outputs.size() != 1) {
            std::fprintf(stderr, "FAIL: %s read %s as %s with %zu inputs, %zu outputs\n", engine,
                         file, description.engine.c_str(), description.inputs.size(),
                         description.outputs.size());
            return 1;
        }
        std::printf("%s: read %s\n", engine, file);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (check_streaming() != 0) return 1;
        if (argc > 1 && check_engines(argv[1]) != 0) return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "FAIL: %s\n", e.what());
        return 1;
    }
    std::printf("OK\n");
    return 0;
}
