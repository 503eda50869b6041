#include "core/request_layout.hpp"

namespace legato::core {

RequestLayout make_request_layout(const InferenceConfig& config) {
    RequestLayout layout;
    std::size_t offset = 0;
    auto place = [&offset](std::size_t channels, std::size_t length) {
        RequestLayout::Region region{offset, channels, length};
        offset += channels * length;
        return region;
    };
    for (const auto& spec : config.inputs) {
        if (spec.role == TensorRole::audio)
            layout.inputs.push_back(place(spec.channels, spec.past_context + spec.hop));
        else if (spec.role == TensorRole::parameter)
            layout.inputs.push_back(place(1, element_count(spec.shape)));
        else
            layout.inputs.push_back({});
    }
    for (const auto& spec : config.outputs) {
        if (spec.role == TensorRole::audio)
            layout.outputs.push_back(place(spec.channels, spec.hop));
        else if (spec.role == TensorRole::parameter)
            layout.outputs.push_back(place(1, element_count(spec.shape)));
        else
            layout.outputs.push_back({});
    }
    // Requests sit side by side and are written by different workers: keep them on separate
    // cache lines.
    constexpr std::size_t floats_per_line = 64 / sizeof(float);
    layout.stride = (offset + floats_per_line - 1) / floats_per_line * floats_per_line;
    if (layout.stride == 0)
        layout.stride = floats_per_line;
    return layout;
}

}  // namespace legato::core
