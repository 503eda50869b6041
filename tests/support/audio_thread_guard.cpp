// Hook definitions for AudioThreadGuard; see audio_thread_guard.hpp for the overall design.
//
// Rules every hook follows, because they run inside malloc/new and pthread themselves:
//  - never allocate, lock or call anything that might (the counters are plain initial-exec TLS,
//    so even reaching them cannot call __tls_get_addr);
//  - allocation hooks forward to glibc's exported __libc_* entry points, never to dlsym;
//  - pthread/semaphore/sleep hooks forward to the next definition (glibc's) found with
//    dlsym(RTLD_NEXT); those pointers are resolved eagerly at start-up and lazily otherwise.

#include "audio_thread_guard.hpp"

#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(__SANITIZE_HWADDRESS__)
#define LEGATO_GUARD_HOOKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||   \
    __has_feature(memory_sanitizer) || __has_feature(hwaddress_sanitizer) || \
    __has_feature(realtime_sanitizer)
#define LEGATO_GUARD_HOOKS 0
#endif
#endif
#if !defined(LEGATO_GUARD_HOOKS) && defined(LEGATO_AUDIO_THREAD_GUARD_DISABLE)
#define LEGATO_GUARD_HOOKS 0
#endif
#if !defined(LEGATO_GUARD_HOOKS)
#if defined(__linux__) && defined(__GLIBC__)
#define LEGATO_GUARD_HOOKS 1
#else
#define LEGATO_GUARD_HOOKS 0  // the forwarding relies on glibc's __libc_* entry points
#endif
#endif

#if LEGATO_GUARD_HOOKS

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <new>

// glibc's real allocator, exported under these names precisely so that replacements can
// forward to it.
extern "C" {
void* __libc_malloc(std::size_t size) noexcept;
void* __libc_calloc(std::size_t count, std::size_t size) noexcept;
void* __libc_realloc(void* ptr, std::size_t size) noexcept;
void* __libc_memalign(std::size_t alignment, std::size_t size) noexcept;
void* __libc_valloc(std::size_t size) noexcept;
void* __libc_pvalloc(std::size_t size) noexcept;
void __libc_free(void* ptr) noexcept;
}

// Hooks must be in the dynamic symbol table even under -fvisibility=hidden, and must survive
// --gc-sections although nothing in the executable references some of them.
#define LEGATO_HOOK extern "C" __attribute__((visibility("default"), used))
#define LEGATO_NEW_HOOK __attribute__((visibility("default"), used))

namespace legato::test {
namespace {

// initial-exec: a fixed offset from the thread pointer, so no lazy TLS allocation on access.
#define LEGATO_TLS thread_local __attribute__((tls_model("initial-exec")))
LEGATO_TLS detail::GuardFrame* tl_top = nullptr;  // innermost live guard of this thread
LEGATO_TLS std::size_t tl_depth = 0;
LEGATO_TLS bool tl_resolving = false;  // inside dlsym: its internal calls are not the caller's

enum class Kind { allocation, deallocation, lock, wait, sleep };

inline void record(Kind kind, const char* name) noexcept {
    if (__builtin_expect(tl_depth == 0 || tl_resolving, 1)) {
        return;
    }
    for (detail::GuardFrame* f = tl_top; f != nullptr; f = f->prev) {
        AudioThreadViolations& c = f->counts;
        switch (kind) {
            case Kind::allocation:
                ++c.allocations;
                break;
            case Kind::deallocation:
                ++c.deallocations;
                break;
            case Kind::lock:
                ++c.locks;
                break;
            case Kind::wait:
                ++c.waits;
                break;
            case Kind::sleep:
                ++c.sleeps;
                break;
        }
        if (c.first == nullptr) {
            c.first = name;
        }
    }
}

// Writes straight to fd 2: stdio may allocate or lock, which is exactly what we are hooking.
void die(const char* what, const char* name) noexcept {
    auto put = [](const char* s) {
        std::size_t n = 0;
        while (s[n] != '\0') {
            ++n;
        }
        [[maybe_unused]] ssize_t r = ::write(2, s, n);
    };
    put("legato audio-thread guard: ");
    put(what);
    put(" ");
    put(name);
    put("\n");
    std::abort();
}

// ---- forwarding table for the non-allocation hooks

// X(kind, noexcept-or-empty, return type, name, parameter list, argument list, symbol version)
// The exception specifications match glibc's declarations (cancellation points are not
// noexcept). pthread_cond_* exist in two versions; GLIBC_2.3.2 is the current one on x86_64
// (other architectures only have their base version, where the plain dlsym fallback is right).
#define LEGATO_SYNC_HOOKS(X)                                                                       \
    X(lock, noexcept, int, pthread_mutex_lock, (pthread_mutex_t * m), (m), nullptr)                \
    X(lock, noexcept, int, pthread_mutex_trylock, (pthread_mutex_t * m), (m), nullptr)             \
    X(lock, noexcept, int, pthread_mutex_timedlock, (pthread_mutex_t * m, const timespec* t),      \
      (m, t), nullptr)                                                                             \
    X(lock, noexcept, int, pthread_mutex_clocklock,                                                \
      (pthread_mutex_t * m, clockid_t c, const timespec* t), (m, c, t), nullptr)                   \
    X(lock, noexcept, int, pthread_rwlock_rdlock, (pthread_rwlock_t * l), (l), nullptr)            \
    X(lock, noexcept, int, pthread_rwlock_wrlock, (pthread_rwlock_t * l), (l), nullptr)            \
    X(lock, noexcept, int, pthread_rwlock_tryrdlock, (pthread_rwlock_t * l), (l), nullptr)         \
    X(lock, noexcept, int, pthread_rwlock_trywrlock, (pthread_rwlock_t * l), (l), nullptr)         \
    X(lock, noexcept, int, pthread_rwlock_timedrdlock, (pthread_rwlock_t * l, const timespec* t),  \
      (l, t), nullptr)                                                                             \
    X(lock, noexcept, int, pthread_rwlock_timedwrlock, (pthread_rwlock_t * l, const timespec* t),  \
      (l, t), nullptr)                                                                             \
    X(lock, noexcept, int, pthread_rwlock_clockrdlock,                                             \
      (pthread_rwlock_t * l, clockid_t c, const timespec* t), (l, c, t), nullptr)                  \
    X(lock, noexcept, int, pthread_rwlock_clockwrlock,                                             \
      (pthread_rwlock_t * l, clockid_t c, const timespec* t), (l, c, t), nullptr)                  \
    X(lock, noexcept, int, pthread_spin_lock, (pthread_spinlock_t * l), (l), nullptr)              \
    X(lock, noexcept, int, pthread_spin_trylock, (pthread_spinlock_t * l), (l), nullptr)           \
    X(wait, , int, pthread_cond_wait, (pthread_cond_t * c, pthread_mutex_t * m), (c, m),           \
      "GLIBC_2.3.2")                                                                               \
    X(wait, , int, pthread_cond_timedwait,                                                         \
      (pthread_cond_t * c, pthread_mutex_t * m, const timespec* t), (c, m, t), "GLIBC_2.3.2")      \
    X(wait, , int, pthread_cond_clockwait,                                                         \
      (pthread_cond_t * c, pthread_mutex_t * m, clockid_t k, const timespec* t), (c, m, k, t),     \
      nullptr)                                                                                     \
    X(wait, , int, sem_wait, (sem_t * s), (s), nullptr)                                            \
    X(wait, , int, sem_timedwait, (sem_t * s, const timespec* t), (s, t), nullptr)                 \
    X(wait, , int, sem_clockwait, (sem_t * s, clockid_t c, const timespec* t), (s, c, t), nullptr) \
    X(wait, , int, pthread_join, (pthread_t t, void** r), (t, r), nullptr)                         \
    X(wait, , int, pthread_timedjoin_np, (pthread_t t, void** r, const timespec* a), (t, r, a),    \
      nullptr)                                                                                     \
    X(wait, , int, pthread_clockjoin_np, (pthread_t t, void** r, clockid_t c, const timespec* a),  \
      (t, r, c, a), nullptr)                                                                       \
    X(sleep, , int, nanosleep, (const timespec* t, timespec* rem), (t, rem), nullptr)              \
    X(sleep, , int, clock_nanosleep, (clockid_t c, int f, const timespec* t, timespec* rem),       \
      (c, f, t, rem), nullptr)                                                                     \
    X(sleep, , int, usleep, (useconds_t us), (us), nullptr)                                        \
    X(sleep, , unsigned, sleep, (unsigned s), (s), nullptr)                                        \
    X(sleep, noexcept, int, sched_yield, (), (), nullptr)

enum class Slot : std::size_t {
#define LEGATO_SLOT(kind, exc, ret, name, params, args, version) name,
    LEGATO_SYNC_HOOKS(LEGATO_SLOT)
#undef LEGATO_SLOT
        count
};

struct SymbolName {
    const char* name;
    const char* version;
};

constexpr SymbolName kSymbols[] = {
#define LEGATO_NAME(kind, exc, ret, name, params, args, version) {#name, version},
    LEGATO_SYNC_HOOKS(LEGATO_NAME)
#undef LEGATO_NAME
};

// Constant-initialised (no static-init order issue); racing resolvers store the same value.
std::atomic<void*> g_real[static_cast<std::size_t>(Slot::count)] = {};

void* resolve(Slot slot) noexcept {
    const SymbolName& sym = kSymbols[static_cast<std::size_t>(slot)];
    if (tl_resolving) {
        // dlsym re-entered a hooked function on this thread; glibc does not do this today, but
        // spinning forever or recursing would be worse than a clear abort.
        die("recursive symbol resolution for", sym.name);
    }
    tl_resolving = true;
    void* fn = nullptr;
    if (sym.version != nullptr) {
        fn = ::dlvsym(RTLD_NEXT, sym.name, sym.version);
    }
    if (fn == nullptr) {
        fn = ::dlsym(RTLD_NEXT, sym.name);  // the default (newest) version
    }
    tl_resolving = false;
    if (fn == nullptr) {
        die("cannot find the real", sym.name);
    }
    g_real[static_cast<std::size_t>(slot)].store(fn, std::memory_order_release);
    return fn;
}

template <typename Fn>
Fn real(Slot slot) noexcept {
    void* fn = g_real[static_cast<std::size_t>(slot)].load(std::memory_order_acquire);
    if (__builtin_expect(fn == nullptr, 0)) {
        fn = resolve(slot);
    }
    return reinterpret_cast<Fn>(fn);
}

// Resolve everything before main() so the audio thread never reaches dlsym. Also warn when the
// executable was linked without exporting the hooks: shared libraries would then bypass them.
__attribute__((constructor(101))) void init_hooks() noexcept {
    for (std::size_t i = 0; i < static_cast<std::size_t>(Slot::count); ++i) {
        resolve(static_cast<Slot>(i));
    }
    tl_resolving = true;
    void* global_malloc = ::dlsym(RTLD_DEFAULT, "malloc");
    void* global_cond_wait = ::dlsym(RTLD_DEFAULT, "pthread_cond_wait");
    tl_resolving = false;
    if (global_malloc != reinterpret_cast<void*>(&::malloc) ||
        global_cond_wait != reinterpret_cast<void*>(&::pthread_cond_wait)) {
        constexpr char msg[] =
            "legato audio-thread guard: hooks are not exported from the executable; link it "
            "through the legato_audio_thread_guard target (needs --export-dynamic)\n";
        [[maybe_unused]] ssize_t r = ::write(2, msg, sizeof msg - 1);
    }
}

// ---- operator new / delete helpers

void* new_impl(std::size_t size) {
    if (size == 0) {
        size = 1;  // operator new must return a unique non-null pointer
    }
    for (;;) {
        if (void* p = __libc_malloc(size)) {
            return p;
        }
        std::new_handler handler = std::get_new_handler();
        if (handler == nullptr) {
            throw std::bad_alloc();
        }
        handler();
    }
}

void* new_aligned_impl(std::size_t size, std::align_val_t align) {
    if (size == 0) {
        size = 1;
    }
    for (;;) {
        if (void* p = __libc_memalign(static_cast<std::size_t>(align), size)) {
            return p;
        }
        std::new_handler handler = std::get_new_handler();
        if (handler == nullptr) {
            throw std::bad_alloc();
        }
        handler();
    }
}

inline void delete_impl(void* p, const char* name) noexcept {
    if (p != nullptr) {
        record(Kind::deallocation, name);
        __libc_free(p);
    }
}

}  // namespace

AudioThreadGuard::AudioThreadGuard() noexcept : owner_(&tl_top) {
    frame_.prev = tl_top;
    tl_top = &frame_;
    ++tl_depth;
}

AudioThreadGuard::~AudioThreadGuard() {
    if (owner_ != &tl_top) {
        die("AudioThreadGuard destroyed on a thread other than", "the one that created it");
    }
    // Usually the innermost guard, but tolerate out-of-order destruction (e.g. heap guards).
    for (detail::GuardFrame** link = &tl_top; *link != nullptr; link = &(*link)->prev) {
        if (*link == &frame_) {
            *link = frame_.prev;
            --tl_depth;
            break;
        }
    }
}

AudioThreadViolations AudioThreadGuard::violations() const noexcept {
    return frame_.counts;
}

bool AudioThreadGuard::available() noexcept {
    return true;
}

std::size_t AudioThreadGuard::depth() noexcept {
    return tl_depth;
}

}  // namespace legato::test

// ---- interposed C functions

using legato::test::Kind;
using legato::test::record;

LEGATO_HOOK void* malloc(std::size_t size) noexcept {
    record(Kind::allocation, "malloc");
    return __libc_malloc(size);
}

LEGATO_HOOK void* calloc(std::size_t count, std::size_t size) noexcept {
    record(Kind::allocation, "calloc");
    return __libc_calloc(count, size);
}

LEGATO_HOOK void* realloc(void* ptr, std::size_t size) noexcept {
    record(Kind::allocation, "realloc");
    return __libc_realloc(ptr, size);
}

// glibc's own reallocarray calls an internal realloc that bypasses the hook, so define it too.
LEGATO_HOOK void* reallocarray(void* ptr, std::size_t count, std::size_t size) noexcept {
    record(Kind::allocation, "reallocarray");
    std::size_t bytes = 0;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return nullptr;
    }
    return __libc_realloc(ptr, bytes);
}

LEGATO_HOOK void free(void* ptr) noexcept {
    if (ptr != nullptr) {
        record(Kind::deallocation, "free");
    }
    __libc_free(ptr);
}

// glibc 2.36's aligned_alloc is memalign (no extra argument validation), so forward likewise.
LEGATO_HOOK void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
    record(Kind::allocation, "aligned_alloc");
    return __libc_memalign(alignment, size);
}

LEGATO_HOOK int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
    record(Kind::allocation, "posix_memalign");
    if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) {
        return EINVAL;
    }
    void* p = __libc_memalign(alignment, size);
    if (p == nullptr) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

LEGATO_HOOK void* memalign(std::size_t alignment, std::size_t size) noexcept {
    record(Kind::allocation, "memalign");
    return __libc_memalign(alignment, size);
}

LEGATO_HOOK void* valloc(std::size_t size) noexcept {
    record(Kind::allocation, "valloc");
    return __libc_valloc(size);
}

LEGATO_HOOK void* pvalloc(std::size_t size) noexcept {
    record(Kind::allocation, "pvalloc");
    return __libc_pvalloc(size);
}

#define LEGATO_DEFINE_HOOK(kind, exc, ret, name, params, args, version) \
    LEGATO_HOOK ret name params exc {                                   \
        record(Kind::kind, #name);                                      \
        using Fn = ret(*) params;                                       \
        return legato::test::real<Fn>(legato::test::Slot::name) args;   \
    }
LEGATO_SYNC_HOOKS(LEGATO_DEFINE_HOOK)
#undef LEGATO_DEFINE_HOOK

// ---- replaced global operator new / delete

using legato::test::delete_impl;
using legato::test::new_aligned_impl;
using legato::test::new_impl;

LEGATO_NEW_HOOK void* operator new(std::size_t size) {
    record(Kind::allocation, "operator new");
    return new_impl(size);
}

LEGATO_NEW_HOOK void* operator new[](std::size_t size) {
    record(Kind::allocation, "operator new[]");
    return new_impl(size);
}

LEGATO_NEW_HOOK void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    record(Kind::allocation, "operator new");
    try {
        return new_impl(size);
    } catch (...) {
        return nullptr;
    }
}

LEGATO_NEW_HOOK void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    record(Kind::allocation, "operator new[]");
    try {
        return new_impl(size);
    } catch (...) {
        return nullptr;
    }
}

LEGATO_NEW_HOOK void* operator new(std::size_t size, std::align_val_t align) {
    record(Kind::allocation, "operator new");
    return new_aligned_impl(size, align);
}

LEGATO_NEW_HOOK void* operator new[](std::size_t size, std::align_val_t align) {
    record(Kind::allocation, "operator new[]");
    return new_aligned_impl(size, align);
}

LEGATO_NEW_HOOK void* operator new(std::size_t size, std::align_val_t align,
                                   const std::nothrow_t&) noexcept {
    record(Kind::allocation, "operator new");
    try {
        return new_aligned_impl(size, align);
    } catch (...) {
        return nullptr;
    }
}

LEGATO_NEW_HOOK void* operator new[](std::size_t size, std::align_val_t align,
                                     const std::nothrow_t&) noexcept {
    record(Kind::allocation, "operator new[]");
    try {
        return new_aligned_impl(size, align);
    } catch (...) {
        return nullptr;
    }
}

LEGATO_NEW_HOOK void operator delete(void* p) noexcept {
    delete_impl(p, "operator delete");
}

LEGATO_NEW_HOOK void operator delete[](void* p) noexcept {
    delete_impl(p, "operator delete[]");
}

LEGATO_NEW_HOOK void operator delete(void* p, const std::nothrow_t&) noexcept {
    delete_impl(p, "operator delete");
}

LEGATO_NEW_HOOK void operator delete[](void* p, const std::nothrow_t&) noexcept {
    delete_impl(p, "operator delete[]");
}

LEGATO_NEW_HOOK void operator delete(void* p, std::size_t) noexcept {
    delete_impl(p, "operator delete");
}

LEGATO_NEW_HOOK void operator delete[](void* p, std::size_t) noexcept {
    delete_impl(p, "operator delete[]");
}

LEGATO_NEW_HOOK void operator delete(void* p, std::align_val_t) noexcept {
    delete_impl(p, "operator delete");
}

LEGATO_NEW_HOOK void operator delete[](void* p, std::align_val_t) noexcept {
    delete_impl(p, "operator delete[]");
}

LEGATO_NEW_HOOK void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    delete_impl(p, "operator delete");
}

LEGATO_NEW_HOOK void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    delete_impl(p, "operator delete[]");
}

LEGATO_NEW_HOOK void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    delete_impl(p, "operator delete");
}

LEGATO_NEW_HOOK void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    delete_impl(p, "operator delete[]");
}

#else  // !LEGATO_GUARD_HOOKS: sanitizer build, the runtime owns malloc and pthread.

namespace legato::test {

AudioThreadGuard::AudioThreadGuard() noexcept : owner_(nullptr) {}

AudioThreadGuard::~AudioThreadGuard() = default;

AudioThreadViolations AudioThreadGuard::violations() const noexcept {
    return {};
}

bool AudioThreadGuard::available() noexcept {
    return false;
}

std::size_t AudioThreadGuard::depth() noexcept {
    return 0;
}

}  // namespace legato::test

#endif  // LEGATO_GUARD_HOOKS
