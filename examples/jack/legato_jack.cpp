// legato_jack: a live JACK client running a model from a JSON config (the shared ModelEffect),
// with its latency reported to JACK so that the graph stays aligned. docs/integration.md ("Live
// JACK client") explains it.
//
//   legato_jack CONFIG [--name N] [--engine E] [--mix M] [--connect-inputs PORTS]
//                      [--connect-outputs PORTS] [--seconds S] [--report-interval S]
//                      [--fail-on-late]
//
// Threads:
//   main thread     [setup thread] loads and prepares the effect, opens the client, re-prepares
//                   on a buffer-size change, prints statistics, handles signals
//   JACK process    [audio thread] process(): ModelEffect::process, nothing else
//   JACK notify     latency / buffer-size / xrun / shutdown callbacks: store atomics only

#include <jack/jack.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include <legato/error.hpp>
#include <legato/statistics.hpp>

#include "model_effect.hpp"

namespace {

using legato::examples::ModelEffect;

constexpr int exit_usage = 1;      // bad arguments or config
constexpr int exit_jack = 2;       // no server, port or connection trouble, server went away
constexpr int exit_late = 3;       // --fail-on-late and some hop was late or failed

std::atomic<bool> stop_requested{false};  // lock-free: may be set from a signal handler
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_signal(int) {
    stop_requested.store(true, std::memory_order_relaxed);
}

std::uint64_t monotonic_ns() noexcept {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);  // vDSO: no system call, fine on the audio thread
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000U +
           static_cast<std::uint64_t>(now.tv_nsec);
}

void store_max(std::atomic<std::uint64_t>& target, std::uint64_t value) noexcept {
    std::uint64_t seen = target.load(std::memory_order_relaxed);
    while (value > seen &&
           !target.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
}

struct Options {
    std::string config;
    std::string name = "legato";
    std::string engine;
    float mix = 1.0F;
    std::vector<std::string> connect_inputs;
    std::vector<std::string> connect_outputs;
    double seconds = 0.0;          // 0 = until SIGINT/SIGTERM
    double report_interval = 1.0;  // 0 = only the final report
    bool fail_on_late = false;
};

class JackEffect {
public:
    JackEffect(const Options& options, ModelEffect& effect) : options_(options), effect_(effect) {}

    ~JackEffect() {
        if (client_ != nullptr) {
            // Deactivation stops the process callback before the effect goes away.
            jack_deactivate(client_);
            jack_client_close(client_);
        }
    }
    JackEffect(const JackEffect&) = delete;
    JackEffect& operator=(const JackEffect&) = delete;

    /// [setup thread] Opens the client, registers the ports, prepares the effect for the
    /// server's rate and block size, activates and connects. Returns an exit code (0 = ok).
    int start() {
        jack_status_t status{};
        client_ = jack_client_open(options_.name.c_str(), JackNoStartServer, &status);
        if (client_ == nullptr) {
            std::fprintf(stderr,
                         "legato_jack: cannot connect to the JACK server%s%s (status 0x%x); is "
                         "jackd running?\n",
                         std::getenv("JACK_DEFAULT_SERVER") ? " " : "",
                         std::getenv("JACK_DEFAULT_SERVER") ? std::getenv("JACK_DEFAULT_SERVER")
                                                            : "",
                         static_cast<unsigned>(status));
            return exit_jack;
        }
        const std::size_t inputs = std::max<std::size_t>(effect_.handler().input_channels(), 1);
        const std::size_t outputs = std::max<std::size_t>(effect_.handler().output_channels(), 1);
        for (std::size_t c = 0; c < inputs; ++c)
            if (!register_port("in_" + std::to_string(c + 1), JackPortIsInput, inputs_))
                return exit_jack;
        for (std::size_t c = 0; c < outputs; ++c)
            if (!register_port("out_" + std::to_string(c + 1), JackPortIsOutput, outputs_))
                return exit_jack;
        input_buffers_.assign(inputs, nullptr);
        output_buffers_.assign(outputs, nullptr);

        // Prepared for JACK's block size, fixed: JACK always calls with that size, and a fixed
        // size needs the least latency. A buffer-size change re-prepares (see reprepare()).
        sample_rate_ = jack_get_sample_rate(client_);
        const jack_nframes_t block = jack_get_buffer_size(client_);
        effect_.set_mix(options_.mix);
        effect_.prepare(sample_rate_, block, /*variable_block_size=*/false, inputs_.size());
        prepared_block_.store(block, std::memory_order_relaxed);
        wanted_block_.store(block, std::memory_order_relaxed);
        latency_.store(effect_.latency(), std::memory_order_relaxed);
        gate_open_.store(true, std::memory_order_seq_cst);

        jack_set_process_callback(client_, &JackEffect::process_callback, this);
        jack_set_buffer_size_callback(client_, &JackEffect::buffer_size_callback, this);
        jack_set_latency_callback(client_, &JackEffect::latency_callback, this);
        jack_set_xrun_callback(client_, &JackEffect::xrun_callback, this);
        jack_on_shutdown(client_, &JackEffect::shutdown_callback, this);
        if (jack_activate(client_) != 0) {
            std::fprintf(stderr, "legato_jack: cannot activate the JACK client\n");
            return exit_jack;
        }
        if (!connect(options_.connect_inputs, inputs_, /*to_ours=*/true) ||
            !connect(options_.connect_outputs, outputs_, /*to_ours=*/false))
            return exit_jack;
        return 0;
    }

    /// [setup thread] Re-prepares if JACK changed its block size. Returns false on failure.
    bool follow_buffer_size() {
        const jack_nframes_t wanted = wanted_block_.load(std::memory_order_relaxed);
        if (wanted == prepared_block_.load(std::memory_order_relaxed))
            return true;
        return reprepare(wanted);
    }

    const char* client_name() const { return jack_get_client_name(client_); }
    double sample_rate() const { return sample_rate_; }
    jack_nframes_t block_size() const { return prepared_block_.load(std::memory_order_relaxed); }
    bool server_gone() const { return server_gone_.load(std::memory_order_relaxed); }

    struct Timing {
        std::uint64_t cycles = 0;
        std::uint64_t skipped_cycles = 0;  // silence while (re)preparing
        std::uint64_t xruns = 0;
        double max_ms = 0.0;  // since the last call
        double mean_ms = 0.0;
    };
    /// [setup thread] Process-callback timing since the last call (max) and since start (mean).
    Timing take_timing() {
        Timing t;
        t.cycles = cycles_.load(std::memory_order_relaxed);
        t.skipped_cycles = skipped_cycles_.load(std::memory_order_relaxed);
        t.xruns = xruns_.load(std::memory_order_relaxed);
        t.max_ms = static_cast<double>(interval_max_ns_.exchange(0, std::memory_order_relaxed)) / 1e6;
        const std::uint64_t total = total_ns_.load(std::memory_order_relaxed);
        t.mean_ms = t.cycles > 0 ? static_cast<double>(total) / 1e6 / static_cast<double>(t.cycles)
                                 : 0.0;
        return t;
    }
    double overall_max_ms() const {
        return static_cast<double>(overall_max_ns_.load(std::memory_order_relaxed)) / 1e6;
    }

private:
    bool register_port(const std::string& name, unsigned long flags,
                       std::vector<jack_port_t*>& ports) {
        jack_port_t* port =
            jack_port_register(client_, name.c_str(), JACK_DEFAULT_AUDIO_TYPE, flags, 0);
        if (port == nullptr) {
            std::fprintf(stderr, "legato_jack: cannot register port %s\n", name.c_str());
            return false;
        }
        ports.push_back(port);
        return true;
    }

    // The i-th named port connects to our i-th port (sources to inputs, outputs to sinks).
    bool connect(const std::vector<std::string>& names, const std::vector<jack_port_t*>& ours,
                 bool to_ours) {
        if (names.size() > ours.size()) {
            std::fprintf(stderr, "legato_jack: %zu ports given, the model has %zu %s\n",
                         names.size(), ours.size(), to_ours ? "inputs" : "outputs");
            return false;
        }
        for (std::size_t i = 0; i < names.size(); ++i) {
            const char* own = jack_port_name(ours[i]);
            const int result = to_ours ? jack_connect(client_, names[i].c_str(), own)
                                       : jack_connect(client_, own, names[i].c_str());
            if (result != 0 && result != EEXIST) {
                std::fprintf(stderr, "legato_jack: cannot connect %s %s %s (does it exist? see "
                             "jack_lsp)\n", to_ours ? names[i].c_str() : own,
                             "->", to_ours ? own : names[i].c_str());
                return false;
            }
        }
        return true;
    }

    // prepare() must never run concurrently with process(). Instead of deactivating the client
    // (which would drop its connections), the main thread closes a gate and waits until the
    // process callback is outside the effect; the callback meanwhile outputs silence and never
    // waits. Both sides use sequentially consistent operations on two flags (Dekker's pattern):
    // either the callback sees the gate closed, or the main thread sees it inside and waits.
    bool reprepare(jack_nframes_t block) {
        gate_open_.store(false, std::memory_order_seq_cst);
        while (in_effect_.load(std::memory_order_seq_cst))
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        try {
            effect_.prepare(sample_rate_, block, /*variable_block_size=*/false, inputs_.size());
        } catch (const std::exception& error) {
            std::fprintf(stderr, "legato_jack: cannot prepare for %u-frame blocks: %s\n",
                         static_cast<unsigned>(block), error.what());
            return false;
        }
        prepared_block_.store(block, std::memory_order_relaxed);
        latency_.store(effect_.latency(), std::memory_order_relaxed);
        gate_open_.store(true, std::memory_order_seq_cst);
        jack_recompute_total_latencies(client_);  // the latency callback reports the new value
        std::printf("buffer size %u: latency %zu samples\n", static_cast<unsigned>(block),
                    effect_.latency());
        std::fflush(stdout);
        return true;
    }

    // [audio thread] No allocation, lock, logging or waiting: port buffers, the effect, atomics.
    int process(jack_nframes_t frames) noexcept {
        const std::uint64_t start = monotonic_ns();
        for (std::size_t c = 0; c < inputs_.size(); ++c)
            input_buffers_[c] = static_cast<const float*>(jack_port_get_buffer(inputs_[c], frames));
        for (std::size_t c = 0; c < outputs_.size(); ++c)
            output_buffers_[c] = static_cast<float*>(jack_port_get_buffer(outputs_[c], frames));
        in_effect_.store(true, std::memory_order_seq_cst);
        const bool ready = gate_open_.load(std::memory_order_seq_cst) &&
                           frames == prepared_block_.load(std::memory_order_relaxed);
        if (ready)
            effect_.process(input_buffers_.data(), input_buffers_.size(), output_buffers_.data(),
                            output_buffers_.size(), frames);
        in_effect_.store(false, std::memory_order_seq_cst);
        if (!ready) {
            for (float* out : output_buffers_)
                std::fill(out, out + frames, 0.0F);
            // A block size the effect was not prepared for (the buffer-size callback may come
            // late): ask the main thread to re-prepare.
            wanted_block_.store(frames, std::memory_order_relaxed);
            skipped_cycles_.fetch_add(1, std::memory_order_relaxed);
        }
        const std::uint64_t elapsed = monotonic_ns() - start;
        cycles_.fetch_add(1, std::memory_order_relaxed);
        total_ns_.fetch_add(elapsed, std::memory_order_relaxed);
        store_max(interval_max_ns_, elapsed);
        store_max(overall_max_ns_, elapsed);
        return 0;
    }

    // Every input feeds every output (a mono model fills all outputs), so each output's capture
    // latency is the largest upstream one plus ours, and each input's playback latency the
    // largest downstream one plus ours.
    void report_latency(jack_latency_callback_mode_t mode) noexcept {
        const auto own = static_cast<jack_nframes_t>(latency_.load(std::memory_order_relaxed));
        const auto& from = mode == JackCaptureLatency ? inputs_ : outputs_;
        const auto& to = mode == JackCaptureLatency ? outputs_ : inputs_;
        jack_latency_range_t range{std::numeric_limits<jack_nframes_t>::max(), 0};
        for (jack_port_t* port : from) {
            jack_latency_range_t r{};
            jack_port_get_latency_range(port, mode, &r);
            range.min = std::min(range.min, r.min);
            range.max = std::max(range.max, r.max);
        }
        if (from.empty())
            range.min = 0;
        range.min += own;
        range.max += own;
        for (jack_port_t* port : to)
            jack_port_set_latency_range(port, mode, &range);
    }

    static int process_callback(jack_nframes_t frames, void* self) {
        return static_cast<JackEffect*>(self)->process(frames);
    }
    static int buffer_size_callback(jack_nframes_t frames, void* self) {
        static_cast<JackEffect*>(self)->wanted_block_.store(frames, std::memory_order_relaxed);
        return 0;
    }
    static void latency_callback(jack_latency_callback_mode_t mode, void* self) {
        static_cast<JackEffect*>(self)->report_latency(mode);
    }
    static int xrun_callback(void* self) {
        static_cast<JackEffect*>(self)->xruns_.fetch_add(1, std::memory_order_relaxed);
        return 0;
    }
    static void shutdown_callback(void* self) {
        static_cast<JackEffect*>(self)->server_gone_.store(true, std::memory_order_relaxed);
        stop_requested.store(true, std::memory_order_relaxed);
    }

    const Options& options_;
    ModelEffect& effect_;
    jack_client_t* client_ = nullptr;
    double sample_rate_ = 0.0;
    std::vector<jack_port_t*> inputs_, outputs_;
    // Port buffer pointers, sized before activation so that process() never allocates.
    std::vector<const float*> input_buffers_;
    std::vector<float*> output_buffers_;

    std::atomic<bool> gate_open_{false};  // main thread: the effect may be used
    std::atomic<bool> in_effect_{false};  // process callback: inside the effect
    std::atomic<jack_nframes_t> prepared_block_{0};
    std::atomic<jack_nframes_t> wanted_block_{0};
    std::atomic<std::size_t> latency_{0};
    std::atomic<bool> server_gone_{false};

    std::atomic<std::uint64_t> cycles_{0}, skipped_cycles_{0}, xruns_{0};
    std::atomic<std::uint64_t> total_ns_{0}, interval_max_ns_{0}, overall_max_ns_{0};
};

void print_report(const char* label, JackEffect& jack, const legato::Statistics& stats) {
    const JackEffect::Timing t = jack.take_timing();
    const double budget_ms = 1000.0 * jack.block_size() / jack.sample_rate();
    std::printf("%s: cycles %llu, late %llu (dropped %llu, failed %llu), process max %.3f ms "
                "mean %.3f ms of %.3f ms, inference max %.3f ms mean %.3f ms, xruns %llu\n",
                label, static_cast<unsigned long long>(t.cycles),
                static_cast<unsigned long long>(stats.late_inferences),
                static_cast<unsigned long long>(stats.dropped_inferences),
                static_cast<unsigned long long>(stats.failed_inferences), t.max_ms, t.mean_ms,
                budget_ms, stats.max_inference_ms, stats.mean_inference_ms,
                static_cast<unsigned long long>(t.xruns));
    std::fflush(stdout);
}

int run(const Options& options) {
    std::unique_ptr<ModelEffect> effect;
    try {
        effect = std::make_unique<ModelEffect>(options.config);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "legato_jack: %s\n", error.what());
        return exit_usage;
    }
    if (!options.engine.empty() && !effect->set_engine(options.engine)) {
        std::string names;
        for (const auto& name : effect->config().engine_names())
            names += (names.empty() ? "" : ", ") + name;
        std::fprintf(stderr, "legato_jack: --engine %s: not in %s (available here: %s)\n",
                     options.engine.c_str(), options.config.c_str(), names.c_str());
        return exit_usage;
    }

    JackEffect jack(options, *effect);
    int status = 0;
    try {
        status = jack.start();
    } catch (const std::exception& error) {  // prepare(): model loading, warm-up
        std::fprintf(stderr, "legato_jack: %s\n", error.what());
        return exit_usage;
    }
    if (status != 0)
        return status;
    const double latency_ms = 1000.0 * static_cast<double>(effect->latency()) / jack.sample_rate();
    std::printf("client: %s\n", jack.client_name());
    std::printf("engine: %s\n", effect->handler().engine_name(effect->handler().engine()).c_str());
    std::printf("latency: %zu samples (%.3f ms) at %.0f Hz, %u-frame blocks\n", effect->latency(),
                latency_ms, jack.sample_rate(), static_cast<unsigned>(jack.block_size()));
    std::printf("ready\n");
    std::fflush(stdout);

    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    auto next_report = started + std::chrono::duration<double>(options.report_interval);
    while (!stop_requested.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!jack.follow_buffer_size())
            return exit_jack;
        const auto now = clock::now();
        if (options.seconds > 0 && now - started >= std::chrono::duration<double>(options.seconds))
            break;
        if (options.report_interval > 0 && now >= next_report) {
            print_report("stats", jack, effect->statistics());
            next_report += std::chrono::duration<double>(options.report_interval);
        }
    }
    if (jack.server_gone()) {
        std::fprintf(stderr, "legato_jack: the JACK server shut down\n");
        return exit_jack;
    }
    const legato::Statistics stats = effect->statistics();
    print_report("final", jack, stats);
    std::printf("final: late_inferences=%llu failed_inferences=%llu process_max_ms=%.3f\n",
                static_cast<unsigned long long>(stats.late_inferences),
                static_cast<unsigned long long>(stats.failed_inferences), jack.overall_max_ms());
    std::fflush(stdout);
    if (options.fail_on_late && stats.late_inferences + stats.failed_inferences > 0) {
        std::fprintf(stderr, "legato_jack: %llu late and %llu failed inferences (--fail-on-late)\n",
                     static_cast<unsigned long long>(stats.late_inferences),
                     static_cast<unsigned long long>(stats.failed_inferences));
        return exit_late;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Runs a Legato model config as a live JACK client (docs/integration.md)"};
    Options options;
    app.add_option("config", options.config, "Model config (JSON)")->required();
    app.add_option("--name", options.name, "JACK client name")->capture_default_str();
    app.add_option("--engine", options.engine, "Engine to run (default: the config's first)");
    app.add_option("--mix", options.mix, "Dry/wet: 0 = input delayed by the latency, 1 = model")
        ->check(CLI::Range(0.0F, 1.0F))
        ->capture_default_str();
    app.add_option("--connect-inputs", options.connect_inputs,
                   "Ports to connect to in_1, in_2, ... (comma-separated)")
        ->delimiter(',');
    app.add_option("--connect-outputs", options.connect_outputs,
                   "Ports to connect out_1, out_2, ... to (comma-separated)")
        ->delimiter(',');
    app.add_option("--seconds", options.seconds, "Run this long, then exit (0: until Ctrl-C)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--report-interval", options.report_interval,
                   "Seconds between statistics lines (0: only at exit)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_flag("--fail-on-late", options.fail_on_late,
                 "Exit with status 3 if any inference was late or failed");
    CLI11_PARSE(app, argc, argv);

    struct sigaction action{};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    return run(options);
}
