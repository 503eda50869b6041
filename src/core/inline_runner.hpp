#pragma once
// The inline mode (InferenceConfig::inline_mode): the model runs inside process() on the audio
// thread, every channel (as one batch when the engine batches), with zero latency. prepare()
// builds an InlineRunner instead of a Session when the engine streams real-time safely and its
// measured cost fits the budget.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/controls.hpp"
#include "core/counters.hpp"
#include "legato/backend.hpp"
#include "legato/host_config.hpp"
#include "legato/inference_config.hpp"
#include "legato/nonblocking.hpp"

namespace legato::core {

class InlineRunner {
public:
    /// [setup thread] Why `config` cannot run inline ("" if it can, as far as the tensors go):
    /// one audio input and one audio output tensor with the same channels, nothing else.
    static std::string tensor_problem(const InferenceConfig& config);

    /// [setup thread] The channels as one batch (Backend::create_streaming_batch) when the
    /// engine batches this model and there are several, else one streaming instance per channel
    /// (Backend::create_streaming_instance); throws legato::Error saying why not (an engine that
    /// cannot stream inline).
    InlineRunner(const InferenceConfig& config, const HostConfig& host, Controls& controls,
                 Counters& counters);

    /// [setup thread] The cost of one block of max_block_size frames on every channel, in ms:
    /// a few cold runs, then `runs` timed ones; the worst after dropping the three slowest (a
    /// preempted run says nothing about the model). Leaves the instances reset.
    double measure_block_ms(std::size_t runs = 32);

    /// [audio thread] As InferenceHandler::process, with zero latency. Real-time safe.
    void process(const float* const* input, std::size_t input_channels, float* const* output,
                 std::size_t output_channels, std::size_t frames) noexcept LEGATO_NONBLOCKING;

private:
    void run_block(const float* const* input, std::size_t input_channels, float* const* output,
                   std::size_t output_channels, std::size_t offset,
                   std::size_t frames) noexcept LEGATO_NONBLOCKING;

    std::vector<float> scratch_;  ///< silence for the inputs the host does not give
    // Every channel: the engine's batch, or one instance per channel behind the same interface;
    // its channel pointers, and a block per channel for outputs the host does not take.
    std::unique_ptr<StreamingBatch> batch_;
    std::vector<const float*> batch_in_;
    std::vector<float*> batch_out_;
    std::vector<float> batch_scratch_;
    std::size_t max_block_;
    Controls& controls_;
    Counters& counters_;
    std::uint64_t applied_resets_;
};

}  // namespace legato::core
