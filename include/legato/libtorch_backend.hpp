#pragma once
// The LibTorch engine (built when LEGATO_HAS_LIBTORCH is 1).

#include <memory>

#include "legato/backend.hpp"

namespace legato {

struct LibTorchOptions {
    /// Threads LibTorch may use inside one inference (intra-op; inter-op is fixed at 1). These
    /// are process-wide: the first LibTorch backend created in the process sets them.
    int threads = 1;
};

/// [setup thread] A backend named "libtorch" running TorchScript models from a file or bytes:
/// evaluation mode, inference mode, the entry point named by EngineModel::entry_point
/// (default "forward"), outputs returned as a tensor, a tuple or a list and matched by
/// position. State a module keeps in its attributes (buffers, tensors, values) is restored in
/// place to its loaded values on reset, and before every run of a stateless handler.
std::shared_ptr<Backend> make_libtorch_backend(const LibTorchOptions& options = {});

}  // namespace legato
