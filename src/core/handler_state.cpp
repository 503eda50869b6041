#include "core/handler_state.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>

#include "core/inference_pipeline.hpp"
#include "core/warm_up.hpp"
#include "legato/error.hpp"

namespace legato::core {

namespace {

InferenceConfig validated(InferenceConfig config) {
    try {
        config.validate();
    } catch (const Error& e) {
        throw ConfigError(std::string("invalid InferenceConfig: ") + e.what());
    }
    return config;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string text = "[";
    for (std::size_t d = 0; d < shape.size(); ++d)
        text += (d == 0 ? "" : ", ") + std::to_string(shape[d]);
    return text + "]";
}

// An engine's "output has the wrong shape" in the config's words. The common case: an audio
// model whose output is shorter than its window by more than the past context given (a
// convolution without padding consumes its receptive field), so `past_context` is too small.
// Throws PastContextError when the past context is too small, ConfigError otherwise, each
// message starting with `prefix`.
[[noreturn]] void explain_output_shape(const InferenceConfig& config, const OutputShapeError& e,
                                       const std::string& prefix) {
    const std::size_t o = e.output_index();
    if (o >= config.outputs.size())
        throw ConfigError(prefix + e.what());
    const TensorSpec& out = config.outputs[o];
    const std::string output = "outputs[" + std::to_string(o) + "] ('" + out.name + "')";
    const auto& actual = e.actual();
    const auto& expected = e.expected();
    std::size_t differing = 0;
    std::size_t dim = 0;
    if (actual.size() == expected.size())
        for (std::size_t d = 0; d < actual.size(); ++d)
            if (actual[d] != expected[d]) {
                ++differing;
                dim = d;
            }
    const TensorSpec* in = nullptr;
    std::size_t in_index = 0;
    // The first audio input read as one window (sliding-window layouts have no such length).
    for (std::size_t i = 0; i < config.inputs.size() && in == nullptr; ++i) {
        const TensorSpec& spec = config.inputs[i];
        if (spec.role == TensorRole::audio && (spec.layout == AudioLayout::channels_first ||
                                               spec.layout == AudioLayout::channels_last)) {
            in = &spec;
            in_index = i;
        }
    }
    const std::string generic = output + ": the model returns shape " + shape_text(actual) +
                                " where the config expects " + shape_text(expected) +
                                " (engine: " + e.what() + ")";
    const std::int64_t hop = static_cast<std::int64_t>(out.hop);
    const std::int64_t out_past = static_cast<std::int64_t>(out.past_context);
    if (out.role != TensorRole::audio || in == nullptr || differing != 1 ||
        expected[dim] != hop + out_past)
        throw ConfigError(prefix + generic);
    const std::int64_t past = static_cast<std::int64_t>(in->past_context);
    const std::string window = "from a window of " + std::to_string(past + hop) +
                               " samples (past_context " + std::to_string(past) + " + hop " +
                               std::to_string(hop) + ")";
    if (actual[dim] < hop + out_past) {  // shortened by more than the past context covers
        const std::int64_t needed = past + hop + out_past - actual[dim];
        throw PastContextError(
            prefix + "inputs[" + std::to_string(in_index) + "].past_context: the model needs " +
                std::to_string(needed) + " samples of past context, the config gives " +
                std::to_string(past) + ": " + window + " its output " + output + " has " +
                std::to_string(actual[dim]) + " samples, " +
                std::to_string(hop + out_past - actual[dim]) + " short of the " +
                (out_past > 0 ? "output's past_context + hop" : "hop") +
                "; set \"past_context\": " + std::to_string(needed) + " (engine: " + e.what() + ")",
            in_index, in->past_context, static_cast<std::size_t>(needed));
    }
    // Longer: a model that returns as many samples as it reads.
    throw ConfigError(prefix + "outputs[" + std::to_string(o) +
                      "].past_context: the model returns " + std::to_string(actual[dim]) +
                      " samples " + window + ", " + std::to_string(actual[dim] - hop - out_past) +
                      " more than the config takes from it (the output's past_context " +
                      std::to_string(out_past) + " + hop " + std::to_string(hop) +
                      "); set the output's \"past_context\": " + std::to_string(actual[dim] - hop) +
                      " so that its leading samples are discarded (engine: " + e.what() + ")");
}

double thread_cpu_ms() noexcept {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

std::string engine_prefix(std::size_t index, const EngineRuntime& engine) {
    return "engines[" + std::to_string(index) + "] (" + engine.name() + "): ";
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
    const std::size_t min_runs =
        measuring ? std::max<std::size_t>(config.warm_up, 32) : config.warm_up;
    const std::vector<StateLink> links = make_state_links(config);
    std::vector<std::unique_ptr<EngineRuntime>> loaded;  // installed only if every engine loads
    std::vector<float> request(layout.stride, 0.0f);
    WarmUpReport report;
    report.settled = measuring;
    double measured_ms = 0.0;
    for (std::size_t e = 0; e < config.engines.size(); ++e) {
        std::unique_ptr<EngineRuntime> engine;
        try {
            engine = std::make_unique<EngineRuntime>(config, e);
        } catch (const OutputShapeError& ex) {  // an engine that checks shapes at load
            explain_output_shape(
                config, ex,
                "engines[" + std::to_string(e) + "] (" + config.engines[e].backend->name() + "): ");
        }
        for (std::size_t k = 0; k < engine->instance_count() && min_runs > 0; ++k) {
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
            std::vector<std::vector<float>> state;
            for (const auto& link : links)
                state.emplace_back(element_count(config.inputs[link.input].shape), 0.0f);
            WarmUpRule rule;
            rule.percentile = config.measure_percentile;
            WarmUpMeter meter(min_runs, measuring, rule);
            std::string failure;
            std::exception_ptr config_failure;  // the config does not fit the model
            // On a worker, at its priority: the conditions the inferences will run in.
            context->pool().run_on_worker([&] {
                try {
                    const auto began = std::chrono::steady_clock::now();
                    for (std::uint64_t w = 0;; ++w) {
                        const double cpu_before = thread_cpu_ms();
                        const auto before = std::chrono::steady_clock::now();
                        run_inference(*processor, layout, run, request.data(), w, links, state);
                        const auto after = std::chrono::steady_clock::now();
                        const double cpu = thread_cpu_ms() - cpu_before;
                        const std::chrono::duration<double, std::milli> wall = after - before;
                        const std::chrono::duration<double> elapsed = after - began;
                        if (meter.record(wall.count(), cpu, elapsed.count()))
                            break;
                    }
                } catch (const ConfigError&) {
                    config_failure = std::current_exception();
                } catch (const std::exception& ex) {
                    failure = ex.what();
                } catch (...) {  // a user's engine may throw anything; never let it escape
                    failure = "unknown exception";
                }
            });
            if (config_failure) {
                try {
                    std::rethrow_exception(config_failure);
                } catch (const OutputShapeError& ex) {
                    explain_output_shape(config, ex, engine_prefix(e, *engine));
                } catch (const ConfigError& ex) {
                    throw ConfigError(engine_prefix(e, *engine) + ex.what());
                }
            }
            if (!failure.empty())
                throw Error(engine_prefix(e, *engine) + "warm-up inference failed: " + failure);
            try {
                run.model->reset_state();
            } catch (const std::exception& ex) {
                throw Error(engine_prefix(e, *engine) +
                            "resetting the model's state after warm-up failed: " + ex.what());
            } catch (...) {
                throw Error(engine_prefix(e, *engine) +
                            "resetting the model's state after warm-up failed: unknown exception");
            }
            // The latency must cover the slowest engine and instance.
            measured_ms = std::max(measured_ms, meter.percentile(config.measure_percentile));
            report.typical_ms = std::max(report.typical_ms, meter.percentile(0.5));
            report.runs += meter.runs();
            report.counted += meter.counted();
            report.discarded += meter.discarded();
            report.settled = report.settled && meter.settled();
        }
        loaded.push_back(std::move(engine));
    }
    double time_ms = 0.0;
    if (config.max_inference_time_ms) {
        time_ms = *config.max_inference_time_ms;
    } else {
        if (report.counted == 0)
            throw Error("max_inference_time_ms: cannot be measured without warm-up inferences");
        report.percentile_ms = measured_ms;
        time_ms = measured_ms * config.measure_safety_factor + config.measure_wake_allowance_ms;
    }
    engines = std::move(loaded);
    max_inference_time_ms = time_ms;
    warm_up = report;
}

}  // namespace legato::core
