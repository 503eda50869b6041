#include "legato/context.hpp"

#include <mutex>

#include "scheduling/worker_pool.hpp"

namespace legato {

Context::Context(const ContextConfig& config)
    : pool_(std::make_unique<scheduling::WorkerPool>(config)), config_(config) {}

Context::~Context() = default;

std::shared_ptr<Context> Context::shared(const ContextConfig& config) {
    static std::mutex mutex;
    static std::weak_ptr<Context> current;
    std::lock_guard lock(mutex);
    if (auto alive = current.lock())
        return alive;
    auto created = std::shared_ptr<Context>(new Context(config));
    current = created;
    return created;
}

std::shared_ptr<Context> Context::create(const ContextConfig& config) {
    return std::shared_ptr<Context>(new Context(config));
}

ContextInfo Context::info() const noexcept {
    return {pool_->worker_count(), pool_->realtime_workers(), pool_->wake_strategy()};
}

const ContextConfig& Context::config() const noexcept {
    return config_;
}

}  // namespace legato
