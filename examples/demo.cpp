// The Legato demo: streams a generated test signal through a model at real-time pace, the way an
// audio callback would, and reports the latency, late inferences and timing percentiles.
//
// The model runs on ONNX Runtime: by default the project's own models/cnn_past.onnx, a dilated
// 1-D CNN with 40 samples of past context; --model takes any mono [1, 1, T] model.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "legato/legato.hpp"
#include "support/run_support.hpp"

using legato::tools::make_test_signal;
using legato::tools::percentile;
using legato::tools::stolen_ticks;

int main(int argc, char** argv) {
    CLI::App app{"Legato demo: a model streamed at real-time pace through an InferenceHandler"};
    double seconds = 5.0;
    std::size_t block = 256;
    std::size_t hop = 256;
    double sample_rate = 48000.0;
    double max_inference_ms = 0.0;
    std::size_t instances = 1;
    std::string model = LEGATO_DEMO_MODEL;
    std::size_t past_context = 40;
    app.add_option("--seconds", seconds, "Audio to stream")->check(CLI::Range(0.1, 3600.0));
    app.add_option("--block", block, "Host block size")->check(CLI::Range(1, 16384));
    app.add_option("--hop", hop, "Samples per inference")->check(CLI::Range(1, 16384));
    app.add_option("--sample-rate", sample_rate, "Sample rate in Hz")
        ->check(CLI::Range(8000.0, 384000.0));
    app.add_option("--max-inference-ms", max_inference_ms,
                   "Maximum inference time to compute the latency from (default: measure it)")
        ->check(CLI::Range(0.001, 10000.0));
    app.add_option("--instances", instances, "Parallel model instances")->check(CLI::Range(1, 64));
    app.add_option("--model", model,
                   "ONNX model: one mono input [1, 1, past + hop], one output [1, 1, hop]")
        ->check(CLI::ExistingFile);
    app.add_option("--past-context", past_context, "The model's past context in samples");
    CLI11_PARSE(app, argc, argv);

    try {
        legato::InferenceConfig config;
        config.engines.push_back(
            {legato::make_onnxruntime_backend(), legato::ModelSource::file(model), {}, {}, {}});
        legato::TensorSpec input;
        input.name = "audio_in";
        input.shape = {1, 1, -1};
        input.hop = hop;
        input.past_context = past_context;
        legato::TensorSpec output;
        output.name = "audio_out";
        output.shape = {1, 1, -1};
        output.hop = hop;
        config.inputs = {input};
        config.outputs = {output};
        if (max_inference_ms > 0.0)
            config.max_inference_time_ms = max_inference_ms;

        legato::InferenceHandler handler(config);
        legato::HostConfig host;
        host.sample_rate = sample_rate;
        host.max_block_size = block;
        handler.prepare(host);

        const auto frames = static_cast<std::size_t>(seconds * sample_rate);
        const std::vector<float> signal = make_test_signal(frames, sample_rate);
        std::vector<float> processed(frames);
        std::vector<double> callback_us;
        callback_us.reserve(frames / block + 1);

        std::printf(
            "Legato demo: %s on %s, %.0f Hz, block %zu, hop %zu, %.1f s at real-time pace\n",
            std::filesystem::path(model).filename().c_str(), handler.engine_name(0).c_str(),
            sample_rate, block, hop, seconds);
        std::printf("latency: %zu samples (%.2f ms), from a max inference time of %.3f ms (%s)\n",
                    handler.latency(),
                    1000.0 * static_cast<double>(handler.latency()) / sample_rate,
                    handler.max_inference_time_ms(),
                    max_inference_ms > 0.0 ? "given" : "measured during warm-up");

        // Like a host's audio callback, the loop runs on a real-time thread above Legato's
        // workers (SCHED_FIFO 40 by default); at normal priority, waking a worker would hand it
        // the CPU in the middle of process() (docs/realtime.md).
        bool realtime = false;
        const std::uint64_t stolen_before = stolen_ticks();
        std::thread audio([&] {
            realtime = legato::tools::make_current_thread_realtime(80);
            const auto start = std::chrono::steady_clock::now();
            for (std::size_t position = 0; position < frames; position += block) {
                const std::size_t count = std::min(block, frames - position);
                std::this_thread::sleep_until(
                    start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(
                                    static_cast<double>(position + count) / sample_rate)));
                const float* in = signal.data() + position;
                float* out = processed.data() + position;
                const auto before = std::chrono::steady_clock::now();
                handler.process(&in, 1, &out, 1, count);
                callback_us.push_back(std::chrono::duration<double, std::micro>(
                                          std::chrono::steady_clock::now() - before)
                                          .count());
            }
        });
        audio.join();

        const legato::Statistics stats = handler.statistics();
        double peak = 0.0;
        for (const float sample : processed)
            peak = std::max(peak, static_cast<double>(std::fabs(sample)));
        std::printf(
            "blocks: %llu, inferences: %llu, late inferences: %llu (%llu frames substituted)\n",
            static_cast<unsigned long long>(stats.blocks),
            static_cast<unsigned long long>(stats.inferences_submitted),
            static_cast<unsigned long long>(stats.late_inferences),
            static_cast<unsigned long long>(stats.substituted_frames));
        std::printf(
            "audio thread (%s) per process() call: p50 %.2f us, p99 %.2f us, p99.9 %.2f us, "
            "max %.2f us\n",
            realtime ? "SCHED_FIFO 80" : "normal priority: not permitted to use SCHED_FIFO",
            percentile(callback_us, 0.5), percentile(callback_us, 0.99),
            percentile(callback_us, 0.999), percentile(callback_us, 1.0));
        std::printf(
            "inference on the workers: mean %.3f ms, max %.3f ms; %zu worker threads (%zu "
            "real-time)\n",
            stats.mean_inference_ms, stats.max_inference_ms, stats.worker_threads,
            stats.realtime_workers);
        std::printf("output peak: %.3f\n", peak);
        if (stats.late_inferences > 0) {
            std::printf(
                "note: %llu hops were late although the slowest inference took %.3f ms on "
                "its worker; the worker did not get the CPU in time (%llu ticks of CPU time "
                "were stolen by the hypervisor during the run). More headroom, at more "
                "latency: --hop 1024 --max-inference-ms 10\n",
                static_cast<unsigned long long>(stats.late_inferences), stats.max_inference_ms,
                static_cast<unsigned long long>(stolen_ticks() - stolen_before));
        }
        return stats.failed_inferences == 0 ? 0 : 1;
    } catch (const legato::Error& e) {
        std::fprintf(stderr, "legato demo: %s\n", e.what());
        return 2;
    }
}
