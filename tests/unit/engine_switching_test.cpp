// set_engine() while streaming: on the audio thread a switch applies from the next submitted
// hop; from another thread every hop is computed entirely by one engine.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "lifecycle_support.hpp"

namespace legato::test {
namespace {

TEST(EngineSwitching, OnTheAudioThreadAppliesFromTheNextSubmittedHop) {
    constexpr std::size_t hop = 128, past = 149, channels = 2;
    InferenceHandler handler(two_engine_config(hop, past, channels));
    EXPECT_EQ(handler.engine_name(0), "a");
    EXPECT_EQ(handler.engine_name(1), "b");
    EXPECT_EQ(handler.engine_name(2), "");
    HostConfig host;
    host.max_block_size = 256;
    host.variable_block_size = true;
    host.offline_rendering = true;
    handler.prepare(host);
    EXPECT_EQ(handler.engine(), 0u);
    const std::size_t latency = handler.latency();

    const std::vector<std::size_t> sizes = {256, 100, 37, 200, 128, 1, 255};
    const Signal input = padded(make_signal(channels, 16000, 41), 16000 + latency + 256 + hop);
    const std::size_t total = input[0].size();
    Signal output(channels, std::vector<float>(total, 0.0f));
    std::vector<std::size_t> call_starts;
    std::vector<std::size_t> call_engine;
    std::size_t position = 0;
    for (std::size_t call = 0; position < total; ++call) {
        if (call % 5 == 2) {  // toggle, alternately by name and by index
            const std::size_t next = 1 - handler.engine();
            const bool ok = call % 10 == 2 ? handler.set_engine(next == 0 ? "a" : "b")
                                           : handler.set_engine(next);
            EXPECT_TRUE(ok);
            EXPECT_EQ(handler.engine(), next);
            EXPECT_EQ(handler.statistics().engine, next);
        }
        if (call == 13) {  // unknown engines are refused and change nothing
            const std::size_t current = handler.engine();
            EXPECT_FALSE(handler.set_engine("c"));
            EXPECT_FALSE(handler.set_engine(std::size_t{2}));
            EXPECT_EQ(handler.engine(), current);
        }
        call_starts.push_back(position);
        call_engine.push_back(handler.engine());
        const std::size_t frames = std::min(sizes[call % sizes.size()], total - position);
        process_at(handler, input, output, position, frames);
        position += frames;
    }
    const Signal reference = window_model_reference(input, hop, past);
    const std::vector<int> kinds = classify_engine_hops(output, reference, latency, hop);
    std::size_t wrong = 0, on_b = 0;
    for (std::size_t j = 0; j < kinds.size(); ++j) {
        // Hop j was submitted in the call holding its last input sample.
        const std::size_t last = (j + 1) * hop - 1;
        const auto call = static_cast<std::size_t>(
            std::upper_bound(call_starts.begin(), call_starts.end(), last) - call_starts.begin() -
            1);
        const int expected = call_engine[call] == 0 ? 1 : -1;
        if (kinds[j] != expected && kinds[j] != 2)
            ++wrong;
        on_b += expected == -1 ? 1 : 0;
    }
    EXPECT_EQ(wrong, 0u);
    EXPECT_GT(on_b, kinds.size() / 4);
    EXPECT_LT(on_b, kinds.size() * 3 / 4);
    EXPECT_EQ(count_mismatches(output, reference, latency, 0), 0u) << "pre-roll must be silent";
    EXPECT_EQ(handler.statistics().late_inferences, 0u);
}

TEST(EngineSwitching, FromAnotherThreadEveryHopIsEntirelyOneEngine) {
    constexpr std::size_t hop = 64, past = 100, channels = 2, block = 96;
    ContextConfig context_config;
    context_config.worker_threads = 2;
    InferenceConfig config = two_engine_config(hop, past, channels);
    config.parallel_instances = 2;
    InferenceHandler handler(config, Context::create(context_config));
    HostConfig host;
    host.max_block_size = block;
    host.offline_rendering = true;
    handler.prepare(host);
    const std::size_t latency = handler.latency();

    std::atomic<bool> stop{false};
    std::thread switcher([&] {
        for (std::size_t i = 0; !stop.load(); ++i) {
            const bool ok =
                i % 3 == 0 ? handler.set_engine(i % 2 == 0 ? "a" : "b") : handler.set_engine(i % 2);
            if (!ok)
                break;
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    });
    const Signal input = padded(make_signal(channels, 48000, 43), 48000 + latency + block + hop);
    Signal output(channels, std::vector<float>(input[0].size(), 0.0f));
    for (std::size_t position = 0; position < input[0].size(); position += block)
        process_at(handler, input, output, position, std::min(block, input[0].size() - position));
    stop = true;
    switcher.join();
    const Signal reference = window_model_reference(input, hop, past);
    const std::vector<int> kinds = classify_engine_hops(output, reference, latency, hop);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), 0), 0) << "a hop mixes engines";
    EXPECT_GT(std::count(kinds.begin(), kinds.end(), 1), 0);
    EXPECT_GT(std::count(kinds.begin(), kinds.end(), -1), 0);
    const Statistics stats = handler.statistics();
    EXPECT_EQ(stats.late_inferences, 0u);
    EXPECT_EQ(stats.failed_inferences, 0u);
}

}  // namespace
}  // namespace legato::test
