#pragma once
// Everything an InferenceHandler owns.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/controls.hpp"
#include "core/counters.hpp"
#include "core/engine_runtime.hpp"
#include "core/request_layout.hpp"
#include "core/session.hpp"
#include "legato/context.hpp"
#include "legato/inference_config.hpp"

namespace legato::core {

class HandlerState {
public:
    HandlerState(InferenceConfig config, std::shared_ptr<Context> context);

    /// [setup thread] Loads every engine and warms each instance up, then sets engines and
    /// max_inference_time_ms (configured, or measured from the warm runs, the cold first run of
    /// each instance excluded). All or nothing: on failure nothing is kept, so a retry loads all.
    void load_engines();

    InferenceConfig config;
    std::shared_ptr<Context> context;
    std::vector<std::string> engine_names;  // cached so that set_engine(name) never allocates
    Controls controls;
    Counters counters;
    std::shared_ptr<PrePostProcessor> processor;
    RequestLayout layout;
    std::vector<std::unique_ptr<EngineRuntime>> engines;
    double max_inference_time_ms = 0;  // configured or measured at the first prepare()
    std::unique_ptr<Session> session;  // replaced only by prepare(), never during process()
    std::atomic<std::size_t> latency{0};
    std::atomic<double> prepared_max_inference_time_ms{0.0};
};

}  // namespace legato::core
