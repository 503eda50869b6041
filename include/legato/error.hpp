#pragma once
// legato::Error: the one exception type Legato throws, only ever from setup-thread calls.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace legato {

/// Thrown by setup-thread functions (config validation, prepare(), model loading) with a
/// message that names the offending field, file or tensor, what is wrong and what was
/// expected. Never thrown on the audio thread or escaping a worker thread.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// The config does not fit the model or the host: a tensor name, shape, rank or data type the
/// model does not have, a window shorter than the model needs (`past_context`), a maximum
/// inference time that cannot keep up with the hop. The fix is in the config, not the model;
/// the message names the field, the value given and the value needed. (The `legato` tool exits
/// with 3 for these, 4 for an engine that cannot load or run the model.)
class ConfigError : public Error {
public:
    using Error::Error;
};

/// Thrown by an engine's ModelInstance::run() when the model returned an output of another
/// shape than the config declares (it depends on the input length, so the engine cannot see it
/// before a run). Legato's warm-up catches it and explains it in the config's terms (e.g. the
/// past context the model needs).
class OutputShapeError : public ConfigError {
public:
    /// `output_index`: position in InferenceConfig::outputs (= InstanceSetup::outputs).
    OutputShapeError(const std::string& message, std::size_t output_index,
                     std::vector<std::int64_t> actual, std::vector<std::int64_t> expected)
        : ConfigError(message),
          output_index_(output_index),
          actual_(std::move(actual)),
          expected_(std::move(expected)) {}

    std::size_t output_index() const noexcept { return output_index_; }
    /// The shape the model returned.
    const std::vector<std::int64_t>& actual() const noexcept { return actual_; }
    /// The shape the config declares, resolved for the hop.
    const std::vector<std::int64_t>& expected() const noexcept { return expected_; }

private:
    std::size_t output_index_;
    std::vector<std::int64_t> actual_;
    std::vector<std::int64_t> expected_;
};

/// The config's window is shorter than the model needs: an audio output came out shorter than
/// the hop by the receptive field the past context does not cover (prepare(), from the warm-up
/// run). Carries the numbers, so tools can fix the config.
class PastContextError : public ConfigError {
public:
    PastContextError(const std::string& message, std::size_t input_index, std::size_t given,
                     std::size_t needed)
        : ConfigError(message), input_index_(input_index), given_(given), needed_(needed) {}

    /// Position of the audio input in InferenceConfig::inputs.
    std::size_t input_index() const noexcept { return input_index_; }
    /// TensorSpec::past_context given, and the value the model needs.
    std::size_t given() const noexcept { return given_; }
    std::size_t needed() const noexcept { return needed_; }

private:
    std::size_t input_index_;
    std::size_t given_;
    std::size_t needed_;
};

}  // namespace legato
