// The default AudioWorklet node: one handler processing the node's input in place on the
// browser's audio thread (an Emscripten Wasm Audio Worklet on the page's AudioContext), with
// the worker pool's threads on the same memory. Created from the main thread by
// Legato.createNode() (web/src/index.ts). Nothing on the audio path waits or allocates.

#include <emscripten/emscripten.h>
#include <emscripten/webaudio.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "legato/legato.hpp"

namespace {

constexpr int quantum = 128;  // Web Audio's render quantum
constexpr int max_channels = 8;

// One per AudioContext: its worklet thread and the processor registered on it.
struct AudioThread {
    std::atomic<int> state{0};  // 0 starting, 1 ready, -1 failed
    alignas(16) std::uint8_t stack[32768];
};

// One per node: what its process callback needs, allocated before the node exists.
struct NodeRun {
    legato::InferenceHandler* handler = nullptr;
    int channels = 1;
    std::vector<float> in;   // channels x quantum
    std::vector<float> out;  // channels x quantum
};

void processor_registered(EMSCRIPTEN_WEBAUDIO_T, bool success, void* user) {
    static_cast<AudioThread*>(user)->state = success ? 1 : -1;
}

void thread_started(EMSCRIPTEN_WEBAUDIO_T context, bool success, void* user) {
    if (!success) {
        static_cast<AudioThread*>(user)->state = -1;
        return;
    }
    WebAudioWorkletProcessorCreateOptions options{"legato-node", 0, nullptr};
    emscripten_create_wasm_audio_worklet_processor_async(context, &options, &processor_registered,
                                                         user);
}

// [audio thread] One render quantum: the node's input (silence where it has fewer channels)
// through the handler, into the node's output.
bool process_quantum(int input_count, const AudioSampleFrame* inputs, int output_count,
                     AudioSampleFrame* outputs, int, const AudioParamFrame*, void* user) {
    auto& node = *static_cast<NodeRun*>(user);
    const int given = input_count > 0 ? inputs[0].numberOfChannels : 0;
    const float* in[max_channels];
    float* out[max_channels];
    for (int c = 0; c < node.channels; ++c) {
        float* channel = node.in.data() + c * quantum;
        if (c < given)
            std::copy_n(inputs[0].data + c * quantum, quantum, channel);
        else if (given > 0 && c > 0)  // mono into stereo: the one channel on every channel
            std::copy_n(inputs[0].data, quantum, channel);
        else
            std::fill_n(channel, quantum, 0.0f);
        in[c] = channel;
        out[c] = node.out.data() + c * quantum;
    }
    node.handler->process(in, static_cast<std::size_t>(node.channels), out,
                          static_cast<std::size_t>(node.channels), quantum);
    if (output_count > 0)
        for (int c = 0; c < outputs[0].numberOfChannels; ++c)
            std::copy_n(out[std::min(c, node.channels - 1)], quantum,
                        outputs[0].data + c * quantum);
    return true;
}

}  // namespace

extern "C" {

/// [main thread] Starts the audio worklet thread on `context` (emscriptenRegisterAudioObject)
/// and registers the node's processor; poll legato_audio_state() until it is not 0. Call once
/// per AudioContext (the browser allows one worklet thread per context).
EMSCRIPTEN_KEEPALIVE AudioThread* legato_audio_start(EMSCRIPTEN_WEBAUDIO_T context) {
    auto* thread = new AudioThread;
    emscripten_start_wasm_audio_worklet_thread_async(context, thread->stack, sizeof thread->stack,
                                                     &thread_started, thread);
    return thread;
}

/// [any thread] 1 ready, 0 starting, -1 failed.
EMSCRIPTEN_KEEPALIVE int legato_audio_state(const AudioThread* thread) {
    return thread->state.load();
}

/// [main thread] A node on a ready context processing `channels` channels (1..8) through
/// `handler` (prepared for blocks of 128). Returns the node's audio object handle
/// (emscriptenGetAudioObject), and its run in `*run` for legato_node_destroy().
EMSCRIPTEN_KEEPALIVE EMSCRIPTEN_AUDIO_WORKLET_NODE_T legato_node_create(
    EMSCRIPTEN_WEBAUDIO_T context, legato::InferenceHandler* handler, int channels, NodeRun** run) {
    auto* node = new NodeRun;
    node->handler = handler;
    node->channels = std::clamp(channels, 1, max_channels);
    node->in.assign(static_cast<std::size_t>(node->channels) * quantum, 0.0f);
    node->out.assign(static_cast<std::size_t>(node->channels) * quantum, 0.0f);
    int output_channels[1] = {node->channels};
    EmscriptenAudioWorkletNodeCreateOptions options{1, 1, output_channels};
    *run = node;
    return emscripten_create_wasm_audio_worklet_node(context, "legato-node", &options,
                                                     &process_quantum, node);
}

/// [main thread] Frees a node's run after the node was disconnected and its context closed or
/// the node can no longer be processed.
EMSCRIPTEN_KEEPALIVE void legato_node_destroy(NodeRun* run) {
    delete run;
}

}  // extern "C"
