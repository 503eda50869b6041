#pragma once
// Context: the pool of inference worker threads shared by every handler in the process.

#include <chrono>
#include <cstddef>
#include <memory>

namespace legato {

namespace scheduling {
class WorkerPool;
}

/// How idle workers wait for work (docs/realtime.md has the measured trade-offs).
enum class WakeStrategy {
    /// Idle workers poll briefly (spin_before_sleep), then sleep on a semaphore; the audio
    /// thread posts it only when a worker sleeps. Costs the audio thread one futex wake-up
    /// system call (non-blocking) per sleeping worker it wakes; idle CPU use is zero.
    sleep,
    /// Workers never sleep: lowest wake-up latency, no system call on the audio thread, but
    /// each worker keeps a core busy. Only for machines with cores to spare.
    poll,
    /// Idle workers poll briefly, then nap in short timed sleeps (timer_interval) and look for
    /// work after each: while audio streams, no system call on the audio thread at the cost
    /// of up to one interval of wake-up latency and a timer wake-up per interval per idle
    /// worker (about half a core per worker at 50 µs on a 2-vCPU VM). A worker idle for
    /// timer_idle_timeout sleeps as with `sleep`.
    timer,
    /// The default. Workers learn each handler's callback rhythm and are awake, spinning
    /// briefly, when its next request is due; in between they nap, and when audio stops they
    /// sleep. The audio thread wakes a worker (one futex system call) only when it publishes a
    /// request while none is awake: in steady state, never. Worker CPU while one handler streams
    /// at block 256: a few percent; idle: none.
    anticipate,
};

struct ContextConfig {
    /// Worker threads; 0 = one less than the hardware threads (at least 1), leaving a core to
    /// the audio thread.
    std::size_t worker_threads = 0;
    /// Ask for SCHED_FIFO for the workers; falls back to normal scheduling where not permitted.
    bool realtime_priority = true;
    int realtime_priority_level = 40;  ///< SCHED_FIFO priority, below typical audio threads
    WakeStrategy wake_strategy = WakeStrategy::anticipate;
    /// WakeStrategy::sleep and timer: how long an idle worker polls before it sleeps or naps.
    std::chrono::microseconds spin_before_sleep{50};
    /// WakeStrategy::anticipate: how long past a request's forecast time a worker keeps
    /// spinning for it (the host's callback jitter) before it naps (10 µs..10 ms).
    std::chrono::microseconds anticipation_spin{200};
    /// WakeStrategy::anticipate: a forecast this old means the stream has stopped, and idle
    /// workers sleep until a request wakes them (1 ms..60 s).
    std::chrono::milliseconds anticipation_idle_timeout{50};
    /// WakeStrategy::timer: how long an idle worker naps between looks for work (10 µs..10 ms).
    std::chrono::microseconds timer_interval{50};
    /// WakeStrategy::timer: after this long without work a worker stops napping and sleeps
    /// until the audio thread wakes it, so a paused or stopped stream costs no CPU (0: nap
    /// forever; otherwise 1 ms..60 s).
    std::chrono::milliseconds timer_idle_timeout{100};
    std::size_t max_handlers = 1024;  ///< handlers that can share this context at once
};

struct ContextInfo {
    std::size_t worker_threads = 0;
    std::size_t realtime_workers = 0;  ///< workers that got SCHED_FIFO
    WakeStrategy wake_strategy = WakeStrategy::anticipate;
};

/// The worker pool. Handlers share one Context; by default the process-wide one, which lives
/// as long as some handler (or other owner) holds it.
class Context {
public:
    /// [setup thread] The process-wide context, created with `config` if none is alive
    /// (otherwise `config` is ignored: check info()). Safe to call from several threads.
    static std::shared_ptr<Context> shared(const ContextConfig& config = {});
    /// [setup thread] A separate pool, e.g. to isolate a group of handlers.
    static std::shared_ptr<Context> create(const ContextConfig& config);

    /// [setup thread] Stops and joins the workers. Handlers keep their context alive, so this
    /// runs after the last handler that uses it is destroyed.
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    /// [any thread]
    ContextInfo info() const noexcept;
    const ContextConfig& config() const noexcept;

    /// Internal: the pool handlers register with.
    scheduling::WorkerPool& pool() noexcept { return *pool_; }

private:
    explicit Context(const ContextConfig& config);
    std::unique_ptr<scheduling::WorkerPool> pool_;
    ContextConfig config_;
};

}  // namespace legato
