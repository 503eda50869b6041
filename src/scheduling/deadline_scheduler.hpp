#pragma once
// Which request a free worker serves next: earliest deadline first, made fair under overload.
//
// The pool asks every handler (work source) for the request it would run next and passes the
// answers here. The rule, in order:
// 1. A request that can no longer meet its deadline (now + expected cost > the latest time its
//    output can be needed) is expired before it takes a worker, so the time goes to requests that
//    can still make it. Requests of stateful handlers never expire: each must run to keep the state
//    exact.
// 2. Otherwise earliest deadline first, with one refinement: among the requests whose deadline
//    lies within one inference (the earliest one's expected cost) of the earliest deadline, the
//    handler that has lost the largest share of its requests goes first. Without losses this
//    is plain EDF; under overload handlers with (nearly) equal deadlines take turns instead of
//    the same ones winning every time by the order the host calls them in.
//
// A pure function of its inputs (no clock, no atomics): unit-tested with a simulated clock.

#include <cstddef>
#include <cstdint>
#include <span>

namespace legato::scheduling {

/// What one work source would run next, as seen by a worker.
struct Candidate {
    bool available = false;        ///< it has a request that may start now
    std::uint64_t sequence = 0;    ///< that request's sequence number within its source
    std::int64_t deadline_ns = 0;  ///< monotonic time by which its output may be needed
    /// The latest time its output can be needed (deadline_ns is the earliest: the host's block
    /// boundaries decide which); a request is expired only when it cannot make even this.
    std::int64_t latest_ns = 0;
    std::int64_t cost_ns = 0;   ///< the expected run time of that request
    std::uint64_t decided = 0;  ///< requests of this source taken off the queue so far
    std::uint64_t lost = 0;     ///< of which were not run (expired, cancelled, dropped)
    bool may_expire = true;     ///< false: every request must run (stateful handlers)
};

struct Choice {
    static constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::size_t index = none;  ///< the candidate to serve, or none
    bool expire = false;       ///< drop its request instead of running it
};

/// [any thread] True if `a`'s handler has lost a larger share of its requests than `b`'s
/// (lost / decided; 0 for a handler with nothing decided yet). Wait-free.
inline bool loses_more(const Candidate& a, const Candidate& b) noexcept {
    // A handler with nothing decided yet has lost nothing: share 0.
    const double share_a =
        a.decided > 0 ? static_cast<double>(a.lost) / static_cast<double>(a.decided) : 0.0;
    const double share_b =
        b.decided > 0 ? static_cast<double>(b.lost) / static_cast<double>(b.decided) : 0.0;
    return share_a > share_b;
}

/// [worker thread] Chooses among `candidates` at monotonic time `now_ns`. Wait-free, no
/// allocation; linear in the number of candidates.
inline Choice choose(std::span<const Candidate> candidates, std::int64_t now_ns) noexcept {
    Choice choice;
    std::size_t earliest = Choice::none;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const Candidate& c = candidates[i];
        if (!c.available)
            continue;
        if (c.may_expire && now_ns + c.cost_ns > c.latest_ns)
            return {i, true};
        if (earliest == Choice::none || c.deadline_ns < candidates[earliest].deadline_ns)
            earliest = i;
    }
    if (earliest == Choice::none)
        return choice;
    const Candidate& first = candidates[earliest];
    const std::int64_t window_end = first.deadline_ns + first.cost_ns;
    choice.index = earliest;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const Candidate& c = candidates[i];
        if (!c.available || c.deadline_ns > window_end || i == choice.index)
            continue;
        const Candidate& best = candidates[choice.index];
        if (loses_more(c, best) || (!loses_more(best, c) && c.deadline_ns < best.deadline_ns))
            choice.index = i;
    }
    return choice;
}

}  // namespace legato::scheduling
