#pragma once
// Test-only fault hooks, compiled in only when LEGATO_TEST_HOOKS is defined (the CMake option
// of the same name, on in the rtsan preset). They let a test put a deliberately unsafe call
// inside process() to prove that the real-time sanitizer catches it. Never in a release build.

#if defined(LEGATO_TEST_HOOKS)
#include <atomic>

namespace legato::testing {

using ProcessHook = void (*)();

/// Called at the start of every InferenceHandler::process() call while set (from any thread).
inline std::atomic<ProcessHook> process_hook{nullptr};

}  // namespace legato::testing
#endif
