// The default AudioWorklet node: one handler processing the node's input in place on the
// browser's audio thread (an Emscripten Wasm Audio Worklet on the page's AudioContext), with
// the worker pool's threads on the same memory. Created from the main thread by
// Legato.createNode() (web/src/index.ts). Nothing on the audio path waits or allocates.

#include <emscripten/emscripten.h>
#include <emscripten/webaudio.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "legato/legato.hpp"
#include "worklet_thread.hpp"

namespace {

constexpr int quantum = 128;  // Web Audio's render quantum
constexpr int max_channels = 8;
constexpr int max_params = 8;  // AudioParams "0".."7" on every Legato node

// One per node: what its process callback needs, allocated before the node exists.
struct NodeRun {
    legato::InferenceHandler* handler = nullptr;
    int in_channels = 1;
    int out_channels = 1;
    std::vector<float> in;   // in_channels x quantum
    std::vector<float> out;  // out_channels x quantum
    // AudioParam k drives parameter input params[k]. Each inference sees the value the param
    // has at the last sample of its hop: the quantum is processed in pieces that end on hop
    // boundaries, with the parameters set before each piece.
    std::vector<std::string> params;
    std::uint64_t hop = 0;    // of the first audio input
    std::uint64_t phase = 0;  // frames since the stream (re)started, modulo hop
    std::uint64_t resets_seen = 0;
};

// [audio thread] One render quantum: the node's input (silence where it has fewer channels;
// a mono input feeds every channel) through the handler, into the node's output.
bool process_quantum(int input_count, const AudioSampleFrame* inputs, int output_count,
                     AudioSampleFrame* outputs, int param_count, const AudioParamFrame* params,
                     void* user) {
    auto& node = *static_cast<NodeRun*>(user);
    const int given = input_count > 0 ? inputs[0].numberOfChannels : 0;
    for (int c = 0; c < node.in_channels; ++c) {
        float* channel = node.in.data() + c * quantum;
        if (c < given)
            std::copy_n(inputs[0].data + c * quantum, quantum, channel);
        else if (given > 0 && c > 0)
            std::copy_n(inputs[0].data, quantum, channel);
        else
            std::fill_n(channel, quantum, 0.0f);
    }
    const int mapped = std::min(param_count, static_cast<int>(node.params.size()));
    if (mapped > 0) {
        // A reset restarts the stream at the start of the process() call that applies it: the
        // first call of the previous quantum.
        const std::uint64_t resets = node.handler->statistics().resets;
        if (resets != node.resets_seen) {
            node.resets_seen = resets;
            node.phase = quantum % node.hop;
        }
    }
    const float* in[max_channels];
    float* out[max_channels];
    int at = 0;
    while (at < quantum) {
        int frames = quantum - at;
        if (mapped > 0) {
            frames = static_cast<int>(std::min<std::uint64_t>(frames, node.hop - node.phase));
            for (int k = 0; k < mapped; ++k) {
                const AudioParamFrame& param = params[k];
                node.handler->set_parameter(
                    node.params[k], param.length > 1 ? param.data[at + frames - 1] : param.data[0]);
            }
            node.phase = (node.phase + frames) % node.hop;
        }
        for (int c = 0; c < node.in_channels; ++c)
            in[c] = node.in.data() + c * quantum + at;
        for (int c = 0; c < node.out_channels; ++c)
            out[c] = node.out.data() + c * quantum + at;
        node.handler->process(in, static_cast<std::size_t>(node.in_channels), out,
                              static_cast<std::size_t>(node.out_channels),
                              static_cast<std::size_t>(frames));
        at += frames;
    }
    if (output_count > 0)
        for (int c = 0; c < outputs[0].numberOfChannels; ++c)
            std::copy_n(node.out.data() + std::min(c, node.out_channels - 1) * quantum, quantum,
                        outputs[0].data + c * quantum);
    return true;
}

}  // namespace

extern "C" {

/// [main thread] Starts the audio worklet thread on `context` (emscriptenRegisterAudioObject)
/// and registers the node's processor; poll legato_audio_state() until it is not 0. Call once
/// per AudioContext (the browser allows one worklet thread per context).
EMSCRIPTEN_KEEPALIVE legato::web::WorkletThread* legato_audio_start(EMSCRIPTEN_WEBAUDIO_T context) {
    static WebAudioParamDescriptor params[max_params];
    for (auto& param : params)
        param = {0.0f, -3.4028235e38f, 3.4028235e38f, WEBAUDIO_PARAM_A_RATE};
    auto* thread = new legato::web::WorkletThread;
    thread->processor = "legato-node";
    thread->param_count = max_params;
    thread->params = params;
    legato::web::start_worklet_thread(context, *thread);
    return thread;
}

/// [any thread] 1 ready, 0 starting, -1 failed.
EMSCRIPTEN_KEEPALIVE int legato_audio_state(const legato::web::WorkletThread* thread) {
    return thread->state.load();
}

/// [main thread] A node on a ready context running `handler` (prepared for blocks of 128):
/// `in_channels` / `out_channels` (1..8) planar channels, and AudioParams "0".."k-1" driving the
/// parameter inputs named in `params` (k names separated by '\n', "" for none; each must be a
/// one-value parameter input). Returns the node's audio object handle
/// (emscriptenGetAudioObject), and its run in `*run` for legato_node_destroy(); 0 and a null
/// run for a bad parameter (legato_last_error() is not set: the package checks names first).
EMSCRIPTEN_KEEPALIVE EMSCRIPTEN_AUDIO_WORKLET_NODE_T legato_node_create(
    EMSCRIPTEN_WEBAUDIO_T context, legato::InferenceHandler* handler, int in_channels,
    int out_channels, const char* params, NodeRun** run) {
    auto* node = new NodeRun;
    node->handler = handler;
    node->in_channels = std::clamp(in_channels, 1, max_channels);
    node->out_channels = std::clamp(out_channels, 1, max_channels);
    node->in.assign(static_cast<std::size_t>(node->in_channels) * quantum, 0.0f);
    node->out.assign(static_cast<std::size_t>(node->out_channels) * quantum, 0.0f);
    for (std::string names = params; !names.empty();) {
        const std::size_t end = std::min(names.find('\n'), names.size());
        node->params.push_back(names.substr(0, end));
        names.erase(0, end + 1);
    }
    node->params.resize(std::min<std::size_t>(node->params.size(), max_params));
    for (const auto& spec : handler->config().inputs)
        if (spec.role == legato::TensorRole::audio) {
            node->hop = spec.hop;
            break;
        }
    if (node->hop == 0)
        node->params.clear();  // no audio input: no hop boundaries to align to
    node->resets_seen = handler->statistics().resets;
    int output_channels[1] = {node->out_channels};
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
