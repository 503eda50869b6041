#include "bench_support/engine_measure.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <exception>
#include <thread>

#include "legato/bypass_backend.hpp"
#include "legato/error.hpp"
#include "legato/host_config.hpp"
#include "legato/inference_handler.hpp"
#include "legato/tensor_resolution.hpp"
#include "support/run_support.hpp"

namespace legato::bench {

namespace {

using Clock = std::chrono::steady_clock;

double micros_since(Clock::time_point start) {
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

__attribute__((format(printf, 1, 2))) std::string format(const char* pattern, ...) {
    char text[1024];
    va_list args;
    va_start(args, pattern);
    std::vsnprintf(text, sizeof text, pattern, args);
    va_end(args);
    return text;
}

// Worker-side run time summed over every inference so far (Statistics keeps a mean).
double total_run_us(const Statistics& s) {
    const auto runs = static_cast<double>(s.inferences_completed + s.failed_inferences);
    return s.mean_inference_ms * 1000.0 * runs;
}

std::uint64_t runs_of(const Statistics& s) {
    return s.inferences_completed + s.failed_inferences;
}

double median_of(std::vector<double> values) {
    return tools::percentile(std::move(values), 0.5);
}

// Times every run() of the handler's engine on the worker, so that Legato's own share of an
// inference can be told from the engine's on the same thread and the same inferences.
struct RunClock {
    std::atomic<std::int64_t> last_ns{0};
    std::atomic<std::int64_t> total_ns{0};
    std::atomic<std::uint64_t> runs{0};
};

class TimedInstance final : public ModelInstance {
public:
    TimedInstance(std::unique_ptr<ModelInstance> inner, RunClock* clock)
        : inner_(std::move(inner)), clock_(clock) {}
    void run() override {
        const auto start = Clock::now();
        inner_->run();
        const auto ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
        clock_->last_ns.store(ns, std::memory_order_relaxed);
        clock_->total_ns.fetch_add(ns, std::memory_order_relaxed);
        clock_->runs.fetch_add(1, std::memory_order_release);
    }
    void reset_state() override { inner_->reset_state(); }

private:
    std::unique_ptr<ModelInstance> inner_;
    RunClock* clock_;
};

class TimedBackend final : public Backend {
public:
    TimedBackend(std::shared_ptr<Backend> inner, std::shared_ptr<RunClock> clock)
        : inner_(std::move(inner)), clock_(std::move(clock)) {}
    std::string name() const override { return inner_->name(); }
    std::unique_ptr<ModelInstance> create_instance(const InstanceSetup& setup) override {
        auto instance = inner_->create_instance(setup);
        if (!instance)
            return nullptr;
        return std::make_unique<TimedInstance>(std::move(instance), clock_.get());
    }

private:
    std::shared_ptr<Backend> inner_;
    std::shared_ptr<RunClock> clock_;
};

// Runs the measuring thread at SCHED_FIFO for its lifetime (if asked and permitted), then
// restores its scheduling.
class RealtimeScope {
public:
    explicit RealtimeScope(int priority) {
        if (priority > 0 && pthread_getschedparam(pthread_self(), &policy_, &param_) == 0)
            active_ = tools::make_current_thread_realtime(priority);
    }
    ~RealtimeScope() {
        if (active_)
            pthread_setschedparam(pthread_self(), policy_, &param_);
    }
    RealtimeScope(const RealtimeScope&) = delete;
    RealtimeScope& operator=(const RealtimeScope&) = delete;

private:
    bool active_ = false;
    int policy_ = SCHED_OTHER;
    sched_param param_{};
};

}  // namespace

Summary summarize(std::vector<double> values) {
    Summary s;
    s.count = values.size();
    if (values.empty())
        return s;
    std::sort(values.begin(), values.end());
    s.p50 = tools::percentile_of_sorted(values, 0.5);
    s.p99 = tools::percentile_of_sorted(values, 0.99);
    s.max = values.back();
    double total = 0.0;
    for (const double v : values)
        total += v;
    s.mean = total / static_cast<double>(values.size());
    return s;
}

std::optional<InferenceConfig> config_for_hop(const InferenceConfig& config,
                                              std::size_t engine_index, std::size_t hop,
                                              std::string* why) {
    InferenceConfig copy = config;
    copy.engines = {config.engines.at(engine_index)};
    copy.parallel_instances = 1;
    for (auto* list : {&copy.inputs, &copy.outputs})
        for (TensorSpec& spec : *list)
            if (spec.role == TensorRole::audio)
                spec.hop = hop;
    try {
        copy.validate();
    } catch (const Error& e) {
        if (why != nullptr)
            *why = "hop " + std::to_string(hop) + " does not fit the model: " + e.what();
        return std::nullopt;
    }
    return copy;
}

BlockMeasurement measure_block(const InferenceConfig& config, std::size_t engine_index,
                               std::size_t block, const MeasureOptions& options,
                               const std::shared_ptr<Context>& context) {
    BlockMeasurement m;
    m.engine = config.engines.at(engine_index).backend->name();
    m.engine_index = engine_index;
    m.block = block;
    m.hop_ms = static_cast<double>(block) * 1000.0 / options.sample_rate;
    const std::size_t iterations = std::max<std::size_t>(options.iterations, 1);
    const std::size_t repetitions = std::max<std::size_t>(options.repetitions, 1);
    if (options.progress)
        options.progress(format("%s, block %zu: %zu x %zu inferences", m.engine.c_str(), block,
                                iterations, repetitions));

    std::string why;
    std::optional<InferenceConfig> hop_config = config_for_hop(config, engine_index, block, &why);
    if (!hop_config) {
        m.skipped = true;
        m.note = why;
        return m;
    }
    // Offline rendering waits for every result, so the latency bound is irrelevant here; a
    // bound within the hop keeps prepare()'s "can it keep up" check from refusing slow models.
    hop_config->max_inference_time_ms = 0.9 * m.hop_ms;

    // The direct call: the same engine-resolved tensors the handler binds, over own buffers.
    const EngineModel engine = hop_config->engines[0];
    const EngineTensors tensors = resolve_engine_tensors(*hop_config, 0);
    std::vector<std::vector<float>> storage;
    std::vector<TensorView> input_views;
    std::vector<TensorView> output_views;
    storage.reserve(tensors.inputs.size() + tensors.outputs.size());
    for (const TensorSpec& spec : tensors.inputs) {
        const std::size_t count = element_count(spec.shape);
        if (spec.role == TensorRole::audio)
            storage.push_back(tools::make_test_signal(count, options.sample_rate));
        else if (spec.role == TensorRole::parameter && spec.initial_value.size() == count)
            storage.push_back(spec.initial_value);
        else
            storage.emplace_back(count, 0.0f);
        input_views.push_back({&spec, storage.back()});
    }
    for (const TensorSpec& spec : tensors.outputs) {
        storage.emplace_back(element_count(spec.shape), 0.0f);
        output_views.push_back({&spec, storage.back()});
    }
    const InstanceSetup setup{engine.model,        engine.entry_point, input_views, output_views, 0,
                              hop_config->stateful};
    std::unique_ptr<ModelInstance> instance;
    auto start = Clock::now();
    try {
        instance = engine.backend->create_instance(setup);
    } catch (const std::exception& e) {
        m.skipped = true;
        m.note = "the engine refused hop " + std::to_string(block) + ": " + e.what();
        return m;
    }
    m.load_ms = micros_since(start) / 1000.0;
    if (!instance)
        throw Error(m.engine + ": the backend created no instance");
    start = Clock::now();
    try {
        instance->run();
    } catch (const std::exception& e) {
        throw Error(m.engine + ", hop " + std::to_string(block) + ": run() failed: " + e.what());
    }
    m.cold_us = micros_since(start);

    // Through the handler: offline rendering with latency hop - 1 puts each hop's first output
    // sample in the call that submits it, so every process() call waits for its own inference.
    const auto clock = std::make_shared<RunClock>();
    hop_config->engines[0].backend = std::make_shared<TimedBackend>(engine.backend, clock);
    InferenceHandler handler(*hop_config, context);
    HostConfig host;
    host.sample_rate = options.sample_rate;
    host.max_block_size = block;
    host.offline_rendering = true;
    host.latency_override = block - 1;
    try {
        handler.prepare(host);
    } catch (const Error& e) {
        m.skipped = true;
        m.note = std::string("the handler could not prepare: ") + e.what();
        return m;
    }
    const std::size_t in_channels = handler.input_channels();
    const std::size_t out_channels = handler.output_channels();
    std::vector<std::vector<float>> signal;
    for (std::size_t c = 0; c < in_channels; ++c)
        signal.push_back(tools::make_test_signal(block * iterations, options.sample_rate,
                                                 static_cast<std::uint32_t>(c + 1)));
    std::vector<std::vector<float>> out(out_channels, std::vector<float>(block));
    std::vector<const float*> in_ptr(in_channels);
    std::vector<float*> out_ptr(out_channels);
    for (std::size_t c = 0; c < out_channels; ++c)
        out_ptr[c] = out[c].data();

    RealtimeScope realtime(options.realtime_priority);
    std::vector<double> direct, through, engine_in_handler, added;
    direct.reserve(iterations * repetitions);
    through.reserve(iterations * repetitions);
    const Statistics baseline = handler.statistics();  // warm-up is not counted, but be sure
    const std::int64_t clock_ns_before = clock->total_ns.load();
    const std::uint64_t clock_runs_before = clock->runs.load();
    for (std::size_t r = 0; r < repetitions; ++r) {
        // Interleaved per repetition so that both see the same machine load.
        for (std::size_t i = 0; i < iterations; ++i) {
            start = Clock::now();
            instance->run();
            direct.push_back(micros_since(start));
        }
        for (std::size_t i = 0; i < iterations; ++i) {
            for (std::size_t c = 0; c < in_channels; ++c)
                in_ptr[c] = signal[c].data() + i * block;
            const std::uint64_t runs_before = clock->runs.load(std::memory_order_acquire);
            start = Clock::now();
            handler.process(in_ptr.data(), in_channels, out_ptr.data(), out_channels, block);
            const double round_trip = micros_since(start);
            through.push_back(round_trip);
            // Offline rendering returned only once this call's inference was done.
            if (clock->runs.load(std::memory_order_acquire) == runs_before + 1) {
                const double run_us =
                    static_cast<double>(clock->last_ns.load(std::memory_order_relaxed)) / 1000.0;
                engine_in_handler.push_back(run_us);
                added.push_back(round_trip - run_us);
            }
        }
    }
    const Statistics final_stats = handler.statistics();
    m.failed = final_stats.failed_inferences;
    if (m.failed > 0)
        m.note = std::to_string(m.failed) +
                 " inferences failed through the handler: " + handler.last_error();
    m.direct_us = summarize(direct);
    m.handler_us = summarize(through);
    m.engine_in_handler_us = summarize(engine_in_handler);
    const std::uint64_t worker_runs = runs_of(final_stats) - runs_of(baseline);
    const std::uint64_t timed_runs = clock->runs.load() - clock_runs_before;
    if (worker_runs > 0 && timed_runs == worker_runs) {
        const double worker_total = total_run_us(final_stats) - total_run_us(baseline);
        const double run_total =
            static_cast<double>(clock->total_ns.load() - clock_ns_before) / 1000.0;
        m.worker_mean_us = worker_total / static_cast<double>(worker_runs);
        m.overhead_us = (worker_total - run_total) / static_cast<double>(worker_runs);
        const double run_mean = run_total / static_cast<double>(worker_runs);
        m.overhead_pct = run_mean > 0.0 ? 100.0 * m.overhead_us / run_mean : 0.0;
    }
    m.round_trip_overhead_us = median_of(added);
    m.inferences = through.size();
    m.violations = static_cast<std::size_t>(std::count_if(
        through.begin(), through.end(), [&](double us) { return us > m.hop_ms * 1000.0; }));
    return m;
}

PacedMeasurement run_paced(const InferenceConfig& config, std::size_t engine_index,
                           const PacedOptions& options, const std::shared_ptr<Context>& context) {
    PacedMeasurement m;
    m.handlers = options.handlers;
    m.block = options.block;
    m.seconds = options.seconds;
    std::string why;
    std::optional<InferenceConfig> hop_config =
        config_for_hop(config, engine_index, options.block, &why);
    if (!hop_config)
        throw Error(why);
    hop_config->parallel_instances = config.parallel_instances;
    if (options.max_inference_time_ms)
        hop_config->max_inference_time_ms = options.max_inference_time_ms;
    if (options.bypass) {
        hop_config->engines = {EngineModel{make_bypass_backend(), {}, {}, {}, {}}};
        hop_config->parallel_instances = 1;
    }
    m.engine = hop_config->engines[0].backend->name();

    HostConfig host;
    host.sample_rate = options.sample_rate;
    host.max_block_size = options.block;
    std::vector<std::unique_ptr<InferenceHandler>> handlers;
    for (std::size_t h = 0; h < options.handlers; ++h) {
        handlers.push_back(std::make_unique<InferenceHandler>(*hop_config, context));
        handlers.back()->prepare(host);
    }
    const std::size_t block = options.block;
    const std::size_t in_channels = handlers[0]->input_channels();
    const std::size_t out_channels = handlers[0]->output_channels();
    const auto periods = static_cast<std::size_t>(options.seconds * options.sample_rate) / block;
    // One second of test signal per handler (per channel), looped.
    const std::size_t loop =
        std::max<std::size_t>(static_cast<std::size_t>(options.sample_rate) / block, 1) * block;
    std::vector<std::vector<float>> inputs;
    for (std::size_t h = 0; h < options.handlers * in_channels; ++h)
        inputs.push_back(
            tools::make_test_signal(loop, options.sample_rate, static_cast<std::uint32_t>(h)));
    std::vector<std::vector<float>> output(out_channels, std::vector<float>(block));
    std::vector<const float*> in_ptr(in_channels);
    std::vector<float*> out_ptr(out_channels);
    for (std::size_t c = 0; c < out_channels; ++c)
        out_ptr[c] = output[c].data();
    // Everything the audio thread writes is allocated before it starts.
    std::vector<double> call_us(periods * options.handlers);
    std::vector<double> callback_us(periods);
    const std::uint64_t steal_before = tools::stolen_ticks();

    const tools::PacedRun run = tools::run_paced(
        block, options.sample_rate, options.seconds, periods, options.audio_priority,
        [&](std::size_t p, Clock::time_point woke) {
            const std::size_t offset = p * block % loop;
            auto before = woke;
            for (std::size_t h = 0; h < options.handlers; ++h) {
                for (std::size_t c = 0; c < in_channels; ++c)
                    in_ptr[c] = inputs[h * in_channels + c].data() + offset;
                handlers[h]->process(in_ptr.data(), in_channels, out_ptr.data(), out_channels,
                                     block);
                const auto after = Clock::now();
                call_us[p * options.handlers + h] =
                    std::chrono::duration<double, std::micro>(after - before).count();
                before = after;
            }
            callback_us[p] = std::chrono::duration<double, std::micro>(before - woke).count();
        });
    m.realtime_audio_thread = run.realtime;
    m.host_overruns = run.host_overruns;
    const std::size_t done = run.periods;

    m.steal_ticks = tools::stolen_ticks() - steal_before;
    m.periods = done;
    call_us.resize(done * options.handlers);
    callback_us.resize(done);
    m.late_pct_min = 100.0;
    for (const auto& handler : handlers) {
        const Statistics s = handler->statistics();
        m.inferences += s.inferences_submitted;
        m.late += s.late_inferences;
        m.expired += s.expired_inferences;
        const double late_pct = s.inferences_submitted > 0
                                    ? 100.0 * static_cast<double>(s.late_inferences) /
                                          static_cast<double>(s.inferences_submitted)
                                    : 0.0;
        m.late_pct_min = std::min(m.late_pct_min, late_pct);
        m.late_pct_max = std::max(m.late_pct_max, late_pct);
        m.failed += s.failed_inferences;
        m.slowest_inference_ms = std::max(m.slowest_inference_ms, s.max_inference_ms);
    }
    m.late_pct = m.inferences > 0
                     ? 100.0 * static_cast<double>(m.late) / static_cast<double>(m.inferences)
                     : 0.0;
    m.latency_samples = handlers[0]->latency();
    m.max_inference_time_ms = handlers[0]->max_inference_time_ms();
    m.worker_threads = context->info().worker_threads;
    m.process_us = summarize(std::move(call_us));
    m.callback_us = summarize(std::move(callback_us));
    return m;
}

std::string table_header() {
    return "engine       block |  ns/sample direct  |  ns/sample handler | inference us (handler)"
           "       | cold us  warm us | overhead us      % | hand-over us | RT viol.\n"
           "                   |     p50       p99  |     p50       p99  |     p50      p99      "
           "max |                  |                     |              |";
}

std::string table_row(const BlockMeasurement& m) {
    if (m.skipped)
        return format("%-12s %5zu | skipped: %s", m.engine.c_str(), m.block, m.note.c_str());
    return format(
        "%-12s %5zu | %8.2f %9.2f  | %8.2f %9.2f  | %8.1f %8.1f %8.1f | %8.1f %8.1f | "
        "%8.2f %9.2f | %12.1f | %4zu/%zu",
        m.engine.c_str(), m.block, m.per_sample_ns(m.direct_us.p50),
        m.per_sample_ns(m.direct_us.p99), m.per_sample_ns(m.handler_us.p50),
        m.per_sample_ns(m.handler_us.p99), m.handler_us.p50, m.handler_us.p99, m.handler_us.max,
        m.cold_us, m.direct_us.p50, m.overhead_us, m.overhead_pct, m.round_trip_overhead_us,
        m.violations, m.inferences);
}

std::string paced_header() {
    return "engine       handlers | inferences    late   late %  failed | per handler late % min"
           "    max | process() us p50    p99     max | callback us p99 | latency  workers "
           "overruns steal";
}

std::string paced_row(const PacedMeasurement& m) {
    return format(
        "%-12s %8zu | %10llu %7llu %7.3f %7llu | %22.1f %6.1f | %16.2f %7.2f %8.1f | %15.1f | "
        "%7zu %8zu %8zu %5llu",
        m.engine.c_str(), m.handlers, static_cast<unsigned long long>(m.inferences),
        static_cast<unsigned long long>(m.late), m.late_pct,
        static_cast<unsigned long long>(m.failed), m.late_pct_min, m.late_pct_max, m.process_us.p50,
        m.process_us.p99, m.process_us.max, m.callback_us.p99, m.latency_samples, m.worker_threads,
        m.host_overruns, static_cast<unsigned long long>(m.steal_ticks));
}

}  // namespace legato::bench
