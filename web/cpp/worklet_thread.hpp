#pragma once
// Starting an Emscripten Wasm Audio Worklet thread on a context and registering one processor
// on it: the steps the default node, the self-check and the benchmark share.

#include <emscripten/webaudio.h>

#include <atomic>
#include <cstdint>

namespace legato::web {

/// What one worklet start needs; lives as long as the worklet thread (its stack is inside).
struct WorkletThread {
    std::atomic<int> state{0};  // 0 starting, 1 ready, -1 failed
    const char* processor = "";
    int param_count = 0;
    const WebAudioParamDescriptor* params = nullptr;
    /// If set: once the processor is registered (before `state` becomes 1), a node of it with
    /// no input and one mono output, running this callback with `user`, connected to the
    /// context's output (the self-check and the benchmark drive themselves this way).
    EmscriptenWorkletNodeProcessCallback output_node = nullptr;
    void* user = nullptr;
    alignas(16) std::uint8_t stack[32768];
};

/// [main thread] Starts the worklet thread on `context` and registers `thread.processor` with
/// its AudioParams; poll `thread.state`.
void start_worklet_thread(EMSCRIPTEN_WEBAUDIO_T context, WorkletThread& thread);

}  // namespace legato::web
