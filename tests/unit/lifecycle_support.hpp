#pragma once
// Helpers shared by the life-cycle tests (concurrent life cycle, reset() and set_engine() while
// streaming, prepare() again, destruction while running): call-by-call streaming, checks of
// restarted streams, and a stateful and a two-engine test model.
//
// Exactness checks run in offline rendering mode (process() waits for every result), so they
// hold however the threads are scheduled. Real-time mode is used where the point is that
// nothing blocks; there every frame must be either exact or a counted substitution.

#include <chrono>
#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "stream_support.hpp"

namespace legato::test {

using Clock = std::chrono::steady_clock;
using Reference = std::function<Signal(const Signal&)>;

inline Signal padded(const Signal& input, std::size_t total) {
    Signal out = input;
    for (auto& channel : out)
        channel.resize(total, 0.0f);
    return out;
}

inline Signal slice(const Signal& signal, std::size_t begin, std::size_t end) {
    Signal out;
    for (const auto& channel : signal)
        out.emplace_back(channel.begin() + static_cast<std::ptrdiff_t>(begin),
                         channel.begin() + static_cast<std::ptrdiff_t>(end));
    return out;
}

// One process() call for input[position, position + frames), written to the same range of
// `output` (both [channel][frame] and of equal size).
inline void process_at(InferenceHandler& handler, const Signal& input, Signal& output,
                       std::size_t position, std::size_t frames) {
    std::vector<const float*> in;
    std::vector<float*> out;
    for (std::size_t c = 0; c < input.size(); ++c) {
        in.push_back(input[c].data() + position);
        out.push_back(output[c].data() + position);
    }
    handler.process(in.data(), in.size(), out.data(), out.size(), frames);
}

inline void negated_window_model(std::span<const TensorView> inputs,
                                 std::span<const TensorView> outputs) {
    window_model(inputs, outputs);
    for (float& value : outputs[0].data)
        value = -value;
}

// Samples of output[begin, end) that differ from a stream that (re)started at `begin`: silence
// for the first `latency` samples, then the reference of input[begin, end) delayed by latency.
inline std::size_t segment_mismatches(const Signal& input, const Signal& output, std::size_t begin,
                                      std::size_t end, std::size_t latency,
                                      const Reference& reference) {
    const Signal expected = reference(slice(input, begin, end));
    std::size_t mismatches = 0;
    for (std::size_t c = 0; c < input.size(); ++c)
        for (std::size_t n = 0; n < end - begin; ++n)
            if (output[c][begin + n] != (n < latency ? 0.0f : expected[c][n - latency]))
                ++mismatches;
    return mismatches;
}

// A stateful model with explicit state (h_in -> h_out counts hops) and internal state (its
// function counts its own runs; reset_state() starts it afresh): y = 0.5 x + h + 0.25 runs.
inline InferenceConfig counter_config(std::size_t hop) {
    CustomInstanceFactory factory = [](const InstanceSetup&) -> CustomFunction {
        return
            [runs = 0.0f](std::span<const TensorView> in, std::span<const TensorView> out) mutable {
                const float h = in[1].data[0];
                for (std::size_t t = 0; t < out[0].data.size(); ++t)
                    out[0].data[t] = 0.5f * in[0].data[t] + h + 0.25f * runs;
                out[1].data[0] = h + 1.0f;
                runs += 1.0f;
            };
    };
    InferenceConfig config =
        make_config(make_custom_backend("counter", factory), hop, 0, 1, half_hop_ms(hop));
    add_state_pair(config, "h_in", {1});
    return config;
}

// The counter model over a fresh stream: hop j sees h = j and runs = j.
inline Reference counter_reference(std::size_t hop) {
    return [hop](const Signal& in) {
        Signal out(in.size(), std::vector<float>(in[0].size(), 0.0f));
        for (std::size_t j = 0; (j + 1) * hop <= in[0].size(); ++j) {
            const float h = static_cast<float>(j);
            const float runs = static_cast<float>(j);
            for (std::size_t t = 0; t < hop; ++t)
                out[0][j * hop + t] = 0.5f * in[0][j * hop + t] + h + 0.25f * runs;
        }
        return out;
    };
}

// Two engines: "a" runs the window model, "b" its negation.

inline InferenceConfig two_engine_config(std::size_t hop, std::size_t past, std::size_t channels) {
    InferenceConfig config =
        make_config(make_custom_backend("a", window_model), hop, past, channels, half_hop_ms(hop));
    config.engines.push_back({make_custom_backend("b", negated_window_model), {}, {}, {}, {}});
    return config;
}

// Which engine computed each output hop: +1 = a (the reference), -1 = b (its negation), 0 =
// neither (mixed or wrong). Hops are the full hops of output [latency, total).
inline std::vector<int> classify_engine_hops(const Signal& output, const Signal& reference,
                                             std::size_t latency, std::size_t hop) {
    std::vector<int> kinds;
    for (std::size_t j = 0; (j + 1) * hop + latency <= output[0].size(); ++j) {
        bool a = true, b = true;
        for (std::size_t c = 0; c < output.size(); ++c) {
            for (std::size_t t = 0; t < hop; ++t) {
                const float y = output[c][j * hop + t + latency];
                const float r = reference[c][j * hop + t];
                a = a && y == r;
                b = b && y == -r;
            }
        }
        kinds.push_back(a && b ? 2 : a ? 1 : b ? -1 : 0);  // 2: reference silent, either
    }
    return kinds;
}

}  // namespace legato::test
