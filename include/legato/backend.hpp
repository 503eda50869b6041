#pragma once
// The interface every inference engine implements: ONNX Runtime, LibTorch, TensorFlow Lite,
// the built-in bypass and custom backends, or a user's own engine.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "legato/error.hpp"
#include "legato/model_description.hpp"
#include "legato/model_source.hpp"
#include "legato/nonblocking.hpp"
#include "legato/tensor_spec.hpp"

namespace legato {

/// What an engine needs to create one model instance.
struct InstanceSetup {
    const ModelSource& model;
    /// The model's entry point (e.g. a TorchScript method); empty = the engine's default.
    std::string_view entry_point;
    /// Pre-allocated input and output tensors, in InferenceConfig order with this engine's
    /// names, shapes and layouts. They keep their address until the instance is destroyed, so
    /// an engine may bind them once here.
    std::span<const TensorView> inputs;
    std::span<const TensorView> outputs;
    std::size_t instance_index;  ///< 0 .. parallel_instances - 1
    /// True if the handler is stateful: state the model keeps between runs (TFLite variable
    /// tensors, a TorchScript module's buffers) carries from one inference to the next. False:
    /// every run must behave as if from the model's initial state.
    bool stateful = false;
};

/// One loaded copy of a model. An instance runs one inference at a time; parallel inferences
/// use separate instances.
class ModelInstance {
public:
    virtual ~ModelInstance() = default;

    /// [worker thread] Runs the model: reads the bound input tensors, writes the bound output
    /// tensors. May allocate and lock (it never runs on the audio thread). Throws on failure;
    /// the handler then substitutes the hop, counts it and reports the message.
    virtual void run() = 0;

    /// [worker thread] Forgets any state the model keeps between runs (recurrent state inside
    /// a TorchScript module, TFLite variable tensors). Called on reset() and engine switches.
    virtual void reset_state() {}

    /// [any thread] The external runner (legato/external_runner.hpp) that runs this instance
    /// itself, or -1 (the default): the Context's worker threads call run(). Fixed for the
    /// instance's life.
    virtual int runner() const noexcept { return -1; }
};

/// One channel of a model that streams inline, inside process() on the audio thread: frames
/// in, the same number of frames out, state inside. Engines that are real-time safe offer it
/// (the native engine); InferenceConfig::inline_mode decides whether it is used.
class StreamingInstance {
public:
    virtual ~StreamingInstance() = default;
    /// [audio thread] Runs `frames` samples (at most the max_block given at creation). `in`
    /// and `out` may be the same buffer. No allocation, lock, system call or exception.
    virtual void process(const float* in, float* out,
                         std::size_t frames) noexcept LEGATO_NONBLOCKING = 0;
    /// [audio thread] Back to the initial state; real-time safe like process().
    virtual void reset() noexcept LEGATO_NONBLOCKING = 0;
};

/// Every channel of a model streaming inline as one batch: the engine runs the channels
/// together (the native engine reads each weight once for all of them), and each channel's
/// output is what a StreamingInstance gives for that channel alone.
class StreamingBatch {
public:
    virtual ~StreamingBatch() = default;
    /// [audio thread] Runs `frames` samples (at most the max_block given at creation) of every
    /// channel: in[k] to out[k] for k below the channels given at creation. in[k] may be
    /// out[k]. No allocation, lock, system call or exception.
    virtual void process(const float* const* in, float* const* out,
                         std::size_t frames) noexcept LEGATO_NONBLOCKING = 0;
    /// [audio thread] Every channel back to the initial state; real-time safe like process().
    virtual void reset() noexcept LEGATO_NONBLOCKING = 0;
};

/// An inference engine: a factory of model instances.
class Backend {
public:
    virtual ~Backend() = default;

    /// [any thread] Short engine name, e.g. "onnxruntime", "bypass"; selects it at run time.
    virtual std::string name() const = 0;

    /// [setup thread] Loads the model and checks it against the tensors: names, shapes and
    /// data types. Throws legato::Error naming the model, the tensor and what was expected.
    virtual std::unique_ptr<ModelInstance> create_instance(const InstanceSetup& setup) = 0;

    /// [setup thread] A mono channel of the model that streams inline, for blocks of up to
    /// `max_block` frames, or null if this engine cannot run inline (the default). Throws
    /// legato::Error like create_instance() for a model it refuses.
    virtual std::unique_ptr<StreamingInstance> create_streaming_instance(
        const ModelSource& /*model*/, std::size_t /*max_block*/) {
        return nullptr;
    }

    /// [setup thread] `channels` channels of the model streaming inline as one batch, for
    /// blocks of up to `max_block` frames. Null (the default) when the engine or this model
    /// cannot batch: the handler then runs one create_streaming_instance() per channel. Throws
    /// legato::Error as create_streaming_instance().
    virtual std::unique_ptr<StreamingBatch> create_streaming_batch(const ModelSource& /*model*/,
                                                                   std::size_t /*max_block*/,
                                                                   std::size_t /*channels*/) {
        return nullptr;
    }

    /// [setup thread] Reads the model's inputs and outputs (names, shapes, element types) for
    /// people writing its config, with the same file checks as loading it. `entry_point` as in
    /// InstanceSetup. Throws legato::Error naming the model and the problem; engines that need
    /// no model file (bypass, custom) cannot describe one and throw.
    virtual ModelDescription describe(const ModelSource& /*model*/,
                                      std::string_view /*entry_point*/ = {}) {
        throw Error(name() + ": cannot describe models");
    }
};

}  // namespace legato
