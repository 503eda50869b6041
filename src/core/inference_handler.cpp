#include "legato/inference_handler.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
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

InferenceHandler::InferenceHandler(InferenceConfig config, std::shared_ptr<Context> context)
    : state_(std::make_unique<core::HandlerState>(std::move(config), std::move(context))) {}

InferenceHandler::~InferenceHandler() {
    if (state_ && state_->session)
        state_->context->pool().remove(state_->session.get());
}

namespace {

std::string ms_text(double ms) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f ms", ms);
    return text;
}

// The "cannot keep up" error in full: what was measured and how, the budget it must fit, and
// the settings that would fit.
std::string explain_budget(const core::HandlerState& s, const HostConfig& host, std::size_t hop,
                           std::size_t parallel, std::size_t workers, const std::string& cause) {
    const InferenceConfig& config = s.config;
    if (config.max_inference_time_ms)
        return cause;  // configured: the latency arithmetic's message says it all
    std::size_t past = 0;
    for (const auto& spec : config.inputs)
        if (spec.role == TensorRole::audio)
            past = std::max(past, spec.past_context);
    const double hop_ms = static_cast<double>(hop) * 1000.0 / host.sample_rate;
    const double needed_ms = s.max_inference_time_ms;
    const core::WarmUpReport& w = s.warm_up;
    std::string text =
        "max_inference_time_ms: measured " + ms_text(needed_ms) + " (p" +
        std::to_string(static_cast<int>(std::lround(config.measure_percentile * 100))) + " of " +
        std::to_string(std::min<std::size_t>(w.counted, 32)) + " warm-up runs " +
        ms_text(w.percentile_ms) + " x safety factor " +
        std::to_string(config.measure_safety_factor).substr(0, 4) + " + wake allowance " +
        ms_text(config.measure_wake_allowance_ms) + "; " + std::to_string(w.discarded) +
        " preempted run(s) discarded; " +
        (w.settled ? "timing settled" : "timing did not settle before the cap") +
        ") does not fit the budget of " + ms_text(hop_ms * static_cast<double>(parallel)) +
        ": one hop of " + std::to_string(hop) + " samples (window: past_context " +
        std::to_string(past) + " + hop " + std::to_string(hop) + ") every " + ms_text(hop_ms) +
        " at " + std::to_string(static_cast<long>(host.sample_rate)) + " Hz, " +
        std::to_string(parallel) + " inference(s) at a time. What would fit: ";
    const auto min_hop = static_cast<std::size_t>(
        std::ceil(needed_ms * host.sample_rate / 1000.0 / static_cast<double>(parallel)));
    text += "a hop of at least " + std::to_string(min_hop) + " samples";
    if (!config.stateful) {
        const auto instances = static_cast<std::size_t>(std::ceil(needed_ms / hop_ms));
        text += "; or parallel_instances " + std::to_string(instances) + " with at least " +
                std::to_string(instances) + " worker threads (the context has " +
                std::to_string(workers) + ")";
    }
    text +=
        "; or max_inference_time_ms set explicitly if the model's worst case is known to be "
        "lower (the measurement may have been disturbed by other load)";
    return text;
}

// The inline runner prepare() should use, or null for the pool (InferenceConfig::inline_mode).
// Sets `cost_ms` to the measured cost of a block of max_block_size frames.
std::unique_ptr<core::InlineRunner> choose_inline(core::HandlerState& s, const HostConfig& host,
                                                  double& cost_ms) {
    const InferenceConfig& config = s.config;
    if (config.inline_mode == InlineMode::never)
        return nullptr;
    const bool always = config.inline_mode == InlineMode::always;
    const auto refuse = [&](const std::string& why) -> std::unique_ptr<core::InlineRunner> {
        if (always)
            throw ConfigError("inline: \"always\", but " + why);
        return nullptr;
    };
    if (std::string problem = core::InlineRunner::tensor_problem(config); !problem.empty())
        return refuse(problem);
    if (host.latency_override.value_or(0) > 0)
        return refuse("HostConfig.latency_override asks for a latency of " +
                      std::to_string(*host.latency_override) + " samples");
    std::unique_ptr<core::InlineRunner> runner;
    try {
        runner = std::make_unique<core::InlineRunner>(config, host, s.controls, s.counters);
    } catch (const Error&) {
        if (always)
            throw;
        return nullptr;  // an engine that cannot stream inline: the pool runs it
    }
    cost_ms = runner->measure_block_ms();
    const double block_ms = static_cast<double>(host.max_block_size) * 1000.0 / host.sample_rate;
    if (!always && cost_ms > config.inline_budget * block_ms)
        return nullptr;
    return runner;
}

}  // namespace

void InferenceHandler::prepare(const HostConfig& host) try {
    host.validate();
    core::HandlerState& s = *state_;
    const InferenceConfig& config = s.config;
    double inline_cost_ms = 0.0;
    if (auto runner = choose_inline(s, host, inline_cost_ms)) {
        if (s.session) {
            s.context->pool().remove(s.session.get());
            s.session.reset();
        }
        s.inline_runner = std::move(runner);
        s.counters.clear();
        s.controls.offline_rendering.store(host.offline_rendering);
        s.latency.store(0);
        s.prepared_max_inference_time_ms.store(inline_cost_ms);
        return;
    }
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
    std::size_t minimum = 0;
    try {
        minimum = compute_latency(latency_inputs);
    } catch (const Error& e) {
        throw ConfigError(explain_budget(s, host, hop, latency_inputs.parallel_inferences,
                                         pool.worker_count(), e.what()));
    }
    const std::size_t latency = host.latency_override.value_or(minimum);
    // Below hop - 1 a hop's first output would be due before its last input sample arrived.
    if (latency + 1 < hop)
        throw ConfigError("HostConfig.latency_override: must be at least hop - 1 (" +
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
    const core::SessionSetup setup{config,
                                   host,
                                   latency,
                                   engines,
                                   s.controls,
                                   s.counters,
                                   *s.processor,
                                   s.layout,
                                   pool,
                                   first_generation,
                                   static_cast<std::int64_t>(s.warm_up.typical_ms * 1e6),
                                   s.max_inference_time_ms};
    auto session = std::make_unique<core::Session>(setup);

    // Register before touching anything: replacing cannot fail, a first add may (full
    // context), and then the handler stays as it was.
    if (s.session)
        pool.replace(s.session.get(), session.get());
    else
        pool.add(session.get());
    s.session = std::move(session);
    s.inline_runner.reset();
    s.counters.clear();
    s.controls.offline_rendering.store(host.offline_rendering);
    s.latency.store(latency);
    s.prepared_max_inference_time_ms.store(s.max_inference_time_ms);
    s.warm_up_runs.store(s.warm_up.runs);
    s.warm_up_discarded.store(s.warm_up.discarded);
    s.warm_up_settled.store(s.warm_up.settled);
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
    if (state_->inline_runner) {
        state_->inline_runner->process(input, input_channels, output, output_channels, frames);
        return;
    }
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

bool InferenceHandler::runs_inline() const noexcept {
    return state_->inline_runner != nullptr;
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
    stats.expired_inferences = load(c.expired);
    stats.warm_up_runs = state_->warm_up_runs.load();
    stats.warm_up_discarded_runs = state_->warm_up_discarded.load();
    stats.warm_up_settled = state_->warm_up_settled.load();
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
