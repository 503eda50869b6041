// Fault injection: an engine that stalls, throws legato::Error, std::bad_alloc and non-standard
// exceptions must not crash, hang or shift the stream. Every output hop is either the model's
// output or the late policy's substitute, every faulty hop is substituted and counted, the
// latency stays put, the error reaches a non-real-time reader, and the handler is exact again
// once the faults stop. (Engines returning outputs of the wrong size are tested per engine:
// libtorch_test's RunTimeShapeFaults, onnxruntime_test's computed output shape checks.)

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <new>
#include <stdexcept>
#include <thread>

#include "stream_support.hpp"

namespace legato::test {
namespace {

constexpr std::size_t hop = 256;

enum class Fault { none, stall, legato_error, bad_alloc, not_an_exception_class };

// Which fault hop j gets: a fixed pseudo-random pattern (seeded hash), so the test knows which
// hops had to fail. About 6 % of hops stall for 2-50 ms, 12 % throw.
Fault fault_of(std::size_t j, std::uint32_t seed) {
    std::uint32_t x = static_cast<std::uint32_t>(j) * 2654435761u ^ seed;
    x ^= x >> 13;
    x *= 0x5bd1e995u;
    x ^= x >> 15;
    switch (x % 50) {
        case 0:
        case 1:
        case 2:
            return Fault::stall;
        case 3:
        case 4:
            return Fault::legato_error;
        case 5:
        case 6:
            return Fault::bad_alloc;
        case 7:
        case 8:
            return Fault::not_an_exception_class;
        default:
            return Fault::none;
    }
}

std::chrono::milliseconds stall_of(std::size_t j) {
    return std::chrono::milliseconds(2 + (j * 7919) % 49);
}

// Negates its input; the input is a ramp, so the first sample tells the hop index. Faults are
// injected while `armed`.
std::shared_ptr<Backend> faulty_backend(std::uint32_t seed, const std::atomic<bool>& armed) {
    return make_custom_backend(
        "faulty", [seed, &armed](std::span<const TensorView> in, std::span<const TensorView> out) {
            const auto j = static_cast<std::size_t>(in[0].data[0]) / hop;
            const Fault fault = armed.load() ? fault_of(j, seed) : Fault::none;
            switch (fault) {
                case Fault::legato_error:
                    throw Error("injected fault in hop " + std::to_string(j));
                case Fault::bad_alloc:
                    throw std::bad_alloc();
                case Fault::not_an_exception_class:
                    throw 42;
                case Fault::stall:
                    std::this_thread::sleep_for(stall_of(j));
                    break;
                case Fault::none:
                    break;
            }
            for (std::size_t i = 0; i < out[0].data.size(); ++i)
                out[0].data[i] = -in[0].data[i];
        });
}

Signal ramp(std::size_t frames, std::size_t offset = 0) {
    Signal signal(1, std::vector<float>(frames));
    for (std::size_t n = 0; n < frames; ++n)
        signal[0][n] = static_cast<float>(n + offset);
    return signal;
}

bool throws(Fault fault) {
    return fault == Fault::legato_error || fault == Fault::bad_alloc ||
           fault == Fault::not_an_exception_class;
}

class FaultInjection : public ::testing::TestWithParam<LatePolicy> {};

TEST_P(FaultInjection, FaultyEngineNeverCrashesHangsOrShiftsTheStream) {
    const LatePolicy policy = GetParam();
    for (const std::uint32_t seed : {1u, 2u}) {
        std::atomic<bool> armed{true};
        InferenceConfig config =
            make_config(faulty_backend(seed, armed), hop, 0, 1, paced_max_inference_time_ms);
        config.parallel_instances = 3;
        config.late_policy = policy;
        InferenceHandler handler(config, paced_context());
        HostConfig host;
        host.max_block_size = 64;
        handler.prepare(host);
        const std::size_t latency = handler.latency();

        // 1. Faults on, paced in real time at 64-frame blocks for 1.5 s.
        const std::size_t frames = 72000;
        const Signal input = ramp(frames);
        HostSimulation simulation;
        simulation.block_sizes = {64};
        simulation.paced = true;
        const auto start = std::chrono::steady_clock::now();
        const Signal output = stream(handler, input, latency + hop, simulation);
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));  // no hang
        EXPECT_EQ(handler.latency(), latency);

        std::size_t throwing = 0, substituted = 0, stalled = 0;
        for (std::size_t j = 0; (j + 1) * hop <= frames; ++j) {
            const Fault fault = fault_of(j, seed);
            throwing += throws(fault);
            stalled += fault == Fault::stall;
            bool processed = true;
            for (std::size_t t = 0; t < hop; ++t)
                processed &= output[0][j * hop + latency + t] == -input[0][j * hop + t];
            if (processed) {
                EXPECT_FALSE(throws(fault)) << "hop " << j << " threw but was not substituted";
                continue;
            }
            ++substituted;
            for (std::size_t t = 0; t < hop; ++t) {
                const float got = output[0][j * hop + latency + t];
                float expected = 0.0f;
                if (policy == LatePolicy::dry)
                    expected = input[0][j * hop + t];
                if (policy == LatePolicy::repeat_last)
                    expected = output[0][(j - 1) * hop + latency + t];
                ASSERT_EQ(got, expected) << "hop " << j << " sample " << t
                                         << " is neither the model output nor the substitute";
            }
        }
        ASSERT_GT(throwing, 20u);
        ASSERT_GT(stalled, 10u);

        // Let abandoned stalls finish (runs stop changing for 200 ms), then check the books.
        // Hops cancelled before they started never run, so the counts need not add up.
        std::uint64_t runs = ~std::uint64_t{0};
        for (int i = 0; i < 50; ++i) {
            const Statistics now = handler.statistics();
            if (now.inferences_completed + now.failed_inferences == runs)
                break;
            runs = now.inferences_completed + now.failed_inferences;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        const Statistics stats = handler.statistics();
        // Every throwing hop that started on a worker failed (one cancelled before it started,
        // being late, is counted as late instead).
        EXPECT_LE(stats.failed_inferences, throwing);
        EXPECT_GE(stats.failed_inferences + stats.late_inferences, throwing);
        // Substituted = late + failed in time; a hop can be both late and failed.
        const std::uint64_t tail_hops = (latency + hop) / hop + 1;
        EXPECT_GE(stats.substituted_frames / hop, substituted);
        EXPECT_LE(stats.substituted_frames / hop, substituted + tail_hops);
        EXPECT_EQ(stats.substituted_frames % hop, 0u);
        EXPECT_GE(stats.substituted_frames, stats.late_inferences * hop);
        EXPECT_LE(stats.substituted_frames, (stats.late_inferences + stats.failed_inferences) * hop);
        // The reason reaches a non-real-time reader: the last of the three kinds thrown.
        const std::string error = handler.last_error();
        EXPECT_TRUE(error.find("faulty: ") == 0) << error;
        EXPECT_TRUE(error.find("injected fault in hop") != std::string::npos ||
                    error.find("bad_alloc") != std::string::npos ||
                    error.find("unknown exception") != std::string::npos)
            << error;

        // 2. Faults off: the same handler is exact again (offline rendering, so whatever the
        // machine's timing), with the latency unchanged.
        armed = false;
        handler.reset();
        handler.set_offline_rendering(true);
        const Signal clean = ramp(hop * 40, frames);
        const Signal again = stream(handler, clean, latency + hop, simulation);
        Signal expected(1, std::vector<float>(clean[0].size()));
        for (std::size_t n = 0; n < clean[0].size(); ++n)
            expected[0][n] = -clean[0][n];
        EXPECT_EQ(count_mismatches(again, expected, latency, clean[0].size()), 0u);
        EXPECT_EQ(handler.latency(), latency);
    }
}

INSTANTIATE_TEST_SUITE_P(Policies, FaultInjection,
                         ::testing::Values(LatePolicy::silence, LatePolicy::dry,
                                           LatePolicy::repeat_last),
                         late_policy_name);

// A fault during warm-up is a setup error, not a crash, and a later prepare() can succeed.
TEST(FaultInjectionSetup, ThrowingWarmUpIsASetupErrorAndRetryWorks) {
    std::atomic<int> calls{0};
    auto backend = make_custom_backend(
        "flaky", [&calls](std::span<const TensorView> in, std::span<const TensorView> out) {
            if (calls++ == 0)
                throw 7;  // not even a std::exception
            window_model(in, out);
        });
    InferenceHandler handler(make_config(backend, 64, 0, 1, 1.0));
    HostConfig host;
    try {
        handler.prepare(host);
        ADD_FAILURE() << "prepare() should have failed";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("warm-up"), std::string::npos) << e.what();
    }
    EXPECT_EQ(handler.latency(), 0u);
    handler.prepare(host);
    EXPECT_GT(handler.latency(), 0u);
}

}  // namespace
}  // namespace legato::test
