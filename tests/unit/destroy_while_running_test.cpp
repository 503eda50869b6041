// Destroying a handler while its inferences run on the workers: the destructor waits for them,
// pending requests never start, and a private context stops with its last handler.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <thread>

#include "lifecycle_support.hpp"

namespace legato::test {
namespace {

struct RunTracker {
    std::atomic<int> started{0};
    std::atomic<int> finished{0};
};

void destroy_while_running(bool private_context) {
    constexpr std::size_t hop = 64;
    for (int iteration = 0; iteration < 5; ++iteration) {
        SCOPED_TRACE("iteration " + std::to_string(iteration));
        auto tracker = std::make_shared<RunTracker>();
        std::atomic<bool> streaming{false};
        auto sleepy = [tracker, &streaming](std::span<const TensorView> in,
                                            std::span<const TensorView> out) {
            const bool counted = streaming.load();
            if (counted)
                tracker->started.fetch_add(1);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            window_model(in, out);  // writes the handler's tensors after the sleep
            if (counted)
                tracker->finished.fetch_add(1);
        };
        InferenceConfig config =
            make_config(make_custom_backend("sleepy", sleepy), hop, 0, 1, half_hop_ms(hop));
        config.parallel_instances = 2;
        std::weak_ptr<Context> context_alive;
        auto handler = [&] {
            if (!private_context)
                return std::make_unique<InferenceHandler>(config);
            ContextConfig context_config;
            context_config.worker_threads = 2;
            auto context = Context::create(context_config);
            context_alive = context;
            return std::make_unique<InferenceHandler>(config, std::move(context));
        }();
        HostConfig host;
        host.max_block_size = hop;
        // A generous latency: the hops are submitted back to back, and with the default one a
        // worker that wakes late finds every request past its deadline and expires them all
        // (then none starts, and there is nothing running to destroy).
        host.latency_override = 64 * hop;
        handler->prepare(host);  // real time: process() does not wait
        streaming = true;
        const Signal input = make_signal(1, 6 * hop, 3);
        Signal output(1, std::vector<float>(input[0].size(), 0.0f));
        for (std::size_t position = 0; position < input[0].size(); position += hop)
            process_at(*handler, input, output, position, hop);
        const auto wait_until = Clock::now() + std::chrono::seconds(2);
        while (tracker->started.load() == 0 && Clock::now() < wait_until)
            std::this_thread::yield();
        ASSERT_GT(tracker->started.load(), 0);
        handler.reset();  // the destructor waits for running inferences
        // Proof that it waited: no inference that had started is still running now (each
        // sleeps 20 ms). A wall-clock bound on the destructor would race with preemption.
        const int started = tracker->started.load();
        EXPECT_EQ(started, tracker->finished.load()) << "an inference outlived its handler";
        if (private_context) {
            EXPECT_TRUE(context_alive.expired()) << "the handler was the context's last owner";
        }
        // Pending requests of the destroyed handler never start.
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        EXPECT_EQ(tracker->started.load(), started);
    }
}

TEST(DestroyWhileRunning, SharedContextWaitsForRunningInferences) {
    destroy_while_running(false);
}

TEST(DestroyWhileRunning, PrivateContextWaitsAndThenStopsItsWorkers) {
    destroy_while_running(true);
}

}  // namespace
}  // namespace legato::test
