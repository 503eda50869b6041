#include "plugin_processor.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <utility>

#include <legato/engines.hpp>

#include "plugin_editor.hpp"

namespace legato::examples {

namespace {

// The state property holding the config file's path (next to the parameters).
const juce::Identifier config_property{"config"};

juce::String default_config_path() {
    if (const char* path = std::getenv("LEGATO_MODEL_CONFIG"); path != nullptr && *path != '\0')
        return juce::String::fromUTF8(path);
    return juce::String::fromUTF8(LEGATO_DEFAULT_MODEL_CONFIG);
}

// Relative paths (from the environment) are taken from the working directory.
juce::File config_file(const juce::String& path) {
    return juce::File::getCurrentWorkingDirectory().getChildFile(path);
}

juce::String message_of(const std::exception& error) {
    return juce::String::fromUTF8(error.what());
}

// [setup thread] Never throws: a failure is returned in `error`.
std::unique_ptr<ModelEffect> make_effect(const juce::File& file, juce::String& error) {
    try {
        return std::make_unique<ModelEffect>(
            std::filesystem::path(file.getFullPathName().toStdString()));
    } catch (const std::exception& e) {
        error = message_of(e);
    } catch (...) {
        error = "unknown error while loading " + file.getFullPathName();
    }
    return nullptr;
}

// [setup thread] Prepares `effect` for the host's settings with `engine` active (so that a
// measured latency is measured on the engine that will run). Never throws.
bool prepare_effect(ModelEffect& effect, double sample_rate, std::size_t max_block_size,
                    std::size_t channels, bool offline, const std::string& engine,
                    juce::String& error) {
    try {
        effect.set_offline_rendering(offline);
        effect.set_engine(engine);  // false if this config lacks it: keep its first
        effect.prepare(sample_rate, max_block_size, /*variable_block_size=*/true, channels);
        return true;
    } catch (const std::exception& e) {
        error = message_of(e);
    } catch (...) {
        error = "unknown error while preparing the model";
    }
    return false;
}

}  // namespace

ModelEffectProcessor::ModelEffectProcessor()
    : juce::AudioProcessor(BusesProperties()
                               .withInput("Input", juce::AudioChannelSet::stereo(), true)
                               .withOutput("Output", juce::AudioChannelSet::stereo(), true)),
      config_path_(config_file(default_config_path()).getFullPathName()),
      effect_(make_effect(juce::File(config_path_), error_)),
      engine_choices_(available_engines()),
      default_engine_choice_([this] {
          if (effect_ == nullptr || effect_->config().engine_names().empty()) return std::size_t{0};
          const auto first = effect_->config().engine_names().front();
          const auto found = std::find(engine_choices_.begin(), engine_choices_.end(), first);
          return found == engine_choices_.end()
                     ? std::size_t{0}
                     : static_cast<std::size_t>(found - engine_choices_.begin());
      }()),
      parameters_(*this, nullptr, "LegatoModelEffect", make_parameters()) {
    engine_parameter_ =
        dynamic_cast<juce::AudioParameterChoice*>(parameters_.getParameter(engine_parameter_id));
    mix_parameter_ =
        dynamic_cast<juce::AudioParameterFloat*>(parameters_.getParameter(mix_parameter_id));
    jassert(engine_parameter_ != nullptr && mix_parameter_ != nullptr);
    if (effect_ != nullptr) ++generation_;
}

ModelEffectProcessor::~ModelEffectProcessor() = default;

juce::AudioProcessorValueTreeState::ParameterLayout ModelEffectProcessor::make_parameters() const {
    juce::StringArray engines;
    for (const auto& engine : engine_choices_) engines.add(juce::String::fromUTF8(engine.c_str()));
    juce::AudioProcessorValueTreeState::ParameterLayout layout;
    layout.add(std::make_unique<juce::AudioParameterChoice>(
        juce::ParameterID{engine_parameter_id, 1}, "Engine", engines,
        static_cast<int>(default_engine_choice_)));
    layout.add(std::make_unique<juce::AudioParameterFloat>(
        juce::ParameterID{mix_parameter_id, 1}, "Mix", juce::NormalisableRange<float>(0.0F, 1.0F),
        1.0F,
        juce::AudioParameterFloatAttributes().withStringFromValueFunction(
            [](float value, int) { return juce::String(juce::roundToInt(value * 100.0F)) + " %"; })));
    return layout;
}

const std::string& ModelEffectProcessor::chosen_engine() const {
    const auto choice = static_cast<std::size_t>(std::max(0, engine_parameter_->getIndex()));
    return engine_choices_[std::min(choice, engine_choices_.size() - 1)];
}

bool ModelEffectProcessor::isBusesLayoutSupported(const BusesLayout& layouts) const {
    const auto& output = layouts.getMainOutputChannelSet();
    if (output != juce::AudioChannelSet::mono() && output != juce::AudioChannelSet::stereo())
        return false;
    return layouts.getMainInputChannelSet() == output;
}

void ModelEffectProcessor::prepareToPlay(double sample_rate, int maximum_block_size) {
    std::size_t latency = 0;
    {
        const juce::ScopedLock lock(setup_lock_);
        sample_rate_ = sample_rate;
        max_block_size_ = static_cast<std::size_t>(std::max(1, maximum_block_size));
        // The host does not call processBlock during prepareToPlay: audio-thread state is ours.
        applied_engine_choice_ = -1;
        effect_prepared_ = false;
        if (effect_ != nullptr) {
            juce::String error;
            effect_prepared_ = prepare_effect(*effect_, sample_rate_, max_block_size_,
                                              host_channels(), isNonRealtime(), chosen_engine(),
                                              error);
            // Kept prepared-less (pass-through) on failure; the next prepareToPlay retries.
            error_ = error;
            if (effect_prepared_) latency = effect_->latency();
        }
        processing_enabled_.store(effect_prepared_, std::memory_order_release);
    }
    // Outside the lock: hosts may call back into the processor when the latency changes.
    setLatencySamples(static_cast<int>(latency));
}

bool ModelEffectProcessor::load_config(const juce::File& file) {
    juce::String error;
    auto effect = make_effect(file, error);
    double sample_rate = 0.0;
    std::size_t max_block_size = 0;
    {
        const juce::ScopedLock lock(setup_lock_);
        sample_rate = sample_rate_;
        max_block_size = max_block_size_;
    }
    // Prepare (load, warm up, measure) while the current model keeps playing: the audio stops
    // only for the pointer swap below, not for the seconds a model may take to load.
    bool prepared = false;
    if (effect != nullptr && sample_rate > 0.0)
        prepared = prepare_effect(*effect, sample_rate, max_block_size, host_channels(),
                                  isNonRealtime(), chosen_engine(), error);
    if (effect == nullptr || (sample_rate > 0.0 && !prepared)) {
        const juce::ScopedLock lock(setup_lock_);
        error_ = error;
        ++generation_;
        return false;
    }

    std::unique_ptr<ModelEffect> previous;
    std::size_t latency = 0;
    bool swapped = false;
    suspendProcessing(true);  // returns once no processBlock runs; none starts until resumed
    {
        const juce::ScopedLock lock(setup_lock_);
        // prepareToPlay may have run with other settings meanwhile: prepare again (rare).
        if (sample_rate_ > 0.0 && (!prepared || sample_rate_ != sample_rate ||
                                   max_block_size_ != max_block_size))
            prepared = prepare_effect(*effect, sample_rate_, max_block_size_, host_channels(),
                                      isNonRealtime(), chosen_engine(), error);
        if (sample_rate_ > 0.0 && !prepared) {
            error_ = error;
        } else {
            previous = std::exchange(effect_, std::move(effect));
            effect_prepared_ = prepared;
            config_path_ = file.getFullPathName();
            error_.clear();
            applied_engine_choice_ = -1;  // the audio thread is suspended
            processing_enabled_.store(effect_prepared_, std::memory_order_release);
            latency = effect_prepared_ ? effect_->latency() : 0;
            swapped = true;
        }
        ++generation_;
    }
    suspendProcessing(false);
    if (swapped) {
        setLatencySamples(static_cast<int>(latency));
        updateHostDisplay(ChangeDetails().withNonParameterStateChanged(true));
    }
    // `previous` is destroyed here, on this thread: it waits for its running inferences.
    return swapped;
}

void ModelEffectProcessor::processBlock(juce::AudioBuffer<float>& buffer, juce::MidiBuffer&) {
    process(buffer, mix_parameter_->get());
}

void ModelEffectProcessor::processBlockBypassed(juce::AudioBuffer<float>& buffer,
                                                juce::MidiBuffer&) {
    process(buffer, 0.0F);
}

void ModelEffectProcessor::process(juce::AudioBuffer<float>& buffer, float mix) noexcept {
    juce::ScopedNoDenormals no_denormals;
    const int frames = buffer.getNumSamples();
    const int inputs = std::min(getTotalNumInputChannels(), buffer.getNumChannels());
    const int outputs = std::min(getTotalNumOutputChannels(), buffer.getNumChannels());
    if (!processing_enabled_.load(std::memory_order_acquire) || effect_ == nullptr) {
        // No model: pass the input through; outputs without an input get silence.
        for (int channel = inputs; channel < outputs; ++channel) buffer.clear(channel, 0, frames);
        return;
    }
    ModelEffect& effect = *effect_;
    // Cheap atomic stores: the host may switch between real-time and offline at any block.
    effect.set_offline_rendering(isNonRealtime());
    const int choice = engine_parameter_->getIndex();
    if (choice != applied_engine_choice_) {
        applied_engine_choice_ = choice;
        effect.set_engine(chosen_engine());  // wait-free; ignored if not in config
    }
    effect.set_mix(mix);
    effect.process(buffer.getArrayOfReadPointers(), static_cast<std::size_t>(inputs),
                   buffer.getArrayOfWritePointers(), static_cast<std::size_t>(outputs),
                   static_cast<std::size_t>(frames));
}

juce::AudioProcessorEditor* ModelEffectProcessor::createEditor() {
    return new ModelEffectEditor(*this);
}

void ModelEffectProcessor::getStateInformation(juce::MemoryBlock& destination) {
    auto state = parameters_.copyState();
    {
        const juce::ScopedLock lock(setup_lock_);
        state.setProperty(config_property, config_path_, nullptr);
    }
    if (const auto xml = state.createXml()) copyXmlToBinary(*xml, destination);
}

void ModelEffectProcessor::setStateInformation(const void* data, int size) {
    const auto xml = getXmlFromBinary(data, size);
    if (xml == nullptr || !xml->hasTagName(parameters_.state.getType())) return;
    auto state = juce::ValueTree::fromXml(*xml);
    const juce::String path = state.getProperty(config_property).toString();
    state.removeProperty(config_property, nullptr);
    parameters_.replaceState(state);
    bool same_model = false;
    {
        const juce::ScopedLock lock(setup_lock_);
        same_model = effect_ != nullptr && path == config_path_;
    }
    if (path.isNotEmpty() && !same_model) load_config(config_file(path));
}

ModelEffectProcessor::Status ModelEffectProcessor::status() const {
    const juce::ScopedLock lock(setup_lock_);
    Status status;
    status.config_path = config_path_;
    status.error = error_;
    status.generation = generation_;
    status.sample_rate = sample_rate_;
    if (effect_ == nullptr) return status;
    const auto& config = effect_->config();
    status.loaded = effect_prepared_;
    status.model_name = juce::String::fromUTF8(config.name.c_str());
    status.description = juce::String::fromUTF8(config.description.c_str());
    status.engines = config.engine_names();
    status.active_engine = effect_->handler().engine();
    status.latency_samples = effect_->latency();
    status.statistics = effect_->statistics();
    if (config.sample_rate.has_value() && sample_rate_ > 0.0 && *config.sample_rate != sample_rate_)
        status.warning = "The model expects " + juce::String(*config.sample_rate, 0) +
                         " Hz; the host runs at " + juce::String(sample_rate_, 0) + " Hz.";
    return status;
}

}  // namespace legato::examples

// [message thread] JUCE's plugin wrappers create the processor through this.
juce::AudioProcessor* JUCE_CALLTYPE createPluginFilter() {
    return new legato::examples::ModelEffectProcessor();
}
