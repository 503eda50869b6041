#pragma once
// A spin-loop hint: lets the sibling hyper-thread run and saves power while polling.

#include "legato/nonblocking.hpp"

namespace legato::rt {

/// [any thread] Wait-free.
inline void cpu_relax() noexcept LEGATO_NONBLOCKING {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

}  // namespace legato::rt
