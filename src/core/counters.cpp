#include "core/counters.hpp"

namespace legato::core {

void Counters::record_run(std::uint64_t nanoseconds, bool ok) noexcept {
    run_time_total_ns.fetch_add(nanoseconds, std::memory_order_relaxed);
    std::uint64_t worst = run_time_max_ns.load(std::memory_order_relaxed);
    while (nanoseconds > worst &&
           !run_time_max_ns.compare_exchange_weak(worst, nanoseconds, std::memory_order_relaxed)) {
    }
    (ok ? completed : failed).fetch_add(1, std::memory_order_relaxed);
}

void Counters::clear() noexcept {
    for (auto* counter :
         {&blocks, &frames, &oversized, &submitted, &late, &dropped, &expired, &substituted,
          &resets, &completed, &failed, &run_time_total_ns, &run_time_max_ns})
        counter->store(0, std::memory_order_relaxed);
}

void Counters::set_error(std::string message) {
    std::lock_guard lock(error_mutex_);
    last_error_ = std::move(message);
}

std::string Counters::error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
}

}  // namespace legato::core
