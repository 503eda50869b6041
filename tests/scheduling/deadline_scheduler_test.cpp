// choose() (src/scheduling/deadline_scheduler.hpp): earliest deadline first with expiry and the
// loss-share preference; rule by rule, then an overloaded worker on a simulated clock.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "scheduling/anticipation.hpp"
#include "scheduling/deadline_scheduler.hpp"

namespace legato::scheduling {
namespace {

Candidate candidate(std::int64_t deadline_ns, std::int64_t cost_ns, std::uint64_t decided = 0,
                    std::uint64_t lost = 0) {
    Candidate c;
    c.available = true;
    c.deadline_ns = deadline_ns;
    c.latest_ns = deadline_ns;
    c.cost_ns = cost_ns;
    c.decided = decided;
    c.lost = lost;
    return c;
}

TEST(DeadlineScheduler, NothingAvailableChoosesNone) {
    EXPECT_EQ(choose({}, 0).index, Choice::none);
    // Unavailable candidates are ignored, even ones that could no longer make their deadline.
    std::vector<Candidate> candidates{candidate(100, 10), candidate(5, 1000, 4, 4)};
    for (Candidate& c : candidates)
        c.available = false;
    const Choice choice = choose(candidates, 50);
    EXPECT_EQ(choice.index, Choice::none);
    EXPECT_FALSE(choice.expire);
}

TEST(DeadlineScheduler, WithoutLossesItIsPlainEarliestDeadlineFirst) {
    // Deadlines within one inference of each other (cost 1000): the loss-share window covers
    // them all, and without losses it changes nothing.
    const std::vector<Candidate> candidates{
        candidate(1300, 1000, 8, 0), candidate(1100, 1000, 2, 0), candidate(1200, 1000, 0, 0)};
    const Choice choice = choose(candidates, 0);
    EXPECT_EQ(choice.index, 1u);
    EXPECT_FALSE(choice.expire);
    // Far apart deadlines, too.
    const std::vector<Candidate> far{candidate(9000, 10), candidate(5000, 10), candidate(7000, 10)};
    EXPECT_EQ(choose(far, 0).index, 1u);
}

TEST(DeadlineScheduler, ARequestThatCannotMakeItsLatestTimeIsExpired) {
    // now 1000: the first can finish by 1200 <= 1300; the second needs until 1300 > 1250.
    std::vector<Candidate> candidates{candidate(1200, 200), candidate(1250, 300)};
    candidates[0].latest_ns = 1300;
    const Choice choice = choose(candidates, 1000);
    EXPECT_EQ(choice.index, 1u);
    EXPECT_TRUE(choice.expire);
    // Exactly on time (now + cost == latest) is feasible: no expiry, plain EDF.
    candidates[1].cost_ns = 250;
    const Choice on_time = choose(candidates, 1000);
    EXPECT_EQ(on_time.index, 0u);
    EXPECT_FALSE(on_time.expire);
}

TEST(DeadlineScheduler, ExpiryLooksAtTheLatestTimeNotTheDeadline) {
    // The deadline (900) has passed, but the output may be needed as late as 1500.
    std::vector<Candidate> candidates{candidate(900, 400)};
    candidates[0].latest_ns = 1500;
    Choice choice = choose(candidates, 1000);
    EXPECT_EQ(choice.index, 0u);
    EXPECT_FALSE(choice.expire);
    choice = choose(candidates, 1101);
    EXPECT_EQ(choice.index, 0u);
    EXPECT_TRUE(choice.expire);
}

TEST(DeadlineScheduler, ARequestThatMayNotExpireIsNeverExpired) {
    // Stateful handler: hopelessly late, yet it runs (earliest deadline) and is never dropped.
    std::vector<Candidate> candidates{candidate(2000, 100), candidate(500, 300)};
    candidates[1].may_expire = false;
    Choice choice = choose(candidates, 1000);
    EXPECT_EQ(choice.index, 1u);
    EXPECT_FALSE(choice.expire);
    // Alone and later than everything: still not expired.
    candidates[1].deadline_ns = candidates[1].latest_ns = 5000;
    choice = choose(candidates, 1'000'000);
    EXPECT_FALSE(choice.expire && choice.index == 1u);
    candidates[0].available = false;
    choice = choose(candidates, 1'000'000);
    EXPECT_EQ(choice.index, 1u);
    EXPECT_FALSE(choice.expire);
}

TEST(DeadlineScheduler, LossShareDecidesOnlyWithinOneInferenceOfTheEarliestDeadline) {
    // Earliest deadline 1000, cost 100: the window ends at 1100 (inclusive).
    std::vector<Candidate> candidates{
        candidate(1000, 100, 10, 0),  // 0: earliest, nothing lost
        candidate(1100, 100, 10, 5),  // 1: at the window's end, lost 50 %
        candidate(1101, 100, 10, 9),  // 2: just outside, lost 90 %
    };
    EXPECT_EQ(choose(candidates, 0).index, 1u);
    candidates[1].available = false;
    EXPECT_EQ(choose(candidates, 0).index, 0u);  // 2 is outside the window
    // The window is the earliest request's cost, not the others': candidate 2 costs 500.
    candidates[2].cost_ns = 500;
    EXPECT_EQ(choose(candidates, 0).index, 0u);
    // The earliest's cost widens the window: now 1101 lies within 1000 + 200.
    candidates[0].cost_ns = 200;
    EXPECT_EQ(choose(candidates, 0).index, 2u);
}

TEST(DeadlineScheduler, EqualLossSharesGoByDeadlineThenByOrder) {
    // 1/4 and 2/8 are the same share: the earlier deadline wins.
    const std::vector<Candidate> candidates{candidate(1050, 100, 8, 2), candidate(1040, 100, 4, 1),
                                            candidate(1000, 100, 10, 0)};
    EXPECT_EQ(choose(candidates, 0).index, 1u);
    // Same share and same deadline: the first one.
    const std::vector<Candidate> same{candidate(1000, 100, 10, 0), candidate(1000, 100, 4, 2),
                                      candidate(1000, 100, 8, 4), candidate(1000, 100, 6, 3)};
    EXPECT_EQ(choose(same, 0).index, 1u);
}

TEST(DeadlineScheduler, LosesMoreComparesLossSharesWithoutDivision) {
    EXPECT_TRUE(loses_more(candidate(0, 0, 2, 1), candidate(0, 0, 4, 1)));   // 1/2 > 1/4
    EXPECT_FALSE(loses_more(candidate(0, 0, 4, 1), candidate(0, 0, 2, 1)));  // 1/4 < 1/2
    EXPECT_FALSE(loses_more(candidate(0, 0, 4, 1), candidate(0, 0, 8, 2)));  // equal
    EXPECT_FALSE(loses_more(candidate(0, 0, 8, 2), candidate(0, 0, 4, 1)));
    // Large counts (2^40): compared as doubles, no integer overflow.
    const std::uint64_t big = std::uint64_t{1} << 40;
    EXPECT_TRUE(loses_more(candidate(0, 0, big, big / 2 + 1), candidate(0, 0, big, big / 2)));
}

TEST(DeadlineScheduler, AFreshSourceDoesNotOutrankOneThatHasLost) {
    // A source with decided == 0 has a loss share of 0 (a cross-multiplied comparison once made
    // it equal to every share, so the choice depended on the candidates' order). "lossy" lost
    // 1 of 2, "fresh" nothing of nothing and "steady" 1 of 4; deadlines 1050, 1040 and 1010,
    // cost 100: the largest loss share goes first, lossy, in either order.
    const Candidate lossy = candidate(1050, 100, 2, 1);
    const Candidate fresh = candidate(1040, 100, 0, 0);
    const Candidate steady = candidate(1010, 100, 4, 1);
    const std::vector<Candidate> one_order{fresh, lossy, steady};
    const std::vector<Candidate> other_order{lossy, fresh, steady};
    EXPECT_EQ(choose(one_order, 0).index, 1u);    // lossy
    EXPECT_EQ(choose(other_order, 0).index, 0u);  // lossy (returns 1: fresh)
}

// ---------------------------------------------------------------------------------------------
// Overload on a simulated clock: 16 handlers (sources) share one worker. Each submits one request
// per period P at t0 + k P + i µs (always in the same order, as one host callback calls its
// handlers), needed by its next submission (deadline = latest = submit + P); every run costs
// exactly `cost`. A source's `decided` counts its requests claimed, expired or cancelled so
// far, `lost` those of them never started, also while it has no request (as Session::next()
// reports them). A request not started by its deadline is cancelled (lost); one started never
// misses it (it would have been expired instead), so delivered == started. Each source's
// forecast (SubmissionForecast on a host on schedule) is its next submission time.

enum class Worker {
    plain_edf,    // choose() with every `lost` 0: earliest deadline first and expiry only
    choose_only,  // choose() with the loss shares, running whatever it returns
    pool,         // as WorkerPool::run_one: choose(), then hold the chosen request back (spin)
                  // while a handler that has lost a larger share is due to submit within
                  // spin_after (WorkerPool::holds_for_burst)
};

struct Fairness {
    std::vector<std::uint64_t> delivered;  // per handler
    std::uint64_t total = 0;
    double capacity = 0;   // runs the worker could make in the simulated time
    double min_share = 0;  // least delivered / mean delivered
    double max_share = 0;  // most delivered / mean delivered
};

Fairness simulate(Worker worker, std::uint64_t periods, std::int64_t period_ns,
                  std::int64_t cost_ns) {
    constexpr std::size_t handlers = 16;
    struct Source {
        bool pending = false;
        std::uint64_t sequence = 0;
        std::int64_t deadline_ns = 0;
        std::int64_t forecast_ns = 0;  // 0 until its first call
        std::uint64_t decided = 0;
        std::uint64_t started = 0;
    };
    const std::int64_t t0 = 1'000'000'000;
    const std::int64_t stagger_ns = 1'000;
    const std::int64_t spin_after_ns = AnticipationSettings{}.spin_after_ns;
    std::vector<Source> sources(handlers);
    std::uint64_t next_period = 0;
    std::size_t next_handler = 0;
    auto submission_time = [&] {
        return t0 + static_cast<std::int64_t>(next_period) * period_ns +
               static_cast<std::int64_t>(next_handler) * stagger_ns;
    };
    auto submissions_left = [&] { return next_period < periods; };
    // Brings the sources up to time `now`: cancels requests not started by their deadline and
    // submits every request due by now.
    auto advance = [&](std::int64_t now) {
        while (submissions_left() && submission_time() <= now) {
            Source& s = sources[next_handler];
            if (s.pending) {  // its deadline is this very submission time
                s.pending = false;
                ++s.decided;
            }
            s.pending = true;
            ++s.sequence;
            s.deadline_ns = submission_time() + period_ns;
            s.forecast_ns = s.deadline_ns;  // the next call
            if (++next_handler == handlers) {
                next_handler = 0;
                ++next_period;
            }
        }
        for (Source& s : sources)
            if (s.pending && s.deadline_ns <= now) {
                s.pending = false;
                ++s.decided;
            }
    };
    std::vector<Candidate> candidates(handlers);
    auto holds = [&](std::size_t chosen, std::int64_t now) {
        const Candidate& mine = candidates[chosen];
        if (std::none_of(candidates.begin(), candidates.end(),
                         [](const Candidate& c) { return c.lost > 0; }))
            return false;
        if (now + spin_after_ns + mine.cost_ns > mine.latest_ns)
            return false;
        for (std::size_t i = 0; i < handlers; ++i) {
            const Candidate& other = candidates[i];
            if (i == chosen || other.available || !loses_more(other, mine))
                continue;
            const std::int64_t expected = sources[i].forecast_ns;
            if (expected != 0 && expected <= now + spin_after_ns && expected + spin_after_ns >= now)
                return true;
        }
        return false;
    };

    Fairness result;
    result.delivered.assign(handlers, 0);
    std::int64_t now = t0;
    while (true) {
        advance(now);
        for (std::size_t i = 0; i < handlers; ++i) {
            const Source& s = sources[i];
            candidates[i] = candidate(s.deadline_ns, cost_ns, s.decided,
                                      worker == Worker::plain_edf ? 0 : s.decided - s.started);
            candidates[i].available = s.pending;
            candidates[i].sequence = s.sequence;
        }
        const Choice choice = choose(candidates, now);
        if (choice.index == Choice::none) {
            if (!submissions_left())
                break;
            now = submission_time();  // idle until the next request
            continue;
        }
        Source& s = sources[choice.index];
        if (choice.expire) {
            s.pending = false;
            ++s.decided;
            continue;
        }
        if (worker == Worker::pool && holds(choice.index, now)) {
            now += stagger_ns / 4;  // spinning: look again a moment later
            continue;
        }
        s.pending = false;
        ++s.decided;
        ++s.started;
        EXPECT_LE(now + cost_ns, s.deadline_ns) << "a started request missed its deadline";
        ++result.delivered[choice.index];
        now += cost_ns;
    }
    for (const std::uint64_t d : result.delivered)
        result.total += d;
    result.capacity = static_cast<double>(periods) * static_cast<double>(period_ns) /
                      static_cast<double>(cost_ns);
    const double mean = static_cast<double>(result.total) / static_cast<double>(handlers);
    const auto [least, most] =
        std::minmax_element(result.delivered.begin(), result.delivered.end());
    result.min_share = static_cast<double>(*least) / mean;
    result.max_share = static_cast<double>(*most) / mean;
    return result;
}

::testing::AssertionResult fair(const Fairness& f) {
    ::testing::AssertionResult result = ::testing::AssertionSuccess();
    if (f.min_share < 0.8 || f.max_share > 1.2)
        result = ::testing::AssertionFailure();
    result << "per-handler share of the mean: min " << f.min_share << ", max " << f.max_share
           << "; delivered " << f.total << " of capacity " << f.capacity << "; per handler:";
    for (const std::uint64_t d : f.delivered)
        result << ' ' << d;
    return result;
}

void print(const char* name, const Fairness& f) {
    std::printf(
        "[ figures  ] %s: share of the mean min %.3f max %.3f (%llu..%llu), delivered "
        "%llu of capacity %.0f (%.1f %%)\n",
        name, f.min_share, f.max_share,
        static_cast<unsigned long long>(*std::min_element(f.delivered.begin(), f.delivered.end())),
        static_cast<unsigned long long>(*std::max_element(f.delivered.begin(), f.delivered.end())),
        static_cast<unsigned long long>(f.total), f.capacity,
        100.0 * static_cast<double>(f.total) / f.capacity);
}

constexpr std::uint64_t periods = 500;
constexpr std::int64_t period_ns = 4'000'000;                // e.g. a hop of 192 at 48 kHz
constexpr std::int64_t twice = period_ns / 8;                // 16 requests per period, room for 8
constexpr std::int64_t one_and_a_half = 3 * period_ns / 32;  // room for 10.67

TEST(DeadlineSchedulerOverload, TwiceTheCapacityIsSharedFairly) {
    const Fairness f = simulate(Worker::pool, periods, period_ns, twice);
    print("2x overload, pool (loss share + hold)", f);
    EXPECT_TRUE(fair(f));
    EXPECT_GE(static_cast<double>(f.total), 0.9 * f.capacity);
}

TEST(DeadlineSchedulerOverload, OneAndAHalfTimesTheCapacityIsSharedFairly) {
    const Fairness f = simulate(Worker::pool, periods, period_ns, one_and_a_half);
    print("1.5x overload, pool (loss share + hold)", f);
    EXPECT_TRUE(fair(f));
    EXPECT_GE(static_cast<double>(f.total), 0.9 * f.capacity);
}

TEST(DeadlineSchedulerOverload, WithoutTheLossShareRuleTheFirstHandlersTakeEverything) {
    // The contrast that shows the fairness tests can fail: with every `lost` 0, choose() is
    // plain EDF and the handlers called first win every period: 0..7 deliver one request per
    // period, 8..15 none.
    const Fairness f = simulate(Worker::plain_edf, periods, period_ns, twice);
    print("2x overload, plain EDF", f);
    EXPECT_FALSE(fair(f));
    for (std::size_t i = 0; i < 16; ++i)
        EXPECT_EQ(f.delivered[i], i < 8 ? periods : 0u) << "handler " << i;
    const Fairness g = simulate(Worker::plain_edf, periods, period_ns, one_and_a_half);
    print("1.5x overload, plain EDF", g);
    EXPECT_FALSE(fair(g));
}

TEST(DeadlineSchedulerOverload, TheLossShareAloneCannotHelpTheHandlerCalledFirst) {
    // Why the pool holds a request back: at 2x the worker becomes free exactly when a period
    // begins, when only the first-called handler has submitted. choose() sees one candidate and
    // must take it, so handler 0 delivers every period (twice the mean); the others share the
    // rest evenly.
    const Fairness f = simulate(Worker::choose_only, periods, period_ns, twice);
    print("2x overload, choose() alone", f);
    EXPECT_FALSE(fair(f));
    EXPECT_EQ(f.delivered[0], periods);
    const auto [least, most] = std::minmax_element(f.delivered.begin() + 1, f.delivered.end());
    EXPECT_LE(*most - *least, 1u);
}

}  // namespace
}  // namespace legato::scheduling
