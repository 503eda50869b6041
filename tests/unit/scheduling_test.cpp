// Scheduling: stateful handlers run strictly in order, stateless ones in parallel on their
// instances, earliest deadline first across handlers, explicit state feedback, wake strategies.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include "stream_support.hpp"

namespace legato::test {
namespace {

// User + system CPU time of this process so far.
double process_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// A recursive filter y[n] = x[n] + 0.9 y[n-1] kept inside each model instance: any inference run
// out of order, twice, or concurrently with another changes the output.
std::shared_ptr<Backend> recursive_filter_backend(std::atomic<int>* concurrent,
                                                  std::atomic<bool>* overlapped) {
    return make_custom_backend("recursive", [concurrent, overlapped](const InstanceSetup&) {
        return CustomFunction(
            [state = 0.0f, concurrent, overlapped](std::span<const TensorView> in,
                                                   std::span<const TensorView> out) mutable {
                if (concurrent->fetch_add(1) != 0)
                    overlapped->store(true);
                for (std::size_t t = 0; t < out[0].data.size(); ++t) {
                    state = in[0].data[t] + 0.9f * state;
                    out[0].data[t] = state;
                }
                std::this_thread::sleep_for(std::chrono::microseconds(200));  // invite overlap
                concurrent->fetch_sub(1);
            });
    });
}

Signal recursive_filter_reference(const Signal& input) {
    Signal output = input;
    for (auto& channel : output) {
        float state = 0.0f;
        for (auto& sample : channel)
            sample = state = sample + 0.9f * state;
    }
    return output;
}

TEST(Stateful, SeveralHandlersOnAFourThreadPoolRunStrictlyInOrder) {
    ContextConfig pool;
    pool.worker_threads = 4;
    auto context = Context::create(pool);
    constexpr int handlers = 4;
    std::latch start(handlers);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int h = 0; h < handlers; ++h) {
        threads.emplace_back([&, h] {
            std::atomic<int> concurrent{0};
            std::atomic<bool> overlapped{false};
            InferenceConfig config =
                make_config(recursive_filter_backend(&concurrent, &overlapped), 64, 0, 1, 1.0);
            config.stateful = true;
            InferenceHandler handler(config, context);
            HostConfig host;
            host.max_block_size = 1024;  // 16 inferences queued per call
            host.offline_rendering = true;
            handler.prepare(host);
            const Signal input = make_signal(1, 40000, static_cast<std::uint32_t>(h + 1));
            HostSimulation simulation;
            simulation.block_sizes = {1024, 1000, 77};
            start.arrive_and_wait();
            const Signal output = stream(handler, input, handler.latency() + 1024, simulation);
            Signal padded = input;
            padded[0].resize(output[0].size(), 0.0f);
            const std::size_t mismatches = count_mismatches(
                output, recursive_filter_reference(padded), handler.latency(), 40000);
            if (mismatches != 0 || overlapped.load())
                failures.fetch_add(1);
            EXPECT_EQ(mismatches, 0u) << "handler " << h;
            EXPECT_FALSE(overlapped.load()) << "handler " << h << " ran two inferences at once";
        });
    }
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(failures.load(), 0);
}

// A stateless function with explicit state: h_out = 0.5 h_in + 0.1 (k + 1) x_last,
// y = x + h_in[0]. The handler must feed h_out of each inference into h_in of the next.
void explicit_state_model(std::span<const TensorView> in, std::span<const TensorView> out) {
    const auto x = in[0].data;
    const auto h_in = in[1].data;
    for (std::size_t t = 0; t < x.size(); ++t)
        out[0].data[t] = x[t] + h_in[0];
    for (std::size_t k = 0; k < h_in.size(); ++k)
        out[1].data[k] = 0.5f * h_in[k] + 0.1f * static_cast<float>(k + 1) * x[x.size() - 1];
}

InferenceConfig explicit_state_config(std::size_t hop) {
    InferenceConfig config =
        make_config(make_custom_backend("explicit-a", explicit_state_model), hop, 0, 1, 1.0);
    config.engines.push_back(
        {make_custom_backend("explicit-b", explicit_state_model), {}, {}, {}, {}});
    add_state_pair(config, "h_in", {1, 4});
    return config;
}

Signal explicit_state_reference(const Signal& input, std::size_t hop) {
    Signal output = input;
    float h[4] = {0, 0, 0, 0};
    for (std::size_t j = 0; (j + 1) * hop <= input[0].size(); ++j) {
        const float* x = input[0].data() + j * hop;
        for (std::size_t t = 0; t < hop; ++t)
            output[0][j * hop + t] = x[t] + h[0];
        for (std::size_t k = 0; k < 4; ++k)
            h[k] = 0.5f * h[k] + 0.1f * static_cast<float>(k + 1) * x[hop - 1];
    }
    return output;
}

TEST(StateFeedback, StateOutputFeedsTheNextInferenceAndCarriesAcrossEngines) {
    const std::size_t hop = 128;
    InferenceHandler handler(explicit_state_config(hop));
    HostConfig host;
    host.max_block_size = 300;
    host.offline_rendering = true;
    handler.prepare(host);
    const Signal input = make_signal(1, 30000, 9);
    HostSimulation simulation;
    simulation.block_sizes = {300};
    // Switch engines every few calls: explicit state belongs to the handler, not the engine.
    simulation.after_block = [&](std::size_t call, std::size_t) {
        handler.set_engine(call / 7 % 2);
    };
    const Signal output = stream(handler, input, handler.latency() + 300 + hop, simulation);
    Signal padded = input;
    padded[0].resize(output[0].size(), 0.0f);
    EXPECT_EQ(
        count_mismatches(output, explicit_state_reference(padded, hop), handler.latency(), 30000),
        0u);
}

TEST(StateFeedback, ResetStartsFromZeroState) {
    const std::size_t hop = 128;
    InferenceHandler handler(explicit_state_config(hop));
    HostConfig host;
    host.max_block_size = hop;
    host.offline_rendering = true;
    handler.prepare(host);
    HostSimulation simulation;
    simulation.block_sizes = {hop};
    stream(handler, make_signal(1, 10000, 3), 0, simulation);  // leaves state behind
    handler.reset();
    const Signal input = make_signal(1, 10000, 4);
    const Signal output = stream(handler, input, handler.latency() + hop, simulation);
    Signal padded = input;
    padded[0].resize(output[0].size(), 0.0f);
    EXPECT_EQ(
        count_mismatches(output, explicit_state_reference(padded, hop), handler.latency(), 10000),
        0u);
    EXPECT_EQ(handler.statistics().resets, 1u);
    EXPECT_EQ(handler.statistics().late_inferences, 0u);
}

TEST(Stateless, ParallelInstancesRunConcurrentlyAndStayExact) {
    ContextConfig pool;
    pool.worker_threads = 4;
    auto context = Context::create(pool);
    std::atomic<int> running{0};
    std::atomic<int> most{0};
    auto backend = make_custom_backend(
        "slow-window", [&](std::span<const TensorView> in, std::span<const TensorView> out) {
            const int now = running.fetch_add(1) + 1;
            int seen = most.load();
            while (now > seen && !most.compare_exchange_weak(seen, now)) {
            }
            window_model(in, out);
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            running.fetch_sub(1);
        });
    InferenceConfig config = make_config(backend, 256, 149, 2, 3.0);
    config.parallel_instances = 4;
    InferenceHandler handler(config, context);
    HostConfig host;
    host.max_block_size = 2048;  // 8 inferences per call
    host.offline_rendering = true;
    handler.prepare(host);
    most = 0;
    const Signal input = make_signal(2, 2048 * 20, 11);
    HostSimulation simulation;
    simulation.block_sizes = {2048};
    const Signal output = stream(handler, input, handler.latency() + 2048, simulation);
    Signal padded = input;
    for (auto& channel : padded)
        channel.resize(output[0].size(), 0.0f);
    EXPECT_EQ(count_mismatches(output, window_model_reference(padded, 256, 149), handler.latency(),
                               input[0].size()),
              0u);
    EXPECT_GE(most.load(), 2);
    EXPECT_LE(most.load(), 4);  // never more than the instances
}

// One worker is kept busy; meanwhile a request with a far deadline is submitted before one with
// a near deadline. When the worker frees up it must take the near one first.
TEST(EarliestDeadlineFirst, NearDeadlineRunsBeforeAnEarlierSubmittedFarOne) {
    ContextConfig pool;
    pool.worker_threads = 1;
    auto context = Context::create(pool);
    std::mutex order_mutex;
    std::vector<char> order;
    std::atomic<bool> blocking{false};
    std::atomic<bool> release{false};
    auto recorder = [&](char name) {
        return make_custom_backend(
            std::string(1, name),
            [&, name](std::span<const TensorView> in, std::span<const TensorView> out) {
                window_model(in, out);
                {
                    std::lock_guard lock(order_mutex);
                    order.push_back(name);
                }
                if (name == 'A' && blocking.load()) {
                    while (!release.load())
                        std::this_thread::sleep_for(std::chrono::microseconds(100));
                }
            });
    };
    auto make = [&](char name, std::size_t latency) {
        auto handler =
            std::make_unique<InferenceHandler>(make_config(recorder(name), 64, 0, 1, 1.0), context);
        HostConfig host;
        host.max_block_size = 64;
        host.latency_override = latency;
        handler->prepare(host);
        return handler;
    };
    // A's deadline leaves room for a late wake-up (a slow sanitizer build on a busy VM): with a
    // latency of one hop, a worker waking after 1.3 ms found A expired and never ran it, and the
    // wait below never ended.
    auto blocker = make('A', 4096);
    auto far = make('B', 48000);  // due in about a second
    auto near = make('C', 2048);  // due in about 40 ms
    {
        std::lock_guard lock(order_mutex);
        order.clear();
    }
    std::vector<float> in(64, 0.25f), out(64);
    const float* in_ptr = in.data();
    float* out_ptr = out.data();
    blocking = true;
    blocker->process(&in_ptr, 1, &out_ptr, 1, 64);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {  // wait until the worker is stuck inside A
        {
            std::lock_guard lock(order_mutex);
            if (!order.empty())
                break;
        }
        if (std::chrono::steady_clock::now() > give_up) {
            release = true;
            FAIL() << "the worker never ran A";
        }
        std::this_thread::yield();
    }
    far->process(&in_ptr, 1, &out_ptr, 1, 64);
    near->process(&in_ptr, 1, &out_ptr, 1, 64);
    release = true;
    for (int i = 0; i < 1000; ++i) {
        {
            std::lock_guard lock(order_mutex);
            if (order.size() == 3)
                break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::lock_guard lock(order_mutex);
    EXPECT_EQ(std::string(order.begin(), order.end()), "ACB");
}

// Polling workers and napping (timer) workers: nobody posts a semaphore, the workers find the
// work themselves; every hop is exact and on time.
class WakeStrategies : public ::testing::TestWithParam<WakeStrategy> {};

TEST_P(WakeStrategies, WorkersFindTheWorkAndAreExactAndOnTime) {
    ContextConfig pool;
    pool.worker_threads = 1;
    pool.wake_strategy = GetParam();
    // A polling SCHED_FIFO thread would trip RT throttling; a napping one may be real-time.
    pool.realtime_priority = GetParam() == WakeStrategy::timer;
    auto context = Context::create(pool);
    EXPECT_EQ(context->info().wake_strategy, GetParam());
    InferenceConfig config = make_config(make_custom_backend("w", window_model), 256, 149, 1,
                                         paced_max_inference_time_ms);
    expect_on_time([&] {
        InferenceHandler handler(config, context);
        HostConfig host;
        host.max_block_size = 256;
        handler.prepare(host);
        HostSimulation simulation;
        simulation.block_sizes = {256};
        simulation.paced = true;
        std::size_t overruns = 0;
        simulation.host_overruns = &overruns;
        const Signal input = make_signal(1, 12000, 2);
        const Signal output = stream(handler, input, handler.latency() + 256, simulation);
        Signal padded = input;
        padded[0].resize(output[0].size(), 0.0f);
        const Statistics stats = handler.statistics();
        EXPECT_LE(count_mismatches(output, window_model_reference(padded, 256, 149),
                                   handler.latency(), 12000),
                  stats.substituted_frames);
        return PacedAttempt{stats.late_inferences, overruns};
    });
}

INSTANTIATE_TEST_SUITE_P(PollAndTimer, WakeStrategies,
                         ::testing::Values(WakeStrategy::poll, WakeStrategy::timer),
                         [](const auto& param_info) {
                             return param_info.param == WakeStrategy::poll ? "poll" : "timer";
                         });

// WakeStrategy::timer: after timer_idle_timeout without work a worker stops napping and sleeps
// on the semaphore; the next hop must wake it (a lost wake-up would leave it asleep for good),
// and while asleep it uses no CPU.
TEST(TimerWakeStrategy, WorkerAsleepAfterIdleTimeoutIsWokenByTheNextHop) {
    std::atomic<int> runs{0};
    auto backend = make_custom_backend(
        "count", [&runs](std::span<const TensorView> in, std::span<const TensorView> out) {
            std::copy(in[0].data.begin(), in[0].data.end(), out[0].data.begin());
            runs.fetch_add(1);
        });
    ContextConfig pool;
    pool.worker_threads = 1;
    pool.wake_strategy = WakeStrategy::timer;
    pool.timer_idle_timeout = std::chrono::milliseconds(5);
    InferenceHandler handler(make_config(backend, 64), Context::create(pool));
    HostConfig host;
    host.max_block_size = 64;
    // A generous latency: a wake-up slower than the default 64-sample deadline (a busy VM)
    // would have the request expired unrun, which this test would mistake for a lost wake-up.
    host.latency_override = 48000;
    handler.prepare(host);

    std::vector<float> input(64, 0.5f), output(64);
    const float* in = input.data();
    float* out = output.data();
    for (int pause = 0; pause < 5; ++pause) {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));  // > the idle timeout
        if (pause == 0) {
            // Asleep, the pool costs nothing: under 5 % of a core over 200 ms (napping every
            // 50 µs costs this VM about half a core).
            const double before = process_cpu_seconds();
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            EXPECT_LT(process_cpu_seconds() - before, 0.010);
        }
        const int before = runs.load();
        handler.process(&in, 1, &out, 1, 64);  // completes a hop: must wake the worker
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (runs.load() == before && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        ASSERT_GT(runs.load(), before) << "the sleeping worker was not woken after pause "
                                       << pause;
    }
}

TEST(WakeStrategiesConfig, TimerIdleTimeoutIsChecked) {
    ContextConfig pool;
    pool.wake_strategy = WakeStrategy::timer;
    pool.timer_idle_timeout = std::chrono::milliseconds(60'001);
    EXPECT_THROW(Context::create(pool), Error);
    pool.timer_idle_timeout = std::chrono::milliseconds(5);  // never: allowed
    EXPECT_NO_THROW(Context::create(pool));
}

TEST(WakeStrategiesConfig, TimerIntervalIsChecked) {
    ContextConfig pool;
    pool.wake_strategy = WakeStrategy::timer;
    pool.timer_interval = std::chrono::microseconds(5);
    EXPECT_THROW(Context::create(pool), Error);
    pool.timer_interval = std::chrono::microseconds(20'000);
    EXPECT_THROW(Context::create(pool), Error);
}

TEST(ContextInfo, ReportsThreadsAndRealtimeScheduling) {
    ContextConfig pool;
    pool.worker_threads = 3;
    auto context = Context::create(pool);
    InferenceHandler handler(make_config(make_bypass_backend(), 64), context);
    const Statistics stats = handler.statistics();
    EXPECT_EQ(stats.worker_threads, 3u);
    EXPECT_LE(stats.realtime_workers, 3u);
    // Where this process may use SCHED_FIFO, every worker got it.
    std::thread probe([&] {
        sched_param param{};
        param.sched_priority = 1;
        if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0) {
            EXPECT_EQ(handler.statistics().realtime_workers, 3u);
        }
    });
    probe.join();
    ContextConfig normal = pool;
    normal.realtime_priority = false;
    EXPECT_EQ(Context::create(normal)->info().realtime_workers, 0u);
}

}  // namespace
}  // namespace legato::test
