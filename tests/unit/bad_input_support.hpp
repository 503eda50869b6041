#pragma once
// Helpers shared by the bad-input tests (config and host validation, prepare() errors, process()
// edge cases, extreme hosts, the any-thread API): error-message checks, config builders, and a
// host driver with explicit buffers and pointer arrays.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "stream_support.hpp"

namespace legato::test {

// Keeps the process-wide pool alive across the tests of a program instead of restarting its
// threads per handler.
inline const std::shared_ptr<Context> shared_context = Context::shared();

inline constexpr std::size_t kHop = 64;
inline constexpr std::size_t kPast = 16;
inline constexpr float kSentinel = 42.0f;  // marks host output samples the handler never wrote
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// Runs `action` and returns the legato::Error message; records a failure if it does not throw
// exactly legato::Error.
inline std::string error_message(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "threw a non-legato exception: " << e.what();
        return {};
    } catch (...) {
        ADD_FAILURE() << "threw a non-std exception";
        return {};
    }
    ADD_FAILURE() << "did not throw";
    return {};
}

inline ::testing::AssertionResult contains_all(const std::string& message,
                                               const std::vector<std::string>& parts) {
    for (const auto& part : parts)
        if (message.find(part) == std::string::npos)
            return ::testing::AssertionFailure()
                   << "message \"" << message << "\" lacks \"" << part << "\"";
    return ::testing::AssertionSuccess();
}

inline TensorSpec fixed_spec(std::string name, TensorRole role, std::vector<std::int64_t> shape) {
    TensorSpec spec;
    spec.name = std::move(name);
    spec.role = role;
    spec.shape = std::move(shape);
    return spec;
}

// A valid config: audio_in [1, 1, -1] (hop 64, past 16) -> audio_out [1, 1, -1] on bypass.
inline InferenceConfig base_config() {
    return make_config(make_bypass_backend(), kHop, kPast, 1, half_hop_ms(kHop));
}

// Host driver for process() tests: explicit host buffers and pointer arrays.
class HostDriver {
public:
    HostDriver(InferenceHandler& handler, std::size_t input_channels, std::size_t output_channels,
               std::size_t total)
        : input(input_channels, std::vector<float>(total, 0.0f)),
          output(output_channels, std::vector<float>(total, kSentinel)),
          handler_(handler),
          in_pointers_(input_channels),
          out_pointers_(output_channels) {}

    /// Processes the next `frames` frames; channels listed in null_in / null_out are passed as
    /// null pointers, and null_*_array passes a null pointer array instead.
    void call(std::size_t frames, const std::vector<std::size_t>& null_in = {},
              const std::vector<std::size_t>& null_out = {}, bool null_in_array = false,
              bool null_out_array = false) {
        for (std::size_t c = 0; c < input.size(); ++c)
            in_pointers_[c] = contains(null_in, c) ? nullptr : input[c].data() + position;
        for (std::size_t c = 0; c < output.size(); ++c)
            out_pointers_[c] = contains(null_out, c) ? nullptr : output[c].data() + position;
        handler_.process(null_in_array ? nullptr : in_pointers_.data(), input.size(),
                         null_out_array ? nullptr : out_pointers_.data(), output.size(), frames);
        position += frames;
    }

    /// Calls with `blocks` (cycled) until `total` frames are processed; returns the calls made.
    std::size_t run(const std::vector<std::size_t>& blocks, std::size_t total,
                    const std::vector<std::size_t>& null_in = {},
                    const std::vector<std::size_t>& null_out = {}) {
        std::size_t calls = 0;
        for (; position < total; ++calls)
            call(std::min(blocks[calls % blocks.size()], total - position), null_in, null_out);
        return calls;
    }

    Signal input;
    Signal output;
    std::size_t position = 0;

private:
    static bool contains(const std::vector<std::size_t>& list, std::size_t value) {
        return std::find(list.begin(), list.end(), value) != list.end();
    }
    InferenceHandler& handler_;
    std::vector<const float*> in_pointers_;
    std::vector<float*> out_pointers_;
};

inline constexpr std::size_t kFrames = 1500;  // input frames compared against the reference

// Frames to stream so that all kFrames input frames come out.
inline std::size_t total_frames(const InferenceHandler& handler) {
    return kFrames + handler.latency() + 2 * kHop;
}

// Host input: noise for the first kFrames frames (or the whole buffer if shorter), then silence.
inline void fill_input(HostDriver& driver, std::uint32_t seed = 3) {
    const std::size_t frames = std::min(kFrames, driver.input.empty() ? 0 : driver.input[0].size());
    const Signal noise = make_signal(driver.input.size(), frames, seed);
    for (std::size_t c = 0; c < driver.input.size(); ++c)
        std::copy(noise[c].begin(), noise[c].end(), driver.input[c].begin());
}

// The window model's output for the given channels of `input`.
inline Signal reference_of(const Signal& input) {
    return window_model_reference(input, kHop, kPast);
}

inline Signal pick(const Signal& signal, const std::vector<std::size_t>& channels) {
    Signal picked;
    for (const std::size_t c : channels)
        picked.push_back(signal[c]);
    return picked;
}

}  // namespace legato::test
