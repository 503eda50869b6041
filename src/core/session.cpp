#include "core/session.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/inference_pipeline.hpp"
#include "rt/monotonic_clock.hpp"

namespace legato::core {

namespace {

std::size_t power_of_two_at_least(std::size_t n) {
    return std::bit_ceil(std::max<std::size_t>(n, 2));
}

// Copies `count` samples starting at ring position `position` out of a power-of-two ring.
void read_ring(const float* ring, std::size_t size, std::uint64_t position, float* out,
               std::size_t count) noexcept {
    const std::size_t start = position & (size - 1);
    const std::size_t first = std::min(count, size - start);
    std::memcpy(out, ring + start, first * sizeof(float));
    std::memcpy(out + first, ring, (count - first) * sizeof(float));
}

void write_ring(float* ring, std::size_t size, std::uint64_t position, const float* in,
                std::size_t count) noexcept {
    const std::size_t start = position & (size - 1);
    const std::size_t first = std::min(count, size - start);
    if (in != nullptr) {
        std::memcpy(ring + start, in, first * sizeof(float));
        std::memcpy(ring, in + first, (count - first) * sizeof(float));
    } else {
        std::memset(ring + start, 0, first * sizeof(float));
        std::memset(ring, 0, (count - first) * sizeof(float));
    }
}

constexpr std::int64_t offline_timeout_ns =
    10'000'000'000;  // a stalled engine cannot hang a render

}  // namespace

Session::Session(const SessionSetup& setup)
    : config_(setup.config),
      controls_(setup.controls),
      counters_(setup.counters),
      processor_(setup.processor),
      layout_(setup.layout),
      pool_(setup.pool),
      engines_(setup.engines),
      latency_(setup.latency),
      max_block_(setup.host.max_block_size),
      ns_per_sample_(1e9 / setup.host.sample_rate),
      generation_(setup.first_generation),
      applied_resets_(setup.controls.reset_requests.load()) {
    std::size_t max_past = 0;
    for (const auto& spec : config_.inputs) {
        input_first_channel_.push_back(input_channels_);
        if (spec.role != TensorRole::audio)
            continue;
        hop_ = spec.hop;
        input_channels_ += spec.channels;
        max_past = std::max(max_past, spec.past_context);
    }
    for (const auto& spec : config_.outputs) {
        output_first_channel_.push_back(output_channels_);
        if (spec.role == TensorRole::audio)
            output_channels_ += spec.channels;
    }
    state_links_ = make_state_links(config_);
    for (const auto& link : state_links_)
        state_.emplace_back(element_count(config_.inputs[link.input].shape), 0.0f);
    run_limit_ = static_cast<std::uint32_t>(config_.stateful ? 1 : config_.parallel_instances);

    // The input ring serves windows (past + hop back) and the dry signal for substitution
    // (latency + block back); the output ring holds the pre-roll, a block and two hops (the
    // repeat policy reads the previous hop).
    input_size_ =
        power_of_two_at_least(std::max(max_past + hop_, latency_ + max_block_) + hop_ + 1);
    output_size_ = power_of_two_at_least(latency_ + max_block_ + 2 * hop_ + 1);
    input_ring_.assign(input_channels_ * input_size_, 0.0f);
    output_ring_.assign(output_channels_ * output_size_, 0.0f);
    output_written_ = latency_;

    // In flight at once: the hops spanning latency + one block, plus abandoned inferences still
    // running on up to run_limit_ instances, plus slack.
    const std::size_t in_flight = (latency_ + max_block_) / hop_ + 2 + run_limit_ + 2;
    const std::size_t slot_count = power_of_two_at_least(in_flight);
    slots_ = std::make_unique<Slot[]>(slot_count);
    slot_mask_ = slot_count - 1;
    requests_.assign(slot_count * layout_.stride, 0.0f);
}

Session::~Session() = default;

// ---------------------------------------------------------------------------------------------
// Audio thread

void Session::process(const float* const* input, std::size_t input_channels, float* const* output,
                      std::size_t output_channels, std::size_t frames) noexcept {
    if (frames == 0)
        return;
    Counters::bump(counters_.blocks);
    Counters::bump(counters_.frames, frames);
    if (frames > max_block_)
        Counters::bump(counters_.oversized);
    // A reset applies at the start of a call, never between the chunks of an oversized one.
    const std::uint64_t resets = controls_.reset_requests.load(std::memory_order_acquire);
    if (resets != applied_resets_)
        apply_reset(resets);
    for (std::size_t offset = 0; offset < frames; offset += max_block_) {
        process_block(input, input_channels, output, output_channels, offset,
                      std::min(max_block_, frames - offset));
    }
}

void Session::process_block(const float* const* input, std::size_t input_channels,
                            float* const* output, std::size_t output_channels, std::size_t offset,
                            std::size_t frames) noexcept {
    const std::int64_t now = rt::now_ns();
    const std::uint32_t engine =
        std::min<std::uint32_t>(controls_.engine.load(std::memory_order_relaxed),
                                static_cast<std::uint32_t>(engines_.size() - 1));
    const std::uint64_t block_end = input_position_ + frames;

    // 1. Append the input, submitting a request each time a hop completes.
    std::size_t consumed = 0;
    std::size_t requests = 0;
    while (consumed < frames) {
        const std::size_t fill = static_cast<std::size_t>(input_position_ % hop_);
        const std::size_t count = std::min(frames - consumed, hop_ - fill);
        write_input(input, input_channels, offset + consumed, count);
        input_position_ += count;
        consumed += count;
        if (input_position_ % hop_ == 0) {
            submit(engine, now, block_end);
            ++requests;
        }
    }
    pool_.notify(requests);

    // 2. Bring in every hop this block outputs, in order: finished, or substituted.
    const std::uint64_t needed = output_read_ + frames;
    while (output_written_ < needed)
        harvest_next();

    // 3. Copy the output.
    write_output(output, output_channels, offset, frames);
    output_read_ += frames;
}

void Session::write_input(const float* const* input, std::size_t input_channels, std::size_t offset,
                          std::size_t frames) noexcept {
    for (std::size_t c = 0; c < input_channels_; ++c) {
        const float* source = (input != nullptr && c < input_channels && input[c] != nullptr)
                                  ? input[c] + offset
                                  : nullptr;  // missing channels read silence
        write_ring(input_channel(c), input_size_, input_position_, source, frames);
    }
}

void Session::submit(std::uint32_t engine, std::int64_t now, std::uint64_t block_end) noexcept {
    const std::uint64_t seq = next_seq_++;
    Slot& s = slot(seq);
    Counters::bump(counters_.submitted);
    if (s.state.load(std::memory_order_acquire) != free) {
        // Still held by an abandoned inference of a stalled engine: this hop is never run and
        // will be substituted when due. Publishing it lets workers skip over it.
        Counters::bump(counters_.dropped);
        submitted_.store(seq + 1, std::memory_order_seq_cst);
        return;
    }
    float* raw = request(seq);
    for (std::size_t i = 0; i < config_.inputs.size(); ++i) {
        const TensorSpec& spec = config_.inputs[i];
        const auto& region = layout_.inputs[i];
        if (spec.role == TensorRole::audio) {
            const std::uint64_t start = input_position_ - region.length;  // may wrap: ring math
            for (std::size_t c = 0; c < spec.channels; ++c)
                read_ring(input_channel(input_first_channel_[i] + c), input_size_, start,
                          raw + region.offset + c * region.length, region.length);
        } else if (spec.role == TensorRole::parameter) {
            const std::size_t first = controls_.parameter_offset[i];
            for (std::size_t v = 0; v < region.length; ++v)
                raw[region.offset + v] =
                    controls_.parameter_values[first + v].load(std::memory_order_relaxed);
        }
    }
    s.engine = engine;
    s.generation = generation_;
    s.hop_index = seq - origin_seq_;
    // Due when the host reaches output position hop_index * hop + latency: at the earliest
    // after that many more samples have arrived (EDF orders requests by this).
    const std::uint64_t due = s.hop_index * hop_ + latency_ + 1;
    const double ahead = due > block_end ? static_cast<double>(due - block_end) : 0.0;
    s.deadline.store(now + static_cast<std::int64_t>(ahead * ns_per_sample_),
                     std::memory_order_relaxed);
    s.seq.store(seq, std::memory_order_relaxed);
    s.state.store(submitted, std::memory_order_relaxed);
    // seq_cst: the Dekker hand-over with sleeping workers (WorkerPool::notify).
    submitted_.store(seq + 1, std::memory_order_seq_cst);
}

std::uint32_t Session::cancel(std::uint64_t seq, Slot& s) noexcept {
    // Unclaimed: winning the cursor takes it away from the workers.
    std::uint64_t expected = seq;
    if (claim_cursor_.compare_exchange_strong(expected, seq + 1, std::memory_order_acq_rel)) {
        s.state.store(free, std::memory_order_release);
        return free;
    }
    // Claimed by a worker: mark it abandoned unless it finished in the meantime.
    std::uint32_t state = s.state.load(std::memory_order_acquire);
    while (state == submitted || state == running) {
        if (s.state.compare_exchange_weak(state, abandoned, std::memory_order_acq_rel,
                                          std::memory_order_acquire))
            return abandoned;
    }
    return state;
}

std::uint32_t Session::wait_for_result(Slot& s) noexcept {
    waiting_.store(true, std::memory_order_seq_cst);
    const std::int64_t give_up = rt::now_ns() + offline_timeout_ns;
    std::uint32_t state = s.state.load(std::memory_order_seq_cst);
    while ((state == submitted || state == running) && rt::now_ns() < give_up) {
        completion_.wait_for(std::chrono::milliseconds(1));
        state = s.state.load(std::memory_order_seq_cst);
    }
    waiting_.store(false, std::memory_order_relaxed);
    return state;
}

void Session::harvest_next() noexcept {
    // prepare() keeps the latency >= hop - 1, so every hop is submitted before it is due.
    const std::uint64_t seq = harvest_seq_++;
    const std::uint64_t position = output_written_;
    output_written_ += hop_;
    Slot& s = slot(seq);
    if (s.seq.load(std::memory_order_relaxed) != seq) {  // dropped at submission
        std::uint64_t expected = seq;
        claim_cursor_.compare_exchange_strong(expected, seq + 1, std::memory_order_acq_rel);
        Counters::bump(counters_.late);
        substitute(position);
        return;
    }
    std::uint32_t state = s.state.load(std::memory_order_acquire);
    if (state != done && state != failed) {
        if (controls_.offline_rendering.load(std::memory_order_relaxed)) {
            // Offline rendering waits for the result by design (documented as not real-time).
            LEGATO_UNVERIFIED_EFFECTS_BEGIN
            state = wait_for_result(s);
            LEGATO_UNVERIFIED_EFFECTS_END
        }
        if (state != done && state != failed)
            state = cancel(seq, s);
    }
    if (state == done) {
        const float* raw = request(seq);
        for (std::size_t o = 0; o < config_.outputs.size(); ++o) {
            const auto& region = layout_.outputs[o];
            if (config_.outputs[o].role == TensorRole::audio) {
                for (std::size_t c = 0; c < region.channels; ++c)
                    write_ring(output_channel(output_first_channel_[o] + c), output_size_, position,
                               raw + region.offset + c * region.length, hop_);
            } else if (config_.outputs[o].role == TensorRole::parameter) {
                const std::size_t first = controls_.output_value_offset[o];
                for (std::size_t v = 0; v < region.length; ++v)
                    controls_.output_values[first + v].store(raw[region.offset + v],
                                                             std::memory_order_relaxed);
            }
        }
        s.state.store(free, std::memory_order_release);
        return;
    }
    if (state == failed) {
        s.state.store(free, std::memory_order_release);  // counted by the worker
    } else {
        Counters::bump(
            counters_.late);  // cancelled or abandoned; an abandoned slot is freed by its worker
    }
    substitute(position);
}

void Session::substitute(std::uint64_t position) noexcept {
    Counters::bump(counters_.substituted, hop_);
    const LatePolicy policy = controls_.late_policy.load(std::memory_order_relaxed);
    for (std::size_t c = 0; c < output_channels_; ++c) {
        float* ring = output_channel(c);
        const std::size_t start = position & (output_size_ - 1);
        for (std::size_t done_count = 0; done_count < hop_;) {
            // One contiguous stretch of the ring at a time.
            const std::size_t at = (start + done_count) & (output_size_ - 1);
            const std::size_t count = std::min(hop_ - done_count, output_size_ - at);
            float* target = ring + at;
            switch (policy) {
                case LatePolicy::silence:
                    std::memset(target, 0, count * sizeof(float));
                    break;
                case LatePolicy::dry:
                    read_ring(input_channel(c % input_channels_), input_size_,
                              position + done_count - latency_, target, count);
                    break;
                case LatePolicy::repeat_last:
                    read_ring(ring, output_size_, position + done_count - hop_, target, count);
                    break;
            }
            done_count += count;
        }
    }
}

void Session::write_output(float* const* output, std::size_t output_channels, std::size_t offset,
                           std::size_t frames) noexcept {
    if (output == nullptr)
        return;
    for (std::size_t k = 0; k < output_channels; ++k) {
        if (output[k] == nullptr)
            continue;
        read_ring(output_channel(k % output_channels_), output_size_, output_read_,
                  output[k] + offset, frames);
    }
}

void Session::apply_reset(std::uint64_t requests) noexcept {
    for (std::uint64_t seq = harvest_seq_; seq < next_seq_; ++seq) {
        Slot& s = slot(seq);
        if (s.seq.load(std::memory_order_relaxed) != seq) {
            std::uint64_t expected = seq;
            claim_cursor_.compare_exchange_strong(expected, seq + 1, std::memory_order_acq_rel);
            continue;
        }
        std::uint32_t state = s.state.load(std::memory_order_acquire);
        if (state != done && state != failed)
            state = cancel(seq, s);
        if (state == done || state == failed)
            s.state.store(free, std::memory_order_release);
    }
    harvest_seq_ = next_seq_;
    origin_seq_ = next_seq_;
    ++generation_;
    std::fill(input_ring_.begin(), input_ring_.end(), 0.0f);
    std::fill(output_ring_.begin(), output_ring_.end(), 0.0f);
    input_position_ = 0;
    output_read_ = 0;
    output_written_ = latency_;
    applied_resets_ = requests;
    Counters::bump(counters_.resets);
}

// ---------------------------------------------------------------------------------------------
// Worker threads

std::int64_t Session::next_deadline() const noexcept {
    const std::uint64_t cursor = claim_cursor_.load(std::memory_order_acquire);
    if (cursor >= submitted_.load(std::memory_order_seq_cst))  // seq_cst: see submit()
        return scheduling::no_deadline;
    if (active_runs_.load(std::memory_order_relaxed) >= run_limit_)
        return scheduling::no_deadline;
    const Slot& s = slot(cursor);
    if (s.seq.load(std::memory_order_relaxed) != cursor)
        return 0;  // a dropped hop: skip it now
    return s.deadline.load(std::memory_order_relaxed);
}

bool Session::run_next() noexcept {
    std::uint32_t active = active_runs_.load(std::memory_order_relaxed);
    do {
        if (active >= run_limit_)
            return false;
    } while (!active_runs_.compare_exchange_weak(active, active + 1, std::memory_order_acquire,
                                                 std::memory_order_relaxed));
    std::uint64_t cursor = claim_cursor_.load(std::memory_order_acquire);
    while (true) {
        if (cursor >= submitted_.load(std::memory_order_acquire)) {
            release_permit();
            return false;
        }
        if (claim_cursor_.compare_exchange_weak(cursor, cursor + 1, std::memory_order_acq_rel,
                                                std::memory_order_acquire))
            break;
    }
    Slot& s = slot(cursor);
    if (s.seq.load(std::memory_order_acquire) != cursor) {  // dropped: nothing to run
        release_permit();
        return true;
    }
    std::uint32_t expected = submitted;
    if (!s.state.compare_exchange_strong(expected, running, std::memory_order_acq_rel)) {
        // The audio thread gave up on it between our claim and now: ours to free.
        s.state.store(free, std::memory_order_release);
        release_permit();
        return true;
    }
    execute(s, request(cursor));
    release_permit();
    return true;
}

void Session::execute(Slot& s, float* raw) noexcept {
    EngineRuntime& engine = *engines_[s.engine];
    ModelRun* run = engine.acquire();  // run permits guarantee a free instance
    bool ok = false;
    const std::int64_t start = rt::now_ns();
    try {
        if (config_.stateful) {
            if (state_generation_ != s.generation) {
                for (auto& buffer : state_)
                    std::fill(buffer.begin(), buffer.end(), 0.0f);
                state_generation_ = s.generation;
            }
            // An instance that did not run the previous inference holds stale internal state.
            if (last_engine_ != s.engine && last_engine_ != ~std::uint32_t{0})
                run->model->reset_state();
            last_engine_ = s.engine;
        }
        if (run->generation != s.generation) {
            run->model->reset_state();
            run->generation = s.generation;
        }
        run_inference(processor_, layout_, *run, raw, s.hop_index, state_links_, state_);
        ok = true;
    } catch (const std::exception& e) {
        counters_.set_error(engine.name() + ": " + e.what());
    } catch (...) {
        counters_.set_error(engine.name() + ": unknown exception");
    }
    engine.release(run);
    counters_.record_run(static_cast<std::uint64_t>(rt::now_ns() - start), ok);

    // seq_cst: a Dekker hand-over with wait_for_result (which also polls every millisecond).
    std::uint32_t expected = running;
    if (!s.state.compare_exchange_strong(expected, ok ? done : failed, std::memory_order_seq_cst))
        s.state.store(free, std::memory_order_release);  // abandoned while running
    if (waiting_.load(std::memory_order_seq_cst))
        completion_.post();
}

}  // namespace legato::core
