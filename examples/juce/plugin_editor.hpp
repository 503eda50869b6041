#pragma once
// The plugin's editor: the model's name, the engine, the mix, the latency and the late
// inferences, and a button to load another model config. Everything here runs on the message
// thread; it reads the processor through status() on a timer and never touches the audio path.

#include <cstdint>
#include <memory>

#include <juce_audio_processors/juce_audio_processors.h>

namespace legato::examples {

class ModelEffectProcessor;

class ModelEffectEditor final : public juce::AudioProcessorEditor, private juce::Timer {
public:
    /// [message thread]
    explicit ModelEffectEditor(ModelEffectProcessor& owner);
    ~ModelEffectEditor() override;

    void paint(juce::Graphics& graphics) override;
    void resized() override;

private:
    void timerCallback() override;
    void refresh();
    void choose_config();
    void engine_chosen();

    ModelEffectProcessor& processor_;
    juce::Label model_name_;
    juce::Label description_;
    juce::Label config_path_;
    juce::TextButton load_button_{"Load config..."};
    juce::Label engine_label_{{}, "Engine"};
    juce::ComboBox engine_;
    juce::Label mix_label_{{}, "Mix"};
    juce::Slider mix_{juce::Slider::LinearHorizontal, juce::Slider::TextBoxRight};
    juce::AudioProcessorValueTreeState::SliderAttachment mix_attachment_;
    juce::Label statistics_;
    juce::Label message_;  // loading errors and warnings
    std::unique_ptr<juce::FileChooser> chooser_;
    std::uint64_t shown_generation_ = ~std::uint64_t{0};

    JUCE_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(ModelEffectEditor)
};

}  // namespace legato::examples
