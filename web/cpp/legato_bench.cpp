// Measuring process() on the browser's audio thread. The worklet global scope has only a 1 ms
// clock (Date.now(): no `performance` object), so a single call cannot be timed there. Each
// render quantum instead runs `calls` process() calls back to back on consecutive blocks and
// records their mean: the browser's analogue of the native BM_ProcessBypassHot (bench/
// core_bench.cpp), which also runs far faster than real time (hops are late; a late hop costs
// a memset instead of a copy). With calls = 1 it records one call per quantum in real time,
// quantized to 1 ms: only the mean of many such samples means anything (the clock's phase is
// uncorrelated with the calls, so the quantization averages out).

#include <emscripten/emscripten.h>
#include <emscripten/webaudio.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "legato/legato.hpp"
#include "worklet_thread.hpp"

namespace {

constexpr int quantum = 128;

struct BenchRun {
    legato::InferenceHandler* handler = nullptr;
    int calls = 1;
    std::vector<double> means_ms;  // per quantum, sized up front
    std::atomic<int> recorded{0};
    float input[quantum] = {};
    float output[quantum] = {};
    legato::web::WorkletThread thread;
};

bool bench_quantum(int, const AudioSampleFrame*, int, AudioSampleFrame*, int,
                   const AudioParamFrame*, void* user) {
    auto& run = *static_cast<BenchRun*>(user);
    const int at = run.recorded.load(std::memory_order_relaxed);
    if (at >= static_cast<int>(run.means_ms.size()))
        return true;
    const float* in[1] = {run.input};
    float* out[1] = {run.output};
    const double start = emscripten_get_now();
    for (int k = 0; k < run.calls; ++k)
        run.handler->process(in, 1, out, 1, quantum);
    run.means_ms[static_cast<std::size_t>(at)] = (emscripten_get_now() - start) / run.calls;
    run.recorded.store(at + 1, std::memory_order_release);
    return true;
}

}  // namespace

extern "C" {

/// [main thread] Starts a worklet thread on `context` (emscriptenRegisterAudioObject; a context
/// without other Legato nodes) whose node runs `calls` process() calls of `handler` (prepared
/// for blocks of 128) per quantum, for `quanta` quanta. Poll legato_bench_recorded().
EMSCRIPTEN_KEEPALIVE BenchRun* legato_bench_start(EMSCRIPTEN_WEBAUDIO_T context,
                                                  legato::InferenceHandler* handler, int calls,
                                                  int quanta) {
    auto* run = new BenchRun;
    run->handler = handler;
    run->calls = calls < 1 ? 1 : calls;
    run->means_ms.assign(static_cast<std::size_t>(quanta), 0.0);
    for (int n = 0; n < quantum; ++n)
        run->input[n] = 0.25f;
    run->thread.processor = "legato-bench";
    run->thread.output_node = &bench_quantum;
    run->thread.user = run;
    legato::web::start_worklet_thread(context, run->thread);
    return run;
}

/// [any thread] Quanta measured so far (-1: the worklet failed to start).
EMSCRIPTEN_KEEPALIVE int legato_bench_recorded(const BenchRun* run) {
    return run->thread.state.load() < 0 ? -1 : run->recorded.load(std::memory_order_acquire);
}

/// [main thread] The per-quantum means (ms per call), `legato_bench_recorded()` of them.
EMSCRIPTEN_KEEPALIVE const double* legato_bench_means(const BenchRun* run) {
    return run->means_ms.data();
}

/// [main thread] Frees the run once its context is closed.
EMSCRIPTEN_KEEPALIVE void legato_bench_destroy(BenchRun* run) {
    delete run;
}

}  // extern "C"
