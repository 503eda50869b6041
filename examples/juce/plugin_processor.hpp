#pragma once
// The JUCE plugin's AudioProcessor: translates JUCE's calls (prepareToPlay, processBlock, state,
// latency reporting) into the shared ModelEffect's, and swaps in another model config loaded on
// the message thread without stopping the audio for longer than a pointer swap.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <juce_audio_processors/juce_audio_processors.h>

#include <legato/statistics.hpp>

#include "model_effect.hpp"

namespace legato::examples {

class ModelEffectProcessor final : public juce::AudioProcessor {
public:
    /// Parameter IDs (also the names hosts automate and sessions store).
    static constexpr const char* engine_parameter_id = "engine";
    static constexpr const char* mix_parameter_id = "mix";

    /// [message thread] Loads the default config: $LEGATO_MODEL_CONFIG if set, else the
    /// compiled-in models/cnn_past.json. A config that fails to load leaves the plugin passing
    /// audio through unchanged, with the error shown in the editor; it never throws.
    ModelEffectProcessor();
    /// [message thread] The host has stopped processing.
    ~ModelEffectProcessor() override;

    /// [setup thread] Loads the models (first time), sizes every buffer and reports the latency
    /// with setLatencySamples(). A model that fails to prepare is dropped (pass-through) and its
    /// error shown.
    void prepareToPlay(double sample_rate, int maximum_block_size) override;
    /// [setup thread] Nothing to free: the effect stays prepared for the next prepareToPlay().
    void releaseResources() override {}
    /// [setup thread] Mono or stereo, the same on input and output.
    bool isBusesLayoutSupported(const BusesLayout& layouts) const override;

    /// [audio thread, wait-free in real-time mode] Runs the model with the "mix" parameter.
    /// Allocation- and lock-free: reads atomics, may switch the engine (wait-free), processes.
    void processBlock(juce::AudioBuffer<float>& buffer, juce::MidiBuffer& midi) override;
    /// [audio thread] Bypassed: the dry signal, still delayed by the reported latency, so the
    /// host's delay compensation stays right while bypass is toggled.
    void processBlockBypassed(juce::AudioBuffer<float>& buffer, juce::MidiBuffer& midi) override;
    using juce::AudioProcessor::processBlock;
    using juce::AudioProcessor::processBlockBypassed;

    /// [message thread]
    juce::AudioProcessorEditor* createEditor() override;
    bool hasEditor() const override { return true; }

    const juce::String getName() const override { return JucePlugin_Name; }
    bool acceptsMidi() const override { return false; }
    bool producesMidi() const override { return false; }
    bool isMidiEffect() const override { return false; }
    double getTailLengthSeconds() const override { return 0.0; }
    int getNumPrograms() override { return 1; }
    int getCurrentProgram() override { return 0; }
    void setCurrentProgram(int) override {}
    const juce::String getProgramName(int) override { return {}; }
    void changeProgramName(int, const juce::String&) override {}

    /// [message thread] The state: the config file's path, the engine and the mix.
    void getStateInformation(juce::MemoryBlock& destination) override;
    /// [message thread] Restores the parameters and loads the stored config if it differs from
    /// the current one (a missing file keeps the current model and shows the error).
    void setStateInformation(const void* data, int size) override;

    /// [message thread] Loads `file` (JSON model config), prepares it for the current playback
    /// settings while the current model keeps playing, then swaps it in with processing
    /// suspended for the swap only and reports the new latency. On failure the current model
    /// stays, the error is kept for status() and false is returned. Never throws.
    bool load_config(const juce::File& file);

    /// What the editor shows.
    struct Status {
        bool loaded = false;              ///< a model is loaded and prepared (else pass-through)
        juce::String model_name;
        juce::String description;
        juce::String config_path;         ///< the config last asked for (state keeps it)
        juce::String error;               ///< the last loading / preparing error, empty if none
        juce::String warning;             ///< e.g. the host's sample rate differs from the model's
        std::vector<std::string> engines; ///< this config's engines
        std::size_t active_engine = 0;    ///< index into engines
        std::size_t latency_samples = 0;
        double sample_rate = 0.0;
        Statistics statistics;
        std::uint64_t generation = 0;     ///< changes whenever another model is swapped in
    };
    /// [any thread but the audio thread] A snapshot for the editor; may briefly wait for a
    /// model being swapped in.
    Status status() const;

    /// [any thread] The parameters (the editor attaches its controls to them).
    juce::AudioProcessorValueTreeState& parameters() noexcept { return parameters_; }
    /// [any thread] The engine parameter's choices: every engine this build of Legato has, so
    /// that a session's choice means the same engine whichever config is loaded. An engine
    /// the current config lacks is ignored (the model keeps its engine).
    const std::vector<std::string>& engine_choices() const noexcept { return engine_choices_; }

private:
    juce::AudioProcessorValueTreeState::ParameterLayout make_parameters() const;
    void process(juce::AudioBuffer<float>& buffer, float mix) noexcept;
    // The engine name the engine parameter currently selects.
    const std::string& chosen_engine() const;
    /// [setup thread] The channels the host will bring (a mono model then runs per channel).
    std::size_t host_channels() const {
        return static_cast<std::size_t>(
            std::max({getTotalNumInputChannels(), getTotalNumOutputChannels(), 1}));
    }
    void report_latency();

    // The effect, swapped on the message thread while processing is suspended (JUCE's wrappers
    // hold the callback lock around processBlock, suspendProcessing takes it), so the audio
    // thread never sees it change mid-block. setup_lock_ guards it against the other setup
    // calls (prepareToPlay, status()). Lock order: callback lock, then setup_lock_.
    // (Declared first: the constructor loads the default config before making the parameters,
    // whose default engine is the config's first.)
    mutable juce::CriticalSection setup_lock_;
    juce::String config_path_;  // guarded by setup_lock_, like everything down to generation_
    juce::String error_;
    std::unique_ptr<ModelEffect> effect_;
    bool effect_prepared_ = false;
    double sample_rate_ = 0.0;  // the last prepareToPlay's settings; 0 = never prepared
    std::size_t max_block_size_ = 0;
    std::uint64_t generation_ = 0;

    std::vector<std::string> engine_choices_;
    std::size_t default_engine_choice_ = 0;
    juce::AudioProcessorValueTreeState parameters_;
    juce::AudioParameterChoice* engine_parameter_ = nullptr;
    juce::AudioParameterFloat* mix_parameter_ = nullptr;

    // Audio thread only: the engine choice last passed to set_engine(); -1 = apply again.
    int applied_engine_choice_ = -1;
    // Set with processing suspended or in prepareToPlay; read by the audio thread.
    std::atomic<bool> processing_enabled_{false};

    JUCE_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(ModelEffectProcessor)
};

}  // namespace legato::examples
