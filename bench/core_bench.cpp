// Benchmarks of Legato's core on the audio thread, paced like a real audio callback: a host at
// 48 kHz calls process() once per block period on a SCHED_FIFO 80 thread (when permitted).
//
//   build/release/bench/legato_core_bench --benchmark_counters_tabular=true
//
// Reported per benchmark: the median (p50), p99 and maximum time of one process() call in
// microseconds, over 2000 calls. The time axis of Google Benchmark itself is the mean. Also the
// wake-up latency (submission to worker start) and the CPU the worker pool uses per strategy.

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "legato/legato.hpp"
#include "support/syscall_counter.hpp"

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

// Runs `calls` paced process() calls on a real-time thread and returns each call's duration;
// `syscalls` receives the system calls made inside process() over the last three quarters
// of the calls (after the pool has learnt the rhythm), or -1 where they cannot be counted.
std::vector<double> paced_calls(legato::InferenceHandler& handler, std::size_t block,
                                std::size_t calls, double* syscalls = nullptr) {
    std::vector<double> micros;
    micros.reserve(calls);
    std::vector<float> input(block, 0.25f), output(block);
    run_as_audio_thread([&] {
        legato::tools::ThreadSyscallCounter counter;
        std::uint64_t made = 0;
        const float* in = input.data();
        float* out = output.data();
        const auto period = std::chrono::duration<double>(static_cast<double>(block) / 48000.0);
        const auto start = Clock::now();
        for (std::size_t i = 0; i < calls; ++i) {
            std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                      period * static_cast<double>(i + 1)));
            const std::uint64_t calls_before = counter.read();
            const auto before = Clock::now();
            handler.process(&in, 1, &out, 1, block);
            const auto after = Clock::now();
            const std::uint64_t calls_after = counter.read();
            micros.push_back(std::chrono::duration<double, std::micro>(after - before).count());
            if (i >= calls / 4)
                made += calls_after - calls_before - 1;  // the second read counts itself
        }
        if (syscalls != nullptr)
            *syscalls = counter.available() ? static_cast<double>(made) : -1.0;
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

// Benchmark argument -> wake strategy: 0 sleep, 1 poll, 2 timer, 3 anticipate (the default).
legato::WakeStrategy wake_strategy(std::int64_t index) {
    constexpr legato::WakeStrategy strategies[] = {
        legato::WakeStrategy::sleep, legato::WakeStrategy::poll, legato::WakeStrategy::timer,
        legato::WakeStrategy::anticipate};
    return strategies[index];
}
const char* wake_strategy_name(std::int64_t index) {
    constexpr const char* names[] = {"sleep", "poll", "timer", "anticipate"};
    return names[index];
}

// process() with the bypass backend: Legato's own audio-thread cost. Arguments: block size
// (= hop), wake strategy (0 sleep, 1 poll, 2 timer).
void BM_ProcessBypassPaced(benchmark::State& state) {
    const auto block = static_cast<std::size_t>(state.range(0));
    legato::ContextConfig pool;
    pool.worker_threads = 1;
    pool.wake_strategy = wake_strategy(state.range(1));
    // A polling SCHED_FIFO worker would trip real-time throttling.
    pool.realtime_priority = pool.wake_strategy != legato::WakeStrategy::poll;
    legato::InferenceHandler handler(identity_config(legato::make_bypass_backend(), block),
                                     legato::Context::create(pool));
    legato::HostConfig host;
    host.max_block_size = block;
    handler.prepare(host);
    std::vector<double> micros;
    double syscalls = 0;
    for (auto _ : state) {
        micros = paced_calls(handler, block, 2000, &syscalls);
        double total = 0.0;
        for (const double us : micros)
            total += us;
        state.SetIterationTime(total / 1e6 / static_cast<double>(micros.size()));
    }
    report(state, micros, handler.statistics());
    state.counters["syscalls"] = syscalls;  // inside process(), last 1500 calls; -1: not countable
    state.SetLabel(wake_strategy_name(state.range(1)));
}
BENCHMARK(BM_ProcessBypassPaced)
    ->ArgsProduct({{64, 256, 1024}, {3, 0, 1, 2}})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

// process() with the bypass backend called back to back (no pacing): the cost of Legato's own
// instructions with warm caches, without the audio thread waking from sleep every period (which
// on a virtual machine adds microseconds of cache and TLB misses to the paced figures above).
// Arguments: block size (= hop). Poll workers, so no wake-up system call either. Inferences may
// be counted late (the host runs far faster than real time); a late hop costs a memset instead
// of a copy, which is no slower.
void BM_ProcessBypassHot(benchmark::State& state) {
    const auto block = static_cast<std::size_t>(state.range(0));
    legato::ContextConfig pool;
    pool.worker_threads = 1;
    pool.wake_strategy = legato::WakeStrategy::poll;
    pool.realtime_priority = false;
    legato::InferenceHandler handler(identity_config(legato::make_bypass_backend(), block),
                                     legato::Context::create(pool));
    legato::HostConfig host;
    host.max_block_size = block;
    handler.prepare(host);
    std::vector<double> micros;
    micros.reserve(20000);
    std::vector<float> input(block, 0.25f), output(block);
    for (auto _ : state) {
        run_as_audio_thread([&] {
            const float* in = input.data();
            float* out = output.data();
            for (int i = 0; i < 20000; ++i) {
                const auto before = Clock::now();
                handler.process(&in, 1, &out, 1, block);
                micros.push_back(
                    std::chrono::duration<double, std::micro>(Clock::now() - before).count());
            }
        });
        state.SetIterationTime(percentile(micros, 0.5) / 1e6);
    }
    report(state, micros, handler.statistics());
}
BENCHMARK(BM_ProcessBypassHot)
    ->Arg(64)
    ->Arg(128)
    ->Arg(256)
    ->Arg(1024)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

// Wake-up latency: from the start of the process() call that submits an inference to the
// moment a worker starts running it (the custom backend's entry). Argument: wake strategy
// (0 sleep, 1 poll, 2 timer).
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
    pool.wake_strategy = wake_strategy(state.range(0));
    pool.realtime_priority = pool.wake_strategy != legato::WakeStrategy::poll;
    legato::InferenceHandler handler(identity_config(backend, 256), legato::Context::create(pool));
    legato::HostConfig host;
    host.max_block_size = 256;
    handler.prepare(host);
    std::vector<double> wake_us;
    std::size_t missed = 0;
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
                // A request the pool expired (the worker came more than a period late, a VM
                // stall) never starts: give up on it after 50 ms and count it.
                const auto waiting_since = Clock::now();
                while (started.load() == 0 &&
                       Clock::now() - waiting_since < std::chrono::milliseconds(50)) {
                }
                if (started.load() == 0) {
                    ++missed;
                    continue;
                }
                wake_us.push_back(static_cast<double>(started.load() - submitted) / 1000.0);
            }
        });
        state.SetIterationTime(percentile(wake_us, 0.5) / 1e6);
    }
    state.counters["p50_us"] = percentile(wake_us, 0.5);
    state.counters["p99_us"] = percentile(wake_us, 0.99);
    state.counters["max_us"] = percentile(wake_us, 1.0);
    state.counters["missed"] = static_cast<double>(missed);
    state.SetLabel(wake_strategy_name(state.range(0)));
}
BENCHMARK(BM_WakeUpLatency)
    ->Arg(3)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

// CPU time the worker pool itself uses, in % of one core (user + system), for each wake
// strategy: while a bypass handler streams at block 256 in real time (the workers' cost of
// waiting for each hop; the audio thread's own time is subtracted), and after the stream has
// stopped for longer than timer_idle_timeout. Arguments: wake strategy (0 sleep, 1 poll,
// 2 timer, 3 timer that naps forever, 4 timer with 200 µs naps, 5 anticipate), streaming (1)
// or stopped (0).
double cpu_seconds(int who) {
    rusage usage{};
    getrusage(who, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

void BM_WorkerPoolCpu(benchmark::State& state) {
    const bool streaming = state.range(1) != 0;
    legato::ContextConfig pool;
    pool.worker_threads = 1;
    pool.wake_strategy = state.range(0) == 5
                             ? legato::WakeStrategy::anticipate
                             : wake_strategy(std::min<std::int64_t>(state.range(0), 2));
    pool.realtime_priority = pool.wake_strategy != legato::WakeStrategy::poll;
    if (state.range(0) == 3)
        pool.timer_idle_timeout = std::chrono::milliseconds(0);
    if (state.range(0) == 4)
        pool.timer_interval = std::chrono::microseconds(200);
    legato::InferenceHandler handler(identity_config(legato::make_bypass_backend(), 256),
                                     legato::Context::create(pool));
    legato::HostConfig host;
    host.max_block_size = 256;
    handler.prepare(host);
    double percent = 0.0;
    for (auto _ : state) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past the idle timeout
        const auto wall_before = Clock::now();
        const double before = cpu_seconds(RUSAGE_SELF);
        double audio_thread = 0.0;
        if (streaming) {
            std::vector<float> input(256, 0.25f), output(256);
            run_as_audio_thread([&] {
                const double mine = cpu_seconds(RUSAGE_THREAD);
                const float* in = input.data();
                float* out = output.data();
                const auto start = Clock::now();
                for (int i = 0; i < 375; ++i) {  // 2 s
                    std::this_thread::sleep_until(start +
                                                  std::chrono::microseconds(5333 * (i + 1)));
                    handler.process(&in, 1, &out, 1, 256);
                }
                audio_thread = cpu_seconds(RUSAGE_THREAD) - mine;
            });
        } else {
            std::this_thread::sleep_for(std::chrono::seconds(2));
        }
        const double wall = std::chrono::duration<double>(Clock::now() - wall_before).count();
        percent = 100.0 * (cpu_seconds(RUSAGE_SELF) - before - audio_thread) / wall;
        state.SetIterationTime(wall);
    }
    state.counters["pool_cpu_percent"] = percent;
    static const char* names[] = {
        "sleep", "poll", "timer", "timer, never sleeps", "timer, 200 us naps", "anticipate"};
    state.SetLabel(std::string(names[state.range(0)]) + (streaming ? ", streaming" : ", stopped"));
}
BENCHMARK(BM_WorkerPoolCpu)
    ->ArgsProduct({{5, 0, 1, 2, 3, 4}, {1, 0}})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
