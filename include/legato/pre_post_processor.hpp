#pragma once
// Turning captured audio into model tensors and model tensors back into audio. Runs on the
// inference workers, never on the audio thread: the audio thread only copies raw samples.

#include <cstddef>
#include <cstdint>
#include <span>

#include "legato/audio_tensor_copy.hpp"  // write_window, read_hop: the default's building blocks
#include "legato/tensor_spec.hpp"

namespace legato {

struct RequestLayout;  // internal: where each tensor's samples sit in a request

/// The raw samples the audio thread captured for one inference.
class InputWindows {
public:
    /// Samples of audio input `input` (index into InferenceConfig::inputs), channel `channel`:
    /// past_context + hop samples, oldest first. Samples before the stream start are zero.
    std::span<const float> samples(std::size_t input, std::size_t channel) const noexcept;
    /// Values of parameter input `input` as they were when the inference was submitted.
    std::span<const float> parameter(std::size_t input) const noexcept;
    /// Index of this inference's hop since the stream started (or since the last reset).
    std::uint64_t hop_index() const noexcept { return hop_index_; }
    /// Which model instance runs this inference (for per-instance scratch memory).
    std::size_t instance() const noexcept { return instance_; }

    InputWindows(const RequestLayout& layout, const float* request, std::uint64_t hop_index,
                 std::size_t instance) noexcept
        : layout_(&layout), request_(request), hop_index_(hop_index), instance_(instance) {}

private:
    const RequestLayout* layout_;
    const float* request_;
    std::uint64_t hop_index_;
    std::size_t instance_;
};

/// Where post-processing writes one inference's results.
class OutputHops {
public:
    /// The hop samples of audio output `output` (index into InferenceConfig::outputs), channel
    /// `channel`, to be filled.
    std::span<float> samples(std::size_t output, std::size_t channel) const noexcept;
    /// The values of non-streamed (parameter-role) output `output`, to be filled.
    std::span<float> values(std::size_t output) const noexcept;

    OutputHops(const RequestLayout& layout, float* request) noexcept
        : layout_(&layout), request_(request) {}

private:
    const RequestLayout* layout_;
    float* request_;
};

/// Converts between captured audio and model tensors. The default implementation copies each
/// audio window into its tensor following the tensor's AudioLayout (including sliding windows),
/// parameter values into parameter tensors, and audio output tensors back into hops (dropping
/// an output's past_context). Derive and override either function for custom processing
/// (spectral transforms, normalisation, conditioning).
///
/// Thread contract: both functions run on worker threads. With parallel_instances > 1 they are
/// called concurrently for different inferences, so they must be thread-safe (use
/// InputWindows::instance() to index per-instance scratch memory allocated up front). For
/// stateful handlers calls are serialized and in order. State inputs are already filled when
/// pre_process runs; state outputs are read back after post_process.
class PrePostProcessor {
public:
    virtual ~PrePostProcessor() = default;

    /// [worker thread] Fills the model's audio and parameter input tensors.
    virtual void pre_process(const InputWindows& windows, std::span<const TensorView> inputs);

    /// [worker thread] Fills the output hops and values from the model's output tensors.
    virtual void post_process(std::span<const TensorView> outputs, const OutputHops& hops);

    /// [any thread] False if pre_process/post_process hand their work to another thread that
    /// an external runner (legato/external_runner.hpp) may be: handlers using it are then run
    /// by the Context's worker threads only.
    virtual bool runs_on_any_thread() const noexcept { return true; }
};

}  // namespace legato
