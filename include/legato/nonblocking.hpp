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
