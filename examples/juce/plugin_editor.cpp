#include "plugin_editor.hpp"

#include <algorithm>
#include <string>

#include "plugin_processor.hpp"

namespace legato::examples {

namespace {
constexpr int margin = 12;
constexpr int row_height = 26;
}  // namespace

ModelEffectEditor::ModelEffectEditor(ModelEffectProcessor& owner)
    : juce::AudioProcessorEditor(owner),
      processor_(owner),
      mix_attachment_(owner.parameters(), ModelEffectProcessor::mix_parameter_id, mix_) {
    model_name_.setFont(juce::Font(20.0F, juce::Font::bold));
    description_.setFont(juce::Font(13.0F));
    config_path_.setFont(juce::Font(12.0F));
    config_path_.setColour(juce::Label::textColourId, juce::Colours::grey);
    statistics_.setFont(juce::Font(13.0F));
    message_.setFont(juce::Font(13.0F));
    message_.setJustificationType(juce::Justification::topLeft);
    for (auto* component : std::initializer_list<juce::Component*>{
             &model_name_, &description_, &config_path_, &load_button_, &engine_label_, &engine_,
             &mix_label_, &mix_, &statistics_, &message_})
        addAndMakeVisible(component);
    load_button_.onClick = [this] { choose_config(); };
    engine_.onChange = [this] { engine_chosen(); };
    setSize(520, 300);
    refresh();
    startTimerHz(5);
}

ModelEffectEditor::~ModelEffectEditor() { stopTimer(); }

void ModelEffectEditor::paint(juce::Graphics& graphics) {
    graphics.fillAll(getLookAndFeel().findColour(juce::ResizableWindow::backgroundColourId));
}

void ModelEffectEditor::resized() {
    auto area = getLocalBounds().reduced(margin);
    auto top = area.removeFromTop(row_height + 4);
    load_button_.setBounds(top.removeFromRight(130));
    model_name_.setBounds(top);
    description_.setBounds(area.removeFromTop(row_height));
    config_path_.setBounds(area.removeFromTop(row_height - 6));
    area.removeFromTop(6);
    auto engine_row = area.removeFromTop(row_height);
    engine_label_.setBounds(engine_row.removeFromLeft(70));
    engine_.setBounds(engine_row.removeFromLeft(200));
    area.removeFromTop(6);
    auto mix_row = area.removeFromTop(row_height);
    mix_label_.setBounds(mix_row.removeFromLeft(70));
    mix_.setBounds(mix_row);
    area.removeFromTop(6);
    statistics_.setBounds(area.removeFromTop(2 * row_height));
    message_.setBounds(area);
}

void ModelEffectEditor::timerCallback() { refresh(); }

void ModelEffectEditor::refresh() {
    const auto status = processor_.status();
    const auto& choices = processor_.engine_choices();
    // The combo lists this config's engines; item id = index into the parameter's choices + 1.
    const auto choice_of = [&choices](const std::string& engine) {
        const auto found = std::find(choices.begin(), choices.end(), engine);
        return found == choices.end() ? -1 : static_cast<int>(found - choices.begin());
    };
    if (status.generation != shown_generation_) {
        shown_generation_ = status.generation;
        model_name_.setText(status.model_name.isNotEmpty() ? status.model_name : "(no model)",
                            juce::dontSendNotification);
        description_.setText(status.description, juce::dontSendNotification);
        config_path_.setText(status.config_path, juce::dontSendNotification);
        engine_.clear(juce::dontSendNotification);
        for (const auto& engine : status.engines)
            if (const int choice = choice_of(engine); choice >= 0)
                engine_.addItem(juce::String::fromUTF8(engine.c_str()), choice + 1);
    }
    if (status.active_engine < status.engines.size())
        engine_.setSelectedId(choice_of(status.engines[status.active_engine]) + 1,
                              juce::dontSendNotification);

    if (status.loaded) {
        const auto& statistics = status.statistics;
        const double latency_ms =
            status.sample_rate > 0.0
                ? 1000.0 * static_cast<double>(status.latency_samples) / status.sample_rate
                : 0.0;
        statistics_.setText(
            "Latency: " + juce::String(status.latency_samples) + " samples (" +
                juce::String(latency_ms, 2) + " ms), inference bound " +
                juce::String(statistics.max_inference_time_ms, 2) + " ms\nLate inferences: " +
                juce::String(static_cast<juce::int64>(statistics.late_inferences)) +
                ", failed: " + juce::String(static_cast<juce::int64>(statistics.failed_inferences)) +
                ", slowest: " + juce::String(statistics.max_inference_ms, 2) + " ms",
            juce::dontSendNotification);
    } else {
        statistics_.setText(status.model_name.isNotEmpty()
                                ? "Not playing yet: the model is prepared when the host starts."
                                : "No model: the audio passes through unchanged.",
                            juce::dontSendNotification);
    }
    const bool failed = status.error.isNotEmpty();
    message_.setColour(juce::Label::textColourId,
                       failed ? juce::Colours::orangered : juce::Colours::orange);
    message_.setText(failed ? status.error : status.warning, juce::dontSendNotification);
}

void ModelEffectEditor::choose_config() {
    const auto current = juce::File(processor_.status().config_path);
    chooser_ = std::make_unique<juce::FileChooser>("Load a Legato model config",
                                                   current.getParentDirectory(), "*.json");
    chooser_->launchAsync(
        juce::FileBrowserComponent::openMode | juce::FileBrowserComponent::canSelectFiles,
        [this](const juce::FileChooser& chooser) {
            const auto file = chooser.getResult();
            if (file == juce::File()) return;  // cancelled
            processor_.load_config(file);      // errors show up in refresh()
            refresh();
        });
}

void ModelEffectEditor::engine_chosen() {
    const int choice = engine_.getSelectedId() - 1;
    auto* parameter = processor_.parameters().getParameter(ModelEffectProcessor::engine_parameter_id);
    if (choice < 0 || parameter == nullptr) return;
    parameter->beginChangeGesture();
    parameter->setValueNotifyingHost(parameter->convertTo0to1(static_cast<float>(choice)));
    parameter->endChangeGesture();
}

}  // namespace legato::examples
