#pragma once
// Everything an InferenceHandler owns.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/controls.hpp"
#include "core/counters.hpp"
#include "core/engine_runtime.hpp"
#include "core/inline_runner.hpp"
#include "core/request_layout.hpp"
#include "core/session.hpp"
#include "legato/context.hpp"
#include "legato/inference_config.hpp"
#include "scheduling/worker_pool.hpp"

namespace legato::core {

/// What warm-up did (all engines and instances together).
struct WarmUpReport {
    std::size_t runs = 0;       ///< inferences run, cold ones included
    std::size_t counted = 0;    ///< runs that counted towards the measurement
    std::size_t discarded = 0;  ///< runs discarded as preempted
    bool settled = false;       ///< measured, and the timing settled before the caps
    double percentile_ms = 0;   ///< measured: the percentile the bound is derived from
    double typical_ms = 0;      ///< median warm inference time (slowest engine)
};

class HandlerState {
public:
    HandlerState(InferenceConfig config, std::shared_ptr<Context> context);

    /// [setup thread] Loads every engine and warms each instance up on a worker of the context
    /// (core/warm_up.hpp has the rule), then sets engines, warm_up and max_inference_time_ms
    /// (configured, or measured). All or nothing: on failure nothing is kept, so a retry loads
    /// all. Blocks for as long as warm-up takes.
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
    WarmUpReport warm_up;              // setup thread; published for statistics() below
    std::atomic<std::size_t> warm_up_runs{0};
    std::atomic<std::size_t> warm_up_discarded{0};
    std::atomic<bool> warm_up_settled{false};
    std::unique_ptr<Session> session;  // replaced only by prepare(), never during process()
    std::unique_ptr<InlineRunner> inline_runner;  // instead of a session (inline mode)
    std::atomic<std::size_t> latency{0};
    std::atomic<double> prepared_max_inference_time_ms{0.0};
};

}  // namespace legato::core
