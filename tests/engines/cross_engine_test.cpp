// The same model on different engines: one handler lists ONNX Runtime, LibTorch and TensorFlow
// Lite (or the native engine, ONNX Runtime and LibTorch) for one model and switches between them
// while streaming; every hop, whichever engine ran it, must match the PyTorch reference (and so
// the engines agree with each other).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "npy.hpp"
#include "stream_support.hpp"

namespace legato::test {
namespace {

std::filesystem::path model_path(const std::string& file) {
    return std::filesystem::path(LEGATO_TEST_MODELS_DIR) / file;
}

Signal load(const std::string& file) {
    const NpyArray array = read_npy(model_path(file));
    Signal signal;
    const std::size_t length = array.shape.back();
    for (std::size_t c = 0; c < array.shape.front(); ++c)
        signal.emplace_back(array.data.begin() + static_cast<std::ptrdiff_t>(c * length),
                            array.data.begin() + static_cast<std::ptrdiff_t>((c + 1) * length));
    return signal;
}

struct Model {
    std::string name;
    std::size_t channels;
    std::size_t past_context;
    bool sliding;  // hybrid: sliding windows of 32
};

// A config listing the model on all three engines, with the TFLite file's own layout.
InferenceConfig all_engines(const Model& m, std::size_t hop) {
    InferenceConfig config;
    TensorSpec in;
    in.name = m.sliding ? "windows" : "audio_in";
    in.channels = m.channels;
    in.hop = hop;
    in.past_context = m.past_context;
    TensorSpec out;
    out.name = "audio_out";
    out.channels = m.channels;
    out.hop = hop;
    TensorOverride tflite_in;
    TensorOverride tflite_out;
    const auto channels = static_cast<std::int64_t>(m.channels);
    if (m.sliding) {
        in.layout = AudioLayout::sliding_windows_channels_first;  // [B, 1, 32]
        in.window_length = 32;
        in.shape = {static_cast<std::int64_t>(hop), 1, 32};
        out.layout = AudioLayout::channels_last;
        out.shape = {static_cast<std::int64_t>(hop), 1};
        tflite_in = {"",
                     {static_cast<std::int64_t>(hop), 32, 1},
                     AudioLayout::sliding_windows_channels_last};
    } else if (m.name == "gain") {
        in.shape = {1, 1, -1};
        out.shape = {1, 1, -1};
        tflite_in = {"", {1, -1, 1}, AudioLayout::channels_last};
        tflite_out = {"", {1, -1, 1}, AudioLayout::channels_last};
    } else {  // convolutions: TFLite NHWC [1, 1, T, C]
        in.shape = {1, channels, -1};
        out.shape = {1, channels, -1};
        tflite_in = {"", {1, 1, -1, channels}, AudioLayout::channels_last};
        tflite_out = {"", {1, 1, -1, channels}, AudioLayout::channels_last};
    }
    config.inputs = {in};
    config.outputs = {out};
    std::vector<TensorOverride> tflite_inputs{tflite_in};
    std::vector<TensorOverride> tflite_outputs{tflite_out};
    if (m.name == "gain") {
        TensorSpec gain;
        gain.name = "gain";
        gain.role = TensorRole::parameter;
        gain.shape = {1};
        gain.initial_value = {0.5f};
        TensorSpec peak;
        peak.name = "peak";
        peak.role = TensorRole::parameter;
        peak.shape = {1};
        config.inputs.push_back(gain);
        config.outputs.push_back(peak);
        tflite_inputs.push_back({});
        tflite_outputs.push_back({});
    }
    config.engines.push_back(
        {make_backend("onnxruntime"), ModelSource::file(model_path(m.name + ".onnx")), {}, {}, {}});
    config.engines.push_back(
        {make_backend("libtorch"), ModelSource::file(model_path(m.name + ".pt")), {}, {}, {}});
    config.engines.push_back({make_backend("tflite"),
                              ModelSource::file(model_path(m.name + ".tflite")),
                              {},
                              tflite_inputs,
                              tflite_outputs});
    config.max_inference_time_ms = 2.0;
    return config;
}

// Streams `input` through `handler` (prepared for offline rendering at blocks of `hop`), moving
// to the next engine every three hops, and returns each engine's worst error against
// `reference` over the hops it ran.
std::vector<double> worst_error_per_engine(InferenceHandler& handler, std::size_t hop,
                                           const Signal& input, const Signal& reference) {
    const std::size_t engines = handler.config().engines.size();
    HostSimulation simulation;
    simulation.block_sizes = {hop};
    simulation.after_block = [&](std::size_t call, std::size_t) {
        handler.set_engine((call + 1) / 3 % engines);  // the next three hops on the next engine
    };
    const Signal output = stream(handler, input, handler.latency() + hop, simulation);
    std::vector<double> worst(engines, 0.0);
    for (std::size_t j = 0; (j + 1) * hop <= reference[0].size(); ++j) {
        const std::size_t engine = j / 3 % engines;  // hop j was submitted in call j
        for (std::size_t c = 0; c < reference.size(); ++c)
            for (std::size_t t = 0; t < hop; ++t)
                worst[engine] = std::max(
                    worst[engine],
                    std::abs(static_cast<double>(output[c][j * hop + t + handler.latency()]) -
                             reference[c][j * hop + t]));
    }
    return worst;
}

class CrossEngine : public ::testing::TestWithParam<Model> {};

TEST_P(CrossEngine, EveryEngineMatchesTheReferenceWhileSwitching) {
    const Model& m = GetParam();
    const std::size_t hop = 256;
    InferenceHandler handler(all_engines(m, hop));
    HostConfig host;
    host.max_block_size = 256;
    host.offline_rendering = true;
    handler.prepare(host);
    const Signal input = load(m.channels == 2 ? "stream_stereo.npy" : "stream_mono.npy");
    const Signal reference = load(m.name + ".out.npy");
    const std::vector<double> worst = worst_error_per_engine(handler, hop, input, reference);
    for (std::size_t e = 0; e < 3; ++e)
        EXPECT_LE(worst[e], 1e-5) << handler.engine_name(e) << " on " << m.name;
    std::printf("%s: max abs error onnxruntime %.3g, libtorch %.3g, tflite %.3g\n", m.name.c_str(),
                worst[0], worst[1], worst[2]);
    EXPECT_EQ(handler.statistics().failed_inferences, 0u);
}

INSTANTIATE_TEST_SUITE_P(Models, CrossEngine,
                         ::testing::Values(Model{"cnn_past", 1, 40, false},
                                           Model{"stereo", 2, 2, false}, Model{"gain", 1, 0, false},
                                           Model{"hybrid", 1, 31, true}),
                         [](const ::testing::TestParamInfo<Model>& param_info) {
                             return param_info.param.name;
                         });

// --- the native engine beside ONNX Runtime and LibTorch (models/native/, make_native.py) -------

// A stateless mono handler of hop 256 and `past_context` over the given engines and files.
InferenceConfig native_and_others(
    std::size_t past_context,
    const std::vector<std::pair<std::string, std::string>>& engine_files) {
    InferenceConfig config;
    TensorSpec in;
    in.name = "input";
    in.shape = {1, -1};
    in.hop = 256;
    in.past_context = past_context;
    TensorSpec out;
    out.name = "output";
    out.shape = {1, -1};
    out.hop = 256;
    config.inputs = {in};
    config.outputs = {out};
    for (const auto& [engine, file] : engine_files)
        config.engines.push_back(
            {make_backend(engine), ModelSource::file(model_path("native/" + file)), {}, {}, {}});
    config.max_inference_time_ms = 2.0;
    return config;
}

void expect_every_engine_matches(InferenceConfig config, const std::string& reference_file,
                                 const char* model) {
    InferenceHandler handler(std::move(config));
    HostConfig host;
    host.max_block_size = 256;
    host.offline_rendering = true;
    handler.prepare(host);
    const std::vector<double> worst = worst_error_per_engine(handler, 256, load("stream_mono.npy"),
                                                             load("native/" + reference_file));
    std::string line = model + std::string(": max abs error");
    for (std::size_t e = 0; e < worst.size(); ++e) {
        const std::string what = handler.engine_name(e) + " (" +
                                 handler.config().engines[e].model.path.filename().string() + ")";
        EXPECT_LE(worst[e], 1e-5) << what << " on " << model;
        char error[32];
        std::snprintf(error, sizeof error, " %.3g", worst[e]);
        line += (e == 0 ? " " : ", ") + what + error;
    }
    std::printf("%s\n", line.c_str());
    EXPECT_EQ(handler.statistics().failed_inferences, 0u);
    EXPECT_EQ(handler.statistics().late_inferences, 0u);
}

// Per-sample dense layers: no past, the same ONNX file on the native engine and ONNX Runtime.
TEST(NativeCrossEngine, DenseNetworkAgreesWithOnnxRuntimeAndLibTorchWhileSwitching) {
#ifndef LEGATO_NATIVE_ONNX
    GTEST_SKIP() << "the native engine was built without its ONNX importer (LEGATO_NATIVE_ONNX)";
#else
    expect_every_engine_matches(
        native_and_others(
            0, {{"native", "dense.onnx"}, {"onnxruntime", "dense.onnx"}, {"libtorch", "dense.pt"}}),
        "dense.out.npy", "dense");
#endif
}

// Dilated, grouped causal convolutions in windows of 12 samples of past + 256: the native engine
// runs the causal network (RTNeural JSON, ONNX) over the window, the others its padding-free
// twin; all give the same last 256 samples.
TEST(NativeCrossEngine, ConvolutionsInWindowsAgreeWithOnnxRuntimeAndLibTorchWhileSwitching) {
    std::vector<std::pair<std::string, std::string>> engines{{"native", "conv.json"},
                                                             {"onnxruntime", "conv_window.onnx"},
                                                             {"libtorch", "conv_window.pt"}};
#ifdef LEGATO_NATIVE_ONNX
    engines.insert(engines.begin() + 1, {"native", "conv.onnx"});
#endif
    expect_every_engine_matches(native_and_others(12, engines), "conv_window.out.npy", "conv");
}

TEST(NativeCrossEngine, AStatefulNativeModelRefusesPastContextSayingWhy) {
    InferenceConfig config = native_and_others(12, {{"native", "conv.json"}});
    config.stateful = true;
    HostConfig host;
    host.max_block_size = 256;
    try {
        InferenceHandler handler(std::move(config));
        handler.prepare(host);
        FAIL() << "prepared";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("carries its own past"), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace legato::test
