#pragma once
// What the native engine's fuzz targets do with a model that loaded: stream, reset, stream, as
// an inline handler would. Bounded work per input: very wide models are legal, just slow.

#include <vector>

#include "engines/native/stream_model.hpp"

namespace legato::fuzz {

/// [fuzz] Runs 64 frames, resets, runs one more.
inline void exercise(native::StreamModel& model) {
    if (model.input_size() > 64 || model.output_size() > 64)
        return;
    std::vector<float> in(64 * model.input_size(), 0.25f);
    std::vector<float> out(64 * model.output_size());
    model.process(in.data(), out.data(), 64);
    model.reset();
    model.process(in.data(), out.data(), 1);
}

}  // namespace legato::fuzz
