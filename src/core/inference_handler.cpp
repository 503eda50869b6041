#include "legato/inference_handler.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <new>
#include <stdexcept>

#include "core/handler_state.hpp"
#include "core/inference_pipeline.hpp"
#include "legato/error.hpp"
#include "legato/latency.hpp"
#include "scheduling/worker_pool.hpp"
#include "testing/test_hooks.hpp"

namespace legato {

namespace core {

namespace {

InferenceConfig validated(InferenceConfig config) {
    try {
        config.validate();
    } catch (const Error& e) {
        throw Error(std::string("invalid InferenceConfig: ") + e.what());
    }
    return config;
}

double percentile(std::vector<double> values, double fraction) {
    std::sort(values.begin(), values.end());
    const auto rank =
        static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

}  // namespace

HandlerState::HandlerState(InferenceConfig config_in, std::shared_ptr<Context> context_in)
    : config(validated(std::move(config_in))),
      context(std::move(context_in)),
      controls(config),
      processor(config.pre_post_processor ? config.pre_post_processor
                                          : std::make_shared<PrePostProcessor>()),
      layout(make_request_layout(config)) {
    if (!context)
        throw Error("InferenceHandler: context is null");
    for (const auto& engine : config.engines)
        engine_names.push_back(engine.backend->name());
}

void HandlerState::load_engines() {
    const bool measuring = !config.max_inference_time_ms.has_value();
    const std::size_t runs = measuring ? std::max<std::size_t>(config.warm_up, 32) : config.warm_up;
    std::vector<double> warm_times;
    std::vector<std::unique_ptr<EngineRuntime>> loaded;  // installed only if every engine loads
    std::vector<float> request(layout.stride, 0.0f);
    for (std::size_t e = 0; e < config.engines.size(); ++e) {
        auto engine = std::make_unique<EngineRuntime>(config, e);
        for (std::size_t k = 0; k < engine->instance_count(); ++k) {
            ModelRun& run = engine->instance(k);
            // Warm-up sees silence and the initial parameter values, from zero state.
            std::fill(request.begin(), request.end(), 0.0f);
            for (std::size_t i = 0; i < config.inputs.size(); ++i) {
                if (config.inputs[i].role != TensorRole::parameter)
                    continue;
                const auto& initial = config.inputs[i].initial_value;
                std::copy(initial.begin(), initial.end(),
                          request.begin() + static_cast<std::ptrdiff_t>(layout.inputs[i].offset));
            }
            const std::vector<StateLink> links = make_state_links(config);
            std::vector<std::vector<float>> state;
            for (const auto& link : links)
                state.emplace_back(element_count(config.inputs[link.input].shape), 0.0f);
            for (std::size_t w = 0; w < runs; ++w) {
                const auto start = std::chrono::steady_clock::now();
                try {
                    run_inference(*processor, layout, run, request.data(), w, links, state);
                } catch (const std::exception& ex) {
                    throw Error("engines[" + std::to_string(e) + "] (" + engine->name() +
                                "): warm-up inference failed: " + ex.what());
                } catch (...) {  // a user's engine may throw anything; never let it escape
                    throw Error("engines[" + std::to_string(e) + "] (" + engine->name() +
                                "): warm-up inference failed: unknown exception");
                }
                const std::chrono::duration<double, std::milli> took =
                    std::chrono::steady_clock::now() - start;
                if (w > 0)
                    warm_times.push_back(took.count());
            }
            try {
                run.model->reset_state();
            } catch (const std::exception& ex) {
                throw Error("engines[" + std::to_string(e) + "] (" + engine->name() +
                            "): resetting the model's state after warm-up failed: " + ex.what());
            } catch (...) {
                throw Error("engines[" + std::to_string(e) + "] (" + engine->name() +
                            "): resetting the model's state after warm-up failed: unknown "
                            "exception");
            }
        }
        loaded.push_back(std::move(engine));
    }
    double time_ms = 0.0;
    if (config.max_inference_time_ms) {
        time_ms = *config.max_inference_time_ms;
    } else {
        if (warm_times.empty())
            throw Error("max_inference_time_ms: cannot be measured without warm-up inferences");
        time_ms = percentile(warm_times, config.measure_percentile) * config.measure_safety_factor +
                  config.measure_wake_allowance_ms;
    }
    engines = std::move(loaded);
    max_inference_time_ms = time_ms;
}

}  // namespace core

InferenceHandler::InferenceHandler(InferenceConfig config, std::shared_ptr<Context> context)
    : state_(std::make_unique<core::HandlerState>(std::move(config), std::move(context))) {}

InferenceHandler::~InferenceHandler() {
    if (state_ && state_->session)
        state_->context->pool().remove(state_->session.get());
}

void InferenceHandler::prepare(const HostConfig& host) try {
    host.validate();
    core::HandlerState& s = *state_;
    const InferenceConfig& config = s.config;
    if (s.engines.empty())
        s.load_engines();
    scheduling::WorkerPool& pool = s.context->pool();
    std::size_t hop = 0;
    for (const auto& spec : config.inputs)
        if (spec.role == TensorRole::audio)
            hop = spec.hop;
    LatencyInputs latency_inputs;
    latency_inputs.sample_rate = host.sample_rate;
    latency_inputs.max_block_size = host.max_block_size;
    latency_inputs.variable_block_size = host.variable_block_size;
    latency_inputs.hop = hop;
    latency_inputs.max_inference_time_ms = s.max_inference_time_ms;
    // Parallel inferences are bounded by the instances and by the pool's threads.
    latency_inputs.parallel_inferences =
        config.stateful ? 1 : std::min(config.parallel_instances, pool.worker_count());
    const std::size_t minimum = compute_latency(latency_inputs);
    const std::size_t latency = host.latency_override.value_or(minimum);
    // Below hop - 1 a hop's first output would be due before its last input sample arrived.
    if (latency + 1 < hop)
        throw Error("HostConfig.latency_override: must be at least hop - 1 (" +
                    std::to_string(hop - 1) +
                    ") so that a hop's output is never due before its "
                    "input is complete, got " +
                    std::to_string(latency));

    std::vector<core::EngineRuntime*> engines;
    for (auto& engine : s.engines)
        engines.push_back(engine.get());
    // A new session is a new stream: it starts one reset generation past the previous one, so
    // internal model state is reset at its first inference, like explicit state.
    const std::uint64_t first_generation = s.session ? s.session->generation() + 1 : 0;
    const core::SessionSetup setup{config,     host,         latency,  engines, s.controls,
                                   s.counters, *s.processor, s.layout, pool,    first_generation};
    auto session = std::make_unique<core::Session>(setup);

    // Register before touching anything: replacing cannot fail, a first add may (full
    // context), and then the handler stays as it was.
    if (s.session)
        pool.replace(s.session.get(), session.get());
    else
        pool.add(session.get());
    s.session = std::move(session);
    s.counters.clear();
    s.controls.offline_rendering.store(host.offline_rendering);
    s.latency.store(latency);
    s.prepared_max_inference_time_ms.store(s.max_inference_time_ms);
} catch (const std::bad_alloc&) {
    // Valid tensors can still add up to more memory than the machine has (many tensors,
    // many instances): a setup error like any other, and the handler stays as it was.
    throw Error("prepare: out of memory allocating the handler's buffers and model instances");
} catch (const std::length_error&) {
    throw Error("prepare: the handler's buffers would exceed the largest possible allocation");
}

void InferenceHandler::process(const float* const* input, std::size_t input_channels,
                               float* const* output, std::size_t output_channels,
                               std::size_t frames) noexcept {
#if defined(LEGATO_TEST_HOOKS)
    if (const testing::ProcessHook hook = testing::process_hook.load(std::memory_order_acquire)) {
        // Unverified on purpose: the hook exists to put an unsafe call here (tests only).
        LEGATO_UNVERIFIED_EFFECTS_BEGIN
        hook();
        LEGATO_UNVERIFIED_EFFECTS_END
    }
#endif
    if (state_->session) {
        state_->session->process(input, input_channels, output, output_channels, frames);
        return;
    }
    for (std::size_t c = 0; output != nullptr && c < output_channels; ++c)
        if (output[c] != nullptr)
            std::memset(output[c], 0, frames * sizeof(float));
}

void InferenceHandler::process(float* const* channels, std::size_t channel_count,
                               std::size_t frames) noexcept {
    process(channels, channel_count, channels, channel_count, frames);
}

std::size_t InferenceHandler::latency() const noexcept {
    return state_->latency.load();
}

double InferenceHandler::max_inference_time_ms() const noexcept {
    return state_->prepared_max_inference_time_ms.load();
}

namespace {

std::size_t audio_channels(const std::vector<TensorSpec>& tensors) noexcept {
    std::size_t channels = 0;
    for (const auto& spec : tensors)
        if (spec.role == TensorRole::audio)
            channels += spec.channels;
    return channels;
}

// Index of the parameter-role tensor called `name` holding `count` values, or npos.
std::size_t find_parameter(const std::vector<TensorSpec>& tensors, std::string_view name,
                           std::size_t count) noexcept {
    for (std::size_t i = 0; i < tensors.size(); ++i)
        if (tensors[i].role == TensorRole::parameter && tensors[i].name == name)
            return count == element_count(tensors[i].shape) ? i : std::string_view::npos;
    return std::string_view::npos;
}

}  // namespace

std::size_t InferenceHandler::input_channels() const noexcept {
    return audio_channels(state_->config.inputs);
}

std::size_t InferenceHandler::output_channels() const noexcept {
    return audio_channels(state_->config.outputs);
}

bool InferenceHandler::set_parameter(std::string_view name, float value) noexcept {
    return set_parameter(name, std::span<const float>(&value, 1));
}

bool InferenceHandler::set_parameter(std::string_view name,
                                     std::span<const float> values) noexcept {
    const std::size_t i = find_parameter(state_->config.inputs, name, values.size());
    if (i == std::string_view::npos)
        return false;
    const std::size_t first = state_->controls.parameter_offset[i];
    for (std::size_t v = 0; v < values.size(); ++v)
        state_->controls.parameter_values[first + v].store(values[v], std::memory_order_relaxed);
    return true;
}

bool InferenceHandler::output_value(std::string_view name, std::span<float> values) const noexcept {
    const std::size_t o = find_parameter(state_->config.outputs, name, values.size());
    if (o == std::string_view::npos)
        return false;
    const std::size_t first = state_->controls.output_value_offset[o];
    for (std::size_t v = 0; v < values.size(); ++v)
        values[v] = state_->controls.output_values[first + v].load(std::memory_order_relaxed);
    return true;
}

bool InferenceHandler::set_engine(std::string_view name) noexcept {
    const auto& names = state_->engine_names;
    for (std::size_t e = 0; e < names.size(); ++e)
        if (names[e] == name)
            return set_engine(e);
    return false;
}

bool InferenceHandler::set_engine(std::size_t index) noexcept {
    if (index >= state_->engine_names.size())
        return false;
    state_->controls.engine.store(static_cast<std::uint32_t>(index), std::memory_order_relaxed);
    return true;
}

std::size_t InferenceHandler::engine() const noexcept {
    return state_->controls.engine.load(std::memory_order_relaxed);
}

std::string InferenceHandler::engine_name(std::size_t index) const {
    return index < state_->engine_names.size() ? state_->engine_names[index] : std::string();
}

void InferenceHandler::set_late_policy(LatePolicy policy) noexcept {
    state_->controls.late_policy.store(policy, std::memory_order_relaxed);
}

void InferenceHandler::set_offline_rendering(bool offline) noexcept {
    state_->controls.offline_rendering.store(offline, std::memory_order_relaxed);
}

void InferenceHandler::reset() noexcept {
    state_->controls.reset_requests.fetch_add(1, std::memory_order_release);
}

Statistics InferenceHandler::statistics() const noexcept {
    const core::Counters& c = state_->counters;
    auto load = [](const std::atomic<std::uint64_t>& counter) {
        return counter.load(std::memory_order_relaxed);
    };
    Statistics stats;
    stats.blocks = load(c.blocks);
    stats.frames = load(c.frames);
    stats.oversized_blocks = load(c.oversized);
    stats.inferences_submitted = load(c.submitted);
    stats.inferences_completed = load(c.completed);
    stats.late_inferences = load(c.late);
    stats.dropped_inferences = load(c.dropped);
    stats.failed_inferences = load(c.failed);
    stats.substituted_frames = load(c.substituted);
    stats.resets = load(c.resets);
    const std::uint64_t runs = stats.inferences_completed + stats.failed_inferences;
    stats.max_inference_ms = static_cast<double>(load(c.run_time_max_ns)) / 1e6;
    stats.mean_inference_ms =
        runs > 0 ? static_cast<double>(load(c.run_time_total_ns)) / 1e6 / static_cast<double>(runs)
                 : 0.0;
    stats.latency_samples = latency();
    stats.max_inference_time_ms = max_inference_time_ms();
    stats.engine = engine();
    const ContextInfo info = state_->context->info();
    stats.worker_threads = info.worker_threads;
    stats.realtime_workers = info.realtime_workers;
    return stats;
}

std::string InferenceHandler::last_error() const {
    return state_->counters.error();
}

const InferenceConfig& InferenceHandler::config() const noexcept {
    return state_->config;
}

const std::shared_ptr<Context>& InferenceHandler::context() const noexcept {
    return state_->context;
}

}  // namespace legato
