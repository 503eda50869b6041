// Benchmarks of Legato's core on the audio thread, paced like a real audio callback: a host at
// 48 kHz calls process() once per block period on a SCHED_FIFO 80 thread (when permitted).
//
//   build/release/bench/legato_core_bench --benchmark_counters_tabular=true
//
// Reported per benchmark: the median (p50), p99 and maximum time of one process() call in
// microseconds, over 2000 calls. The time axis of Google Benchmark itself is the mean.

#include <benchmark/benchmark.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "legato/legato.hpp"

namespace {

using Clock = std::chrono::steady_clock;

legato::InferenceConfig identity_config(std::shared_ptr<legato::Backend> backend, std::size_t hop) {
    legato::InferenceConfig config;
    config.engines.push_back({std::move(backend), {}, {}, {}, {}});
    legato::TensorSpec in;
    in.name = "in";
    in.shape = {1, 1, -1};
    in.hop = hop;
    legato::TensorSpec out = in;
    out.name = "out";
    config.inputs = {in};
    config.outputs = {out};
    config.max_inference_time_ms = 0.5 * static_cast<double>(hop) * 1000.0 / 48000.0;
    return config;
}

// Runs `body` on a thread at SCHED_FIFO 80 (when permitted), like a host's audio callback.
void run_as_audio_thread(const std::function<void()>& body) {
    std::thread audio([&body] {
        sched_param param{};
        param.sched_priority = 80;
        pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
        body();
    });
    audio.join();
}

double percentile(std::vector<double> values, double fraction) {
    std::sort(values.begin(), values.end());
    return values[static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1))];
}

// Runs `calls` paced process() calls on a real-time thread and returns each call's duration.
std::vector<double> paced_calls(legato::InferenceHandler& handler, std::size_t block,
                                std::size_t calls) {
    std::vector<double> micros;
    micros.reserve(calls);
    std::vector<float> input(block, 0.25f), output(block);
    run_as_audio_thread([&] {
        const float* in = input.data();
        float* out = output.data();
        const auto period = std::chrono::duration<double>(static_cast<double>(block) / 48000.0);
        const auto start = Clock::now();
        for (std::size_t i = 0; i < calls; ++i) {
            std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                      period * static_cast<double>(i + 1)));
            const auto before = Clock::now();
            handler.process(&in, 1, &out, 1, block);
            micros.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - before).count());
        }
    });
    return micros;
}

void report(benchmark::State& state, const std::vector<double>& micros,
            const legato::Statistics& stats) {
    state.counters["p50_us"] = percentile(micros, 0.5);
    state.counters["p99_us"] = percentile(micros, 0.99);
    state.counters["max_us"] = percentile(micros, 1.0);
    state.counters["late"] = static_cast<double>(stats.late_inferences);
}

// process() with the bypass backend: Legato's own audio-thread cost. Arguments: block size
// (= hop), wake strategy (0 sleep, 1 poll).
void BM_ProcessBypassPaced(benchmark::State& state) {
    const auto block = static_cast<std::size_t>(state.range(0));
    legato::ContextConfig pool;
    pool.worker_threads = 1;
    pool.wake_strategy =
        state.range(1) == 0 ? legato::WakeStrategy::sleep : legato::WakeStrategy::poll;
    pool.realtime_priority = pool.wake_strategy == legato::WakeStrategy::sleep;
    legato::InferenceHandler handler(identity_config(legato::make_bypass_backend(), block),
                                     legato::Context::create(pool));
    legato::HostConfig host;
    host.max_block_size = block;
    handler.prepare(host);
    std::vector<double> micros;
    for (auto _ : state) {
        micros = paced_calls(handler, block, 2000);
        double total = 0.0;
        for (const double us : micros)
            total += us;
        state.SetIterationTime(total / 1e6 / static_cast<double>(micros.size()));
    }
    report(state, micros, handler.statistics());
    state.SetLabel(state.range(1) == 0 ? "sleep" : "poll");
}
BENCHMARK(BM_ProcessBypassPaced)
    ->ArgsProduct({{64, 256, 1024}, {0, 1}})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

// Wake-up latency: from the start of the process() call that submits an inference to the
// moment a worker starts running it (the custom backend's entry). Argument: wake strategy.
void BM_WakeUpLatency(benchmark::State& state) {
    std::atomic<std::int64_t> started{0};
    auto backend = legato::make_custom_backend(
        "timestamp", [&started](std::span<const legato::TensorView> in,
                                std::span<const legato::TensorView> out) {
            started.store(Clock::now().time_since_epoch().count());
            std::copy(in[0].data.begin(), in[0].data.end(), out[0].data.begin());
        });
    legato::ContextConfig pool;
    pool.worker_threads = 1;
    pool.wake_strategy =
        state.range(0) == 0 ? legato::WakeStrategy::sleep : legato::WakeStrategy::poll;
    pool.realtime_priority = pool.wake_strategy == legato::WakeStrategy::sleep;
    legato::InferenceHandler handler(identity_config(backend, 256), legato::Context::create(pool));
    legato::HostConfig host;
    host.max_block_size = 256;
    handler.prepare(host);
    std::vector<double> wake_us;
    for (auto _ : state) {
        std::vector<float> input(256, 0.25f), output(256);
        run_as_audio_thread([&] {
            const float* in = input.data();
            float* out = output.data();
            const auto start = Clock::now();
            for (int i = 0; i < 2000; ++i) {
                std::this_thread::sleep_until(start + std::chrono::microseconds(5333 * (i + 1)));
                started.store(0);
                const auto submitted = Clock::now().time_since_epoch().count();
                handler.process(&in, 1, &out, 1, 256);
                while (started.load() == 0) {
                }
                wake_us.push_back(static_cast<double>(started.load() - submitted) / 1000.0);
            }
        });
        state.SetIterationTime(percentile(wake_us, 0.5) / 1e6);
    }
    state.counters["p50_us"] = percentile(wake_us, 0.5);
    state.counters["p99_us"] = percentile(wake_us, 0.99);
    state.counters["max_us"] = percentile(wake_us, 1.0);
    state.SetLabel(state.range(0) == 0 ? "sleep" : "poll");
}
BENCHMARK(BM_WakeUpLatency)
    ->Arg(0)
    ->Arg(1)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
