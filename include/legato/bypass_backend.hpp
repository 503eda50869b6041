#pragma once
// The bypass backend: identity at the audio level, no model. For tests and for measuring
// Legato's own overhead.

#include <memory>

#include "legato/backend.hpp"

namespace legato {

/// [setup thread] A backend named "bypass" whose audio output k is the current hop of audio
/// input k (input 0 if there is no input k); output channel c takes input channel c modulo the
/// input's channel count. Parameter and state outputs are zero.
std::shared_ptr<Backend> make_bypass_backend();

}  // namespace legato
