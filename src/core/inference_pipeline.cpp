// One inference on a worker, from the raw request to the model and back: the window and hop
// copies for every AudioLayout (legato/audio_tensor_copy.hpp), the default PrePostProcessor
// (legato/pre_post_processor.hpp), and run_inference (state in, pre-process, model,
// post-process, state out). Everything between a request slot and the engine is in this file.

#include "core/inference_pipeline.hpp"

#include <algorithm>

#include "core/request_layout.hpp"
#include "core/tensor_rules.hpp"
#include "legato/audio_tensor_copy.hpp"
#include "legato/pre_post_processor.hpp"

// ---------------------------------------------------------------------------------------------
// Window and hop copies

namespace legato {

namespace {

// Position of sample `i` (0 = oldest in the window) of channel `c` in a non-sliding tensor
// holding `length` samples per channel.
std::size_t audio_index(const TensorSpec& spec, std::size_t c, std::size_t i,
                        std::size_t length) noexcept {
    return spec.layout == AudioLayout::channels_last ? i * spec.channels + c : c * length + i;
}

}  // namespace

void write_window(std::span<const float> window, std::size_t channel, const TensorView& tensor) {
    const TensorSpec& spec = *tensor.spec;
    float* data = tensor.data.data();
    const std::size_t length = core::window_length(spec);
    const std::size_t count = std::min(window.size(), length);
    switch (spec.layout) {
        case AudioLayout::channels_first:
            std::copy_n(window.data(), count, data + channel * length);
            return;
        case AudioLayout::channels_last:
            for (std::size_t i = 0; i < count; ++i)
                data[i * spec.channels + channel] = window[i];
            return;
        case AudioLayout::sliding_windows_channels_last:
        case AudioLayout::sliding_windows_channels_first: {
            const std::size_t windows = spec.hop / spec.window_hop;
            const std::size_t size = spec.window_length;
            const bool last = spec.layout == AudioLayout::sliding_windows_channels_last;
            for (std::size_t b = 0; b < windows; ++b) {
                // Window b ends with the sample at step (b + 1) * window_hop of the hop.
                const std::size_t start = spec.past_context + (b + 1) * spec.window_hop - size;
                const float* source = window.data() + start;
                if (last) {
                    float* row = data + b * size * spec.channels + channel;
                    for (std::size_t w = 0; w < size; ++w)
                        row[w * spec.channels] = source[w];
                } else {
                    std::copy_n(source, size, data + (b * spec.channels + channel) * size);
                }
            }
            return;
        }
    }
}

void read_hop(const TensorView& tensor, std::size_t channel, std::span<float> hop) {
    const TensorSpec& spec = *tensor.spec;
    const float* data = tensor.data.data();
    const std::size_t length = core::window_length(spec);
    const std::size_t count = std::min(hop.size(), spec.hop);
    for (std::size_t t = 0; t < count; ++t)
        hop[t] = data[audio_index(spec, channel, spec.past_context + t, length)];
}

void read_input_hop(const TensorView& tensor, std::size_t channel, std::span<float> hop) noexcept {
    const TensorSpec& spec = *tensor.spec;
    const float* data = tensor.data.data();
    const std::size_t count = std::min(hop.size(), spec.hop);
    if (core::is_sliding(spec.layout)) {
        // Step t of the hop is in window t / window_hop at position W - window_hop + t %
        // window_hop.
        const bool last = spec.layout == AudioLayout::sliding_windows_channels_last;
        const std::size_t size = spec.window_length;
        for (std::size_t t = 0; t < count; ++t) {
            const std::size_t b = t / spec.window_hop;
            const std::size_t w = size - spec.window_hop + t % spec.window_hop;
            hop[t] = last ? data[(b * size + w) * spec.channels + channel]
                          : data[(b * spec.channels + channel) * size + w];
        }
        return;
    }
    const std::size_t length = core::window_length(spec);
    for (std::size_t t = 0; t < count; ++t)
        hop[t] = data[audio_index(spec, channel, spec.past_context + t, length)];
}

void write_output_hop(const TensorView& tensor, std::size_t channel,
                      std::span<const float> hop) noexcept {
    const TensorSpec& spec = *tensor.spec;
    float* data = tensor.data.data();
    const std::size_t length = core::window_length(spec);
    const std::size_t count = std::min(hop.size(), spec.hop);
    for (std::size_t t = 0; t < count; ++t)
        data[audio_index(spec, channel, spec.past_context + t, length)] = hop[t];
}

}  // namespace legato

// ---------------------------------------------------------------------------------------------
// The default pre- and post-processing

namespace legato {

std::span<const float> InputWindows::samples(std::size_t input,
                                             std::size_t channel) const noexcept {
    const auto& region = layout_->inputs[input];
    return {request_ + region.offset + channel * region.length, region.length};
}

std::span<const float> InputWindows::parameter(std::size_t input) const noexcept {
    const auto& region = layout_->inputs[input];
    return {request_ + region.offset, region.length};
}

std::span<float> OutputHops::samples(std::size_t output, std::size_t channel) const noexcept {
    const auto& region = layout_->outputs[output];
    return {request_ + region.offset + channel * region.length, region.length};
}

std::span<float> OutputHops::values(std::size_t output) const noexcept {
    const auto& region = layout_->outputs[output];
    return {request_ + region.offset, region.length};
}

void PrePostProcessor::pre_process(const InputWindows& windows,
                                   std::span<const TensorView> inputs) {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const TensorSpec& spec = *inputs[i].spec;
        if (spec.role == TensorRole::audio) {
            for (std::size_t c = 0; c < spec.channels; ++c)
                write_window(windows.samples(i, c), c, inputs[i]);
        } else if (spec.role == TensorRole::parameter) {
            const auto values = windows.parameter(i);
            std::copy_n(values.data(), std::min(values.size(), inputs[i].data.size()),
                        inputs[i].data.data());
        }
    }
}

void PrePostProcessor::post_process(std::span<const TensorView> outputs, const OutputHops& hops) {
    for (std::size_t o = 0; o < outputs.size(); ++o) {
        const TensorSpec& spec = *outputs[o].spec;
        if (spec.role == TensorRole::audio) {
            for (std::size_t c = 0; c < spec.channels; ++c)
                read_hop(outputs[o], c, hops.samples(o, c));
        } else if (spec.role == TensorRole::parameter) {
            const auto values = hops.values(o);
            std::copy_n(outputs[o].data.data(), std::min(values.size(), outputs[o].data.size()),
                        values.data());
        }
    }
}

}  // namespace legato

// ---------------------------------------------------------------------------------------------
// One inference

namespace legato::core {

std::vector<StateLink> make_state_links(const InferenceConfig& config) {
    std::vector<StateLink> links;
    for (const auto& pair : config.state_pairs) {
        StateLink link;
        for (std::size_t i = 0; i < config.inputs.size(); ++i)
            if (config.inputs[i].name == pair.input)
                link.input = i;
        for (std::size_t o = 0; o < config.outputs.size(); ++o)
            if (config.outputs[o].name == pair.output)
                link.output = o;
        links.push_back(link);
    }
    return links;
}

void begin_inference(PrePostProcessor& processor, const RequestLayout& layout, ModelRun& run,
                     float* request, std::uint64_t hop_index, std::span<const StateLink> links,
                     std::span<std::vector<float>> state) {
    for (std::size_t k = 0; k < links.size(); ++k)
        std::copy(state[k].begin(), state[k].end(), run.inputs[links[k].input].data.begin());
    processor.pre_process(InputWindows(layout, request, hop_index, run.index), run.inputs);
}

void end_inference(PrePostProcessor& processor, const RequestLayout& layout, ModelRun& run,
                   float* request, std::span<const StateLink> links,
                   std::span<std::vector<float>> state) {
    processor.post_process(run.outputs, OutputHops(layout, request));
    for (std::size_t k = 0; k < links.size(); ++k) {
        const auto source = run.outputs[links[k].output].data;
        std::copy(source.begin(), source.end(), state[k].begin());
    }
}

void run_inference(PrePostProcessor& processor, const RequestLayout& layout, ModelRun& run,
                   float* request, std::uint64_t hop_index, std::span<const StateLink> links,
                   std::span<std::vector<float>> state) {
    begin_inference(processor, layout, run, request, hop_index, links, state);
    run.model->run();
    end_inference(processor, layout, run, request, links, state);
}

}  // namespace legato::core
