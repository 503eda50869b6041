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

// The count at `key` of context object `j` if present (else `fallback`), refused with
// "must be <range>, got N" outside [low, high].
std::size_t bounded_count(const Reader& r, const Json& j, const char* key, std::size_t low,
                          std::size_t high, const char* range, std::int64_t fallback) {
    if (!j.contains(key))
        return static_cast<std::size_t>(fallback);
    const std::string path = std::string("context.") + key;
    const std::size_t value = r.count(j[key], path);
    if (value < low || value > high)
        r.fail(path, std::string("must be ") + range + ", got " + std::to_string(value));
    return value;
}

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
    c.spin_before_sleep = std::chrono::microseconds(
        bounded_count(r, j, "spin_before_sleep_us", 0, 1'000'000, "at most 1000000 (1 s)",
                      c.spin_before_sleep.count()));
    c.timer_interval = std::chrono::microseconds(bounded_count(
        r, j, "timer_interval_us", 10, 10'000, "between 10 and 10000", c.timer_interval.count()));
    c.timer_idle_timeout = std::chrono::milliseconds(
        bounded_count(r, j, "timer_idle_timeout_ms", 0, 60'000, "0 (never) or between 1 and 60000",
                      c.timer_idle_timeout.count()));
    c.anticipation_spin = std::chrono::microseconds(bounded_count(r, j, "anticipation_spin_us", 10,
                                                                  10'000, "between 10 and 10000",
                                                                  c.anticipation_spin.count()));
    c.anticipation_idle_timeout = std::chrono::milliseconds(
        bounded_count(r, j, "anticipation_idle_timeout_ms", 1, 60'000, "between 1 and 60000",
                      c.anticipation_idle_timeout.count()));
    if (j.contains("max_handlers")) {
        c.max_handlers = r.count(j["max_handlers"], "context.max_handlers");
        if (c.max_handlers == 0 || c.max_handlers > 65536)
            r.fail("context.max_handlers",
                   "must be between 1 and 65536, got " + j["max_handlers"].dump());
    }
    return c;
}

}  // namespace legato::config
