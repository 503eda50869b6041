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
        throw Error(std::string("invalid InferenceConfig: ") + e.what());
    }
    return config;
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
        auto engine = std::make_unique<EngineRuntime>(config, e);
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
                } catch (const std::exception& ex) {
                    failure = ex.what();
                } catch (...) {  // a user's engine may throw anything; never let it escape
                    failure = "unknown exception";
                }
            });
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
