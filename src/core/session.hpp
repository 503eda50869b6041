#pragma once
// A prepared stream: everything process() touches, and the requests workers run.
//
// Requests live in a ring of slots indexed by sequence number. The audio thread fills a free
// slot and publishes it by advancing `submitted_`; workers claim requests in order by advancing
// `claim_cursor_` with a CAS; the audio thread harvests them in order when their output is due.
// A slot's `state` is the hand-over: free -> submitted -> running -> done/failed -> free. A
// request not done when due is cancelled (if unclaimed: the audio thread wins the cursor CAS) or
// abandoned (the worker frees it when it finishes) and its hop is substituted.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/controls.hpp"
#include "core/counters.hpp"
#include "core/engine_runtime.hpp"
#include "core/request_layout.hpp"
#include "legato/host_config.hpp"
#include "legato/inference_config.hpp"
#include "legato/nonblocking.hpp"
#include "legato/statistics.hpp"
#include "rt/semaphore.hpp"
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

    std::int64_t next_deadline() const noexcept override;
    bool run_next() noexcept override;

private:
    enum SlotState : std::uint32_t { free, submitted, running, done, failed, abandoned };

    struct alignas(64) Slot {
        std::atomic<std::uint64_t> seq{~std::uint64_t{0}};
        std::atomic<std::uint32_t> state{free};
        std::atomic<std::int64_t> deadline{0};
        // Written by the audio thread while the slot is free, read by the claiming worker.
        std::uint32_t engine = 0;
        std::uint64_t generation = 0;
        std::uint64_t hop_index = 0;
    };

    // Audio thread.
    void process_block(const float* const* input, std::size_t input_channels, float* const* output,
                       std::size_t output_channels, std::size_t offset,
                       std::size_t frames) noexcept LEGATO_NONBLOCKING;
    void write_input(const float* const* input, std::size_t input_channels, std::size_t offset,
                     std::size_t frames) noexcept LEGATO_NONBLOCKING;
    void submit(std::uint32_t engine, std::int64_t now,
                std::uint64_t block_end) noexcept LEGATO_NONBLOCKING;
    void harvest_next() noexcept LEGATO_NONBLOCKING;
    std::uint32_t cancel(std::uint64_t seq, Slot& slot) noexcept LEGATO_NONBLOCKING;
    std::uint32_t wait_for_result(Slot& slot) noexcept;  // offline rendering only: may block
    void substitute(std::uint64_t position) noexcept LEGATO_NONBLOCKING;
    void write_output(float* const* output, std::size_t output_channels, std::size_t offset,
                      std::size_t frames) noexcept LEGATO_NONBLOCKING;
    void apply_reset(std::uint64_t requests) noexcept LEGATO_NONBLOCKING;

    // Worker threads.
    void execute(Slot& slot, float* request) noexcept;
    void release_permit() noexcept { active_runs_.fetch_sub(1, std::memory_order_release); }

    Slot& slot(std::uint64_t seq) noexcept { return slots_[seq & slot_mask_]; }
    const Slot& slot(std::uint64_t seq) const noexcept { return slots_[seq & slot_mask_]; }
    float* request(std::uint64_t seq) noexcept {
        return requests_.data() + (seq & slot_mask_) * layout_.stride;
    }
    float* input_channel(std::size_t c) noexcept { return input_ring_.data() + c * input_size_; }
    float* output_channel(std::size_t c) noexcept { return output_ring_.data() + c * output_size_; }

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
    std::size_t input_channels_ = 0;  // model input channels (sum over audio inputs)
    std::size_t output_channels_ = 0;
    std::vector<std::size_t> input_first_channel_;   // per config input: first ring channel
    std::vector<std::size_t> output_first_channel_;  // per config output: first ring channel
    std::vector<StateLink> state_links_;
    std::uint32_t run_limit_ = 1;

    // Rings (audio thread only). Sizes are powers of two; positions count from the stream start.
    std::vector<float> input_ring_;
    std::size_t input_size_ = 0;
    std::vector<float> output_ring_;
    std::size_t output_size_ = 0;
    std::uint64_t input_position_ = 0;
    std::uint64_t output_read_ = 0;
    std::uint64_t output_written_ = 0;

    // Requests.
    std::unique_ptr<Slot[]> slots_;
    std::uint64_t slot_mask_ = 0;
    std::vector<float> requests_;
    std::uint64_t next_seq_ = 0;     // audio thread
    std::uint64_t harvest_seq_ = 0;  // audio thread
    std::uint64_t origin_seq_ = 0;   // audio thread: seq of hop 0 of the current stream
    std::uint64_t generation_ = 0;   // audio thread: bumped by each reset
    std::uint64_t applied_resets_ = 0;
    alignas(64) std::atomic<std::uint64_t> submitted_{0};
    alignas(64) std::atomic<std::uint64_t> claim_cursor_{0};
    alignas(64) std::atomic<std::uint32_t> active_runs_{0};

    // Stateful handlers: touched only by the worker holding the single run permit.
    std::vector<std::vector<float>> state_;
    std::uint64_t state_generation_ = 0;
    std::uint32_t last_engine_ = ~std::uint32_t{0};

    // Offline rendering: the audio thread sleeps on `completion_` while `waiting_`.
    alignas(64) std::atomic<bool> waiting_{false};
    rt::Semaphore completion_;
};

}  // namespace legato::core
