#pragma once
// The native engine: Legato's own engine for the small recurrent and convolutional models audio
// software ships (LSTM, GRU, Conv1D, NAM WaveNets), loading RTNeural JSON and NAM (.nam) files.
// It is always built. docs/engines.md "native".

#include <memory>

#include "legato/backend.hpp"

namespace legato {

/// [setup thread] The "native" engine. Its instances stream: recurrent and convolution state
/// carries from one run to the next (a handler running it should be "stateful"; a stateless
/// one resets the state before every run). Tensors: one audio input and one audio output,
/// [1, 1, hop] or [1, hop, features] (frames along the longer axis).
std::shared_ptr<Backend> make_native_backend();

}  // namespace legato
