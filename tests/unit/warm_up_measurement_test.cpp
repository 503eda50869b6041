// Measuring the maximum inference time during warm-up (core/warm_up.hpp): warm-up runs on a
// pool worker, waits out engines that are slow at first, discards runs that were preempted,
// and a model that does not fit gets an error that says why and what would fit.

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <thread>

#include "stream_support.hpp"

namespace legato::test {
namespace {

double thread_cpu_ms() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

// Busy for `ms` of this thread's CPU time: a fixed amount of work, however the thread is
// scheduled.
void work_for_ms(double ms) {
    const double until = thread_cpu_ms() + ms;
    while (thread_cpu_ms() < until) {
    }
}

InferenceConfig measuring_config(std::shared_ptr<Backend> backend, std::size_t hop) {
    InferenceConfig config = make_config(std::move(backend), hop, 0, 1);
    config.max_inference_time_ms.reset();
    return config;
}

HostConfig host_with_block(std::size_t block) {
    HostConfig host;
    host.max_block_size = block;
    return host;
}

TEST(WarmUpMeasurement, EngineSlowAtFirstIsMeasuredOnceSettled) {
    // Like LibTorch's profiling executor: the first ten runs take 20 ms, then 0.2 ms.
    std::atomic<int> calls{0};
    auto backend = make_custom_backend(
        "optimising", [&calls](std::span<const TensorView> in, std::span<const TensorView> out) {
            work_for_ms(calls.fetch_add(1) < 10 ? 20.0 : 0.2);
            window_model(in, out);
        });
    InferenceHandler handler(measuring_config(backend, 4096));
    handler.prepare(host_with_block(256));
    const Statistics stats = handler.statistics();
    EXPECT_TRUE(stats.warm_up_settled);
    EXPECT_GE(stats.warm_up_runs, 10u + 32u);
    // p99 of settled runs (0.2 ms of work each) x 1.5 + 0.2 ms. Counting the slow runs would
    // give at least 30 ms; the upper bound leaves room for a loaded machine.
    EXPECT_GE(handler.max_inference_time_ms(), 0.2 * 1.5 + 0.2);
    EXPECT_LT(handler.max_inference_time_ms(), 10.0);
}

TEST(WarmUpMeasurement, PreemptedRunsAreDiscarded) {
    // Every fifth run is off the CPU for 30 ms on top of its 0.3 ms of work, as a thread
    // preempted by another would be.
    std::atomic<int> calls{0};
    auto backend = make_custom_backend(
        "preempted", [&calls](std::span<const TensorView> in, std::span<const TensorView> out) {
            if (calls.fetch_add(1) % 5 == 4)
                std::this_thread::sleep_for(std::chrono::milliseconds(30));
            work_for_ms(0.3);
            window_model(in, out);
        });
    InferenceHandler handler(measuring_config(backend, 4096));
    handler.prepare(host_with_block(256));
    const Statistics stats = handler.statistics();
    EXPECT_GE(stats.warm_up_discarded_runs, 6u);
    EXPECT_GE(handler.max_inference_time_ms(), 0.3 * 1.5 + 0.2);
    EXPECT_LT(handler.max_inference_time_ms(), 10.0) << "a preempted run was counted";
}

TEST(WarmUpMeasurement, RunsOnAPoolWorkerAtItsPriority) {
    const std::thread::id setup_thread = std::this_thread::get_id();
    std::atomic<int> on_setup_thread{0}, runs{0}, fifo_runs{0};
    auto backend = make_custom_backend(
        "where", [&](std::span<const TensorView> in, std::span<const TensorView> out) {
            ++runs;
            if (std::this_thread::get_id() == setup_thread)
                ++on_setup_thread;
            if (sched_getscheduler(0) == SCHED_FIFO)
                ++fifo_runs;
            window_model(in, out);
        });
    InferenceHandler handler(measuring_config(backend, 1024), Context::create({}));
    handler.prepare(host_with_block(256));
    EXPECT_GT(runs.load(), 0);
    EXPECT_EQ(on_setup_thread.load(), 0);
    if (handler.context()->info().realtime_workers > 0) {
        EXPECT_EQ(fifo_runs.load(), runs.load()) << "warm-up ran below the workers' priority";
    }
}

TEST(WarmUpMeasurement, TooSlowForTheHopSaysWhatWouldFit) {
    auto backend = make_custom_backend(
        "slow", [](std::span<const TensorView> in, std::span<const TensorView> out) {
            work_for_ms(8.0);
            window_model(in, out);
        });
    InferenceConfig config = measuring_config(backend, 256);
    config.inputs[0].past_context = 32;
    config.inputs[0].shape = {1, 1, 288};
    InferenceHandler handler(config);
    std::string message;
    try {
        handler.prepare(host_with_block(256));
    } catch (const Error& e) {
        message = e.what();
    }
    ASSERT_FALSE(message.empty()) << "8 ms per 5.333 ms hop was accepted";
    for (const char* part :
         {"max_inference_time_ms: measured ", "warm-up runs", "does not fit the budget of 5.333 ms",
          "one hop of 256 samples (window: past_context 32 + hop 256)", "at 48000 Hz",
          "What would fit: a hop of at least ", "or parallel_instances ",
          "or max_inference_time_ms set explicitly"})
        EXPECT_NE(message.find(part), std::string::npos)
            << "missing '" << part << "' in: " << message;
}

}  // namespace
}  // namespace legato::test
