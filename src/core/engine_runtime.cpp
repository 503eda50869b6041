#include "core/engine_runtime.hpp"

#include <bit>

#include "core/tensor_rules.hpp"
#include "legato/error.hpp"

namespace legato::core {

EngineRuntime::EngineRuntime(const InferenceConfig& config, std::size_t engine_index) {
    const EngineModel& engine = config.engines[engine_index];
    name_ = engine.backend->name();
    const std::string path = "engines[" + std::to_string(engine_index) + "]";
    for (std::size_t i = 0; i < config.inputs.size(); ++i)
        inputs_.push_back(
            resolve_tensor(config.inputs[i], engine.inputs.empty() ? nullptr : &engine.inputs[i],
                           Direction::input, path + ".inputs[" + std::to_string(i) + "]"));
    for (std::size_t i = 0; i < config.outputs.size(); ++i)
        outputs_.push_back(
            resolve_tensor(config.outputs[i], engine.outputs.empty() ? nullptr : &engine.outputs[i],
                           Direction::output, path + ".outputs[" + std::to_string(i) + "]"));

    for (std::size_t k = 0; k < config.parallel_instances; ++k) {
        auto run = std::make_unique<ModelRun>();
        run->index = k;
        std::size_t total = 0;
        for (const auto& spec : inputs_)
            total += element_count(spec.shape);
        for (const auto& spec : outputs_)
            total += element_count(spec.shape);
        run->storage.assign(total, 0.0f);
        std::size_t offset = 0;
        auto bind = [&](const std::vector<TensorSpec>& specs, std::vector<TensorView>& views) {
            for (const auto& spec : specs) {
                const std::size_t count = element_count(spec.shape);
                views.push_back({&spec, std::span<float>(run->storage.data() + offset, count)});
                offset += count;
            }
        };
        bind(inputs_, run->inputs);
        bind(outputs_, run->outputs);
        const InstanceSetup setup{engine.model,   engine.entry_point, run->inputs, run->outputs, k,
                                  config.stateful};
        try {
            run->model = engine.backend->create_instance(setup);
        } catch (const OutputShapeError&) {  // explained by the handler, which names the engine
            throw;
        } catch (const ConfigError& e) {  // the config does not fit the model: keep the kind
            throw ConfigError(
                path + " (" + name_ + ", model " +
                (engine.model.empty() ? std::string("none") : engine.model.describe()) +
                "): " + e.what());
        } catch (const std::exception& e) {
            throw Error(path + " (" + name_ + ", model " +
                        (engine.model.empty() ? std::string("none") : engine.model.describe()) +
                        "): " + e.what());
        } catch (...) {  // a user's backend may throw anything; never let it escape
            throw Error(path + " (" + name_ + ", model " +
                        (engine.model.empty() ? std::string("none") : engine.model.describe()) +
                        "): unknown exception while creating the instance");
        }
        if (!run->model)
            throw Error(path + " (" + name_ + "): the backend created no instance");
        runs_.push_back(std::move(run));
    }
    const std::size_t count = runs_.size();
    free_mask_.store(count >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << count) - 1);
}

ModelRun* EngineRuntime::acquire() noexcept {
    std::uint64_t mask = free_mask_.load(std::memory_order_acquire);
    while (mask != 0) {
        const int bit = std::countr_zero(mask);
        const std::uint64_t taken = mask & ~(std::uint64_t{1} << bit);
        if (free_mask_.compare_exchange_weak(mask, taken, std::memory_order_acquire,
                                             std::memory_order_acquire))
            return runs_[static_cast<std::size_t>(bit)].get();
    }
    return nullptr;
}

void EngineRuntime::release(ModelRun* run) noexcept {
    free_mask_.fetch_or(std::uint64_t{1} << run->index, std::memory_order_release);
}

}  // namespace legato::core
