#include "core/inline_runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "legato/error.hpp"
#include "rt/monotonic_clock.hpp"

namespace legato::core {

namespace {

// One streaming instance per channel, presented as a batch, so that an engine (or a model)
// that cannot batch channels runs through the same path as one that can.
class InstancePerChannel final : public StreamingBatch {
public:
    explicit InstancePerChannel(std::vector<std::unique_ptr<StreamingInstance>> instances)
        : instances_(std::move(instances)) {}

    void process(const float* const* in, float* const* out,
                 std::size_t frames) noexcept LEGATO_NONBLOCKING override {
        for (std::size_t c = 0; c < instances_.size(); ++c)
            instances_[c]->process(in[c], out[c], frames);
    }

    void reset() noexcept LEGATO_NONBLOCKING override {
        for (auto& instance : instances_)
            instance->reset();
    }

private:
    std::vector<std::unique_ptr<StreamingInstance>> instances_;
};

}  // namespace

std::string InlineRunner::tensor_problem(const InferenceConfig& config) {
    if (config.engines.size() != 1)
        return "it has " + std::to_string(config.engines.size()) +
               " engines (an inline handler cannot switch engines)";
    if (config.inputs.size() != 1 || config.outputs.size() != 1 ||
        config.inputs[0].role != TensorRole::audio || config.outputs[0].role != TensorRole::audio)
        return "inline models take one audio input tensor and give one audio output tensor";
    if (config.inputs[0].channels != config.outputs[0].channels)
        return "the input has " + std::to_string(config.inputs[0].channels) +
               " channels and the output " + std::to_string(config.outputs[0].channels) +
               " (inline, each input channel streams to its own output channel)";
    if (config.inputs[0].past_context != 0)
        return "inputs[0].past_context is " + std::to_string(config.inputs[0].past_context) +
               " (a streaming model keeps its own history)";
    if (!config.state_pairs.empty())
        return "it has state_pairs (a streaming model keeps its own state)";
    if (config.pre_post_processor)
        return "it has a custom pre/post-processor (it runs on the workers)";
    return {};
}

InlineRunner::InlineRunner(const InferenceConfig& config, const HostConfig& host,
                           Controls& controls, Counters& counters)
    : scratch_(host.max_block_size, 0.0f),
      max_block_(host.max_block_size),
      controls_(controls),
      counters_(counters),
      applied_resets_(controls.reset_requests.load()) {
    const EngineModel& engine = config.engines.front();
    const std::size_t channels = config.inputs.front().channels;
    if (channels > 1)
        batch_ = engine.backend->create_streaming_batch(engine.model, max_block_, channels);
    if (!batch_) {
        std::vector<std::unique_ptr<StreamingInstance>> instances;
        for (std::size_t c = 0; c < channels; ++c) {
            auto instance = engine.backend->create_streaming_instance(engine.model, max_block_);
            if (!instance)
                throw Error("the " + engine.backend->name() +
                            " engine cannot run inline (only engines that stream real-time "
                            "safely can: the native engine)");
            instances.push_back(std::move(instance));
        }
        batch_ = std::make_unique<InstancePerChannel>(std::move(instances));
    }
    batch_in_.assign(channels, nullptr);
    batch_out_.assign(channels, nullptr);
    batch_scratch_.assign(channels * max_block_, 0.0f);
}

double InlineRunner::measure_block_ms(std::size_t runs) {
    std::vector<float> block(max_block_);
    std::uint32_t state = 0x2545f491;
    for (float& x : block) {  // a quiet noise: realistic values through every activation
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        x = (static_cast<float>(state) / 4294967296.0f - 0.5f) * 0.5f;
    }
    for (std::size_t k = 0; k < batch_in_.size(); ++k) {
        batch_in_[k] = block.data();
        batch_out_[k] = batch_scratch_.data() + k * max_block_;
    }
    std::vector<double> times;
    for (std::size_t r = 0; r < runs + 3; ++r) {
        const std::int64_t start = rt::now_ns();
        batch_->process(batch_in_.data(), batch_out_.data(), max_block_);
        if (r >= 3)  // cold runs: caches, page faults
            times.push_back(static_cast<double>(rt::now_ns() - start) / 1e6);
    }
    batch_->reset();
    std::sort(times.begin(), times.end());
    return times[times.size() > 3 ? times.size() - 4 : times.size() - 1];
}

void InlineRunner::process(const float* const* input, std::size_t input_channels,
                           float* const* output, std::size_t output_channels,
                           std::size_t frames) noexcept {
    if (frames == 0)
        return;
    Counters::bump(counters_.blocks);
    Counters::bump(counters_.frames, frames);
    if (frames > max_block_)
        Counters::bump(counters_.oversized);
    const std::uint64_t resets = controls_.reset_requests.load(std::memory_order_acquire);
    if (resets != applied_resets_) {
        batch_->reset();
        applied_resets_ = resets;
        Counters::bump(counters_.resets);
    }
    const std::int64_t start = rt::now_ns();
    for (std::size_t offset = 0; offset < frames; offset += max_block_)
        run_block(input, input_channels, output, output_channels, offset,
                  std::min(max_block_, frames - offset));
    // One "inference" per call: its cost is what the statistics report.
    const auto took = static_cast<std::uint64_t>(rt::now_ns() - start);
    Counters::bump(counters_.submitted);
    Counters::bump(counters_.completed);
    Counters::bump(counters_.run_time_total_ns, took);
    if (took > counters_.run_time_max_ns.load(std::memory_order_relaxed))
        counters_.run_time_max_ns.store(took, std::memory_order_relaxed);
}

void InlineRunner::run_block(const float* const* input, std::size_t input_channels,
                             float* const* output, std::size_t output_channels, std::size_t offset,
                             std::size_t frames) noexcept {
    const std::size_t channels = batch_in_.size();
    // Missing inputs read silence (scratch_, zeroed here); outputs the host does not take go
    // to the channel's own scratch block. A host buffer may be both a channel's input and its
    // output (in place).
    bool silence = false;
    for (std::size_t c = 0; c < channels; ++c) {
        const float* in = input != nullptr && c < input_channels ? input[c] : nullptr;
        float* out = output != nullptr && c < output_channels ? output[c] : nullptr;
        silence = silence || in == nullptr;
        batch_in_[c] = in != nullptr ? in + offset : scratch_.data();
        batch_out_[c] = out != nullptr ? out + offset : batch_scratch_.data() + c * max_block_;
    }
    if (silence)
        std::memset(scratch_.data(), 0, frames * sizeof(float));
    batch_->process(batch_in_.data(), batch_out_.data(), frames);
    // Output channels beyond the model's repeat its channels (as the pool path does).
    for (std::size_t k = channels; output != nullptr && k < output_channels; ++k)
        if (output[k] != nullptr && output[k % channels] != nullptr)
            std::memcpy(output[k] + offset, output[k % channels] + offset, frames * sizeof(float));
}

}  // namespace legato::core
