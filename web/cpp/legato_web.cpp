// The C ABI the TypeScript package calls (web/src/*.ts): handlers from JSON model configs,
// prepared and processed on one shared WebAssembly.Memory. Errors are returned as text, never
// thrown across the boundary. Thread contracts as in legato/inference_handler.hpp.

#include <emscripten/emscripten.h>
#include <malloc.h>

#include <cstring>
#include <memory>
#include <string>

#include "legato/legato.hpp"

namespace {

thread_local std::string last_error;  // per calling thread (main thread for setup)

struct WebHandler {
    legato::ModelConfig config;
    std::unique_ptr<legato::InferenceHandler> handler;
};

}  // namespace

extern "C" {

/// [setup thread] The message of the last failed call on this thread ("" if none).
EMSCRIPTEN_KEEPALIVE const char* legato_last_error() {
    return last_error.c_str();
}

/// [setup thread] A handler for the JSON config `json` (docs/config.md); null on error
/// (legato_last_error() names the field). Model paths are not readable here: engines that need
/// no file (bypass) only, for now.
EMSCRIPTEN_KEEPALIVE WebHandler* legato_handler_create(const char* json) {
    try {
        auto web = std::make_unique<WebHandler>();
        web->config = legato::parse_model_config(json, "/", false, "config");
        // The config's "context" (worker_threads: at most the module's PTHREAD_POOL_SIZE).
        web->handler = std::make_unique<legato::InferenceHandler>(
            web->config.inference, legato::Context::shared(web->config.context));
        last_error.clear();
        return web.release();
    } catch (const std::exception& e) {
        last_error = e.what();
        return nullptr;
    }
}

/// [setup thread] Prepares for `sample_rate` and blocks of up to `max_block` frames; offline
/// rendering waits for every result. A `min_latency` above the computed latency is used instead
/// (HostConfig::latency_override: room for the browser's render bursts). Returns 0, or -1
/// (legato_last_error()).
EMSCRIPTEN_KEEPALIVE int legato_handler_prepare(WebHandler* web, double sample_rate, int max_block,
                                                int offline, int min_latency) {
    try {
        legato::HostConfig host;
        host.sample_rate = sample_rate;
        host.max_block_size = static_cast<std::size_t>(max_block);
        host.offline_rendering = offline != 0;
        web->handler->prepare(host);
        if (web->handler->latency() < static_cast<std::size_t>(min_latency)) {
            host.latency_override = static_cast<std::size_t>(min_latency);
            web->handler->prepare(host);
        }
        last_error.clear();
        return 0;
    } catch (const std::exception& e) {
        last_error = e.what();
        return -1;
    }
}

/// [any thread] Latency in samples.
EMSCRIPTEN_KEEPALIVE int legato_handler_latency(const WebHandler* web) {
    return static_cast<int>(web->handler->latency());
}

/// [audio thread] Processes `frames` mono samples from `input` into `output` (wait-free in
/// real-time mode).
EMSCRIPTEN_KEEPALIVE void legato_handler_process(WebHandler* web, const float* input, float* output,
                                                 int frames) {
    const float* in[1] = {input};
    float* out[1] = {output};
    web->handler->process(in, 1, out, 1, static_cast<std::size_t>(frames));
}

/// [any thread] The legato::InferenceHandler inside (for the worklet).
EMSCRIPTEN_KEEPALIVE legato::InferenceHandler* legato_handler_native(WebHandler* web) {
    return web->handler.get();
}

/// [any thread] Requests a reset: the audio thread applies it at its next process() call
/// (pending inferences dropped, rings and state zeroed, the pre-roll restarted).
EMSCRIPTEN_KEEPALIVE void legato_handler_reset(WebHandler* web) {
    web->handler->reset();
}

/// [any thread] The statistics, in Statistics' field order, into `out` (14 doubles): blocks,
/// frames, oversized_blocks, inferences_submitted, inferences_completed, late_inferences,
/// dropped_inferences, expired_inferences, failed_inferences, substituted_frames, resets,
/// max_inference_ms, mean_inference_ms, max_inference_time_ms.
EMSCRIPTEN_KEEPALIVE void legato_handler_statistics(const WebHandler* web, double* out) {
    const legato::Statistics s = web->handler->statistics();
    const double values[] = {static_cast<double>(s.blocks),
                             static_cast<double>(s.frames),
                             static_cast<double>(s.oversized_blocks),
                             static_cast<double>(s.inferences_submitted),
                             static_cast<double>(s.inferences_completed),
                             static_cast<double>(s.late_inferences),
                             static_cast<double>(s.dropped_inferences),
                             static_cast<double>(s.expired_inferences),
                             static_cast<double>(s.failed_inferences),
                             static_cast<double>(s.substituted_frames),
                             static_cast<double>(s.resets),
                             s.max_inference_ms,
                             s.mean_inference_ms,
                             s.max_inference_time_ms};
    std::memcpy(out, values, sizeof values);
}

/// [any thread] Bytes of the module's heap in use (for leak checks).
EMSCRIPTEN_KEEPALIVE double legato_heap_in_use() {
    return static_cast<double>(mallinfo().uordblks);
}

/// [setup thread] Destroys the handler (never while its process() runs).
EMSCRIPTEN_KEEPALIVE void legato_handler_destroy(WebHandler* web) {
    delete web;
}

}  // extern "C"
