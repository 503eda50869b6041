// The README's minimal example, compiled and run so that it stays true.

#include <algorithm>
#include <cstdio>
#include <vector>

#include <legato/legato.hpp>

namespace {
void report_latency_to_host(std::size_t samples) {
    std::printf("latency: %zu samples\n", samples);
}
}  // namespace

int main() {
    // Any engine fits the Backend interface; here a callable stands in for a model.
    auto model = legato::make_custom_backend("gain", [](auto inputs, auto outputs) {
        for (std::size_t i = 0; i < outputs[0].data.size(); ++i)
            outputs[0].data[i] = 0.5f * inputs[0].data[i];
    });

    legato::InferenceConfig config;
    config.engines.push_back({model, {}, {}, {}, {}});
    legato::TensorSpec in;  // one mono audio input: [1, 1, hop]
    in.name = "audio_in";
    in.shape = {1, 1, -1};  // -1: resolved from hop and past context
    in.hop = 256;
    legato::TensorSpec out = in;
    out.name = "audio_out";
    config.inputs = {in};
    config.outputs = {out};
    config.max_inference_time_ms = 2.0;  // or leave unset to measure it during warm-up

    legato::InferenceHandler handler(config);  // [setup thread]
    legato::HostConfig host;
    host.sample_rate = 48000;
    host.max_block_size = 512;
    handler.prepare(host);
    report_latency_to_host(handler.latency());  // 512 samples here

    // [audio thread], every callback (here: offline, so results are waited for).
    handler.set_offline_rendering(true);
    std::vector<float> buffer(512, 1.0f);
    float* channels[] = {buffer.data()};
    float* const* inputs = channels;
    float* const* outputs = channels;
    const std::size_t num_inputs = 1, num_outputs = 1, frames = 512;
    for (int callback = 0; callback < 4; ++callback) {
        std::fill(buffer.begin(), buffer.end(), 1.0f);  // this callback's input
        handler.process(inputs, num_inputs, outputs, num_outputs, frames);
    }
    std::printf("after 4 callbacks of 512: last sample %.2f (expected 0.50)\n", buffer[511]);
    return buffer[511] == 0.5f ? 0 : 1;
}
