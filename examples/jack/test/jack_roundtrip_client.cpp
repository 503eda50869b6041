// Test client for legato_jack on a running JACK server: plays a known signal into
// TARGET:in_1 and records TARGET:out_1, then checks that
//  - JACK reports TARGET's latency (capture range of out_1, playback range of in_1) as exactly
//    the latency legato_jack printed (--expect-latency),
//  - the recording is the model's reference output delayed by that latency (max abs error
//    within --tolerance).
// Player and recorder are two clients, so the graph is player -> TARGET -> recorder with no
// loop: all three run in the same cycle, and both use that cycle's frame time
// (jack_last_frame_time) as the common clock. Exit status 0 = pass, 1 = mismatch, 2 = setup.
//
// An xrun during the recording (the dummy server without real-time scheduling gets starved on a
// loaded machine) skips cycles and breaks the alignment; such a recording is inconclusive and is
// made again, up to --attempts times. A mismatch without an xrun fails at once.

#include <jack/jack.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "npy.hpp"

namespace {

struct Shared {
    std::vector<float> signal;    // what the player plays from its start frame on
    std::vector<float> recorded;  // output frames from the start frame on
    std::atomic<bool> armed{false};
    std::atomic<std::int64_t> start_frame{-1};
    std::atomic<std::size_t> recorded_frames{0};
    std::atomic<unsigned> xruns{0};
    jack_port_t* player_port = nullptr;
    jack_port_t* recorder_port = nullptr;
    jack_client_t* player = nullptr;
    jack_client_t* recorder = nullptr;
};

// [audio thread]
int play(jack_nframes_t frames, void* arg) {
    auto& s = *static_cast<Shared*>(arg);
    auto* out = static_cast<float*>(jack_port_get_buffer(s.player_port, frames));
    std::fill(out, out + frames, 0.0F);
    if (!s.armed.load(std::memory_order_acquire))
        return 0;
    const auto now = static_cast<std::int64_t>(jack_last_frame_time(s.player));
    std::int64_t start = s.start_frame.load(std::memory_order_relaxed);
    if (start < 0) {
        start = now;
        s.start_frame.store(start, std::memory_order_release);
    }
    for (jack_nframes_t i = 0; i < frames; ++i) {
        const std::int64_t index = now - start + i;
        if (index >= 0 && index < static_cast<std::int64_t>(s.signal.size()))
            out[i] = s.signal[static_cast<std::size_t>(index)];
    }
    return 0;
}

// [audio thread]
int record(jack_nframes_t frames, void* arg) {
    auto& s = *static_cast<Shared*>(arg);
    const std::int64_t start = s.start_frame.load(std::memory_order_acquire);
    if (start < 0)
        return 0;
    const auto* in = static_cast<const float*>(jack_port_get_buffer(s.recorder_port, frames));
    const auto now = static_cast<std::int64_t>(jack_last_frame_time(s.recorder));
    std::size_t last = s.recorded_frames.load(std::memory_order_relaxed);
    for (jack_nframes_t i = 0; i < frames; ++i) {
        const std::int64_t index = now - start + i;
        if (index >= 0 && index < static_cast<std::int64_t>(s.recorded.size())) {
            s.recorded[static_cast<std::size_t>(index)] = in[i];
            last = std::max(last, static_cast<std::size_t>(index) + 1);
        }
    }
    s.recorded_frames.store(last, std::memory_order_release);
    return 0;
}

int count_xrun(void* arg) {
    static_cast<Shared*>(arg)->xruns.fetch_add(1, std::memory_order_relaxed);
    return 0;
}

jack_client_t* open_client(const std::string& name) {
    jack_status_t status{};
    jack_client_t* client = jack_client_open(name.c_str(), JackNoStartServer, &status);
    if (client == nullptr)
        std::fprintf(stderr, "cannot open JACK client %s (status 0x%x)\n", name.c_str(),
                     static_cast<unsigned>(status));
    return client;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Plays a signal through a JACK client and checks its output and latency"};
    std::string target, input_file, reference_file;
    std::size_t expected_latency = 0;
    float tolerance = 1e-5F;
    double timeout = 30.0;
    int attempts = 3;
    app.add_option("--target", target, "Client under test (ports in_1, out_1)")->required();
    app.add_option("--input", input_file, "Signal (.npy, first row)")->required();
    app.add_option("--reference", reference_file, "Expected output, undelayed (.npy, first row)")
        ->required();
    app.add_option("--expect-latency", expected_latency, "The latency the target printed")
        ->required();
    app.add_option("--tolerance", tolerance, "Max abs error")->capture_default_str();
    app.add_option("--timeout", timeout, "Seconds to wait for the recording")->capture_default_str();
    app.add_option("--attempts", attempts, "Recordings to make while xruns spoil them")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    Shared shared;
    std::vector<float> reference;
    try {
        const auto input = legato::test::read_npy(input_file);
        const auto expected = legato::test::read_npy(reference_file);
        shared.signal.assign(input.data.begin(),
                             input.data.begin() + static_cast<std::ptrdiff_t>(input.shape.back()));
        reference.assign(expected.data.begin(),
                         expected.data.begin() + static_cast<std::ptrdiff_t>(expected.shape.back()));
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 2;
    }
    // Room for the reference delayed by the latency.
    shared.recorded.assign(reference.size() + expected_latency, 0.0F);

    shared.player = open_client(target + "_player");
    shared.recorder = open_client(target + "_recorder");
    if (shared.player == nullptr || shared.recorder == nullptr)
        return 2;
    shared.player_port = jack_port_register(shared.player, "out", JACK_DEFAULT_AUDIO_TYPE,
                                            JackPortIsOutput, 0);
    shared.recorder_port = jack_port_register(shared.recorder, "in", JACK_DEFAULT_AUDIO_TYPE,
                                              JackPortIsInput, 0);
    if (shared.player_port == nullptr || shared.recorder_port == nullptr) {
        std::fprintf(stderr, "cannot register ports\n");
        return 2;
    }
    jack_set_process_callback(shared.player, play, &shared);
    jack_set_process_callback(shared.recorder, record, &shared);
    jack_set_xrun_callback(shared.recorder, count_xrun, &shared);
    if (jack_activate(shared.player) != 0 || jack_activate(shared.recorder) != 0) {
        std::fprintf(stderr, "cannot activate the test clients\n");
        return 2;
    }
    const std::string target_in = target + ":in_1";
    const std::string target_out = target + ":out_1";
    if (jack_connect(shared.player, jack_port_name(shared.player_port), target_in.c_str()) != 0 ||
        jack_connect(shared.recorder, target_out.c_str(), jack_port_name(shared.recorder_port)) !=
            0) {
        std::fprintf(stderr, "cannot connect to %s / %s\n", target_in.c_str(), target_out.c_str());
        return 2;
    }
    // Let the connections and the latency recomputation settle.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));

    int failures = 0;
    jack_port_t* out_port = jack_port_by_name(shared.recorder, target_out.c_str());
    jack_port_t* in_port = jack_port_by_name(shared.recorder, target_in.c_str());
    jack_latency_range_t capture{}, playback{};
    jack_port_get_latency_range(out_port, JackCaptureLatency, &capture);
    jack_port_get_latency_range(in_port, JackPlaybackLatency, &playback);
    std::printf("JACK latency: %s capture [%u, %u], %s playback [%u, %u]; expected %zu\n",
                target_out.c_str(), capture.min, capture.max, target_in.c_str(), playback.min,
                playback.max, expected_latency);
    if (capture.min != expected_latency || capture.max != expected_latency ||
        playback.min != expected_latency || playback.max != expected_latency) {
        std::fprintf(stderr, "FAIL: JACK's latency ranges differ from the model's latency\n");
        ++failures;
    }

    float max_error = INFINITY;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
        // Between recordings: silence long enough to flush the model's past context, then a
        // fresh start frame.
        shared.armed.store(false, std::memory_order_release);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        shared.start_frame.store(-1, std::memory_order_release);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::fill(shared.recorded.begin(), shared.recorded.end(), 0.0F);
        shared.recorded_frames.store(0, std::memory_order_release);
        const unsigned xruns_before = shared.xruns.load();
        shared.armed.store(true, std::memory_order_release);

        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
        while (shared.recorded_frames.load(std::memory_order_acquire) < shared.recorded.size() &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        shared.armed.store(false, std::memory_order_release);
        const std::size_t got = shared.recorded_frames.load(std::memory_order_acquire);
        if (got < shared.recorded.size()) {
            std::fprintf(stderr, "FAIL: recorded %zu of %zu frames in %.0f s\n", got,
                         shared.recorded.size(), timeout);
            ++failures;
            break;
        }
        max_error = 0.0F;
        std::size_t worst = 0;
        for (std::size_t i = 0; i < reference.size(); ++i) {
            const float error = std::abs(shared.recorded[expected_latency + i] - reference[i]);
            if (!(error <= max_error)) {  // NaN counts as worst
                max_error = error;
                worst = i;
            }
        }
        const unsigned xruns = shared.xruns.load() - xruns_before;
        std::printf("recording %d: output vs reference delayed by %zu: max abs error %.3g "
                    "(sample %zu), %u xrun(s)\n",
                    attempt, expected_latency, static_cast<double>(max_error), worst, xruns);
        std::fflush(stdout);
        if (max_error <= tolerance)
            break;
        if (xruns == 0 || attempt == attempts) {
            std::fprintf(stderr, "FAIL: max abs error %.3g > %.3g\n",
                         static_cast<double>(max_error), static_cast<double>(tolerance));
            ++failures;
            break;
        }
        std::printf("inconclusive: xruns skipped cycles during the recording; recording again\n");
    }
    jack_deactivate(shared.recorder);
    jack_deactivate(shared.player);
    jack_client_close(shared.recorder);
    jack_client_close(shared.player);
    return failures == 0 ? 0 : 1;
}
