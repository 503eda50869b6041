#pragma once
// InferenceConfig: everything about a model that does not depend on the host.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "legato/backend.hpp"
#include "legato/model_source.hpp"
#include "legato/pre_post_processor.hpp"
#include "legato/tensor_spec.hpp"

namespace legato {

/// What replaces a hop whose inference was not finished when its output was due.
enum class LatePolicy {
    silence,      ///< zeros
    dry,          ///< the input, delayed by latency() like the processed signal would be
    repeat_last,  ///< the previous hop's output again
};

/// Whether process() runs the model itself, on the audio thread, with zero latency.
enum class InlineMode {
    automatic,  ///< inline when the engine can and its measured cost fits inline_budget
    always,     ///< inline, or prepare() fails naming why it cannot
    never,      ///< always through the worker pool
};

/// Per-engine differences in how the same model is exposed: e.g. TFLite names "args_0" and a
/// [1, T, C] layout where ONNX has "data" and [1, C, T]. Empty fields keep the config's value.
struct TensorOverride {
    std::string name;
    std::vector<std::int64_t> shape;
    std::optional<AudioLayout> layout;
};

/// One engine the handler can run the model with.
struct EngineModel {
    std::shared_ptr<Backend> backend;
    ModelSource model;        ///< file or bytes; empty for bypass and custom backends
    std::string entry_point;  ///< e.g. a TorchScript method name; empty = the engine's default
    /// Empty, or one entry per InferenceConfig::inputs / outputs, in the same order.
    std::vector<TensorOverride> inputs;
    std::vector<TensorOverride> outputs;
};

/// Feeds a state output of one inference into a state input of the next (e.g. h_out -> h_in).
/// The handler starts the state at zero and zeroes it again on reset().
struct StatePair {
    std::string output;
    std::string input;
};

/// Describes a model and how it is streamed. Validated when an InferenceHandler is built.
struct InferenceConfig {
    /// The engines the model can run on; the first is active until InferenceHandler::set_engine
    /// selects another (the selection is kept across prepare()).
    std::vector<EngineModel> engines;
    std::vector<TensorSpec> inputs;
    std::vector<TensorSpec> outputs;
    std::vector<StatePair> state_pairs;

    /// The longest one inference may take (pre-processing, model, post-processing, wake-up),
    /// in milliseconds. The latency is computed from it. Unset: measured during warm-up (see
    /// docs/latency.md).
    std::optional<double> max_inference_time_ms;
    /// When measuring: max_inference_time = percentile(warm inference times) * safety factor
    /// + wake-up allowance (the time a sleeping worker takes to start, not part of warm-up).
    double measure_percentile = 0.99;
    double measure_safety_factor = 1.5;
    double measure_wake_allowance_ms = 0.2;

    /// Inferences run on each model instance at prepare() before streaming (the first, cold
    /// one is excluded from measurements). Measuring runs at least 32.
    std::size_t warm_up = 4;
    /// Model instances per engine; up to this many inferences of one handler run in parallel.
    std::size_t parallel_instances = 1;
    /// One inference at a time, strictly in order (recurrent models). Requires
    /// parallel_instances == 1.
    bool stateful = false;

    LatePolicy late_policy = LatePolicy::silence;

    /// Inline mode (docs/engines.md "Inline or pool"): an engine that streams real-time safely
    /// (the native engine) runs inside process(), latency 0, when `automatic` measures at
    /// prepare() that its worst cost per host block is at most `inline_budget` of the block's
    /// duration. Needs a single engine.
    InlineMode inline_mode = InlineMode::automatic;
    double inline_budget = 0.25;

    /// Converts windows to tensors and back on the workers; null = the default conversion.
    std::shared_ptr<PrePostProcessor> pre_post_processor;

    /// [setup thread] Throws legato::Error naming the first inconsistent field, e.g.
    /// "inputs[0].hop: must be at least 1". InferenceHandler's constructor calls it.
    void validate() const;
};

}  // namespace legato
