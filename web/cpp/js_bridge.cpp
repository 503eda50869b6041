#include "js_bridge.hpp"

#include <emscripten/threading.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <span>
#include <stdexcept>

#include "legato/error.hpp"
#include "legato/external_runner.hpp"

namespace legato::web {

namespace {

using mailbox::Mailbox;
using mailbox::View;

constexpr std::size_t max_workers = 16;
std::atomic<Mailbox*> workers[max_workers];
std::atomic<int> workers_registered{0};
std::atomic<int> next_worker{0};
std::atomic<int> next_instance{1};
// Pre- and post-processing of one inference run on one pool thread, one after the other: post
// goes to the JS worker pre used, so a processor may carry values from one to the other.
thread_local int last_pre_worker = 0;

Mailbox& worker(int index) {
    const int count = workers_registered.load(std::memory_order_acquire);
    if (count == 0)
        throw Error("JavaScript engines need the package's inference workers: none are running");
    return *workers[static_cast<std::size_t>(index % count)].load(std::memory_order_acquire);
}

// [pool thread or setup thread] Takes the mailbox for one call; another C++ thread may be using
// it (two instances on one JS worker), then this waits its turn, on `turn`, not on `state`:
// the JS worker sleeps on `state`, and giving the mailbox back must not wake it for nothing.
// On the main thread emscripten turns the futex wait into a spin (the browser forbids blocking).
void claim(Mailbox& box) {
    while (true) {
        const std::int32_t turn = box.turn.load(std::memory_order_acquire);
        std::int32_t expected = mailbox::free;
        if (box.state.compare_exchange_strong(expected, mailbox::claimed,
                                              std::memory_order_acquire))
            return;
        // Given back after `turn` was read: the value moved on, so this does not sleep.
        emscripten_futex_wait(&box.turn, static_cast<std::uint32_t>(turn), 1.0);
    }
}

// [any thread] Wakes the JS worker of `box` (asleep on its doorbell). Non-blocking.
void ring(Mailbox& box) noexcept {
    box.doorbell.fetch_add(1, std::memory_order_seq_cst);
    emscripten_futex_wake(&box.doorbell, INT32_MAX);
}

// [audio thread] set_external_runner_wake(): requests for runner `runner` were published.
void wake_runner(int runner) noexcept {
    if (runner < 0 || runner >= workers_registered.load(std::memory_order_acquire))
        return;
    ring(*workers[static_cast<std::size_t>(runner)].load(std::memory_order_acquire));
}

// Posts the filled-in call, waits for the JS worker's answer and gives the mailbox back.
// Returns the JS error text ("" = success).
std::string call(Mailbox& box) {
    auto& state = box.state;
    state.store(mailbox::posted, std::memory_order_release);
    ring(box);  // the JS worker, asleep on its doorbell
    std::int32_t now = mailbox::posted;
    while ((now = state.load(std::memory_order_acquire)) == mailbox::posted)
        emscripten_futex_wait(&box.state, mailbox::posted, 100.0);
    std::string error;
    if (now == mailbox::failed)
        error.assign(box.error, strnlen(box.error, mailbox::error_bytes));
    state.store(mailbox::free, std::memory_order_release);
    box.turn.fetch_add(1, std::memory_order_release);
    emscripten_futex_wake(&box.turn, INT32_MAX);  // another claimant
    return error.empty() && now == mailbox::failed ? "failed without a message" : error;
}

View view_of(const float* data, std::size_t length, std::span<const std::int64_t> shape, int tag0,
             int tag1) {
    View v{};
    v.data = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(data));
    v.length = static_cast<std::uint32_t>(length);
    v.rank = static_cast<std::uint32_t>(std::min<std::size_t>(shape.size(), 4));
    // Shapes of more than 4 dimensions keep their last 4 (leading batch dimensions are 1).
    const std::size_t skip = shape.size() - v.rank;
    for (std::uint32_t d = 0; d < v.rank; ++d)
        v.shape[d] = static_cast<std::int32_t>(shape[skip + d]);
    v.tag0 = tag0;
    v.tag1 = tag1;
    return v;
}

// Callers check the counts before claiming a mailbox (a throw while holding it would keep it).
void check_views(std::size_t count, const char* what) {
    if (count > mailbox::max_views)
        throw ConfigError(std::string("JavaScript ") + what + " take at most 32 (got " +
                          std::to_string(count) + ")");
}

int list_tensors(View* out, std::span<const TensorView> tensors) noexcept {
    for (std::size_t i = 0; i < tensors.size(); ++i)
        out[i] = view_of(tensors[i].data.data(), tensors[i].data.size(), tensors[i].shape(),
                         static_cast<int>(i), 0);
    return static_cast<int>(tensors.size());
}

class JsInstance final : public ModelInstance {
public:
    JsInstance(int engine, const InstanceSetup& setup)
        : JsInstance(engine, setup, next_worker.fetch_add(1)) {}

    JsInstance(int engine, const InstanceSetup& setup, int index)
        : box_(worker(index)),
          engine_(engine),
          key_(next_instance.fetch_add(1)),
          runner_(index % worker_count()) {
        check_views(setup.inputs.size(), "engines' input tensors");
        check_views(setup.outputs.size(), "engines' output tensors");
        claim(box_);
        box_.op = mailbox::op_create;
        box_.engine = engine_;
        box_.instance = key_;
        box_.flags = setup.stateful ? 1 : 0;
        box_.instance_index = static_cast<std::int32_t>(setup.instance_index);
        box_.count_a = list_tensors(box_.a, setup.inputs);
        box_.count_b = list_tensors(box_.b, setup.outputs);
        if (std::string error = call(box_); !error.empty())
            throw Error("JavaScript engine: " + error);
    }

    ~JsInstance() override {
        claim(box_);
        box_.op = mailbox::op_destroy;
        box_.engine = engine_;
        box_.instance = key_;
        call(box_);  // nothing to do about a failing dispose() but forget the instance
    }

    void run() override { simple(mailbox::op_run); }
    void reset_state() override { simple(mailbox::op_reset); }
    // The JS worker that holds the engine object claims this instance's requests itself.
    int runner() const noexcept override { return runner_; }
    int key() const noexcept { return key_; }

private:
    void simple(int op) {
        claim(box_);
        box_.op = op;
        box_.engine = engine_;
        box_.instance = key_;
        if (std::string error = call(box_); !error.empty())
            throw std::runtime_error(error);
    }

    Mailbox& box_;
    int engine_;
    int key_;
    int runner_;
};

class JsBackend final : public Backend {
public:
    JsBackend(std::string name, int engine) : name_(std::move(name)), engine_(engine) {}
    std::string name() const override { return name_; }
    std::unique_ptr<ModelInstance> create_instance(const InstanceSetup& setup) override {
        return std::make_unique<JsInstance>(engine_, setup);
    }

private:
    std::string name_;
    int engine_;
};

class JsProcessor final : public PrePostProcessor {
public:
    JsProcessor(int id, const std::vector<TensorSpec>& inputs,
                const std::vector<TensorSpec>& outputs)
        : id_(id), inputs_(inputs), outputs_(outputs) {
        check_views(stream_count(inputs_), "pre-processors' audio channels and parameters");
        check_views(stream_count(outputs_), "post-processors' audio channels and values");
        check_views(inputs_.size(), "processors' input tensors");
        check_views(outputs_.size(), "processors' output tensors");
    }

    // It posts to a JS worker's mailbox and waits: a JS worker must not run it for itself.
    bool runs_on_any_thread() const noexcept override { return false; }

    void pre_process(const InputWindows& windows, std::span<const TensorView> tensors) override {
        last_pre_worker = static_cast<int>(windows.instance());
        Mailbox& box = worker(last_pre_worker);
        claim(box);
        box.count_a = list_streams(
            box.a, inputs_, [&](std::size_t i, std::size_t c) { return windows.samples(i, c); },
            [&](std::size_t i) { return windows.parameter(i); });
        box.count_b = list_tensors(box.b, tensors);
        box.hop_index = static_cast<double>(windows.hop_index());
        box.instance_index = static_cast<std::int32_t>(windows.instance());
        finish(box, mailbox::op_pre);
    }

    void post_process(std::span<const TensorView> tensors, const OutputHops& hops) override {
        Mailbox& box = worker(last_pre_worker);
        claim(box);
        box.count_a = list_tensors(box.a, tensors);
        box.count_b = list_streams(
            box.b, outputs_, [&](std::size_t o, std::size_t c) { return hops.samples(o, c); },
            [&](std::size_t o) { return hops.values(o); });
        finish(box, mailbox::op_post);
    }

private:
    // Views an audio tensor's channels and a parameter tensor's values each take.
    static std::size_t stream_count(const std::vector<TensorSpec>& specs) {
        std::size_t count = 0;
        for (const TensorSpec& spec : specs)
            count += spec.role == TensorRole::audio       ? spec.channels
                     : spec.role == TensorRole::parameter ? 1
                                                          : 0;
        return count;
    }

    // Lists every audio channel (tags: tensor, channel) and parameter (tags: tensor, -1) of
    // `specs`, with their samples from `audio(tensor, channel)` / `values(tensor)`.
    template <class Audio, class Values>
    static int list_streams(View* list, const std::vector<TensorSpec>& specs, Audio audio,
                            Values values) noexcept {
        int count = 0;
        const auto add = [&](auto samples, int tag0, int tag1) {
            const std::int64_t length = static_cast<std::int64_t>(samples.size());
            list[count++] =
                view_of(samples.data(), samples.size(), std::span(&length, 1), tag0, tag1);
        };
        for (std::size_t t = 0; t < specs.size(); ++t) {
            if (specs[t].role == TensorRole::audio)
                for (std::size_t c = 0; c < specs[t].channels; ++c)
                    add(audio(t, c), static_cast<int>(t), static_cast<int>(c));
            else if (specs[t].role == TensorRole::parameter)
                add(values(t), static_cast<int>(t), -1);
        }
        return count;
    }

    void finish(Mailbox& box, int op) const {
        box.op = op;
        box.engine = id_;
        box.instance = 0;
        if (std::string error = call(box); !error.empty())
            throw std::runtime_error("JavaScript processor: " + error);
    }

    int id_;
    std::vector<TensorSpec> inputs_;
    std::vector<TensorSpec> outputs_;
};

}  // namespace

int register_worker(Mailbox* box) {
    const int index = workers_registered.load();
    if (index >= static_cast<int>(max_workers) || index >= max_external_runners)
        throw Error("at most 16 JavaScript inference workers");
    set_external_runner_wake(&wake_runner);
    box->state.store(mailbox::free);
    workers[index].store(box, std::memory_order_release);
    workers_registered.store(index + 1, std::memory_order_release);
    return index;
}

void clear_workers() {
    workers_registered.store(0, std::memory_order_release);
}

int worker_count() {
    return workers_registered.load(std::memory_order_acquire);
}

namespace {
ExternalRunClaim claims[max_workers];  // each touched by its own JS worker only
}  // namespace

int runner_claim(int runner, int* reset) {
    if (runner < 0 || runner >= static_cast<int>(max_workers))
        return 0;
    ExternalRunClaim& claim = claims[runner];
    if (!claim_external_run(runner, claim))
        return 0;
    if (auto* instance = dynamic_cast<JsInstance*>(claim.model)) {
        *reset = claim.reset_first ? 1 : 0;
        return instance->key();
    }
    // Only JavaScript engine instances name a runner on the web; never leave a claim open.
    finish_external_run(claim, "not a JavaScript engine instance");
    return 0;
}

void runner_finish(int runner, const char* error) {
    if (runner < 0 || runner >= static_cast<int>(max_workers))
        return;
    finish_external_run(claims[runner], error != nullptr ? std::string_view(error) : "");
}

std::shared_ptr<Backend> make_js_backend(std::string name, int engine_id) {
    return std::make_shared<JsBackend>(std::move(name), engine_id);
}

std::shared_ptr<PrePostProcessor> make_js_processor(int processor_id,
                                                    const std::vector<TensorSpec>& inputs,
                                                    const std::vector<TensorSpec>& outputs) {
    return std::make_shared<JsProcessor>(processor_id, inputs, outputs);
}

}  // namespace legato::web
