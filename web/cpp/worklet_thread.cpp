#include "worklet_thread.hpp"

namespace legato::web {

namespace {

void processor_registered(EMSCRIPTEN_WEBAUDIO_T context, bool success, void* user) {
    auto& thread = *static_cast<WorkletThread*>(user);
    if (success && thread.output_node != nullptr) {
        int channels[1] = {1};
        EmscriptenAudioWorkletNodeCreateOptions options{0, 1, channels};
        const EMSCRIPTEN_AUDIO_WORKLET_NODE_T node = emscripten_create_wasm_audio_worklet_node(
            context, thread.processor, &options, thread.output_node, thread.user);
        emscripten_audio_node_connect(node, context, 0, 0);
    }
    thread.state = success ? 1 : -1;
}

void thread_started(EMSCRIPTEN_WEBAUDIO_T context, bool success, void* user) {
    auto& thread = *static_cast<WorkletThread*>(user);
    if (!success) {
        thread.state = -1;
        return;
    }
    WebAudioWorkletProcessorCreateOptions options{thread.processor, thread.param_count,
                                                  thread.params};
    emscripten_create_wasm_audio_worklet_processor_async(context, &options, &processor_registered,
                                                         user);
}

}  // namespace

void start_worklet_thread(EMSCRIPTEN_WEBAUDIO_T context, WorkletThread& thread) {
    emscripten_start_wasm_audio_worklet_thread_async(context, thread.stack, sizeof thread.stack,
                                                     &thread_started, &thread);
}

}  // namespace legato::web
