#pragma once
// The TensorFlow Lite engine (built when LEGATO_HAS_TFLITE is 1).

#include <memory>

#include "legato/backend.hpp"

namespace legato {

struct TFLiteOptions {
    /// Threads the interpreter may use inside one inference.
    int threads = 1;
};

/// [setup thread] A backend named "tflite" running .tflite models from a file or bytes with the
/// TensorFlow Lite C API: inputs resized to the configured shapes, variable tensors (recurrent
/// state) kept between runs of a stateful handler and reset otherwise. A model this runtime
/// cannot register (newer operator versions) is refused with an error that says so.
std::shared_ptr<Backend> make_tflite_backend(const TFLiteOptions& options = {});

}  // namespace legato
