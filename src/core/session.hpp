#pragma once
// A prepared stream: the wiring between the audio thread and the worker pool for one handler.
//
// Audio thread (process): input samples go into the input ring (rt/sample_ring.hpp); each
// complete hop becomes a request in the request slots (core/request_slots.hpp) with its
// deadline; requests are collected in order when their output is due, and a hop that did not
// deliver is substituted (core/late_policy.hpp). Worker threads (WorkSource): the pool's
// deadline scheduler picks a request, the session runs it (core/inference_pipeline.hpp).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/controls.hpp"
#include "core/counters.hpp"
#include "core/engine_runtime.hpp"
#include "core/request_layout.hpp"
#include "core/request_slots.hpp"
#include "legato/host_config.hpp"
#include "legato/inference_config.hpp"
#include "legato/nonblocking.hpp"
#include "rt/sample_ring.hpp"
#include "scheduling/submission_forecast.hpp"
#include "scheduling/work_source.hpp"
#include "scheduling/worker_pool.hpp"

namespace legato::core {

struct SessionSetup {
    const InferenceConfig& config;
    const HostConfig& host;
    std::size_t latency = 0;
    std::vector<EngineRuntime*> engines;
    Controls& controls;
    Counters& counters;
    PrePostProcessor& processor;
    const RequestLayout& layout;
    scheduling::WorkerPool& pool;
    /// Reset generation the stream starts in; one more than any earlier session's, so that
    /// model instances kept across prepare() start from fresh state.
    std::uint64_t first_generation = 0;
    /// Typical (median) inference time from warm-up: the scheduler's first cost estimate.
    std::int64_t typical_inference_ns = 0;
    /// The bound the latency was computed from.
    double max_inference_time_ms = 0;
};

class Session final : public scheduling::WorkSource {
public:
    /// [setup thread] Allocates rings and request slots for `setup`.
    explicit Session(const SessionSetup& setup);
    /// [setup thread] The session must have been removed from the pool.
    ~Session() override;

    /// [audio thread] See InferenceHandler::process. Wait-free in real-time mode.
    void process(const float* const* input, std::size_t input_channels, float* const* output,
                 std::size_t output_channels, std::size_t frames) noexcept LEGATO_NONBLOCKING;

    /// [setup thread, session removed from the pool] The reset generation reached.
    std::uint64_t generation() const noexcept { return generation_; }

    // WorkSource, [worker thread]:
    scheduling::Candidate next() const noexcept override;
    bool run_next() noexcept override;
    void expire(std::uint64_t sequence) noexcept override;
    std::int64_t expected_request_ns() const noexcept override;
    int runner() const noexcept override { return runner_; }
    bool begin_external(ExternalRunClaim& claim) noexcept override;
    void end_external(ExternalRunClaim& claim, std::string_view error) noexcept override;

private:
    // A request between its pre-processing and its post-processing.
    struct Started {
        ModelRun* run = nullptr;
        EngineRuntime* engine = nullptr;
        bool reset = false;  // the instance's state must be forgotten before it runs
        std::int64_t start_ns = 0;
    };

    // Audio thread.
    void process_block(const float* const* input, std::size_t input_channels, float* const* output,
                       std::size_t output_channels, std::size_t offset, std::size_t frames,
                       std::int64_t now, std::uint32_t engine) noexcept LEGATO_NONBLOCKING;
    void submit(std::uint32_t engine, std::int64_t now,
                std::uint64_t block_end) noexcept LEGATO_NONBLOCKING;
    void harvest_next() noexcept LEGATO_NONBLOCKING;
    void apply_reset(std::uint64_t requests) noexcept LEGATO_NONBLOCKING;

    // Worker threads.
    enum class Claimed { nothing, skipped, request };
    // Takes a run permit and claims the next request number: `request` keeps the permit (the
    // caller runs it and releases it), `skipped` (a dropped or taken-back number) and `nothing`
    // do not.
    Claimed claim_next(std::uint64_t& seq) noexcept;
    void execute(std::uint64_t seq) noexcept;
    // Acquires an instance and pre-processes; on failure completes the request (false).
    bool start_run(std::uint64_t seq, Started& started) noexcept;
    // Post-processes (if `ok`), releases the instance and completes the request.
    void finish_run(std::uint64_t seq, const Started& started, bool ok) noexcept;
    void release_permit() noexcept { active_runs_.fetch_sub(1, std::memory_order_release); }

    // Fixed geometry.
    const InferenceConfig& config_;
    Controls& controls_;
    Counters& counters_;
    PrePostProcessor& processor_;
    const RequestLayout& layout_;
    scheduling::WorkerPool& pool_;
    std::vector<EngineRuntime*> engines_;
    std::size_t hop_ = 0;
    std::size_t latency_ = 0;
    std::size_t max_block_ = 0;
    double ns_per_sample_ = 0;
    std::vector<std::size_t> input_first_channel_;   // per config input: first ring channel
    std::vector<std::size_t> output_first_channel_;  // per config output: first ring channel
    std::vector<StateLink> state_links_;
    std::uint32_t run_limit_ = 1;
    int runner_ = -1;  // the external runner serving this session, or -1 (the pool's workers)

    // Audio thread. Positions count samples from the stream start.
    rt::SampleRing input_;
    rt::SampleRing output_;
    std::uint64_t input_position_ = 0;
    std::uint64_t output_read_ = 0;
    std::uint64_t output_written_ = 0;
    std::uint64_t next_seq_ = 0;
    std::uint64_t harvest_seq_ = 0;
    std::uint64_t origin_seq_ = 0;  // seq of hop 0 of the current stream
    std::uint64_t generation_ = 0;  // bumped by each reset
    std::uint64_t applied_resets_ = 0;
    scheduling::SubmissionForecast forecast_;

    // Shared.
    RequestSlots slots_;
    alignas(64) std::atomic<std::uint32_t> active_runs_{0};
    std::atomic<std::uint64_t> started_{0};         // requests a worker started (fairness)
    std::atomic<std::int64_t> typical_cost_ns_{0};  // running median of inference times
    const std::int64_t max_inference_ns_;
    const std::int64_t block_slack_ns_;

    // Stateful handlers: touched only by the worker holding the single run permit.
    std::vector<std::vector<float>> state_;
    std::uint64_t state_generation_ = 0;
    std::uint32_t last_engine_ = ~std::uint32_t{0};
};

}  // namespace legato::core
