#include "core/session.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "core/inference_pipeline.hpp"
#include "core/late_policy.hpp"
#include "rt/monotonic_clock.hpp"

namespace legato::core {

namespace {

// A stalled engine cannot hang an offline render.
constexpr std::chrono::seconds offline_timeout{10};

// In flight at once: the hops spanning latency + one block, plus abandoned inferences still
// running on up to `run_limit` instances, plus slack. A stateful handler also keeps its overdue
// requests until they have run: room for a stall of three times the in-flight span before a
// hop has to be dropped (and the state skip it).
std::size_t slots_needed(std::size_t latency, std::size_t max_block, std::size_t hop,
                         std::size_t run_limit, bool stateful) {
    const std::size_t in_flight = (latency + max_block) / hop + 2;
    return in_flight + run_limit + 2 + (stateful ? 3 * in_flight : 0);
}

std::size_t audio_hop(const InferenceConfig& config) {
    for (const auto& spec : config.inputs)
        if (spec.role == TensorRole::audio)
            return spec.hop;
    return 1;
}

std::uint32_t run_limit_of(const InferenceConfig& config) {
    return static_cast<std::uint32_t>(config.stateful ? 1 : config.parallel_instances);
}

// The external runner every instance of every engine is bound to, or -1 (none, or several).
int common_runner(const std::vector<EngineRuntime*>& engines) {
    int runner = -1;
    for (EngineRuntime* engine : engines)
        for (std::size_t i = 0; i < engine->instance_count(); ++i) {
            const int bound = engine->instance(i).model->runner();
            if (bound < 0 || bound >= max_external_runners || (runner >= 0 && bound != runner))
                return -1;
            runner = bound;
        }
    return runner;
}

}  // namespace

Session::Session(const SessionSetup& setup)
    : config_(setup.config),
      controls_(setup.controls),
      counters_(setup.counters),
      processor_(setup.processor),
      layout_(setup.layout),
      pool_(setup.pool),
      engines_(setup.engines),
      hop_(audio_hop(setup.config)),
      latency_(setup.latency),
      max_block_(setup.host.max_block_size),
      ns_per_sample_(1e9 / setup.host.sample_rate),
      run_limit_(run_limit_of(setup.config)),
      generation_(setup.first_generation),
      applied_resets_(setup.controls.reset_requests.load()),
      slots_(slots_needed(setup.latency, setup.host.max_block_size, audio_hop(setup.config),
                          run_limit_of(setup.config), setup.config.stateful),
             setup.layout.stride),
      typical_cost_ns_(setup.typical_inference_ns),
      max_inference_ns_(static_cast<std::int64_t>(setup.max_inference_time_ms * 1e6)),
      block_slack_ns_(static_cast<std::int64_t>(static_cast<double>(setup.host.max_block_size - 1) *
                                                1e9 / setup.host.sample_rate)) {
    std::size_t max_past = 0;
    std::size_t input_channels = 0;
    std::size_t output_channels = 0;
    for (const auto& spec : config_.inputs) {
        input_first_channel_.push_back(input_channels);
        if (spec.role != TensorRole::audio)
            continue;
        input_channels += spec.channels;
        max_past = std::max(max_past, spec.past_context);
    }
    for (const auto& spec : config_.outputs) {
        output_first_channel_.push_back(output_channels);
        if (spec.role == TensorRole::audio)
            output_channels += spec.channels;
    }
    state_links_ = make_state_links(config_);
    for (const auto& link : state_links_)
        state_.emplace_back(element_count(config_.inputs[link.input].shape), 0.0f);
    runner_ = processor_.runs_on_any_thread() ? common_runner(engines_) : -1;

    // The input ring serves windows (past + hop back) and the dry signal for substitution
    // (latency + block back); the output ring holds the pre-roll, a block and two hops (the
    // repeat policy reads the previous hop).
    input_.reset(input_channels, std::max(max_past + hop_, latency_ + max_block_) + hop_ + 1);
    output_.reset(output_channels, latency_ + max_block_ + 2 * hop_ + 1);
    output_written_ = latency_;
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
    // The engine index is read once per call: every hop a call submits uses the same engine.
    const std::uint32_t engine =
        std::min<std::uint32_t>(controls_.engine.load(std::memory_order_relaxed),
                                static_cast<std::uint32_t>(engines_.size() - 1));
    const std::int64_t now = rt::now_ns();
    for (std::size_t offset = 0; offset < frames; offset += max_block_) {
        process_block(input, input_channels, output, output_channels, offset,
                      std::min(max_block_, frames - offset), now, engine);
    }
    // After the requests: a worker that sees the forecast move on may nap, so it must not move
    // before the request it stands for is published. A worker that finished a request before
    // this update spins briefly on the old forecast (anticipation_spin) until it comes.
    forecast_.on_call(now, frames, hop_ - static_cast<std::size_t>(input_position_ % hop_),
                      ns_per_sample_);
}

void Session::process_block(const float* const* input, std::size_t input_channels,
                            float* const* output, std::size_t output_channels, std::size_t offset,
                            std::size_t frames, std::int64_t now, std::uint32_t engine) noexcept {
    const std::uint64_t block_end = input_position_ + frames;

    // 1. Append the input, submitting a request each time a hop completes.
    std::size_t requests = 0;
    for (std::size_t consumed = 0; consumed < frames;) {
        const std::size_t fill = static_cast<std::size_t>(input_position_ % hop_);
        const std::size_t count = std::min(frames - consumed, hop_ - fill);
        for (std::size_t c = 0; c < input_.channels(); ++c) {
            const float* source = (input != nullptr && c < input_channels && input[c] != nullptr)
                                      ? input[c] + offset + consumed
                                      : nullptr;  // missing channels read silence
            input_.write(c, input_position_, source, count);
        }
        input_position_ += count;
        consumed += count;
        if (input_position_ % hop_ == 0) {
            submit(engine, now, block_end);
            ++requests;
        }
    }
    // Before harvesting: a hop may be due within this call.
    if (runner_ >= 0)
        pool_.notify_runner(runner_, requests);
    else
        pool_.notify(requests, now);

    // 2. Bring in every hop this block outputs, in order: delivered, or substituted.
    const std::uint64_t needed = output_read_ + frames;
    while (output_written_ < needed)
        harvest_next();

    // 3. Copy the output.
    if (output != nullptr) {
        for (std::size_t k = 0; k < output_channels; ++k)
            if (output[k] != nullptr)
                output_.read(k % output_.channels(), output_read_, output[k] + offset, frames);
    }
    output_read_ += frames;
}

void Session::submit(std::uint32_t engine, std::int64_t now, std::uint64_t block_end) noexcept {
    const std::uint64_t seq = next_seq_++;
    Counters::bump(counters_.submitted);
    float* raw = slots_.begin(seq);
    if (raw == nullptr) {
        // Still held by an abandoned inference of a stalled engine: this hop is never run and
        // will be substituted when due.
        Counters::bump(counters_.dropped);
        slots_.publish_dropped(seq);
        return;
    }
    for (std::size_t i = 0; i < config_.inputs.size(); ++i) {
        const TensorSpec& spec = config_.inputs[i];
        const auto& region = layout_.inputs[i];
        if (spec.role == TensorRole::audio) {
            const std::uint64_t start = input_position_ - region.length;  // may wrap: ring math
            for (std::size_t c = 0; c < spec.channels; ++c)
                input_.read(input_first_channel_[i] + c, start,
                            raw + region.offset + c * region.length, region.length);
        } else if (spec.role == TensorRole::parameter) {
            const std::size_t first = controls_.parameter_offset[i];
            for (std::size_t v = 0; v < region.length; ++v)
                raw[region.offset + v] =
                    controls_.parameter_values[first + v].load(std::memory_order_relaxed);
        }
    }
    const std::uint64_t hop_index = seq - origin_seq_;
    // Due when the host reaches output position hop_index * hop + latency: at the earliest
    // after that many more samples have arrived (the scheduler orders requests by this).
    const std::uint64_t due = hop_index * hop_ + latency_ + 1;
    const double ahead = due > block_end ? static_cast<double>(due - block_end) : 0.0;
    slots_.publish(seq, {engine, generation_, hop_index},
                   now + static_cast<std::int64_t>(ahead * ns_per_sample_));
}

void Session::harvest_next() noexcept {
    // prepare() keeps the latency >= hop - 1, so every hop is submitted before it is due.
    const std::uint64_t seq = harvest_seq_++;
    const std::uint64_t position = output_written_;
    output_written_ += hop_;
    if (controls_.offline_rendering.load(std::memory_order_relaxed)) {
        // Offline rendering waits for the result by design (documented as not real-time).
        LEGATO_UNVERIFIED_EFFECTS_BEGIN
        slots_.wait_for_result(seq, offline_timeout);
        LEGATO_UNVERIFIED_EFFECTS_END
    }
    // A stateful handler's unfinished request still runs, in order, so the state the next hop
    // starts from is exact; only this hop's audio is substituted.
    const Outcome outcome =
        slots_.collect(seq, config_.stateful ? Unfinished::complete : Unfinished::cancel);
    if (outcome == Outcome::done) {
        const float* raw = slots_.data(seq);
        for (std::size_t o = 0; o < config_.outputs.size(); ++o) {
            const auto& region = layout_.outputs[o];
            if (config_.outputs[o].role == TensorRole::audio) {
                for (std::size_t c = 0; c < region.channels; ++c)
                    output_.write(output_first_channel_[o] + c, position,
                                  raw + region.offset + c * region.length, hop_);
            } else if (config_.outputs[o].role == TensorRole::parameter) {
                const std::size_t first = controls_.output_value_offset[o];
                for (std::size_t v = 0; v < region.length; ++v)
                    controls_.output_values[first + v].store(raw[region.offset + v],
                                                             std::memory_order_relaxed);
            }
        }
        slots_.release(seq);
        return;
    }
    // A failed inference was counted by its worker; everything else is late.
    if (outcome != Outcome::failed)
        Counters::bump(counters_.late);
    if (outcome == Outcome::expired)
        Counters::bump(counters_.expired);
    Counters::bump(counters_.substituted, hop_);
    substitute(controls_.late_policy.load(std::memory_order_relaxed), output_, input_, position,
               hop_, latency_);
}

void Session::apply_reset(std::uint64_t requests) noexcept {
    for (std::uint64_t seq = harvest_seq_; seq < next_seq_; ++seq)
        if (slots_.collect(seq) == Outcome::done)
            slots_.release(seq);
    harvest_seq_ = next_seq_;
    origin_seq_ = next_seq_;
    ++generation_;
    input_.clear();
    output_.clear();
    input_position_ = 0;
    output_read_ = 0;
    output_written_ = latency_;
    applied_resets_ = requests;
    forecast_.clear();
    Counters::bump(counters_.resets);
}

// ---------------------------------------------------------------------------------------------
// Worker threads

scheduling::Candidate Session::next() const noexcept {
    scheduling::Candidate candidate;
    // The loss share, also without a request: the pool compares it with other handlers'.
    const std::uint64_t started = started_.load(std::memory_order_relaxed);
    const std::uint64_t decided = slots_.cursor();
    candidate.decided = decided;
    candidate.lost = decided > started ? decided - started : 0;
    const RequestSlots::Next next = slots_.peek();
    if (!next.available || active_runs_.load(std::memory_order_relaxed) >= run_limit_)
        return candidate;
    candidate.available = true;
    candidate.sequence = next.sequence;
    candidate.deadline_ns = next.deadline_ns;  // 0 for a dropped number: skipped at once
    // The deadline assumes the due position ends a block; it may start one, and then the
    // output is needed up to max_block - 1 samples later.
    candidate.latest_ns = next.dropped ? 0 : next.deadline_ns + block_slack_ns_;
    // The expected cost: the running median, but never above the bound the latency was
    // computed from (so a freshly submitted request is never expired; an outlier that raised
    // the average cannot starve the handler either).
    candidate.cost_ns = next.dropped ? 0
                                     : std::min(typical_cost_ns_.load(std::memory_order_relaxed),
                                                max_inference_ns_);
    // Every request of a stateful handler runs, in order, so that its state stays exact; an
    // offline render waits for every result, so nothing is ever too late there.
    candidate.may_expire =
        !config_.stateful && !controls_.offline_rendering.load(std::memory_order_relaxed);
    return candidate;
}

std::int64_t Session::expected_request_ns() const noexcept {
    return forecast_.expected_ns();
}

void Session::expire(std::uint64_t sequence) noexcept {
    if (config_.stateful || controls_.offline_rendering.load(std::memory_order_relaxed) ||
        !slots_.claim_exact(sequence))
        return;
    if (slots_.is_request(sequence))
        slots_.expire(sequence);
}

Session::Claimed Session::claim_next(std::uint64_t& seq) noexcept {
    std::uint32_t active = active_runs_.load(std::memory_order_relaxed);
    do {
        if (active >= run_limit_)
            return Claimed::nothing;
    } while (!active_runs_.compare_exchange_weak(active, active + 1, std::memory_order_acquire,
                                                 std::memory_order_relaxed));
    if (!slots_.claim(seq)) {
        release_permit();
        return Claimed::nothing;
    }
    if (!slots_.is_request(seq) || !slots_.start(seq)) {  // dropped, or taken back
        release_permit();
        return Claimed::skipped;
    }
    started_.fetch_add(1, std::memory_order_relaxed);
    return Claimed::request;
}

bool Session::run_next() noexcept {
    std::uint64_t seq = 0;
    const Claimed claimed = claim_next(seq);
    if (claimed == Claimed::request) {
        execute(seq);
        release_permit();
    }
    return claimed != Claimed::nothing;
}

bool Session::start_run(std::uint64_t seq, Started& started) noexcept {
    const RequestTicket& ticket = slots_.ticket(seq);
    started.engine = engines_[ticket.engine];
    started.run = started.engine->acquire();  // run permits guarantee a free instance
    started.start_ns = rt::now_ns();
    started.reset = false;
    try {
        if (config_.stateful) {
            if (state_generation_ != ticket.generation) {
                for (auto& buffer : state_)
                    std::fill(buffer.begin(), buffer.end(), 0.0f);
                state_generation_ = ticket.generation;
            }
            // An instance that did not run the previous inference holds stale internal state.
            started.reset = last_engine_ != ticket.engine && last_engine_ != ~std::uint32_t{0};
            last_engine_ = ticket.engine;
        }
        if (started.run->generation != ticket.generation) {
            started.reset = true;
            started.run->generation = ticket.generation;
        }
        begin_inference(processor_, layout_, *started.run, slots_.data(seq), ticket.hop_index,
                        state_links_, state_);
        return true;
    } catch (const std::exception& e) {
        counters_.set_error(started.engine->name() + ": " + e.what());
    } catch (...) {
        counters_.set_error(started.engine->name() + ": unknown exception");
    }
    finish_run(seq, started, false);
    return false;
}

void Session::finish_run(std::uint64_t seq, const Started& started, bool ok) noexcept {
    if (ok) {
        try {
            end_inference(processor_, layout_, *started.run, slots_.data(seq), state_links_,
                          state_);
        } catch (const std::exception& e) {
            counters_.set_error(started.engine->name() + ": " + e.what());
            ok = false;
        } catch (...) {
            counters_.set_error(started.engine->name() + ": unknown exception");
            ok = false;
        }
    }
    started.engine->release(started.run);
    const std::int64_t took = rt::now_ns() - started.start_ns;
    counters_.record_run(static_cast<std::uint64_t>(took), ok);
    // The scheduler's cost estimate: a running median (each run moves it 1/16 towards itself),
    // so an engine that is slow on a few hops does not make every other hop look too late.
    const std::int64_t typical = typical_cost_ns_.load(std::memory_order_relaxed);
    const std::int64_t step = std::max<std::int64_t>(typical / 16, 1'000);
    typical_cost_ns_.store(
        took > typical ? typical + step : std::max<std::int64_t>(typical - step, 0),
        std::memory_order_relaxed);
    slots_.finish(seq, ok);
}

void Session::execute(std::uint64_t seq) noexcept {
    Started started;
    if (!start_run(seq, started))
        return;
    bool ok = false;
    try {
        if (started.reset)
            started.run->model->reset_state();
        started.run->model->run();
        ok = true;
    } catch (const std::exception& e) {
        counters_.set_error(started.engine->name() + ": " + e.what());
    } catch (...) {
        counters_.set_error(started.engine->name() + ": unknown exception");
    }
    finish_run(seq, started, ok);
}

// ---------------------------------------------------------------------------------------------
// External runners (legato/external_runner.hpp)

bool Session::begin_external(ExternalRunClaim& claim) noexcept {
    claim.model = nullptr;
    std::uint64_t seq = 0;
    const Claimed claimed = claim_next(seq);
    if (claimed != Claimed::request)
        return claimed == Claimed::skipped;
    Started started;
    if (!start_run(seq, started)) {  // pre-processing failed: completed as failed
        release_permit();
        return true;
    }
    claim.model = started.run->model.get();
    claim.reset_first = started.reset;
    claim.source = this;
    claim.run = started.run;
    claim.engine = started.engine;
    claim.sequence = seq;
    claim.start_ns = started.start_ns;
    return true;
}

void Session::end_external(ExternalRunClaim& claim, std::string_view error) noexcept {
    const Started started{static_cast<ModelRun*>(claim.run),
                          static_cast<EngineRuntime*>(claim.engine), claim.reset_first,
                          claim.start_ns};
    if (!error.empty())
        counters_.set_error(started.engine->name() + ": " + std::string(error));
    finish_run(claim.sequence, started, error.empty());
    release_permit();
    claim.model = nullptr;
}

}  // namespace legato::core
