// The "context" section of a model configuration file: the shared worker pool's settings.

#include <chrono>
#include <cstdint>
#include <string>

#include "config/read_config.hpp"

namespace legato::config {

namespace {

constexpr std::string_view context_keys[] = {
    "worker_threads",        "realtime_priority",    "priority",
    "wake_strategy",         "spin_before_sleep_us", "timer_interval_us",
    "timer_idle_timeout_ms", "anticipation_spin_us", "anticipation_idle_timeout_ms",
    "max_handlers"};

}  // namespace

ContextConfig read_context(const Reader& r, const Json& value) {
    const Json& j = r.object(value, "context", context_keys);
    ContextConfig c;
    if (j.contains("worker_threads")) {
        c.worker_threads = r.count(j["worker_threads"], "context.worker_threads");
        if (c.worker_threads > 256)
            r.fail("context.worker_threads",
                   "must be at most 256, got " + j["worker_threads"].dump());
    }
    if (j.contains("realtime_priority"))
        c.realtime_priority = r.boolean(j["realtime_priority"], "context.realtime_priority");
    if (j.contains("priority")) {
        const std::int64_t p = r.integer(j["priority"], "context.priority");
        if (p < 1 || p > 99)
            r.fail("context.priority",
                   "must be a SCHED_FIFO priority 1..99, got " + std::to_string(p));
        c.realtime_priority_level = static_cast<int>(p);
    }
    if (j.contains("wake_strategy"))
        c.wake_strategy = r.choice<WakeStrategy>(j["wake_strategy"], "context.wake_strategy",
                                                 wake_strategy_names);
    if (j.contains("spin_before_sleep_us")) {
        const std::size_t us = r.count(j["spin_before_sleep_us"], "context.spin_before_sleep_us");
        if (us > 1'000'000)
            r.fail("context.spin_before_sleep_us",
                   "must be at most 1000000 (1 s), got " + std::to_string(us));
        c.spin_before_sleep = std::chrono::microseconds(us);
    }
    if (j.contains("timer_interval_us")) {
        const std::size_t us = r.count(j["timer_interval_us"], "context.timer_interval_us");
        if (us < 10 || us > 10'000)
            r.fail("context.timer_interval_us",
                   "must be between 10 and 10000, got " + std::to_string(us));
        c.timer_interval = std::chrono::microseconds(us);
    }
    if (j.contains("timer_idle_timeout_ms")) {
        const std::size_t ms = r.count(j["timer_idle_timeout_ms"], "context.timer_idle_timeout_ms");
        if (ms > 60'000)
            r.fail("context.timer_idle_timeout_ms",
                   "must be 0 (never) or between 1 and 60000, got " + std::to_string(ms));
        c.timer_idle_timeout = std::chrono::milliseconds(ms);
    }
    if (j.contains("anticipation_spin_us")) {
        const std::size_t us = r.count(j["anticipation_spin_us"], "context.anticipation_spin_us");
        if (us < 10 || us > 10'000)
            r.fail("context.anticipation_spin_us",
                   "must be between 10 and 10000, got " + std::to_string(us));
        c.anticipation_spin = std::chrono::microseconds(us);
    }
    if (j.contains("anticipation_idle_timeout_ms")) {
        const std::size_t ms =
            r.count(j["anticipation_idle_timeout_ms"], "context.anticipation_idle_timeout_ms");
        if (ms < 1 || ms > 60'000)
            r.fail("context.anticipation_idle_timeout_ms",
                   "must be between 1 and 60000, got " + std::to_string(ms));
        c.anticipation_idle_timeout = std::chrono::milliseconds(ms);
    }
    if (j.contains("max_handlers")) {
        c.max_handlers = r.count(j["max_handlers"], "context.max_handlers");
        if (c.max_handlers == 0 || c.max_handlers > 65536)
            r.fail("context.max_handlers",
                   "must be between 1 and 65536, got " + j["max_handlers"].dump());
    }
    return c;
}

}  // namespace legato::config
