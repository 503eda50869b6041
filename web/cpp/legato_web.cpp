// The C ABI the TypeScript package calls (web/src/*.ts): handlers from JSON model configs,
// prepared and processed on one shared WebAssembly.Memory. Errors are returned as text, never
// thrown across the boundary. Thread contracts as in legato/inference_handler.hpp.

#include <emscripten/emscripten.h>
#include <emscripten/heap.h>
#include <malloc.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cpp_engines.hpp"
#include "js_bridge.hpp"
#include "legato/legato.hpp"

namespace {

thread_local std::string last_error;  // per calling thread (main thread for setup)

// An exception as the message the package throws. Running out of heap (a bad_alloc, or the
// core's own "out of memory" error) names the fix: the memory never grows, its size is chosen
// at Legato.load() (docs/web.md "Memory").
std::string describe(const std::exception& e) {
    const std::string what = dynamic_cast<const std::bad_alloc*>(&e) ? "out of memory" : e.what();
    if (what.find("out of memory") == std::string::npos)
        return what;
    return what + " (the module's " + std::to_string(emscripten_get_heap_size() >> 20) +
           " MiB heap, " + std::to_string(mallinfo().uordblks >> 20) +
           " MiB in use: load with a larger Legato.load({ memoryMiB }))";
}

struct WebContext {
    std::shared_ptr<legato::Context> context;
};

struct WebHandler {
    legato::ModelConfig config;
    std::unique_ptr<legato::InferenceHandler> handler;
};

// The config as the package passes it: docs/config.md, where the package has turned each
// JavaScript engine (and ONNX Runtime Web) into {"engine": "js", "name": ..., "js_engine": id}
// and a JavaScript pre/post-processor into a top-level "js_processor": id; C++ engines compiled
// into the module are {"engine": "cpp", "name": ...} (cpp_engines.hpp). Those are parsed here;
// the rest by the native reader, so its messages are the native ones. Each such entry stands
// in place as a bypass while the native reader parses (its index, and its per-engine tensor
// overrides, stay where they were), then gets its backend.
legato::ModelConfig parse_web_config(const char* text) {
    nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object())
        return legato::parse_model_config(text, "/", false, "config");         // the native message
    std::vector<std::pair<std::size_t, std::shared_ptr<legato::Backend>>> js;  // and cpp
    std::vector<std::pair<std::size_t, std::vector<std::uint8_t>>> native_models;
    if (auto engines = json.find("engines"); engines != json.end() && engines->is_array()) {
        for (std::size_t e = 0; e < engines->size(); ++e) {
            nlohmann::json& entry = (*engines)[e];
            if (!entry.is_object())
                continue;
            const std::string where = "config: engines[" + std::to_string(e) + "]";
            if (entry.value("engine", "") == "native") {
                // No files here: the package fetched the model and put its bytes in the heap.
                const auto bytes = entry.find("model_bytes");
                if (bytes == entry.end() || !bytes->is_array() || bytes->size() != 2 ||
                    !(*bytes)[0].is_number_unsigned() || !(*bytes)[1].is_number_unsigned())
                    throw legato::ConfigError(where +
                                              ".model_bytes: is required for engine \"native\" "
                                              "(set by the package from \"model\")");
                const auto* data =
                    reinterpret_cast<const std::uint8_t*>((*bytes)[0].get<std::uintptr_t>());
                native_models.emplace_back(
                    e, std::vector<std::uint8_t>(data, data + (*bytes)[1].get<std::size_t>()));
                entry.erase("model_bytes");
                entry.erase("model");
                entry["engine"] = "bypass";
                continue;
            }
            if (entry.value("engine", "") == "cpp") {
                if (!entry.contains("name") || !entry["name"].is_string())
                    throw legato::ConfigError(where + ".name: is required for engine \"cpp\"");
                try {
                    js.emplace_back(e,
                                    legato::web::make_cpp_engine(entry["name"].get<std::string>()));
                } catch (const legato::Error& error) {
                    throw legato::ConfigError(where + ".name: " + error.what());
                }
                entry.erase("name");
                entry["engine"] = "bypass";
                continue;
            }
            if (entry.value("engine", "") != "js")
                continue;
            if (!entry.contains("js_engine") || !entry["js_engine"].is_number_integer())
                throw legato::ConfigError(where + ".js_engine: is required (set by the package)");
            js.emplace_back(e, legato::web::make_js_backend(entry.value("name", "js"),
                                                            entry["js_engine"].get<int>()));
            entry.erase("js_engine");
            entry.erase("name");
            entry["engine"] = "bypass";
        }
    }
    int processor = -1;
    if (auto found = json.find("js_processor"); found != json.end()) {
        if (!found->is_number_integer())
            throw legato::ConfigError(
                "config: js_processor: must be an integer (set by the package)");
        processor = found->get<int>();
        json.erase(found);
    }
    legato::ModelConfig config = legato::parse_model_config(json.dump(), "/", false, "config");
    for (auto& [index, backend] : js)
        config.inference.engines[index].backend = std::move(backend);
    for (auto& [index, bytes] : native_models) {
        config.inference.engines[index].backend = legato::make_backend("native");
        config.inference.engines[index].model = legato::ModelSource::memory(std::move(bytes));
    }
    if (processor >= 0)
        config.inference.pre_post_processor = legato::web::make_js_processor(
            processor, config.inference.inputs, config.inference.outputs);
    return config;
}

}  // namespace

extern "C" {

/// [setup thread] The message of the last failed call on this thread ("" if none).
EMSCRIPTEN_KEEPALIVE const char* legato_last_error() {
    return last_error.c_str();
}

/// [setup thread] A handler for the JSON config `json` (docs/config.md, with the package's
/// JavaScript engine entries: parse_web_config); null on error (legato_last_error() names the
/// field). Model files are not readable here: engines that need none (bypass, JavaScript), and
/// the native engine from bytes the package put in the heap ("model_bytes": [pointer, size],
/// copied here: the caller frees them).
/// `context` is a legato_context_create() result, or null for the process-wide Context made
/// from the config's "context" section.
EMSCRIPTEN_KEEPALIVE WebHandler* legato_handler_create(const char* json, WebContext* context) {
    try {
        auto web = std::make_unique<WebHandler>();
        web->config = parse_web_config(json);
        // worker_threads: at most the module's PTHREAD_POOL_SIZE (see legato_context_create).
        web->handler = std::make_unique<legato::InferenceHandler>(
            web->config.inference,
            context ? context->context : legato::Context::shared(web->config.context));
        last_error.clear();
        return web.release();
    } catch (const std::exception& e) {
        last_error = describe(e);
        return nullptr;
    }
}

/// [setup thread] A Context (worker pool) with `workers` inference threads, 1..4 (the module
/// starts 4 pthreads up front: a pool thread cannot be started while the main thread blocks).
/// Null on error (legato_last_error()). Handlers keep it alive until they are destroyed.
EMSCRIPTEN_KEEPALIVE WebContext* legato_context_create(int workers) {
    try {
        if (workers < 1 || workers > 4)
            throw legato::ConfigError("Context: workers must be between 1 and 4 on the web, got " +
                                      std::to_string(workers));
        legato::ContextConfig config;
        config.worker_threads = static_cast<std::size_t>(workers);
        return new WebContext{legato::Context::create(config)};
    } catch (const std::exception& e) {
        last_error = describe(e);
        return nullptr;
    }
}

/// [setup thread] Releases the Context (its threads stop once its last handler is destroyed).
EMSCRIPTEN_KEEPALIVE void legato_context_destroy(WebContext* context) {
    delete context;
}

/// [setup thread] Prepares for `sample_rate` and blocks of up to `max_block` frames; offline
/// rendering waits for every result. In real time the latency is the computed one plus
/// `burst_margin` samples (room for the browser's render bursts: docs/latency.md "In
/// browsers"), or `min_latency` if that is larger (HostConfig::latency_override). Returns 0, or
/// -1 (legato_last_error()).
EMSCRIPTEN_KEEPALIVE int legato_handler_prepare(WebHandler* web, double sample_rate, int max_block,
                                                int offline, int min_latency, int burst_margin) {
    try {
        legato::HostConfig host;
        host.sample_rate = sample_rate;
        host.max_block_size = static_cast<std::size_t>(max_block);
        host.offline_rendering = offline != 0;
        web->handler->prepare(host);
        const std::size_t wanted = std::max<std::size_t>(
            static_cast<std::size_t>(std::max(min_latency, 0)),
            offline
                ? 0
                : web->handler->latency() + static_cast<std::size_t>(std::max(burst_margin, 0)));
        if (web->handler->latency() < wanted) {
            host.latency_override = wanted;
            web->handler->prepare(host);
        }
        last_error.clear();
        return 0;
    } catch (const std::exception& e) {
        last_error = describe(e);
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

/// [audio thread] Processes `frames` frames of `in_channels` planar channels (channel c at
/// `input + c * stride` floats) into `out_channels` planar channels at `output`.
EMSCRIPTEN_KEEPALIVE void legato_handler_process_planar(WebHandler* web, const float* input,
                                                        int in_channels, float* output,
                                                        int out_channels, int stride, int frames) {
    constexpr int most = 32;
    const float* in[most];
    float* out[most];
    in_channels = std::min(in_channels, most);
    out_channels = std::min(out_channels, most);
    for (int c = 0; c < in_channels; ++c)
        in[c] = input + static_cast<std::ptrdiff_t>(c) * stride;
    for (int c = 0; c < out_channels; ++c)
        out[c] = output + static_cast<std::ptrdiff_t>(c) * stride;
    web->handler->process(in, static_cast<std::size_t>(in_channels), out,
                          static_cast<std::size_t>(out_channels), static_cast<std::size_t>(frames));
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

/// [any thread] Selects engine `index` of the config's engines (applied at the next inference
/// boundary, as natively). Returns 0, or -1 for an index out of range.
EMSCRIPTEN_KEEPALIVE int legato_handler_set_engine(WebHandler* web, int index) {
    return web->handler->set_engine(static_cast<std::size_t>(index)) ? 0 : -1;
}

/// [any thread] The active engine's index.
EMSCRIPTEN_KEEPALIVE int legato_handler_engine(const WebHandler* web) {
    return static_cast<int>(web->handler->engine());
}

/// [setup thread] Number of engines in the config.
EMSCRIPTEN_KEEPALIVE int legato_handler_engine_count(const WebHandler* web) {
    return static_cast<int>(web->config.inference.engines.size());
}

/// [any thread] Sets parameter input `name` (a non-streamed tensor) to `count` values at
/// `values`; the next inference submitted sees them. Returns 0, or -1 if no such parameter.
EMSCRIPTEN_KEEPALIVE int legato_handler_set_parameter(WebHandler* web, const char* name,
                                                      const float* values, int count) {
    return web->handler->set_parameter(name, std::span<const float>(values, count)) ? 0 : -1;
}

/// [any thread] Switches between offline rendering (process() waits for every result) and
/// real time.
EMSCRIPTEN_KEEPALIVE void legato_handler_set_offline(WebHandler* web, int offline) {
    web->handler->set_offline_rendering(offline != 0);
}

/// [any thread] Audio input and output channel counts (of the streamed tensors), packed as
/// inputs * 256 + outputs.
EMSCRIPTEN_KEEPALIVE int legato_handler_channels(const WebHandler* web) {
    return static_cast<int>(web->handler->input_channels() * 256 + web->handler->output_channels());
}

/// [setup thread] Registers a JavaScript inference worker's mailbox (the package allocates it,
/// 64-byte aligned, sizeof(Mailbox) bytes). Returns its index, or -1 (legato_last_error()).
EMSCRIPTEN_KEEPALIVE int legato_js_register_worker(void* box) {
    try {
        return legato::web::register_worker(static_cast<legato::web::mailbox::Mailbox*>(box));
    } catch (const std::exception& e) {
        last_error = describe(e);
        return -1;
    }
}

/// [main thread] The last error an engine reported while running (InferenceHandler::last_error),
/// "" if none; valid until the next call.
EMSCRIPTEN_KEEPALIVE const char* legato_handler_last_error(const WebHandler* web) {
    static std::string text;
    text = web->handler->last_error();
    return text.c_str();
}

/// [JS worker `runner`] Claims a request of the handlers this JS worker serves: the instance
/// key of the JS engine instance to run (*reset = 1: forget its state first), or 0 for none.
EMSCRIPTEN_KEEPALIVE int legato_js_runner_claim(int runner, int* reset) {
    return legato::web::runner_claim(runner, reset);
}

/// [JS worker `runner`] Completes the claimed request; `error` null or "" = success.
EMSCRIPTEN_KEEPALIVE void legato_js_runner_finish(int runner, const char* error) {
    legato::web::runner_finish(runner, error);
}

/// [any thread] sizeof(Mailbox): the package checks its layout against this.
EMSCRIPTEN_KEEPALIVE int legato_js_mailbox_bytes() {
    return static_cast<int>(sizeof(legato::web::mailbox::Mailbox));
}

/// [setup thread] Destroys the handler (never while its process() runs).
EMSCRIPTEN_KEEPALIVE void legato_handler_destroy(WebHandler* web) {
    delete web;
}

}  // extern "C"
