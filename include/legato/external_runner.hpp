#pragma once
// External runners: threads the application drives itself that run the inferences of model
// instances bound to them (ModelInstance::runner()), instead of a Context's worker threads.
//
// Why: some engines can only run on one particular thread that the application owns, with its
// own event loop. The web package's JavaScript engines live in a JavaScript inference worker;
// a worker thread handing every run over to it and waiting for the answer costs two thread
// wake-ups per inference. With external runners that worker claims the request from the pool
// itself, runs the engine (awaiting it if it is asynchronous) and completes it: the audio
// thread's request reaches the engine with one wake-up.
//
// A handler is served by runner R when every instance of every engine it has reports runner R
// and its pre/post-processor runs on any thread; all others are served by the worker threads,
// which never take a runner's requests. Scheduling is the pool's (earliest deadline first,
// expiry of requests that can no longer make it), done by the runner when it claims.

#include <cstdint>
#include <string_view>

namespace legato {

class ModelInstance;

/// External runner ids are 0 .. max_external_runners - 1.
inline constexpr int max_external_runners = 16;

/// One request an external runner claimed. Run `model` (reset_state() first if
/// `reset_first`), then give the claim back with finish_external_run(). The other fields are
/// the pool's.
struct ExternalRunClaim {
    ModelInstance* model = nullptr;  ///< the instance to run (bound to the claiming runner)
    bool reset_first = false;        ///< its state must be forgotten before this run
    // Opaque to the runner.
    void* pool = nullptr;
    void* source = nullptr;
    void* run = nullptr;
    void* engine = nullptr;
    std::uint64_t sequence = 0;
    std::int64_t start_ns = 0;
    int runner = -1;
};

/// [runner thread] Claims the most urgent request, across every Context, of the handlers served
/// by runner `runner` and pre-processes it (the model's input tensors are filled). Returns false
/// if there is none. Not real-time safe (takes a lock); never blocks for long.
bool claim_external_run(int runner, ExternalRunClaim& claim) noexcept;

/// [runner thread] Completes a request claim_external_run() returned: post-processes it (the
/// model's output tensors must hold the run's result) or, if `error` is not empty, counts the
/// run as failed with that message (the hop is substituted when due).
void finish_external_run(ExternalRunClaim& claim, std::string_view error) noexcept;

/// [setup thread] The function the audio thread calls (through the pool) when it has published
/// requests for runner `runner`: it must be non-blocking (a futex wake, a semaphore post).
/// Null (the default): runners poll. Set it before any handler is served by a runner.
void set_external_runner_wake(void (*wake)(int runner) noexcept);

}  // namespace legato
