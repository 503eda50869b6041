#include "core/inference_pipeline.hpp"

#include <algorithm>

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

void run_inference(PrePostProcessor& processor, const RequestLayout& layout, ModelRun& run,
                   float* request, std::uint64_t hop_index, std::span<const StateLink> links,
                   std::span<std::vector<float>> state) {
    for (std::size_t k = 0; k < links.size(); ++k)
        std::copy(state[k].begin(), state[k].end(), run.inputs[links[k].input].data.begin());
    processor.pre_process(InputWindows(layout, request, hop_index, run.index), run.inputs);
    run.model->run();
    processor.post_process(run.outputs, OutputHops(layout, request));
    for (std::size_t k = 0; k < links.size(); ++k) {
        const auto source = run.outputs[links[k].output].data;
        std::copy(source.begin(), source.end(), state[k].begin());
    }
}

}  // namespace legato::core
