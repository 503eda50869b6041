// Loads the built VST3 with JUCE's own hosting classes, as a DAW would, and checks it sample by
// sample: the reported latency equals an InferenceHandler's for the same config, the output is
// the model's reference delayed by that latency on every engine the config has, mix 0 gives the
// input delayed exactly, a missing config passes audio through, and the state restores the model.
//
//   legato_juce_vst3_host_test PLUGIN_SO MODELS_DIR WORK_DIR
//
// PLUGIN_SO is the .so inside the bundle (<name>.vst3/Contents/x86_64-linux/<name>.so).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <juce_audio_processors/juce_audio_processors.h>

#include <legato/config_file.hpp>
#include <legato/host_config.hpp>
#include <legato/inference_handler.hpp>

#include "npy.hpp"

namespace {

constexpr double sample_rate = 48000.0;
constexpr int block_size = 256;
constexpr float tolerance = 1e-5F;
// A fixed inference-time bound instead of "measure": two handlers then agree on the latency.
constexpr double max_inference_time_ms = 4.0;

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void check(bool condition, const std::string& message) {
    if (!condition) throw Failure(message);
}

juce::AudioProcessorParameter& parameter_named(juce::AudioPluginInstance& plugin,
                                               const juce::String& name) {
    for (auto* parameter : plugin.getParameters())
        if (parameter->getName(64) == name) return *parameter;
    throw Failure("the plugin has no parameter named \"" + name.toStdString() + "\"");
}

// Sets the engine parameter to `engine` by its displayed choice text.
void choose_engine(juce::AudioPluginInstance& plugin, const std::string& engine) {
    auto& parameter = parameter_named(plugin, "Engine");
    const int steps = parameter.getNumSteps();
    check(steps >= 2, "the engine parameter is not a choice");
    for (int step = 0; step < steps; ++step) {
        const float value = static_cast<float>(step) / static_cast<float>(steps - 1);
        if (parameter.getText(value, 64).trim() == juce::String(engine)) {
            parameter.setValue(value);
            return;
        }
    }
    throw Failure("the engine parameter has no choice \"" + engine + "\"");
}

// The plugin reports a new latency asynchronously (VST3 restartComponent(kLatencyChanged) from
// its own message thread, which JUCE's host handles on the host's message thread), as it does
// in a DAW: run the host's message loop until the latency reads `expected`, for at most 10 s
// (at least `minimum_ms`, for an expected value that is already there).
std::size_t wait_for_latency(juce::AudioPluginInstance& plugin, std::size_t expected,
                             int minimum_ms = 0) {
    const auto start = juce::Time::getMillisecondCounter();
    for (;;) {
        const auto elapsed = juce::Time::getMillisecondCounter() - start;
        const auto latency = static_cast<std::size_t>(std::max(0, plugin.getLatencySamples()));
        if ((latency == expected && elapsed >= static_cast<juce::uint32>(minimum_ms)) ||
            elapsed > 10000)
            return latency;
        juce::MessageManager::getInstance()->runDispatchLoopUntil(5);
    }
}

// Renders `input` (mono, put on both channels) followed by silence through the plugin in blocks
// of block_size, with offline rendering (exact output whatever the machine's load). Returns the
// two output channels.
std::vector<std::vector<float>> render(juce::AudioPluginInstance& plugin,
                                       const std::vector<float>& input, std::size_t frames,
                                       std::size_t expected_latency, std::size_t& latency) {
    plugin.setNonRealtime(true);
    plugin.prepareToPlay(sample_rate, block_size);
    latency = wait_for_latency(plugin, expected_latency, expected_latency == 0 ? 300 : 0);
    juce::AudioBuffer<float> buffer(2, block_size);
    juce::MidiBuffer midi;
    std::vector<std::vector<float>> output(2, std::vector<float>(frames, 0.0F));
    for (std::size_t start = 0; start < frames; start += block_size) {
        const auto count = std::min<std::size_t>(block_size, frames - start);
        buffer.setSize(2, static_cast<int>(count), false, false, true);
        for (int channel = 0; channel < 2; ++channel)
            for (std::size_t i = 0; i < count; ++i)
                buffer.setSample(channel, static_cast<int>(i),
                                 start + i < input.size() ? input[start + i] : 0.0F);
        plugin.processBlock(buffer, midi);
        for (int channel = 0; channel < 2; ++channel)
            std::copy_n(buffer.getReadPointer(channel), count,
                        output[static_cast<std::size_t>(channel)].begin() +
                            static_cast<std::ptrdiff_t>(start));
    }
    plugin.releaseResources();
    return output;
}

// Every output channel must equal `expected` delayed by `latency` (zeros before), over
// `compared` frames, within `allowed` (0 = bit-exact).
void check_delayed(const std::vector<std::vector<float>>& output,
                   const std::vector<float>& expected, std::size_t latency, std::size_t compared,
                   float allowed, const std::string& what) {
    for (std::size_t channel = 0; channel < output.size(); ++channel) {
        float worst = 0.0F;
        std::size_t worst_frame = 0;
        for (std::size_t n = 0; n < compared; ++n) {
            const float want =
                n < latency || n - latency >= expected.size() ? 0.0F : expected[n - latency];
            const float error = std::abs(output[channel][n] - want);
            if (!(error <= worst)) {  // NaN counts as worst
                worst = error;
                worst_frame = n;
            }
        }
        std::printf("  %s, channel %zu: max abs error %.3g (frame %zu)\n", what.c_str(), channel,
                    static_cast<double>(worst), worst_frame);
        check(worst <= allowed, what + ": channel " + std::to_string(channel) +
                                    " differs from the reference by " + std::to_string(worst) +
                                    " at frame " + std::to_string(worst_frame) + " (allowed " +
                                    std::to_string(allowed) + ")");
    }
}

std::unique_ptr<juce::AudioPluginInstance> load_plugin(juce::VST3PluginFormat& format,
                                                       const juce::String& bundle) {
    juce::OwnedArray<juce::PluginDescription> types;
    format.findAllTypesForFile(types, bundle);
    check(!types.isEmpty(), "no VST3 plugin found in " + bundle.toStdString());
    juce::String error;
    auto plugin = format.createInstanceFromDescription(*types[0], sample_rate, block_size, error);
    check(plugin != nullptr, "could not instantiate " + bundle.toStdString() + ": " +
                                 error.toStdString());
    check(plugin->getTotalNumInputChannels() == 2 && plugin->getTotalNumOutputChannels() == 2,
          "expected a stereo effect, got " + std::to_string(plugin->getTotalNumInputChannels()) +
              " in / " + std::to_string(plugin->getTotalNumOutputChannels()) + " out");
    return plugin;
}

void run(const std::filesystem::path& plugin_so, const std::filesystem::path& models,
         const std::filesystem::path& work) {
    // The config under test: cnn_past with a fixed inference-time bound, written next to the
    // test's other files (model paths stay valid: to_json writes them relative to `work`).
    std::filesystem::create_directories(work);
    auto config = legato::load_model_config(models / "cnn_past.json",
                                            /*skip_unavailable_engines=*/true);
    config.inference.max_inference_time_ms = max_inference_time_ms;
    const auto config_file = work / "cnn_past_fixed.json";
    std::ofstream(config_file) << legato::to_json(config, work);

    // What a handler with the same config and host settings reports (JUCE hosts may vary the
    // block size, so the plugin prepares for variable blocks).
    std::size_t expected_latency = 0;
    {
        const auto reloaded = legato::load_model_config(config_file, true);
        legato::InferenceHandler handler(reloaded.inference,
                                         legato::Context::shared(reloaded.context));
        legato::HostConfig host;
        host.sample_rate = sample_rate;
        host.max_block_size = block_size;
        host.variable_block_size = true;
        handler.prepare(host);
        expected_latency = handler.latency();
    }
    std::printf("config %s: engines", config_file.c_str());
    for (const auto& engine : config.engine_names()) std::printf(" %s", engine.c_str());
    std::printf("; expected latency %zu samples\n", expected_latency);

    const auto input = legato::test::read_npy(models / "stream_mono.npy").data;
    const auto reference = legato::test::read_npy(models / "cnn_past.out.npy").data;
    check(input.size() == reference.size(), "stream_mono.npy and cnn_past.out.npy differ in size");
    const std::size_t compared = input.size() + expected_latency;
    const std::size_t frames = (compared + block_size - 1) / block_size * block_size;

    // The plugin's default config comes from LEGATO_MODEL_CONFIG.
    check(setenv("LEGATO_MODEL_CONFIG", config_file.c_str(), 1) == 0, "setenv failed");
    const juce::String bundle = juce::File(juce::String(plugin_so.string()))
                                    .getParentDirectory()
                                    .getParentDirectory()
                                    .getParentDirectory()
                                    .getFullPathName();
    juce::VST3PluginFormat format;
    auto plugin = load_plugin(format, bundle);
    std::printf("loaded %s (%s)\n", plugin->getName().toRawUTF8(), bundle.toRawUTF8());

    // The wet signal on every engine the config has, switched through the engine parameter.
    for (const auto& engine : config.engine_names()) {
        choose_engine(*plugin, engine);
        std::size_t latency = 0;
        const auto output = render(*plugin, input, frames, expected_latency, latency);
        std::printf("engine %s: reported latency %zu\n", engine.c_str(), latency);
        check(latency == expected_latency,
              "the plugin reports a latency of " + std::to_string(latency) + " samples, the handler " +
                  std::to_string(expected_latency));
        check_delayed(output, reference, latency, compared, tolerance, "wet (" + engine + ")");
    }

    // Mix 0: the dry signal, delayed by the same latency, bit-exact.
    auto& mix = parameter_named(*plugin, "Mix");
    mix.setValue(0.0F);
    std::size_t latency = 0;
    const auto dry = render(*plugin, input, frames, expected_latency, latency);
    check(latency == expected_latency, "mix 0: latency " + std::to_string(latency));
    check_delayed(dry, input, expected_latency, frames, 0.0F, "mix 0");

    // The state: a second instance whose default config is missing passes audio through
    // unchanged with no latency, then restores the first one's model from its state.
    mix.setValue(1.0F);
    choose_engine(*plugin, config.engine_names().front());
    juce::MemoryBlock state;
    plugin->getStateInformation(state);
    plugin.reset();

    const auto missing = work / "no_such_config.json";
    check(setenv("LEGATO_MODEL_CONFIG", missing.c_str(), 1) == 0, "setenv failed");
    auto second = load_plugin(format, bundle);
    const auto through = render(*second, input, frames, 0, latency);
    check(latency == 0, "without a model the latency must be 0, got " + std::to_string(latency));
    check_delayed(through, input, 0, frames, 0.0F, "no model (pass-through)");

    second->setStateInformation(state.getData(), static_cast<int>(state.getSize()));
    const auto restored = render(*second, input, frames, expected_latency, latency);
    check(latency == expected_latency, "after restoring the state the latency is " +
                                           std::to_string(latency) + ", expected " +
                                           std::to_string(expected_latency));
    check_delayed(restored, reference, expected_latency, compared, tolerance, "restored state");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s PLUGIN_SO MODELS_DIR WORK_DIR\n", argv[0]);
        return 2;
    }
    // A message manager for JUCE's hosting classes; no window is opened, no display needed.
    juce::ScopedJuceInitialiser_GUI juce;
    try {
        run(argv[1], argv[2], argv[3]);
    } catch (const Failure& failure) {
        std::fprintf(stderr, "FAILED: %s\n", failure.what());
        return 1;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "ERROR: %s\n", error.what());
        return 1;
    }
    std::printf("PASSED\n");
    return 0;
}
