#pragma once
// One engine of a handler, loaded: the engine-resolved tensor specs and parallel_instances
// model instances, each bound once to its own tensor buffers.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "legato/inference_config.hpp"
#include "legato/nonblocking.hpp"

namespace legato::core {

/// A model instance and the tensors bound to it. Used by one worker at a time.
struct ModelRun {
    std::size_t index = 0;
    std::vector<float> storage;  // every tensor of this instance, back to back
    std::vector<TensorView> inputs;
    std::vector<TensorView> outputs;
    std::unique_ptr<ModelInstance> model;
    std::uint64_t generation = 0;  // reset generation whose state the model holds (worker-owned)
};

class EngineRuntime {
public:
    /// [setup thread] Resolves engine `engine_index`'s tensors and creates the instances.
    /// Throws legato::Error prefixed with the engine's position and name.
    EngineRuntime(const InferenceConfig& config, std::size_t engine_index);
    EngineRuntime(const EngineRuntime&) = delete;
    EngineRuntime& operator=(const EngineRuntime&) = delete;

    const std::string& name() const noexcept { return name_; }
    std::size_t instance_count() const noexcept { return runs_.size(); }
    ModelRun& instance(std::size_t i) noexcept { return *runs_[i]; }

    /// [worker thread] Takes a free instance; lock-free. Returns null only if all are busy,
    /// which the caller's run permits rule out.
    ModelRun* acquire() noexcept LEGATO_NONBLOCKING;
    /// [worker thread] Returns an instance taken with acquire(). Wait-free.
    void release(ModelRun* run) noexcept LEGATO_NONBLOCKING;

private:
    std::string name_;
    std::vector<TensorSpec> inputs_;  // engine-resolved; TensorViews point here
    std::vector<TensorSpec> outputs_;
    std::vector<std::unique_ptr<ModelRun>> runs_;
    std::atomic<std::uint64_t> free_mask_{0};
};

/// Which state output feeds which state input (indices into the config's lists).
struct StateLink {
    std::size_t input = 0;
    std::size_t output = 0;
};

}  // namespace legato::core
