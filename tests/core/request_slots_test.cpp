// RequestSlots (src/core/request_slots.hpp): the request hand-over between a handler's audio
// thread and the workers; every state transition on one thread, then two workers under stress.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "audio_thread_guard.hpp"
#include "core/request_slots.hpp"
#include "rt/cpu_relax.hpp"

namespace legato::core {
namespace {

constexpr std::size_t stride = 3;

// begin() + fill + publish, as the audio thread does; the data holds 10 * seq + i.
void publish(RequestSlots& slots, std::uint64_t seq, std::int64_t deadline_ns = 1000) {
    float* data = slots.begin(seq);
    ASSERT_NE(data, nullptr) << "seq " << seq;
    for (std::size_t i = 0; i < stride; ++i)
        data[i] = static_cast<float>(10 * seq + i);
    slots.publish(seq, RequestTicket{1, 2, seq}, deadline_ns);
}

TEST(RequestSlots, SizeRoundsUpToAPowerOfTwo) {
    EXPECT_EQ(RequestSlots(0, 1).size(), 2u);
    EXPECT_EQ(RequestSlots(3, 1).size(), 4u);
    EXPECT_EQ(RequestSlots(4, 1).size(), 4u);
    EXPECT_EQ(RequestSlots(5, 1).size(), 8u);
}

TEST(RequestSlots, FinishedRequestIsCollectedDoneWithItsOutput) {
    RequestSlots slots(4, stride);
    EXPECT_EQ(slots.published(), 0u);
    EXPECT_FALSE(slots.peek().available);
    float* data = slots.begin(0);
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(data, slots.data(0));
    data[0] = 1.5f;
    slots.publish(0, RequestTicket{3, 7, 11}, 5000);
    EXPECT_EQ(slots.published(), 1u);

    const RequestSlots::Next next = slots.peek();
    EXPECT_TRUE(next.available);
    EXPECT_FALSE(next.dropped);
    EXPECT_EQ(next.sequence, 0u);
    EXPECT_EQ(next.deadline_ns, 5000);

    std::uint64_t seq = 99;
    ASSERT_TRUE(slots.claim(seq));
    EXPECT_EQ(seq, 0u);
    EXPECT_EQ(slots.cursor(), 1u);
    EXPECT_FALSE(slots.claim(seq));  // nothing else published
    EXPECT_FALSE(slots.peek().available);
    EXPECT_TRUE(slots.is_request(0));
    EXPECT_EQ(slots.ticket(0).engine, 3u);
    EXPECT_EQ(slots.ticket(0).generation, 7u);
    EXPECT_EQ(slots.ticket(0).hop_index, 11u);
    EXPECT_EQ(slots.deadline(0), 5000);
    EXPECT_EQ(slots.data(0)[0], 1.5f);

    ASSERT_TRUE(slots.start(0));
    slots.data(0)[0] = -2.5f;
    slots.finish(0, true);
    EXPECT_EQ(slots.collect(0), Outcome::done);
    EXPECT_EQ(slots.data(0)[0], -2.5f);
    // The slot stays held until the audio thread has read the output.
    EXPECT_EQ(slots.begin(4), nullptr);
    slots.release(0);
    EXPECT_EQ(slots.begin(4), slots.data(4));
    EXPECT_EQ(slots.data(4), slots.data(0));  // same slot, next lap
}

TEST(RequestSlots, FailedRunIsCollectedFailedAndFreesTheSlot) {
    RequestSlots slots(2, stride);
    publish(slots, 0);
    std::uint64_t seq = 0;
    ASSERT_TRUE(slots.claim(seq));
    ASSERT_TRUE(slots.start(0));
    slots.finish(0, false);
    EXPECT_EQ(slots.collect(0), Outcome::failed);
    EXPECT_NE(slots.begin(2), nullptr);  // released by collect
}

TEST(RequestSlots, CollectBeforeAnyClaimCancelsAndWorkersFindNothing) {
    RequestSlots slots(4, stride);
    publish(slots, 0);
    EXPECT_EQ(slots.collect(0), Outcome::cancelled);
    EXPECT_EQ(slots.cursor(), 1u);  // the audio thread won the claim
    EXPECT_FALSE(slots.peek().available);
    std::uint64_t seq = 0;
    EXPECT_FALSE(slots.claim(seq));
    EXPECT_FALSE(slots.claim_exact(0));
    EXPECT_NE(slots.begin(4), nullptr);  // free at once
    // The next request is served normally.
    publish(slots, 1);
    ASSERT_TRUE(slots.claim(seq));
    EXPECT_EQ(seq, 1u);
}

TEST(RequestSlots, RunningRequestIsAbandonedAndFreedWhenItsRunFinishes) {
    RequestSlots slots(2, stride);
    publish(slots, 0);
    std::uint64_t seq = 0;
    ASSERT_TRUE(slots.claim(seq));
    ASSERT_TRUE(slots.start(0));
    EXPECT_EQ(slots.collect(0), Outcome::abandoned);
    // Still running: the next lap's request cannot have the slot.
    EXPECT_EQ(slots.begin(2), nullptr);
    publish(slots, 1);
    EXPECT_EQ(slots.collect(1), Outcome::cancelled);
    EXPECT_EQ(slots.begin(2), nullptr);
    slots.finish(0, true);  // the late result is discarded and the slot freed
    EXPECT_EQ(slots.begin(2), slots.data(2));
}

TEST(RequestSlots, ClaimedButUnstartedRequestIsAbandonedAndStartRefuses) {
    RequestSlots slots(2, stride);
    publish(slots, 0);
    std::uint64_t seq = 0;
    ASSERT_TRUE(slots.claim(seq));
    EXPECT_EQ(slots.collect(0), Outcome::abandoned);
    EXPECT_EQ(slots.begin(2), nullptr);
    EXPECT_FALSE(slots.start(0));  // frees the slot instead
    EXPECT_NE(slots.begin(2), nullptr);
}

TEST(RequestSlots, UnclaimedRequestLeftToCompleteStillRunsInOrderAndFreesItsSlot) {
    RequestSlots slots(2, stride);
    publish(slots, 0);
    publish(slots, 1);
    // Stateful: the audio thread moves past both without taking them from the workers.
    EXPECT_EQ(slots.collect(0, Unfinished::complete), Outcome::overdue);
    EXPECT_EQ(slots.collect(1, Unfinished::complete), Outcome::overdue);
    EXPECT_EQ(slots.begin(2), nullptr);  // still held: it has not run yet
    for (std::uint64_t expected = 0; expected < 2; ++expected) {
        std::uint64_t seq = 99;
        ASSERT_TRUE(slots.claim(seq));
        EXPECT_EQ(seq, expected);  // in order
        EXPECT_EQ(slots.data(seq)[0], static_cast<float>(10 * seq));
        ASSERT_TRUE(slots.start(seq)) << "an overdue request runs for its state";
        slots.finish(seq, true);
    }
    EXPECT_NE(slots.begin(2), nullptr);  // freed by its run
    EXPECT_NE(slots.begin(3), nullptr);
}

TEST(RequestSlots, RunningRequestLeftToCompleteIsFreedByItsRun) {
    RequestSlots slots(2, stride);
    publish(slots, 0);
    std::uint64_t seq = 0;
    ASSERT_TRUE(slots.claim(seq));
    ASSERT_TRUE(slots.start(seq));
    EXPECT_EQ(slots.collect(0, Unfinished::complete), Outcome::overdue);
    EXPECT_EQ(slots.begin(2), nullptr);
    slots.finish(0, true);
    EXPECT_NE(slots.begin(2), nullptr);
}

TEST(RequestSlots, RequestFinishedBeforeItIsLeftToCompleteIsCollectedDone) {
    RequestSlots slots(2, stride);
    publish(slots, 0);
    std::uint64_t seq = 0;
    ASSERT_TRUE(slots.claim(seq));
    ASSERT_TRUE(slots.start(seq));
    slots.finish(0, true);
    EXPECT_EQ(slots.collect(0, Unfinished::complete), Outcome::done);
    slots.release(0);
}

TEST(RequestSlots, ExpiredRequestIsCollectedExpired) {
    RequestSlots slots(2, stride);
    publish(slots, 0);
    ASSERT_TRUE(slots.claim_exact(0));
    slots.expire(0);
    EXPECT_EQ(slots.begin(2), nullptr);  // held until collected
    EXPECT_EQ(slots.collect(0), Outcome::expired);
    EXPECT_NE(slots.begin(2), nullptr);
}

TEST(RequestSlots, ExpiringAnAbandonedRequestFreesItsSlot) {
    RequestSlots slots(2, stride);
    publish(slots, 0);
    ASSERT_TRUE(slots.claim_exact(0));
    EXPECT_EQ(slots.collect(0), Outcome::abandoned);
    slots.expire(0);
    EXPECT_NE(slots.begin(2), nullptr);
}

TEST(RequestSlots, ClaimExactSucceedsOnlyForTheNextUnclaimedNumber) {
    RequestSlots slots(4, stride);
    EXPECT_FALSE(slots.claim_exact(0));  // nothing published
    publish(slots, 0);
    publish(slots, 1);
    publish(slots, 2);
    EXPECT_FALSE(slots.claim_exact(1));  // 0 comes first
    EXPECT_FALSE(slots.claim_exact(3));  // not published
    EXPECT_TRUE(slots.claim_exact(0));
    EXPECT_FALSE(slots.claim_exact(0));  // already claimed
    EXPECT_EQ(slots.cursor(), 1u);
    EXPECT_TRUE(slots.claim_exact(1));
    std::uint64_t seq = 0;
    ASSERT_TRUE(slots.claim(seq));
    EXPECT_EQ(seq, 2u);
    EXPECT_FALSE(slots.claim_exact(2));
    EXPECT_FALSE(slots.claim_exact(3));
}

// Request 0 abandoned while running holds slot 0 through the next lap: request 2 (slot 0)
// cannot begin and is published as dropped.
class DroppedRequest : public ::testing::Test {
protected:
    void SetUp() override {
        publish(slots, 0);
        std::uint64_t seq = 0;
        ASSERT_TRUE(slots.claim(seq));
        ASSERT_TRUE(slots.start(0));
        ASSERT_EQ(slots.collect(0), Outcome::abandoned);
        publish(slots, 1);
        ASSERT_EQ(slots.collect(1), Outcome::cancelled);
        ASSERT_EQ(slots.begin(2), nullptr);
        slots.publish_dropped(2);
    }
    RequestSlots slots{2, stride};
};

TEST_F(DroppedRequest, PeekSaysDroppedAndCollectSaysDropped) {
    EXPECT_EQ(slots.published(), 3u);
    const RequestSlots::Next next = slots.peek();
    EXPECT_TRUE(next.available);
    EXPECT_TRUE(next.dropped);
    EXPECT_EQ(next.sequence, 2u);
    EXPECT_EQ(slots.collect(2), Outcome::dropped);
    EXPECT_EQ(slots.cursor(), 3u);  // workers skip it
    EXPECT_FALSE(slots.peek().available);
    // The abandoned run finishes: request 4 (slot 0 again) can begin; 3 (slot 1) always could.
    slots.finish(0, true);
    publish(slots, 3);
    EXPECT_EQ(slots.collect(3), Outcome::cancelled);
    EXPECT_NE(slots.begin(4), nullptr);
}

TEST_F(DroppedRequest, AWorkerThatClaimsTheDroppedNumberSeesNoRequest) {
    std::uint64_t seq = 0;
    ASSERT_TRUE(slots.claim(seq));
    EXPECT_EQ(seq, 2u);
    EXPECT_FALSE(slots.is_request(2));
    EXPECT_EQ(slots.collect(2), Outcome::dropped);
    EXPECT_EQ(slots.cursor(), 3u);
    // Slot 0 is still held by request 0's run.
    EXPECT_EQ(slots.begin(4), nullptr);
}

TEST(RequestSlots, AudioThreadFunctionsNeitherAllocateNorLock) {
    LEGATO_REQUIRE_AUDIO_THREAD_GUARD();
    RequestSlots slots(2, stride);
    test::AudioThreadViolations v;
    Outcome first = Outcome::dropped;
    Outcome second = Outcome::done;
    Outcome third = Outcome::done;
    {
        test::AudioThreadGuard guard;
        float* data = slots.begin(0);
        if (data != nullptr)
            data[0] = 1.0f;
        slots.publish(0, RequestTicket{}, 1);
        std::uint64_t seq = 0;
        if (slots.claim(seq) && slots.start(seq))
            slots.finish(seq, true);
        first = slots.collect(0);
        slots.release(0);
        slots.begin(1);
        slots.publish(1, RequestTicket{}, 2);
        second = slots.collect(1);
        slots.publish_dropped(2);
        third = slots.collect(2);
        v = guard.violations();
    }
    EXPECT_TRUE(test::NoViolations(v));
    EXPECT_EQ(first, Outcome::done);
    EXPECT_EQ(second, Outcome::cancelled);
    EXPECT_EQ(third, Outcome::dropped);
}

// One audio thread publishes and collects in order with `window` requests in flight; two
// workers claim, start and finish with a variable pace, so every outcome occurs. Each request's
// input is derived from its sequence number by the audio thread and checked by the worker, its
// output derived by the worker and checked by the audio thread: a torn or swapped slot shows.
TEST(RequestSlots, TwoWorkersAndTheAudioThreadNeverMixUpRequests) {
#if defined(__SANITIZE_THREAD__)
    constexpr std::uint64_t total = 40'000;  // ThreadSanitizer runs this some 10x slower
#else
    constexpr std::uint64_t total = 200'000;
#endif
    constexpr std::uint64_t window = 6;
    constexpr std::size_t width = 4;
    RequestSlots slots(8, width);
    auto input_value = [](std::uint64_t seq, std::size_t i) {
        return static_cast<float>(seq * width + i + 1);
    };
    auto output_value = [](std::uint64_t seq, std::size_t i) {
        return -static_cast<float>(seq * width + i + 1);
    };
    // The workers fail every request with seq % 11 == 5 and expire those with seq % 13 == 7.
    auto fails = [](std::uint64_t seq) { return seq % 11 == 5; };
    auto expires = [](std::uint64_t seq) { return seq % 13 == 7; };
    // A pseudo-random pause of 0..255 spins.
    auto pause = [](std::uint64_t seq, std::uint64_t salt) {
        const std::uint64_t spins = ((seq + salt) * 0x9E3779B97F4A7C15ull) >> 56;
        for (std::uint64_t k = 0; k < spins; ++k)
            rt::cpu_relax();
    };

    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> claimed_requests{0}, claimed_dropped{0}, bad_input{0}, bad_ticket{0};
    auto worker = [&](std::uint64_t salt) {
        while (!stop.load(std::memory_order_acquire)) {
            std::uint64_t seq = 0;
            if (!slots.claim(seq)) {
                rt::cpu_relax();
                continue;
            }
            if (!slots.is_request(seq)) {
                claimed_dropped.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            claimed_requests.fetch_add(1, std::memory_order_relaxed);
            if (slots.ticket(seq).hop_index != seq ||
                slots.deadline(seq) != static_cast<std::int64_t>(seq))
                bad_ticket.fetch_add(1, std::memory_order_relaxed);
            if (expires(seq)) {
                slots.expire(seq);
                continue;
            }
            if (!slots.start(seq))
                continue;
            float* data = slots.data(seq);
            for (std::size_t i = 0; i < width; ++i) {
                if (data[i] != input_value(seq, i))
                    bad_input.fetch_add(1, std::memory_order_relaxed);
                data[i] = output_value(seq, i);
            }
            pause(seq, salt);
            slots.finish(seq, !fails(seq));
        }
    };
    std::thread first(worker, 0);
    std::thread second(worker, 12345);

    std::array<std::uint64_t, 7> outcomes{};
    std::uint64_t published_dropped = 0, bad_output = 0, wrong_outcome = 0;
    std::uint64_t next = 0;
    for (std::uint64_t seq = 0; seq < total; ++seq) {
        for (; next < total && next < seq + window; ++next) {
            float* data = slots.begin(next);
            if (data == nullptr) {
                slots.publish_dropped(next);
                ++published_dropped;
                continue;
            }
            for (std::size_t i = 0; i < width; ++i)
                data[i] = input_value(next, i);
            slots.publish(next, RequestTicket{0, 0, next}, static_cast<std::int64_t>(next));
        }
        // Mostly give the workers a chance to claim it first (bounded: never waits for them),
        // then a variable pause, so that runs are collected before, during and after.
        for (int spins = 0; seq % 8 != 0 && slots.cursor() <= seq && spins < 256; ++spins)
            rt::cpu_relax();
        pause(seq, 777);
        const Outcome outcome = slots.collect(seq);
        ++outcomes[static_cast<std::size_t>(outcome)];
        if (outcome == Outcome::done) {
            const float* data = slots.data(seq);
            for (std::size_t i = 0; i < width; ++i)
                if (data[i] != output_value(seq, i))
                    ++bad_output;
            slots.release(seq);
        }
        if ((outcome == Outcome::done && (fails(seq) || expires(seq))) ||
            (outcome == Outcome::failed && !fails(seq)) ||
            (outcome == Outcome::expired && !expires(seq)))
            ++wrong_outcome;
    }
    stop.store(true, std::memory_order_release);
    first.join();
    second.join();

    auto count = [&](Outcome o) { return outcomes[static_cast<std::size_t>(o)]; };
    std::printf(
        "[ figures  ] %llu requests: done %llu, failed %llu, expired %llu, cancelled %llu, "
        "abandoned %llu, dropped %llu\n",
        static_cast<unsigned long long>(total),
        static_cast<unsigned long long>(count(Outcome::done)),
        static_cast<unsigned long long>(count(Outcome::failed)),
        static_cast<unsigned long long>(count(Outcome::expired)),
        static_cast<unsigned long long>(count(Outcome::cancelled)),
        static_cast<unsigned long long>(count(Outcome::abandoned)),
        static_cast<unsigned long long>(count(Outcome::dropped)));
    EXPECT_EQ(bad_input.load(), 0u);
    EXPECT_EQ(bad_output, 0u);
    EXPECT_EQ(bad_ticket.load(), 0u);
    EXPECT_EQ(wrong_outcome, 0u);
    std::uint64_t sum = 0;
    for (const std::uint64_t n : outcomes)
        sum += n;
    EXPECT_EQ(sum, total);
    EXPECT_EQ(count(Outcome::dropped), published_dropped);
    EXPECT_LE(claimed_dropped.load(), published_dropped);
    // Every real request was either claimed by a worker or taken back unclaimed, never both.
    EXPECT_EQ(claimed_requests.load() + count(Outcome::cancelled), total - published_dropped);
    EXPECT_EQ(count(Outcome::done) + count(Outcome::failed) + count(Outcome::expired) +
                  count(Outcome::abandoned),
              claimed_requests.load());
    EXPECT_EQ(slots.published(), total);
    EXPECT_EQ(slots.cursor(), total);
    // Every abandoned run has finished and freed its slot: the next lap can begin everywhere.
    for (std::uint64_t seq = total; seq < total + slots.size(); ++seq)
        EXPECT_NE(slots.begin(seq), nullptr) << "slot of seq " << seq << " still held";
}

}  // namespace
}  // namespace legato::core
