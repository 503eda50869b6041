#pragma once
// The LibTorch engine (built when LEGATO_HAS_LIBTORCH is 1).

#include <memory>

#include "legato/backend.hpp"

namespace legato {

struct LibTorchOptions {
    /// Threads LibTorch may use inside one inference (intra- and inter-op; process-wide).
    int threads = 1;
};

/// [setup thread] A backend named "libtorch" running TorchScript models from a file or bytes:
/// evaluation mode, inference mode, the entry point named by EngineModel::entry_point
/// (default "forward"), outputs returned as a tensor, a tuple or a list and matched by
/// position. Models that keep state inside the module are reset by reloading it.
std::shared_ptr<Backend> make_libtorch_backend(const LibTorchOptions& options = {});

}  // namespace legato
