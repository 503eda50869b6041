// Audio-thread guard: proves that code run on the audio thread (e.g. a processor's process())
// performs no heap allocation and no locking, waiting or sleeping.
//
// How it works: the support library defines malloc & co., the global operator new/delete and
// the blocking pthread/semaphore/sleep functions inside the test executable. Linked through the
// CMake target `legato_audio_thread_guard`, the executable exports them (--export-dynamic), so
// the dynamic linker binds calls from every shared library (libstdc++.so, libc's own internal
// malloc calls, the Legato library if it is shared) to these hooks. Each hook bumps the counters
// of the calling thread's live guards, then forwards to glibc.
//
// Usage:
//
//     TEST(Processor, ProcessIsRealtimeSafe) {
//         LEGATO_REQUIRE_AUDIO_THREAD_GUARD();   // GTEST_SKIPs in sanitizer builds
//         Processor p = make_prepared_processor();  // allocate *before* the guard
//         legato::test::AudioThreadViolations v;
//         {
//             legato::test::AudioThreadGuard guard;
//             p.process(block);
//             v = guard.violations();
//         }
//         EXPECT_TRUE(legato::test::NoViolations(v));
//     }
//
// Take the snapshot inside the scope but assert outside it: gtest itself allocates when it
// records a failure, which a live guard would count.
//
// Sanitizer builds (ASan, TSan, MSan, HWASan, RTSan) already intercept malloc and pthread, and
// defining these functions again would break the sanitizer runtime, so the hooks are compiled
// out there: available() returns false and every guard reports zero. Tests must therefore check
// available() (or use LEGATO_REQUIRE_AUDIO_THREAD_GUARD) and GTEST_SKIP instead of passing
// vacuously. Under RTSan, mark process() [[clang::nonblocking]] to get the equivalent check.
// Defining LEGATO_AUDIO_THREAD_GUARD_DISABLE for audio_thread_guard.cpp forces the same (the
// CMake target does so whenever LEGATO_SANITIZER is set).
//
// Only link this into executables: the hooks replace the process-wide allocator and use
// initial-exec TLS.
#pragma once

#include <cstddef>
#include <cstdint>

#include <gtest/gtest.h>

namespace legato::test {

struct AudioThreadViolations {
    // malloc, calloc, realloc, reallocarray, aligned_alloc, posix_memalign, memalign, valloc,
    // pvalloc, operator new / new[] (all forms)
    std::uint64_t allocations = 0;
    // free, operator delete / delete[] (all forms); null pointers are not counted because
    // releasing nullptr is a guaranteed no-op that never reaches the allocator
    std::uint64_t deallocations = 0;
    // pthread_mutex_lock/trylock/timedlock/clocklock, pthread_rwlock_rdlock/wrlock/tryrdlock/
    // trywrlock/timedrdlock/timedwrlock/clockrdlock/clockwrlock, pthread_spin_lock/trylock
    std::uint64_t locks = 0;
    // pthread_cond_wait/timedwait/clockwait, sem_wait/timedwait/clockwait, pthread_join,
    // pthread_timedjoin_np, pthread_clockjoin_np
    std::uint64_t waits = 0;
    // nanosleep, clock_nanosleep, usleep, sleep, sched_yield
    std::uint64_t sleeps = 0;

    std::uint64_t total() const { return allocations + deallocations + locks + waits + sleeps; }

    // First offending function seen (a static string literal such as "operator new"), for
    // messages; nullptr when there was none.
    const char* first = nullptr;
};

namespace detail {
// Per-guard counters, linked into a per-thread intrusive list so that the hooks can update every
// live (nested) guard of the calling thread without allocating.
struct GuardFrame {
    GuardFrame* prev = nullptr;
    AudioThreadViolations counts{};
};
}  // namespace detail

// RAII guard. While alive, counts the forbidden calls made by the thread that constructed it
// (calls from other threads are ignored). Guards nest: every live guard of a thread counts each
// call made since its own construction. Constructing, querying and destroying a guard never
// allocates or locks. Not copyable or movable (its address is linked into a thread-local list);
// it must be destroyed on the thread that constructed it.
class AudioThreadGuard {
public:
    AudioThreadGuard() noexcept;
    ~AudioThreadGuard();
    AudioThreadGuard(const AudioThreadGuard&) = delete;
    AudioThreadGuard& operator=(const AudioThreadGuard&) = delete;

    // Counts since construction. Call it on the constructing thread.
    AudioThreadViolations violations() const noexcept;

    // False when the hooks are compiled out (sanitizer builds); guards then count nothing.
    static bool available() noexcept;

    // Number of guards currently alive on the calling thread (always 0 when !available()).
    static std::size_t depth() noexcept;

private:
    // [[maybe_unused]]: both are untouched when the hooks are compiled out.
    [[maybe_unused]] detail::GuardFrame frame_;
    [[maybe_unused]] const void* owner_;  // the constructing thread (its TLS list head address)
};

// gtest predicate: `EXPECT_TRUE(NoViolations(v))` prints every count and the first offender.
inline ::testing::AssertionResult NoViolations(const AudioThreadViolations& v) {
    if (v.total() == 0) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "audio thread made " << v.total()
           << " forbidden call(s): allocations=" << v.allocations
           << ", deallocations=" << v.deallocations << ", locks=" << v.locks
           << ", waits=" << v.waits << ", sleeps=" << v.sleeps
           << "; first offender: " << (v.first != nullptr ? v.first : "(unknown)");
}

}  // namespace legato::test

// Skips the current test when the guard cannot observe anything (sanitizer builds), so that
// "zero violations" is never reported as a pass by a guard that was compiled out.
#define LEGATO_REQUIRE_AUDIO_THREAD_GUARD()                                                  \
    do {                                                                                     \
        if (!::legato::test::AudioThreadGuard::available()) {                                \
            GTEST_SKIP() << "audio-thread guard hooks are compiled out in sanitizer builds"; \
        }                                                                                    \
    } while (false)
