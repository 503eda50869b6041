#include "model_effect.hpp"

#include <algorithm>

#include <legato/context.hpp>
#include <legato/host_config.hpp>

namespace legato::examples {

ModelEffect::ModelEffect(const std::filesystem::path& config_file)
    : config_(load_model_config(config_file, /*skip_unavailable_engines=*/true)) {
    handlers_[0] =
        std::make_unique<InferenceHandler>(config_.inference, Context::shared(config_.context));
}

void ModelEffect::prepare(double sample_rate, std::size_t max_block_size,
                          bool variable_block_size, std::size_t host_channels) {
    HostConfig host;
    host.sample_rate = sample_rate;
    host.max_block_size = max_block_size;
    host.variable_block_size = variable_block_size;
    host_channels = std::clamp<std::size_t>(host_channels, 1, max_channels);
    const InferenceHandler& first = *handlers_[0];
    const bool per_channel = first.input_channels() == 1 && first.output_channels() == 1;
    const std::size_t count = per_channel ? host_channels : 1;
    for (std::size_t i = 1; i < count; ++i) {
        if (handlers_[i]) continue;
        handlers_[i] = std::make_unique<InferenceHandler>(config_.inference, first.context());
        handlers_[i]->set_engine(first.engine());
        handlers_[i]->set_offline_rendering(offline_.load(std::memory_order_relaxed));
    }
    // Channels must stay aligned: if measuring gave the handlers different latencies, all take
    // the largest.
    std::size_t latency = 0;
    for (std::size_t i = 0; i < count; ++i) {
        handlers_[i]->prepare(host);
        latency = std::max(latency, handlers_[i]->latency());
    }
    for (std::size_t i = 0; i < count; ++i) {
        if (handlers_[i]->latency() == latency) continue;
        HostConfig aligned = host;
        aligned.latency_override = latency;
        handlers_[i]->prepare(aligned);
    }
    handler_count_.store(count, std::memory_order_release);
    max_block_ = max_block_size;
    mixer_.prepare(max_channels, max_block_size, latency);
}

void ModelEffect::process(const float* const* input, std::size_t input_channels,
                          float* const* output, std::size_t output_channels,
                          std::size_t frames) noexcept {
    if (max_block_ == 0) return;  // not prepared: leave the buffers alone
    input_channels = std::min(input_channels, max_channels);
    output_channels = std::min(output_channels, max_channels);
    const std::size_t count = handler_count_.load(std::memory_order_relaxed);
    const float wet = wet_.load(std::memory_order_relaxed);
    for (std::size_t done = 0; done < frames;) {
        const std::size_t n = std::min(max_block_, frames - done);
        for (std::size_t c = 0; c < input_channels; ++c)
            input_chunk_[c] = input != nullptr && input[c] != nullptr ? input[c] + done : nullptr;
        // Outputs without an input of their own take the last input's signal.
        for (std::size_t c = input_channels; c < std::max(output_channels, count); ++c)
            input_chunk_[c] = input_channels > 0 ? input_chunk_[input_channels - 1] : nullptr;
        for (std::size_t c = 0; c < output_channels; ++c)
            output_chunk_[c] = output[c] != nullptr ? output[c] + done : nullptr;
        // Dry first: in place, process() overwrites the input.
        mixer_.push_dry(input_chunk_.data(), std::max(input_channels, output_channels), n);
        if (count == 1) {
            handlers_[0]->process(input_chunk_.data(), input_channels, output_chunk_.data(),
                                  output_channels, n);
        } else {
            // A mono model per channel; outputs beyond the handlers copy the last one.
            for (std::size_t c = 0; c < std::min(count, output_channels); ++c)
                handlers_[c]->process(&input_chunk_[c], 1, &output_chunk_[c], 1, n);
            for (std::size_t c = count; c < output_channels; ++c)
                if (output_chunk_[c] != nullptr && output_chunk_[count - 1] != nullptr)
                    std::copy_n(output_chunk_[count - 1], n, output_chunk_[c]);
        }
        mixer_.mix(output_chunk_.data(), output_channels, n, wet);
        done += n;
    }
}

void ModelEffect::set_offline_rendering(bool offline) noexcept {
    offline_.store(offline, std::memory_order_relaxed);
    for (std::size_t i = 0; i < handler_count(); ++i) handlers_[i]->set_offline_rendering(offline);
}

bool ModelEffect::set_engine(std::size_t index) noexcept {
    bool ok = true;
    for (std::size_t i = 0; i < handler_count(); ++i) ok = handlers_[i]->set_engine(index) && ok;
    return ok;
}

bool ModelEffect::set_engine(std::string_view name) noexcept {
    bool ok = true;
    for (std::size_t i = 0; i < handler_count(); ++i) ok = handlers_[i]->set_engine(name) && ok;
    return ok;
}

bool ModelEffect::set_parameter(std::string_view name, float value) noexcept {
    bool ok = true;
    for (std::size_t i = 0; i < handler_count(); ++i)
        ok = handlers_[i]->set_parameter(name, value) && ok;
    return ok;
}

void ModelEffect::reset() noexcept {
    for (std::size_t i = 0; i < handler_count(); ++i) handlers_[i]->reset();
    mixer_.reset();
}

Statistics ModelEffect::statistics() const noexcept {
    Statistics total = handlers_[0]->statistics();
    for (std::size_t i = 1; i < handler_count(); ++i)
        total = combined(total, handlers_[i]->statistics());
    return total;
}

}  // namespace legato::examples
