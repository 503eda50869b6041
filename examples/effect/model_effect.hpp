#pragma once
// The effect every integration example shares (JACK client, LV2, CLAP and JUCE plugins): a model
// from a JSON config run through an InferenceHandler, with a dry/wet mix aligned with the
// latency. The plugin formats only translate their host's calls into these.

#include <array>
#include <atomic>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <legato/config_file.hpp>
#include <legato/dry_wet_mixer.hpp>
#include <legato/inference_handler.hpp>

namespace legato::examples {

/// A mono model in a multichannel host runs once per channel (one handler per channel, sharing
/// the worker pool), so no channel is dropped; other models get the host's channels as the
/// handler maps them (InferenceHandler::process()).
class ModelEffect {
public:
    /// Channels a host may bring; more are not processed (their outputs are left alone).
    static constexpr std::size_t max_channels = 16;

    /// [setup thread] Loads and validates the config (engines this build lacks are left out);
    /// throws legato::Error naming the file and field. Loads no model yet.
    explicit ModelEffect(const std::filesystem::path& config_file);

    /// [setup thread] Loads the models (first call), warms them up and sizes every buffer for
    /// blocks of up to max_block_size frames at sample_rate and `host_channels` channels.
    /// Throws legato::Error. Never concurrently with process().
    void prepare(double sample_rate, std::size_t max_block_size, bool variable_block_size,
                 std::size_t host_channels);

    /// [audio thread, wait-free in real-time mode] Processes one host block; input and output
    /// may be the same buffers. Blocks larger than max_block_size are split. Output channel i
    /// gets model output i (a mono model run per channel: channel i's own result) mixed with
    /// input channel i (or the last input channel) delayed by latency().
    void process(const float* const* input, std::size_t input_channels, float* const* output,
                 std::size_t output_channels, std::size_t frames) noexcept LEGATO_NONBLOCKING;

    /// [any thread, wait-free] 0 = dry only, 1 = model only; smoothed across the next block.
    void set_mix(float wet) noexcept { wet_.store(wet, std::memory_order_relaxed); }
    float mix() const noexcept { return wet_.load(std::memory_order_relaxed); }

    /// [any thread, wait-free] Offline rendering waits for late results (exact output at any
    /// speed); a host that renders faster than real time should switch it on.
    void set_offline_rendering(bool offline) noexcept;
    /// [any thread, wait-free] Switches every channel's engine; false for an unknown one.
    bool set_engine(std::size_t index) noexcept;
    bool set_engine(std::string_view name) noexcept;
    /// [any thread, wait-free] Sets a model parameter on every channel's handler.
    bool set_parameter(std::string_view name, float value) noexcept;

    /// [audio thread, wait-free] Restarts from silence: the model's stream (applied at the
    /// next process()) and the dry delay line. From other threads use handler().reset(), which
    /// leaves the dry signal's last `latency()` samples in the mix.
    void reset() noexcept LEGATO_NONBLOCKING;

    /// [any thread] The delay the host must compensate, in samples; 0 before prepare().
    std::size_t latency() const noexcept { return handlers_[0]->latency(); }
    /// [any thread] The channels' handlers as one (legato::combined(): counts summed, maxima
    /// kept, mean weighted).
    Statistics statistics() const noexcept;
    /// [any thread] Handlers running: 1, or the host's channels for a mono model.
    std::size_t handler_count() const noexcept {
        return handler_count_.load(std::memory_order_acquire);
    }

    /// [any thread] The first channel's handler (engine names, the active engine, last
    /// error); change settings through the setters above, which reach every channel.
    InferenceHandler& handler() noexcept { return *handlers_[0]; }
    const InferenceHandler& handler() const noexcept { return *handlers_[0]; }
    const ModelConfig& config() const noexcept { return config_; }

private:
    ModelConfig config_;
    // Fixed slots, so any-thread setters can walk them while prepare() adds handlers.
    std::unique_ptr<InferenceHandler> handlers_[max_channels];
    std::atomic<std::size_t> handler_count_{1};
    DryWetMixer mixer_;
    std::atomic<float> wet_{1.0F};
    std::atomic<bool> offline_{false};
    std::size_t max_block_ = 0;
    // Channel pointers offset into the host buffers for split blocks.
    std::array<const float*, max_channels> input_chunk_{};
    std::array<float*, max_channels> output_chunk_{};
};

}  // namespace legato::examples
