#pragma once
// Measurements shared by `legato bench` and the Google Benchmark suite (bench/engine_bench.cpp):
// the ANIRA-style runtime per sample of an engine at one block size, directly and through an
// InferenceHandler, and handlers paced in real time. All functions run on the calling (setup)
// thread except run_paced(), which starts its own audio thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "legato/context.hpp"
#include "legato/inference_config.hpp"

namespace legato::bench {

/// Percentiles of a set of timings (same unit as the values).
struct Summary {
    double p50 = 0.0;
    double p99 = 0.0;
    double max = 0.0;
    double mean = 0.0;
    std::size_t count = 0;
};

/// [any thread] Summary of `values` (empty: all zero).
Summary summarize(std::vector<double> values);

/// One engine at one block size (hop = block size), measured like Ackva & Schulz (2024):
/// `iterations` inferences per repetition, `repetitions` times.
struct BlockMeasurement {
    std::string engine;
    std::size_t engine_index = 0;  ///< into the config's engines
    std::size_t block = 0;         ///< host block size = the model's hop
    bool skipped = false;          ///< the model cannot take this hop (see note)
    std::string note;

    double load_ms = 0.0;  ///< creating the direct instance (model load)
    double cold_us = 0.0;  ///< the direct instance's first run() after loading
    /// instance->run() alone, per inference, in microseconds (warm: the cold run excluded).
    Summary direct_us;
    /// Through the handler: one offline process() call of `block` frames that submits the
    /// inference and waits for its result (submission -> result, including both thread
    /// hand-overs), per inference, in microseconds.
    Summary handler_us;
    /// The engine's run() inside the handler (timed on the worker by a wrapper around the
    /// backend), per inference, in microseconds.
    Summary engine_in_handler_us;
    /// The worker-side time of the handler's inferences (pre-processing + run() +
    /// post-processing, Statistics::mean_inference_ms), mean in microseconds.
    double worker_mean_us = 0.0;
    /// Legato's compute overhead per inference: worker-side time minus the engine's run() of
    /// the same inferences (pre- and post-processing: windowing, layout, copies), mean in
    /// microseconds and in percent of the mean run() time. Both are timed on the same thread
    /// over the same inferences, so machine noise cancels.
    double overhead_us = 0.0;
    double overhead_pct = 0.0;
    /// Median over inferences of (submission -> result) - run(): everything Legato adds on
    /// the round trip, including waking a worker and waking the waiting caller.
    double round_trip_overhead_us = 0.0;
    double hop_ms = 0.0;  ///< the real-time budget of one inference (block / sample rate)
    /// Inferences through the handler slower than hop_ms (real-time violations), of all.
    std::size_t violations = 0;
    std::size_t inferences = 0;
    std::size_t failed = 0;  ///< inferences the engine failed through the handler

    /// Runtime per sample in nanoseconds (the study's measure): a per-inference time in
    /// microseconds divided by the block size.
    double per_sample_ns(double us) const { return us * 1000.0 / static_cast<double>(block); }
};

struct MeasureOptions {
    std::size_t iterations = 50;
    std::size_t repetitions = 10;
    double sample_rate = 48000.0;
    /// Called with a one-line progress message (e.g. printed to stderr); may be empty.
    std::function<void(const std::string&)> progress;
    /// SCHED_FIFO priority for the measuring thread during the measurement (the workers' level,
    /// so that the direct call and the handler compete equally with other load); 0 = leave it.
    int realtime_priority = 0;
};

/// [setup thread] `config` (validated, e.g. ModelConfig::inference) with every audio tensor's
/// hop set to `hop`, only engine `engine_index` kept and one instance; -1 dimensions resolve
/// for the new hop. Returns nullopt and sets `why` if the model cannot take that hop (a fixed
/// dimension, an engine override that does not fit, a sliding-window hop that is not a
/// multiple of window_hop).
std::optional<InferenceConfig> config_for_hop(const InferenceConfig& config,
                                              std::size_t engine_index, std::size_t hop,
                                              std::string* why);

/// [setup thread] Measures engine `engine_index` of `config` at block size = hop = `block`:
/// direct run() and through an offline InferenceHandler on `context`. Skips (skipped = true,
/// note) if the model cannot take the hop or the engine refuses it; throws legato::Error if
/// the engine fails to run.
BlockMeasurement measure_block(const InferenceConfig& config, std::size_t engine_index,
                               std::size_t block, const MeasureOptions& options,
                               const std::shared_ptr<Context>& context);

/// N handlers streaming in real time.
struct PacedMeasurement {
    std::string engine;  ///< engine name, "bypass" for the comparison run
    std::size_t handlers = 0;
    std::size_t block = 0;
    double seconds = 0.0;
    std::size_t periods = 0;        ///< audio periods run
    std::size_t host_overruns = 0;  ///< periods the audio thread itself woke a period late
    bool realtime_audio_thread = false;
    std::size_t worker_threads = 0;
    std::size_t latency_samples = 0;
    double max_inference_time_ms = 0.0;  ///< the bound the latency was computed from
    std::uint64_t inferences = 0;
    std::uint64_t late = 0;
    std::uint64_t failed = 0;
    double late_pct = 0.0;
    double slowest_inference_ms = 0.0;
    Summary process_us;             ///< one process() call on the audio thread
    Summary callback_us;            ///< all handlers' process() calls of one period
    std::uint64_t steal_ticks = 0;  ///< hypervisor steal during the run (/proc/stat)
    std::uint64_t expired = 0;      ///< requests the pool dropped as too late (overload)
    /// The spread of losses across handlers: the smallest and largest per-handler late %.
    double late_pct_min = 0.0;
    double late_pct_max = 0.0;
};

struct PacedOptions {
    std::size_t handlers = 1;
    std::size_t block = 256;  ///< host block = hop
    double seconds = 5.0;
    double sample_rate = 48000.0;
    int audio_priority = 80;  ///< SCHED_FIFO priority of the audio thread; 0 = normal
    /// Replace the engine by the bypass backend (same tensors): Legato's own cost.
    bool bypass = false;
    /// Overrides the config's maximum inference time (the latency bound), e.g. when a bound
    /// measured under load exceeds the hop and prepare() would refuse it.
    std::optional<double> max_inference_time_ms;
};

/// [setup thread] `handlers` handlers running engine `engine_index` of `config` (hop =
/// options.block, latency computed as configured), sharing `context`, paced in real time by
/// one audio thread that calls each handler's process() once per period, as a host calls its
/// plugin instances (like bench/soak.cpp). Throws legato::Error if a handler cannot prepare.
PacedMeasurement run_paced(const InferenceConfig& config, std::size_t engine_index,
                           const PacedOptions& options, const std::shared_ptr<Context>& context);

/// A line of the per-block table, for printing (fixed-width columns, units in the header).
std::string table_header();
std::string table_row(const BlockMeasurement& m);
std::string paced_header();
std::string paced_row(const PacedMeasurement& m);

}  // namespace legato::bench
