#pragma once
// A backend made from a callable: the quickest way to plug in an own engine or DSP code.

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "legato/backend.hpp"

namespace legato {

/// Computes output tensors from input tensors. Runs on worker threads; with
/// parallel_instances > 1 it is called concurrently, so it must be thread-safe.
using CustomFunction =
    std::function<void(std::span<const TensorView> inputs, std::span<const TensorView> outputs)>;

/// Creates the per-instance function; lets each instance keep its own state (called on the
/// setup thread, once per instance). Throwing legato::Error rejects the setup.
using CustomInstanceFactory = std::function<CustomFunction(const InstanceSetup& setup)>;

/// [setup thread] A backend called `name` that runs `function` for every inference.
std::shared_ptr<Backend> make_custom_backend(std::string name, CustomFunction function);

/// [setup thread] A backend called `name` whose instances each run their own function made by
/// `factory`. Resetting an instance's state (reset(), engine switches) calls the factory again
/// on the worker thread, so state kept in the function's captures starts afresh.
std::shared_ptr<Backend> make_custom_backend(std::string name, CustomInstanceFactory factory);

}  // namespace legato
