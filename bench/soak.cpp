// The soak test: N handlers stream for a long time at small blocks, paced in real time by one
// audio thread that calls each handler's process() in turn every period, as a host calls its
// plugin instances. Prints the late inferences and the audio-thread time per process() call
// (p50/p99/p99.9/max) for each handler count. Not a unit test: run it for minutes
// (docs/realtime.md has a 10-minute run's figures).
//
//   build/release/bench/legato_soak --seconds 200 --handlers 1,4,16

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "legato/legato.hpp"
#include "support/run_support.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    double seconds = 60.0;
    std::vector<std::size_t> handler_counts{1, 4, 16};
    std::size_t block = 64;
    std::size_t hop = 64;
    double sample_rate = 48000.0;
    std::string engine = LEGATO_SOAK_DEFAULT_ENGINE;
    std::string model = LEGATO_SOAK_MODEL;
    std::size_t past_context = 40;
    double max_inference_ms = 0.0;  // 0: measure during warm-up
    std::size_t instances = 1;
    std::string wake = "anticipate";
    std::size_t workers = 0;  // 0: the library's default
    int priority = 80;
};

legato::InferenceConfig make_config(const Options& o) {
    legato::InferenceConfig config;
    if (o.engine == "bypass")
        config.engines.push_back({legato::make_bypass_backend(), {}, {}, {}, {}});
    else
        config.engines.push_back(
            {legato::make_backend(o.engine), legato::ModelSource::file(o.model), {}, {}, {}});
    legato::TensorSpec input;
    input.name = "audio_in";
    input.shape = {1, 1, -1};
    input.hop = o.hop;
    input.past_context = o.engine == "bypass" ? 0 : o.past_context;
    legato::TensorSpec output;
    output.name = "audio_out";
    output.shape = {1, 1, -1};
    output.hop = o.hop;
    config.inputs = {input};
    config.outputs = {output};
    if (o.max_inference_ms > 0.0)
        config.max_inference_time_ms = o.max_inference_ms;
    config.parallel_instances = o.instances;
    return config;
}

void run(const Options& o, std::size_t count) {
    legato::ContextConfig pool;
    pool.worker_threads = o.workers;
    pool.wake_strategy = o.wake == "poll"    ? legato::WakeStrategy::poll
                         : o.wake == "timer" ? legato::WakeStrategy::timer
                         : o.wake == "sleep" ? legato::WakeStrategy::sleep
                                             : legato::WakeStrategy::anticipate;
    const auto context = legato::Context::create(pool);
    std::vector<std::unique_ptr<legato::InferenceHandler>> handlers;
    legato::HostConfig host;
    host.sample_rate = o.sample_rate;
    host.max_block_size = o.block;
    for (std::size_t h = 0; h < count; ++h) {
        handlers.push_back(std::make_unique<legato::InferenceHandler>(make_config(o), context));
        handlers.back()->prepare(host);
    }
    const auto periods = static_cast<std::size_t>(o.seconds * o.sample_rate) / o.block;
    // One second of test signal per handler, looped; each handler gets its own.
    const auto loop = static_cast<std::size_t>(o.sample_rate) / o.block * o.block;
    std::vector<std::vector<float>> inputs;
    for (std::size_t h = 0; h < count; ++h)
        inputs.push_back(
            legato::tools::make_test_signal(loop, o.sample_rate, static_cast<std::uint32_t>(h)));
    std::vector<float> output(o.block);
    std::vector<float> call_us(periods * count);  // allocated before the audio thread starts
    std::vector<float> callback_us(periods);
    const std::uint64_t stolen_before = legato::tools::stolen_ticks();

    const legato::tools::PacedRun paced = legato::tools::run_paced(
        o.block, o.sample_rate, o.seconds, periods, o.priority,
        [&](std::size_t p, Clock::time_point woke) {
            const std::size_t offset = p * o.block % loop;
            auto before = woke;
            for (std::size_t h = 0; h < count; ++h) {
                const float* in = inputs[h].data() + offset;
                float* out = output.data();
                handlers[h]->process(&in, 1, &out, 1, o.block);
                const auto after = Clock::now();
                call_us[p * count + h] =
                    std::chrono::duration<float, std::micro>(after - before).count();
                before = after;
            }
            callback_us[p] = std::chrono::duration<float, std::micro>(before - woke).count();
        });
    const std::size_t host_overruns = paced.host_overruns;
    const std::size_t done = paced.periods;
    const bool realtime = paced.realtime;

    std::uint64_t inferences = 0, late = 0, failed = 0;
    double worst_inference = 0.0;
    for (const auto& handler : handlers) {
        const legato::Statistics s = handler->statistics();
        inferences += s.inferences_submitted;
        late += s.late_inferences;
        failed += s.failed_inferences;
        worst_inference = std::max(worst_inference, s.max_inference_ms);
    }
    auto sorted = [](const std::vector<float>& values) {
        std::vector<double> out(values.begin(), values.end());
        std::sort(out.begin(), out.end());
        return out;
    };
    call_us.resize(done * count);
    callback_us.resize(done);
    const std::vector<double> calls = sorted(call_us);
    const std::vector<double> callbacks = sorted(callback_us);
    using legato::tools::percentile_of_sorted;
    const legato::ContextInfo info = context->info();
    std::printf(
        "%zu handler%s, %.0f s, %zu of %zu periods of %zu frames, audio thread %s; %zu "
        "workers (%zu SCHED_FIFO), wake %s, %zu instance%s per handler\n",
        count, count == 1 ? "" : "s", o.seconds, done, periods, o.block,
        realtime ? "SCHED_FIFO" : "at normal priority", info.worker_threads, info.realtime_workers,
        o.wake.c_str(), o.instances, o.instances == 1 ? "" : "s");
    std::printf("  latency %zu samples, max inference time %.3f ms; slowest inference %.3f ms\n",
                handlers[0]->latency(), handlers[0]->max_inference_time_ms(), worst_inference);
    std::printf(
        "  inferences %llu, late %llu (%.4f %%), failed %llu, host overruns %zu, "
        "hypervisor steal %llu ticks\n",
        static_cast<unsigned long long>(inferences), static_cast<unsigned long long>(late),
        inferences ? 100.0 * static_cast<double>(late) / static_cast<double>(inferences) : 0.0,
        static_cast<unsigned long long>(failed), host_overruns,
        static_cast<unsigned long long>(legato::tools::stolen_ticks() - stolen_before));
    std::printf(
        "  process() per call:     p50 %7.2f us  p99 %7.2f us  p99.9 %7.2f us  max %8.2f us\n",
        percentile_of_sorted(calls, 0.5), percentile_of_sorted(calls, 0.99),
        percentile_of_sorted(calls, 0.999), percentile_of_sorted(calls, 1.0));
    std::printf(
        "  whole callback (all %2zu): p50 %7.2f us  p99 %7.2f us  p99.9 %7.2f us  max %8.2f us\n",
        count, percentile_of_sorted(callbacks, 0.5), percentile_of_sorted(callbacks, 0.99),
        percentile_of_sorted(callbacks, 0.999), percentile_of_sorted(callbacks, 1.0));
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"Legato soak test: handlers streaming in real time for a long time"};
    app.add_option("--seconds", o.seconds, "Streaming time per handler count")
        ->check(CLI::Range(0.1, 86400.0));
    app.add_option("--handlers", o.handler_counts, "Handler counts to run, one after the other")
        ->delimiter(',')
        ->check(CLI::Range(1, 256));
    app.add_option("--block", o.block, "Host block size")->check(CLI::Range(1, 16384));
    app.add_option("--hop", o.hop, "Samples per inference")->check(CLI::Range(1, 16384));
    app.add_option("--sample-rate", o.sample_rate, "Sample rate in Hz")
        ->check(CLI::Range(8000.0, 384000.0));
    app.add_option("--engine", o.engine, "onnxruntime, libtorch, tflite or bypass");
    app.add_option("--model", o.model, "A mono model: input [1, 1, past + hop] -> [1, 1, hop]")
        ->check(CLI::ExistingFile);
    app.add_option("--past-context", o.past_context, "The model's past context in samples");
    app.add_option("--max-inference-ms", o.max_inference_ms,
                   "Maximum inference time for the latency (default: measured in warm-up)")
        ->check(CLI::Range(0.001, 10000.0));
    app.add_option("--instances", o.instances, "Parallel model instances per handler")
        ->check(CLI::Range(1, 64));
    app.add_option("--wake", o.wake,
                   "How idle workers wait: anticipate (default), sleep, poll or timer")
        ->check(CLI::IsMember({"anticipate", "sleep", "poll", "timer"}));
    app.add_option("--workers", o.workers, "Worker threads (default: cores - 1)")
        ->check(CLI::Range(0, 64));
    app.add_option("--priority", o.priority, "SCHED_FIFO priority of the audio thread; 0: normal")
        ->check(CLI::Range(0, 99));
    CLI11_PARSE(app, argc, argv);
    try {
        for (const std::size_t count : o.handler_counts)
            run(o, count);
        return 0;
    } catch (const legato::Error& e) {
        std::fprintf(stderr, "legato_soak: %s\n", e.what());
        return 2;
    }
}
