#pragma once
// The ONNX Runtime engine (built when LEGATO_HAS_ONNXRUNTIME is 1).

#include <memory>

#include "legato/backend.hpp"

namespace legato {

struct OnnxRuntimeOptions {
    /// Threads ONNX Runtime may use inside one inference. 1 keeps each inference on the worker
    /// that runs it, which is what a shared real-time pool wants.
    int intra_op_threads = 1;
};

/// [setup thread] A backend named "onnxruntime" running .onnx models from a file or bytes:
/// sequential execution, full graph optimisation, inputs and outputs bound once to Legato's
/// buffers, tensors matched by name.
std::shared_ptr<Backend> make_onnxruntime_backend(const OnnxRuntimeOptions& options = {});

}  // namespace legato
