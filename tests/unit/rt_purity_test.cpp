// Audio-thread purity: process() and the any-thread calls a host may make from its audio thread
// never allocate, lock, wait or sleep, across every feature. Counted by hooking the allocator
// and the blocking pthread/semaphore/sleep functions (tests/support/audio_thread_guard.hpp).
// Offline rendering is excluded: it waits for results by design.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "audio_thread_guard.hpp"
#include "audio_thread_scenarios.hpp"

namespace legato::test {
namespace {

// Adds up the violations of every guarded call.
struct Tally {
    AudioThreadViolations total;
    std::size_t calls = 0;
    void add(const AudioThreadViolations& v) {
        total.allocations += v.allocations;
        total.deallocations += v.deallocations;
        total.locks += v.locks;
        total.waits += v.waits;
        total.sleeps += v.sleeps;
        if (total.first == nullptr)
            total.first = v.first;
        ++calls;
    }
};

// Wraps every process() call of a simulation in a guard; `extra` runs inside the same guard
// after process() (any-thread calls a host might make from its audio thread).
HostSimulation guarded(Tally& tally, std::vector<std::size_t> blocks,
                       std::function<void(std::size_t call)> extra = {}) {
    HostSimulation simulation;
    simulation.block_sizes = std::move(blocks);
    auto call_index = std::make_shared<std::size_t>(0);
    simulation.around_process = [&tally, extra, call_index](const std::function<void()>& process) {
        AudioThreadViolations v;
        {
            AudioThreadGuard guard;
            process();
            if (extra)
                extra(*call_index);
            v = guard.violations();
        }
        ++*call_index;
        tally.add(v);
    };
    return simulation;
}

// The scenarios (audio_thread_scenarios.hpp) with every process() call guarded.
scenarios::HostFactory guarded_host(Tally& tally) {
    return [&tally](std::vector<std::size_t> blocks, scenarios::AfterProcess after) {
        return guarded(tally, std::move(blocks), std::move(after));
    };
}

class RealtimePurity : public ::testing::Test {
protected:
    void SetUp() override { LEGATO_REQUIRE_AUDIO_THREAD_GUARD(); }
};

TEST_F(RealtimePurity, BypassVaryingBlocksInPlaceAndSeparate) {
    for (const bool in_place : {false, true}) {
        Tally tally;
        scenarios::bypass_varying_blocks(guarded_host(tally), in_place);
        EXPECT_TRUE(NoViolations(tally.total)) << (in_place ? "in place" : "separate buffers");
        EXPECT_GT(tally.calls, 50u);
    }
}

TEST_F(RealtimePurity, CustomStatelessParallelInstancesPaced) {
    Tally tally;
    const Statistics stats = scenarios::custom_parallel_instances_paced(guarded_host(tally));
    EXPECT_TRUE(NoViolations(tally.total));
    EXPECT_GT(stats.inferences_completed, 300u);
}

// Slow inferences in real-time mode, unpaced: nearly every hop is late and substituted.
TEST_F(RealtimePurity, LateInferencesUnderEveryPolicy) {
    for (const LatePolicy policy :
         {LatePolicy::silence, LatePolicy::dry, LatePolicy::repeat_last}) {
        Tally tally;
        const Statistics stats = scenarios::late_inferences(guarded_host(tally), policy);
        EXPECT_TRUE(NoViolations(tally.total));
        EXPECT_GT(stats.late_inferences, 100u);
    }
}

// Parameters set and non-streamed outputs read from the audio thread, engines switched, the
// statistics read, resets requested: all from inside the guard, on a stateful handler with
// explicit state feedback.
TEST_F(RealtimePurity, AnyThreadCallsFromTheAudioThread) {
    Tally tally;
    const scenarios::AnyThreadResult result =
        scenarios::any_thread_calls_from_the_audio_thread(guarded_host(tally));
    EXPECT_TRUE(NoViolations(tally.total));
    EXPECT_GE(result.stats.resets, 4u);
    EXPECT_GT(result.peak, 0.0f);  // the peak output came through
}

// Resets, engine switches and parameters requested from other threads while the audio thread
// streams.
TEST_F(RealtimePurity, ResetAndEngineSwitchFromOtherThreads) {
    Tally tally;
    const Statistics stats =
        scenarios::resets_switches_and_parameters_from_other_threads(guarded_host(tally));
    EXPECT_TRUE(NoViolations(tally.total));
    EXPECT_GT(stats.resets, 10u);
}

// Several handlers on several audio threads share the pool.
TEST_F(RealtimePurity, SeveralHandlersSharingThePool) {
    std::vector<Tally> tallies(4);
    scenarios::several_handlers_sharing_the_pool(
        [&tallies](std::size_t h) { return guarded(tallies[h], {256}); });
    for (std::size_t h = 0; h < tallies.size(); ++h)
        EXPECT_TRUE(NoViolations(tallies[h].total)) << "handler " << h;
}

TEST_F(RealtimePurity, OversizedBlocksAndUnpreparedHandler) {
    Tally before;
    Tally tally;
    const Statistics stats = scenarios::oversized_blocks_and_unprepared_handler(
        guarded_host(before), guarded_host(tally));
    EXPECT_TRUE(NoViolations(before.total));
    EXPECT_TRUE(NoViolations(tally.total));
    EXPECT_GT(stats.oversized_blocks, 0u);
}

TEST_F(RealtimePurity, DryWetMixAroundProcess) {
    Tally tally;
    EXPECT_GT(scenarios::dry_wet_mix_around_process(guarded_host(tally)), 0u);
    EXPECT_TRUE(NoViolations(tally.total));
}

// The guard itself can fail: a deliberate allocation inside the guarded region is counted.
TEST_F(RealtimePurity, TheGuardCatchesAnAllocation) {
    InferenceHandler handler(make_config(make_bypass_backend(), 64, 0, 1, 1.0));
    handler.prepare(scenarios::realtime_host(64));
    Tally tally;
    // Through a volatile function pointer, so that the optimiser cannot elide the allocation.
    void* (*volatile allocate)(std::size_t) = &::operator new;
    stream(handler, make_signal(1, 640), 0,
           guarded(tally, {64}, [allocate](std::size_t) { ::operator delete(allocate(64)); }));
    EXPECT_EQ(tally.total.allocations, 10u);  // one per call, ten calls
    EXPECT_EQ(tally.total.deallocations, 10u);
}

}  // namespace
}  // namespace legato::test
