#pragma once
// One inference on a worker: state in, pre-process, model, post-process, state out.

#include <cstdint>
#include <span>
#include <vector>

#include "core/engine_runtime.hpp"
#include "core/request_layout.hpp"
#include "legato/pre_post_processor.hpp"

namespace legato::core {

/// [setup thread] The config's state pairs as tensor indices (the config is validated).
std::vector<StateLink> make_state_links(const InferenceConfig& config);

/// [worker thread] Runs one inference for the raw request at `request`. `state` holds one
/// buffer per link; it is fed into the state inputs and updated from the state outputs (only if
/// the model succeeded). Throws whatever the engine or processor throws.
void run_inference(PrePostProcessor& processor, const RequestLayout& layout, ModelRun& run,
                   float* request, std::uint64_t hop_index, std::span<const StateLink> links,
                   std::span<std::vector<float>> state);

/// [worker or runner thread] run_inference() before the model: state in, pre-process.
void begin_inference(PrePostProcessor& processor, const RequestLayout& layout, ModelRun& run,
                     float* request, std::uint64_t hop_index, std::span<const StateLink> links,
                     std::span<std::vector<float>> state);

/// [worker or runner thread] run_inference() after the model succeeded: post-process, state
/// out.
void end_inference(PrePostProcessor& processor, const RequestLayout& layout, ModelRun& run,
                   float* request, std::span<const StateLink> links,
                   std::span<std::vector<float>> state);

}  // namespace legato::core
