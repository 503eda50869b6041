#pragma once
// LEGATO_NONBLOCKING marks functions that run on the audio thread. With clang >= 20 it becomes
// [[clang::nonblocking]], which the compiler checks (-Wfunction-effects) and the real-time
// sanitizer (-fsanitize=realtime) enforces at run time. Other compilers ignore it.

#if defined(__clang__) && defined(__has_cpp_attribute)
#if __has_cpp_attribute(clang::nonblocking)
#define LEGATO_NONBLOCKING [[clang::nonblocking]]
#endif
#endif
#ifndef LEGATO_NONBLOCKING
#define LEGATO_NONBLOCKING
#endif

// Brackets a call that clang's -Wfunction-effects cannot verify but that is known not to block
// (a libc function without the attribute, such as sem_post), or that blocks by documented
// design (offline rendering). Every use carries a comment saying which.
#if defined(__clang__)
#define LEGATO_UNVERIFIED_EFFECTS_BEGIN \
    _Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Wfunction-effects\"")
#define LEGATO_UNVERIFIED_EFFECTS_END _Pragma("clang diagnostic pop")
#else
#define LEGATO_UNVERIFIED_EFFECTS_BEGIN
#define LEGATO_UNVERIFIED_EFFECTS_END
#endif
