// The handler's process() on the browser's audio thread: an Emscripten Wasm Audio Worklet on
// the same shared memory as the main thread and the worker pool's threads (docs/web.md). Nothing
// here waits: a futex wait on the worklet thread traps, so a run that completes proves none
// happened there.
//
// legato_worklet_start() also carries a self-check used by the tests and the demo: the worklet
// feeds the handler a deterministic signal and compares what comes out with that signal
// delayed by latency() (the bypass engine), counting samples that differ.

#include <emscripten/emscripten.h>
#include <emscripten/webaudio.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "legato/legato.hpp"
#include "worklet_thread.hpp"

namespace {

constexpr int quantum = 128;  // Web Audio's render quantum

struct WorkletRun {
    legato::InferenceHandler* handler = nullptr;
    std::size_t latency = 0;
    std::vector<float> history;  // the generated input, latency + quantum back (a ring)
    std::uint64_t position = 0;  // samples generated so far
    std::uint32_t noise = 0x2545f491u;
    float input[quantum] = {};
    float output[quantum] = {};
    std::atomic<std::uint64_t> frames{0};
    std::atomic<std::uint64_t> mismatches{0};
    legato::web::WorkletThread thread;
};

WorkletRun* run = nullptr;  // one per page, started once

// [audio thread] One render quantum: generate, process, compare, output.
bool process_quantum(int, const AudioSampleFrame*, int output_count, AudioSampleFrame* outputs, int,
                     const AudioParamFrame*, void* user) {
    auto& r = *static_cast<WorkletRun*>(user);
    const std::size_t ring = r.history.size();
    for (int n = 0; n < quantum; ++n) {
        r.noise ^= r.noise << 13;
        r.noise ^= r.noise >> 17;
        r.noise ^= r.noise << 5;
        r.input[n] = static_cast<float>(r.noise) * (1.0f / 4294967296.0f) - 0.5f;
        r.history[(r.position + n) % ring] = r.input[n];
    }
    const float* in[1] = {r.input};
    float* out[1] = {r.output};
    r.handler->process(in, 1, out, 1, quantum);
    std::uint64_t wrong = 0;
    for (int n = 0; n < quantum; ++n) {
        const std::uint64_t at = r.position + n;
        const float expected = at >= r.latency ? r.history[(at - r.latency) % ring] : 0.0f;
        wrong += r.output[n] != expected ? 1 : 0;
    }
    r.position += quantum;
    r.mismatches.fetch_add(wrong, std::memory_order_relaxed);
    r.frames.fetch_add(quantum, std::memory_order_relaxed);
    for (int o = 0; o < output_count; ++o)
        for (int c = 0; c < outputs[o].numberOfChannels; ++c)
            for (int n = 0; n < quantum; ++n)
                outputs[o].data[c * quantum + n] = 0.1f * r.output[n];
    return true;  // keep the node alive
}

}  // namespace

extern "C" {

/// [main thread] Starts the worklet thread on `context` (emscriptenRegisterAudioObject) and a
/// node that calls `handler`'s process() on every quantum with the self-check signal. The
/// handler must be prepared for blocks of 128 and outlive the page. Returns 0, or -1 if a run
/// was started already.
EMSCRIPTEN_KEEPALIVE int legato_worklet_self_check(EMSCRIPTEN_WEBAUDIO_T context,
                                                   legato::InferenceHandler* handler) {
    if (run != nullptr)
        return -1;
    run = new WorkletRun;
    run->handler = handler;
    run->latency = handler->latency();
    run->history.assign(run->latency + quantum, 0.0f);
    run->thread.processor = "legato-self-check";
    run->thread.output_node = &process_quantum;
    run->thread.user = run;
    legato::web::start_worklet_thread(context, run->thread);
    return 0;
}

/// [any thread] 1 running, 0 starting, -1 failed.
EMSCRIPTEN_KEEPALIVE int legato_worklet_state() {
    return run != nullptr ? run->thread.state.load() : 0;
}
/// [any thread] Samples the worklet has processed.
EMSCRIPTEN_KEEPALIVE double legato_worklet_frames() {
    return run != nullptr ? static_cast<double>(run->frames.load()) : 0.0;
}
/// [any thread] Output samples that differ from the input delayed by latency().
EMSCRIPTEN_KEEPALIVE double legato_worklet_mismatches() {
    return run != nullptr ? static_cast<double>(run->mismatches.load()) : 0.0;
}

}  // extern "C"
