#pragma once
// JavaScript engines and pre/post-processors on the web: a C++ Backend / PrePostProcessor whose
// work runs in a JavaScript inference worker (web/src/inference-worker.ts), handed over through
// a mailbox in the shared WebAssembly.Memory.
//
// The core's worker pool schedules as natively (earliest deadline first across handlers); the
// pool thread that picks a request for a JavaScript engine posts it to the mailbox of the JS
// worker that owns the model instance and waits on the mailbox word (a futex wait on a pool
// thread, never on the audio thread). The JS worker sleeps on that word (Atomics.wait, or
// Atomics.waitAsync with workerWait "async"), and its event loop runs during every call, so the
// engine's process() may be async (ONNX Runtime Web's session.run is). Tensors are views over
// the shared heap: no per-sample copies.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "legato/backend.hpp"
#include "legato/pre_post_processor.hpp"
#include "legato/tensor_spec.hpp"

namespace legato::web {

/// The mailbox layout, mirrored in web/src/mailbox.ts (keep both in step).
namespace mailbox {
constexpr int free = 0, claimed = 1, posted = 2, done = 3, failed = 4;  // `state` values
constexpr int op_create = 1, op_run = 2, op_reset = 3, op_destroy = 4, op_pre = 5, op_post = 6;
constexpr std::size_t max_views = 32;
constexpr std::size_t error_bytes = 512;

/// One array as JS sees it: `length` floats at byte address `data`, with a shape (up to 4
/// dimensions) and two tags (pre: input, channel; post: output, channel; -1 = parameter values).
struct View {
    std::uint32_t data;
    std::uint32_t length;
    std::uint32_t rank;
    std::int32_t shape[4];
    std::int32_t tag0;
    std::int32_t tag1;
};
static_assert(sizeof(View) == 36);
static_assert(sizeof(std::atomic<std::int32_t>) == 4);

struct alignas(64) Mailbox {
    std::atomic<std::int32_t> state;  // JS: Atomics on the same 4 bytes
    std::int32_t op;
    std::int32_t engine;    // the JS engine (or processor) id the package assigned
    std::int32_t instance;  // the C++ instance's key, unique in the module
    std::int32_t flags;     // bit 0: stateful
    std::int32_t count_a;
    std::int32_t count_b;
    std::int32_t instance_index;
    double hop_index;
    std::int32_t bell;               // JS only: control messages the main thread has posted
    std::atomic<std::int32_t> turn;  // C++ only: bumped when the mailbox is given back
    // The word the JS worker sleeps on: bumped (and woken) by a posted call, by requests for
    // the worker's runner and by the main thread's messages.
    std::atomic<std::int32_t> doorbell;
    std::int32_t reserved[3];
    View a[max_views];  // create: inputs; pre: windows; post: output tensors
    View b[max_views];  // create: outputs; pre: input tensors; post: hops
    char error[error_bytes];
};
static_assert(offsetof(Mailbox, bell) == 40);
static_assert(offsetof(Mailbox, doorbell) == 48);
static_assert(offsetof(Mailbox, a) == 64);
static_assert(offsetof(Mailbox, b) == 64 + 36 * max_views);
static_assert(offsetof(Mailbox, error) == 64 + 72 * max_views);
}  // namespace mailbox

/// [setup thread] Registers a JS worker's mailbox (allocated by the package); returns its index.
int register_worker(mailbox::Mailbox* box);
/// [setup thread] Unregisters every worker (the package's workers were terminated).
void clear_workers();

/// [JS worker `runner`] Claims the most urgent request of the handlers it serves (external
/// runner `runner`: legato/external_runner.hpp) and pre-processes it. Returns the instance key
/// of the JS engine instance to run (its state forgotten first if *reset is 1), or 0 if there
/// is nothing to run.
int runner_claim(int runner, int* reset);
/// [JS worker `runner`] Completes the claimed request: `error` null or empty = success.
void runner_finish(int runner, const char* error);
/// [any thread] Number of registered JS workers.
int worker_count();

/// [setup thread] A backend called `name` whose instances run JS engine `engine_id` (a class
/// the package loaded into every JS worker). Instances are spread over the JS workers.
std::shared_ptr<Backend> make_js_backend(std::string name, int engine_id);

/// [setup thread] A pre/post-processor that runs JS processor `processor_id` on the JS worker
/// `instance() % worker_count()` (one JS object per worker and handler).
/// `inputs` / `outputs` are the handler's tensors (InferenceConfig order), so that the raw
/// windows and hops can be listed for JS.
std::shared_ptr<PrePostProcessor> make_js_processor(int processor_id,
                                                    const std::vector<TensorSpec>& inputs,
                                                    const std::vector<TensorSpec>& outputs);

}  // namespace legato::web
