#pragma once
// InferenceHandler: what an audio callback talks to.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "legato/context.hpp"
#include "legato/host_config.hpp"
#include "legato/inference_config.hpp"
#include "legato/nonblocking.hpp"
#include "legato/statistics.hpp"

namespace legato {

namespace core {
class HandlerState;
}

/// Runs a model on the shared worker pool for one audio stream, with a fixed, exactly known
/// latency: the output is the model's output delayed by latency() samples.
///
/// Life cycle: construct and prepare() on a setup thread, call process() from the audio thread,
/// destroy on a setup thread. Everything else may be called from any thread at any time after
/// construction, concurrently with process().
class InferenceHandler {
public:
    /// [setup thread] Validates the config (throws legato::Error naming the field) and joins
    /// `context` (default: the process-wide one). Loads nothing yet.
    explicit InferenceHandler(InferenceConfig config,
                              std::shared_ptr<Context> context = Context::shared());

    /// [setup thread] Leaves the pool, waiting for this handler's running inferences to finish.
    /// Must not run concurrently with process().
    ~InferenceHandler();

    InferenceHandler(const InferenceHandler&) = delete;
    InferenceHandler& operator=(const InferenceHandler&) = delete;

    /// [setup thread] Loads the models on every engine (first call only), warms them up,
    /// measures the maximum inference time if the config asks for it, computes the latency and
    /// allocates every buffer process() will use. May be called again (e.g. for a new block
    /// size), but never concurrently with process(). Throws legato::Error.
    /// With InferenceConfig::inline_mode, prepare() may choose the inline mode instead: the
    /// model then runs inside process() and latency() is 0 (docs/engines.md "Inline or pool").
    void prepare(const HostConfig& host);

    /// [any thread] True if the last prepare() chose the inline mode.
    bool runs_inline() const noexcept;

    /// [audio thread] Processes `frames` samples per channel. Host channel i feeds model input
    /// channel i (missing or null channels read silence, extra ones are ignored); host output
    /// channel i receives model output channel i modulo the model's output channels (a mono
    /// model fills every output; null outputs are skipped). Input and output may be the same
    /// buffers. Wait-free in real-time mode: copies samples, flips atomics, and at most posts a
    /// semaphore to wake a sleeping worker; never allocates, locks, logs, throws or waits. Does
    /// nothing (outputs silence) before prepare(). More frames than HostConfig::max_block_size
    /// are processed in chunks and counted as oversized.
    void process(const float* const* input, std::size_t input_channels, float* const* output,
                 std::size_t output_channels, std::size_t frames) noexcept LEGATO_NONBLOCKING;

    /// [audio thread] In-place variant of process().
    void process(float* const* channels, std::size_t channel_count,
                 std::size_t frames) noexcept LEGATO_NONBLOCKING;

    /// [any thread] The delay in samples between input and output; 0 before prepare().
    std::size_t latency() const noexcept;
    /// [any thread] The maximum inference time the latency was computed from (configured or
    /// measured during warm-up), in ms; 0 before prepare().
    double max_inference_time_ms() const noexcept;

    /// [any thread] Model channels: the sum over audio inputs / outputs.
    std::size_t input_channels() const noexcept;
    std::size_t output_channels() const noexcept;

    /// [any thread, wait-free] Sets a parameter input's value(s); applies from the next
    /// inference submitted. Returns false for an unknown name or a wrong value count.
    bool set_parameter(std::string_view name, float value) noexcept;
    bool set_parameter(std::string_view name, std::span<const float> values) noexcept;
    /// [any thread, wait-free] Copies the latest value(s) of a non-streamed output (as of the
    /// audio that has been output). Returns false for an unknown name or a wrong size.
    bool output_value(std::string_view name, std::span<float> values) const noexcept;

    /// [any thread, wait-free] Switches the engine; takes effect from the next inference
    /// submitted. Returns false for an unknown name / index.
    bool set_engine(std::string_view name) noexcept;
    bool set_engine(std::size_t index) noexcept;
    /// [any thread] The active engine's index into InferenceConfig::engines, and its name.
    std::size_t engine() const noexcept;
    std::string engine_name(std::size_t index) const;

    /// [any thread, wait-free] Changes the late-inference policy.
    void set_late_policy(LatePolicy policy) noexcept;
    /// [any thread, wait-free] Switches offline rendering (see HostConfig::offline_rendering).
    void set_offline_rendering(bool offline) noexcept;

    /// [any thread, wait-free] Requests a reset: at the start of the next process() call the
    /// stream restarts from silence: pending inferences are cancelled (not counted as late),
    /// histories and state are zeroed. Never blocks; cannot deadlock.
    void reset() noexcept;

    /// [any thread] Counters and timings since prepare().
    Statistics statistics() const noexcept;

    /// [any thread except the audio thread] The last error an engine reported while running
    /// (empty if none). Errors are counted in Statistics::failed_inferences.
    std::string last_error() const;

    /// [any thread]
    const InferenceConfig& config() const noexcept;
    const std::shared_ptr<Context>& context() const noexcept;

private:
    std::unique_ptr<core::HandlerState> state_;
};

}  // namespace legato
