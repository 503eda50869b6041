#include "scheduling/thread_priority.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>

namespace legato::scheduling {

bool set_realtime_priority(int priority) noexcept {
#ifdef __EMSCRIPTEN__
    // Browsers have no thread priorities; Emscripten's pthread_setschedparam returns 0 but does
    // nothing, so report the truth: the worker runs at normal priority.
    (void)priority;
    return false;
#else
    sched_param param{};
    param.sched_priority = std::clamp(priority, sched_get_priority_min(SCHED_FIFO),
                                      sched_get_priority_max(SCHED_FIFO));
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0;
#endif
}

}  // namespace legato::scheduling
