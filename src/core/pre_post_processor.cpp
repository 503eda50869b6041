#include "legato/pre_post_processor.hpp"

#include <algorithm>

#include "core/request_layout.hpp"

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
