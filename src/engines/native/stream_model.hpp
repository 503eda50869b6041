#pragma once
// The native engine's model: a streaming network that turns one frame of `input_size()` values
// into one frame of `output_size()` values, keeping its state (recurrent cells, convolution
// histories) between calls, so that any split of a stream into calls gives the same output.
// Every buffer is sized when the model is loaded; process() never allocates, locks, makes a
// system call or throws, so it may run on the audio thread (the inline mode) and in a browser's
// AudioWorklet.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "legato/nonblocking.hpp"

namespace legato::native {

/// What a loaded model says about itself (legato info, docs/engines.md).
struct ModelInfo {
    std::string format;        ///< "rtneural-json", "nam", "onnx"
    std::string architecture;  ///< one line, e.g. "LSTM(1->40) -> Dense(40->1)"
    double sample_rate = 0.0;  ///< the rate the model was trained at; 0 = not stated
    /// Samples of input history that influence an output (1 for memoryless models); 0 for
    /// recurrent models (unbounded).
    std::size_t receptive_field = 0;
    /// Further facts from the file (NAM metadata: loudness, gain calibration, version...).
    std::vector<std::pair<std::string, std::string>> metadata;
    /// A slimmable NAM model: the sizes (NAM's SetSlimmableSize ratio) at which it changes to
    /// a larger variant, ascending; empty for a model with one size.
    std::vector<double> size_breakpoints;
};

class StreamModel {
public:
    virtual ~StreamModel() = default;

    /// [any thread] Values per input frame (1 for a mono audio model).
    virtual std::size_t input_size() const noexcept = 0;
    /// [any thread] Values per output frame.
    virtual std::size_t output_size() const noexcept = 0;

    /// [audio or worker thread] Runs `frames` frames: `in` holds frames * input_size() values
    /// (frame after frame), `out` receives frames * output_size(). `in` and `out` may not
    /// overlap. Real-time safe: no allocation, lock, system call or exception.
    virtual void process(const float* in, float* out,
                         std::size_t frames) noexcept LEGATO_NONBLOCKING = 0;

    /// [audio or worker thread] Back to the model's initial state, as right after loading
    /// (NAM models: after their pre-warm). Real-time safe unless documented otherwise.
    virtual void reset() noexcept LEGATO_NONBLOCKING = 0;

    /// [any thread] Description for people.
    virtual const ModelInfo& info() const noexcept = 0;

    /// [setup thread] An independent copy with its own state (for parallel instances and
    /// channels). Throws std::bad_alloc only.
    virtual std::unique_ptr<StreamModel> clone() const = 0;

    /// [any thread] Independent streams process() runs at once: 1, or what with_channels()
    /// made. A frame then holds channels() x input_size() values in (channel after channel)
    /// and channels() x output_size() out.
    virtual std::size_t channels() const noexcept { return 1; }

    /// [setup thread] A copy in its initial state that runs `channels` streams of this model
    /// at once, frame by frame, reading each weight once for all of them (matrix-matrix instead
    /// of one matrix-vector product per channel). Each channel's output is bit for bit what
    /// this model gives for that channel alone. Null when the model cannot (then run one
    /// clone() per channel). Throws std::bad_alloc only.
    virtual std::unique_ptr<StreamModel> with_channels(std::size_t /*channels*/) const {
        return nullptr;
    }
};

}  // namespace legato::native
