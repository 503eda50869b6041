#pragma once
// RequestSlots: the hand-over of inference requests between one handler's audio thread and the
// worker pool. A ring of slots indexed by sequence number; each slot holds one request's raw
// tensors (`stride` floats) and a state:
//
//   free --publish--> submitted --start--> running --finish--> done | failed --release--> free
//                         |                   |
//                         |--expire--> expired (the pool gave up before starting: too late)
//                         '--------------------'--abandon (audio thread, when due)--> abandoned
//                                                     (the worker frees it when it finishes)
//                         '--------------------'--keep (audio thread, when due)--> overdue
//                                                     (stateful: the worker still runs it, in
//                                                      order, for its state, then frees it)
//
// The audio thread publishes requests in sequence order (advancing `published`) and collects
// them in the same order when their output is due. Workers claim them in order by advancing
// `cursor` with a CAS; the audio thread cancels an unclaimed request by winning that CAS itself.
// A sequence number whose slot was still held when its turn came is published as dropped: it
// is never run, and workers skip it.
//
// Non-blocking guarantees: every audio-thread function is wait-free apart from
// wait_for_result() (offline rendering only, may block); worker functions are lock-free.

#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "legato/nonblocking.hpp"
#include "rt/monotonic_clock.hpp"
#include "rt/semaphore.hpp"

namespace legato::core {

enum class SlotState : std::uint32_t {
    free,
    submitted,
    running,
    done,
    failed,
    abandoned,
    expired,
    overdue
};

/// What collect() does with a request that has not finished when it is due.
enum class Unfinished {
    /// Take it back from the workers if none has claimed it, abandon it if one runs it (its
    /// result is discarded): stateless handlers, and every request on reset().
    cancel,
    /// Leave it to the workers: it still runs, in order, and its worker frees it; only its
    /// audio is late. Stateful handlers, so that the state every later hop starts from is the
    /// state after every earlier hop.
    complete,
};

/// What the audio thread wrote with a request; read by the worker that claims it.
struct RequestTicket {
    std::uint32_t engine = 0;
    std::uint64_t generation = 0;  // reset generation the request belongs to
    std::uint64_t hop_index = 0;   // hop number since the stream (re)started
};

/// How a collected request ended, from the audio thread's point of view.
enum class Outcome {
    done,       ///< finished in time: its output is valid
    failed,     ///< the engine threw (counted by the worker)
    expired,    ///< the pool dropped it before starting: it could not have met its deadline
    cancelled,  ///< not started when due: taken back from the workers
    abandoned,  ///< still running when due: its late result will be discarded
    dropped,    ///< never published: its slot was still held by an abandoned inference
    overdue,    ///< not finished when due, left to complete for its state (Unfinished::complete)
};

class RequestSlots {
public:
    /// [setup thread] At least `min_slots` slots (rounded up to a power of two) of `stride`
    /// floats each, all free. Effects: allocates.
    RequestSlots(std::size_t min_slots, std::size_t stride)
        : mask_(std::bit_ceil(std::max<std::size_t>(min_slots, 2)) - 1),
          stride_(stride),
          slots_(std::make_unique<Slot[]>(mask_ + 1)),
          data_((mask_ + 1) * stride, 0.0f) {}

    std::size_t size() const noexcept { return mask_ + 1; }

    /// [audio thread] The raw tensors of request `seq`, or null if its slot is still held by an
    /// abandoned inference of an earlier lap (then call publish_dropped). Wait-free.
    float* begin(std::uint64_t seq) noexcept LEGATO_NONBLOCKING {
        if (slot(seq).state.load(std::memory_order_acquire) != SlotState::free)
            return nullptr;
        return data(seq);
    }

    /// [audio thread] Publishes request `seq` (after begin() returned its data and the caller
    /// filled it) with `ticket` and the monotonic `deadline_ns` by which its output is needed.
    /// Preconditions: seq == published(). Wait-free.
    void publish(std::uint64_t seq, const RequestTicket& ticket,
                 std::int64_t deadline_ns) noexcept LEGATO_NONBLOCKING {
        Slot& s = slot(seq);
        s.ticket = ticket;
        s.deadline.store(deadline_ns, std::memory_order_relaxed);
        s.seq.store(seq, std::memory_order_relaxed);
        s.state.store(SlotState::submitted, std::memory_order_relaxed);
        // seq_cst: the Dekker hand-over with sleeping workers (WorkerPool::notify).
        published_.store(seq + 1, std::memory_order_seq_cst);
    }

    /// [audio thread] Publishes `seq` as dropped: nothing to run, collected as Outcome::dropped.
    void publish_dropped(std::uint64_t seq) noexcept LEGATO_NONBLOCKING {
        published_.store(seq + 1, std::memory_order_seq_cst);
    }

    /// [audio thread] Ends request `seq` (all earlier ones collected): if it is not finished it
    /// is cancelled, abandoned or left to complete now, per `unfinished`. For Outcome::done the
    /// caller reads data(seq), then calls release(seq); every other outcome has already
    /// released or handed the slot over. Wait-free.
    Outcome collect(std::uint64_t seq,
                    Unfinished unfinished = Unfinished::cancel) noexcept LEGATO_NONBLOCKING {
        Slot& s = slot(seq);
        if (s.seq.load(std::memory_order_relaxed) != seq) {  // dropped at publication
            std::uint64_t expected = seq;
            cursor_.compare_exchange_strong(expected, seq + 1, std::memory_order_acq_rel);
            return Outcome::dropped;
        }
        SlotState state = s.state.load(std::memory_order_acquire);
        if (state == SlotState::submitted || state == SlotState::running)
            state = unfinished == Unfinished::cancel ? take_back(seq, s) : leave_overdue(s);
        switch (state) {
            case SlotState::done:
                return Outcome::done;
            case SlotState::failed:
                release(seq);
                return Outcome::failed;
            case SlotState::expired:
                release(seq);
                return Outcome::expired;
            case SlotState::free:
                return Outcome::cancelled;
            case SlotState::overdue:
                return Outcome::overdue;
            default:
                return Outcome::abandoned;
        }
    }

    /// [audio thread] Frees the slot of a collected request. Wait-free.
    void release(std::uint64_t seq) noexcept LEGATO_NONBLOCKING {
        slot(seq).state.store(SlotState::free, std::memory_order_release);
    }

    /// [audio thread, offline rendering only] Waits until request `seq` has finished or
    /// `timeout` has passed. May block: never call it in real-time mode.
    void wait_for_result(std::uint64_t seq, std::chrono::nanoseconds timeout) noexcept {
        Slot& s = slot(seq);
        if (s.seq.load(std::memory_order_relaxed) != seq)
            return;
        waiting_.store(true, std::memory_order_seq_cst);
        const std::int64_t give_up = rt::now_ns() + timeout.count();
        SlotState state = s.state.load(std::memory_order_seq_cst);
        while ((state == SlotState::submitted || state == SlotState::running) &&
               rt::now_ns() < give_up) {
            completion_.wait_for(std::chrono::milliseconds(1));
            state = s.state.load(std::memory_order_seq_cst);
        }
        waiting_.store(false, std::memory_order_relaxed);
    }

    /// [any thread] Requests published so far (sequence numbers below this one).
    std::uint64_t published() const noexcept LEGATO_NONBLOCKING {
        return published_.load(std::memory_order_seq_cst);
    }
    /// [any thread] The next sequence number workers would claim.
    std::uint64_t cursor() const noexcept LEGATO_NONBLOCKING {
        return cursor_.load(std::memory_order_acquire);
    }

    /// What a worker would claim next.
    struct Next {
        bool available = false;  ///< a published, unclaimed request (or dropped number) exists
        bool dropped = false;    ///< it is a dropped number: claiming it only skips it
        std::uint64_t sequence = 0;
        std::int64_t deadline_ns = 0;
    };

    /// [worker thread] Looks at the next unclaimed request without claiming it. Lock-free; the
    /// answer may be stale by the time the caller acts on it.
    Next peek() const noexcept LEGATO_NONBLOCKING {
        const std::uint64_t next = cursor();
        if (next >= published())  // seq_cst: see publish()
            return {};
        const Slot& s = slot(next);
        if (s.seq.load(std::memory_order_relaxed) != next)
            return {true, true, next, 0};
        return {true, false, next, s.deadline.load(std::memory_order_relaxed)};
    }

    /// [worker thread] Claims `seq` only if it is the next unclaimed number. Lock-free.
    bool claim_exact(std::uint64_t seq) noexcept LEGATO_NONBLOCKING {
        if (seq >= published_.load(std::memory_order_acquire))
            return false;
        std::uint64_t expected = seq;
        return cursor_.compare_exchange_strong(expected, seq + 1, std::memory_order_acq_rel);
    }

    /// [worker thread] Claims the next unclaimed number. Returns false if there is none.
    /// Lock-free.
    bool claim(std::uint64_t& seq) noexcept LEGATO_NONBLOCKING {
        std::uint64_t next = cursor();
        do {
            if (next >= published_.load(std::memory_order_acquire))
                return false;
        } while (!cursor_.compare_exchange_weak(next, next + 1, std::memory_order_acq_rel,
                                                std::memory_order_acquire));
        seq = next;
        return true;
    }

    /// [worker thread, after claim] True if `seq` is a real request (not a dropped number).
    bool is_request(std::uint64_t seq) const noexcept LEGATO_NONBLOCKING {
        return slot(seq).seq.load(std::memory_order_acquire) == seq;
    }

    /// [worker thread, after claim] The request's ticket and deadline.
    const RequestTicket& ticket(std::uint64_t seq) const noexcept LEGATO_NONBLOCKING {
        return slot(seq).ticket;
    }
    std::int64_t deadline(std::uint64_t seq) const noexcept LEGATO_NONBLOCKING {
        return slot(seq).deadline.load(std::memory_order_relaxed);
    }

    /// [worker thread, after claim] submitted -> running. True also for an overdue request
    /// (it runs for its state; finish() then frees it). False if the audio thread abandoned
    /// it between the claim and now; the slot is then freed here. Lock-free.
    bool start(std::uint64_t seq) noexcept LEGATO_NONBLOCKING {
        SlotState expected = SlotState::submitted;
        if (slot(seq).state.compare_exchange_strong(expected, SlotState::running,
                                                    std::memory_order_acq_rel) ||
            expected == SlotState::overdue)
            return true;
        release(seq);
        return false;
    }

    /// [worker thread, after claim] Gives up on `seq` without running it (it can no longer
    /// meet its deadline): submitted -> expired, or frees it if already abandoned. Never for
    /// requests collected with Unfinished::complete. Lock-free.
    void expire(std::uint64_t seq) noexcept LEGATO_NONBLOCKING {
        SlotState expected = SlotState::submitted;
        Slot& s = slot(seq);
        if (!s.state.compare_exchange_strong(expected, SlotState::expired,
                                             std::memory_order_seq_cst))
            release(seq);
        wake_waiter();
    }

    /// [worker thread, after start] running -> done (ok) or failed; frees the slot instead if
    /// the audio thread abandoned it or left it overdue meanwhile. Lock-free.
    void finish(std::uint64_t seq, bool ok) noexcept LEGATO_NONBLOCKING {
        SlotState expected = SlotState::running;
        // seq_cst: a Dekker hand-over with wait_for_result (which also polls every millisecond).
        if (!slot(seq).state.compare_exchange_strong(
                expected, ok ? SlotState::done : SlotState::failed, std::memory_order_seq_cst))
            release(seq);
        wake_waiter();
    }

    /// [audio thread, setup thread] The raw tensors of request `seq`.
    float* data(std::uint64_t seq) noexcept LEGATO_NONBLOCKING {
        return data_.data() + (seq & mask_) * stride_;
    }

private:
    struct alignas(64) Slot {
        std::atomic<std::uint64_t> seq{std::numeric_limits<std::uint64_t>::max()};
        std::atomic<SlotState> state{SlotState::free};
        std::atomic<std::int64_t> deadline{0};
        RequestTicket ticket;  // written while free by the audio thread, read after the claim
    };

    Slot& slot(std::uint64_t seq) noexcept LEGATO_NONBLOCKING { return slots_[seq & mask_]; }
    const Slot& slot(std::uint64_t seq) const noexcept LEGATO_NONBLOCKING {
        return slots_[seq & mask_];
    }

    // The audio thread ends an unfinished request: unclaimed ones are taken from the workers
    // by winning the cursor (free), claimed ones are marked abandoned unless they finished in
    // the meantime (then their final state is returned).
    SlotState take_back(std::uint64_t seq, Slot& s) noexcept LEGATO_NONBLOCKING {
        std::uint64_t expected = seq;
        if (cursor_.compare_exchange_strong(expected, seq + 1, std::memory_order_acq_rel)) {
            s.state.store(SlotState::free, std::memory_order_release);
            return SlotState::free;
        }
        SlotState state = s.state.load(std::memory_order_acquire);
        while (state == SlotState::submitted || state == SlotState::running) {
            if (s.state.compare_exchange_weak(state, SlotState::abandoned,
                                              std::memory_order_acq_rel, std::memory_order_acquire))
                return SlotState::abandoned;
        }
        return state;
    }

    // The audio thread moves past an unfinished request but leaves it to the workers; finished
    // meanwhile, its final state is returned.
    static SlotState leave_overdue(Slot& s) noexcept LEGATO_NONBLOCKING {
        SlotState state = s.state.load(std::memory_order_acquire);
        while (state == SlotState::submitted || state == SlotState::running) {
            if (s.state.compare_exchange_weak(state, SlotState::overdue, std::memory_order_acq_rel,
                                              std::memory_order_acquire))
                return SlotState::overdue;
        }
        return state;
    }

    void wake_waiter() noexcept LEGATO_NONBLOCKING {
        if (waiting_.load(std::memory_order_seq_cst))
            completion_.post();
    }

    const std::uint64_t mask_;
    const std::size_t stride_;
    std::unique_ptr<Slot[]> slots_;
    std::vector<float> data_;
    alignas(64) std::atomic<std::uint64_t> published_{0};
    alignas(64) std::atomic<std::uint64_t> cursor_{0};
    // Offline rendering: the audio thread sleeps on `completion_` while `waiting_`.
    alignas(64) std::atomic<bool> waiting_{false};
    rt::Semaphore completion_;
};

}  // namespace legato::core
