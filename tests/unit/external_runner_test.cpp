// External runners (legato/external_runner.hpp): a thread of the test's own claims the requests
// of a handler whose instances are bound to it, runs the model and completes them; the pool's
// workers never run them. The output is exact, failures are counted, a handler cannot be
// destroyed under a claim, and handlers that cannot be served by a runner keep the workers.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "legato/external_runner.hpp"
#include "runner_support.hpp"
#include "stream_support.hpp"

namespace legato::test {
namespace {

constexpr int runner_id = 3;
constexpr std::size_t hop = 256;
constexpr std::size_t past = 64;

using BoundBackend = runner_support::BoundBackend;
using Runner = runner_support::Runner;
using runner_support::wakes;
using runner_support::worker_runs;

InferenceConfig bound_config(int runner) {
    InferenceConfig config = make_config(std::make_shared<BoundBackend>(runner), hop, past, 1, 4.0);
    return config;
}

HostConfig offline_host() {
    HostConfig host;
    host.max_block_size = hop;
    host.offline_rendering = true;
    return host;
}

TEST(ExternalRunner, ServesItsHandlerExactlyAndTheWorkersNeverRunIt) {
    Runner runner(runner_id);
    InferenceHandler handler(bound_config(runner_id));
    handler.prepare(offline_host());
    const int runs_after_prepare = worker_runs.load();  // warm-up runs on a worker
    const int wakes_before = wakes.load();
    const Signal input = make_signal(1, 64 * hop);
    HostSimulation host;
    host.block_sizes = {hop};
    const std::size_t latency = handler.latency();
    const Signal output = stream(handler, input, latency, host);
    EXPECT_EQ(count_mismatches(output, window_model_reference(input, hop, past), latency,
                               input[0].size()),
              0u);
    EXPECT_EQ(worker_runs.load(), runs_after_prepare) << "a worker ran a runner's request";
    EXPECT_GE(runner.claims(), 64);
    EXPECT_GT(wakes.load(), wakes_before);
    EXPECT_EQ(handler.statistics().failed_inferences, 0u);
}

TEST(ExternalRunner, WithoutItsRunnerNothingRuns) {
    InferenceHandler handler(bound_config(runner_id));
    HostConfig host;
    host.max_block_size = hop;
    handler.prepare(host);
    const int runs_after_prepare = worker_runs.load();
    std::vector<float> block(hop, 0.25f);
    for (int k = 0; k < 8; ++k)
        handler.process(std::vector<float*>{block.data()}.data(), 1, hop);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(handler.statistics().inferences_completed, 0u);
    EXPECT_EQ(worker_runs.load(), runs_after_prepare);
}

TEST(ExternalRunner, AFailedRunIsCountedWithItsMessage) {
    Runner runner(runner_id, "the engine said no");
    InferenceHandler handler(bound_config(runner_id));
    handler.prepare(offline_host());
    std::vector<float> block(hop, 0.25f);
    for (int k = 0; k < 8; ++k)
        handler.process(std::vector<float*>{block.data()}.data(), 1, hop);
    EXPECT_GE(handler.statistics().failed_inferences, 1u);
    EXPECT_NE(handler.last_error().find("bound: the engine said no"), std::string::npos)
        << handler.last_error();
}

TEST(ExternalRunner, AHandlerIsNotDestroyedUnderAClaim) {
    Runner runner(runner_id);
    runner.hold_each_claim();  // each claim is held 100 ms
    auto handler = std::make_unique<InferenceHandler>(bound_config(runner_id));
    HostConfig host;
    host.max_block_size = hop;
    handler->prepare(host);
    std::vector<float> block(hop, 0.25f);
    handler->process(std::vector<float*>{block.data()}.data(), 1, hop);
    // Wait until the runner holds the claim, then destroy: that must wait for the claim's end.
    const auto start = std::chrono::steady_clock::now();
    while (handler->statistics().inferences_submitted == 0 ||
           std::chrono::steady_clock::now() - start < std::chrono::milliseconds(20))
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto destroy = std::chrono::steady_clock::now();
    handler.reset();
    const auto took = std::chrono::steady_clock::now() - destroy;
    EXPECT_GE(runner.claims(), 1);
    EXPECT_GE(took, std::chrono::milliseconds(50)) << "destroyed while the runner held the claim";
}

// A processor that hands its work to another thread: its handlers stay with the workers.
class OwnThreadProcessor final : public PrePostProcessor {
public:
    bool runs_on_any_thread() const noexcept override { return false; }
};

TEST(ExternalRunner, HandlersWhoseProcessorNeedsItsOwnThreadKeepTheWorkers) {
    InferenceConfig config = bound_config(runner_id);
    config.pre_post_processor = std::make_shared<OwnThreadProcessor>();
    InferenceHandler handler(config);
    handler.prepare(offline_host());
    const int runs_after_prepare = worker_runs.load();
    std::vector<float> block(hop, 0.25f);
    for (int k = 0; k < 8; ++k)
        handler.process(std::vector<float*>{block.data()}.data(), 1, hop);
    EXPECT_GE(handler.statistics().inferences_completed, 7u);
    EXPECT_GE(worker_runs.load(), runs_after_prepare + 7);
}

TEST(ExternalRunner, ClaimsOfAnUnknownRunnerFindNothing) {
    ExternalRunClaim claim;
    EXPECT_FALSE(claim_external_run(-1, claim));
    EXPECT_FALSE(claim_external_run(max_external_runners, claim));
    EXPECT_FALSE(claim_external_run(7, claim));
}

}  // namespace
}  // namespace legato::test
