#pragma once
// legato::Error: the one exception type Legato throws, only ever from setup-thread calls.

#include <stdexcept>
#include <string>

namespace legato {

/// Thrown by setup-thread functions (config validation, prepare(), model loading) with a
/// message that names the offending field, file or tensor, what is wrong and what was
/// expected. Never thrown on the audio thread or escaping a worker thread.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace legato
