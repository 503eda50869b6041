// Self-test of the audio-thread guard: it must report every forbidden call (so a passing
// real-time test means something) and nothing else (so it can pass at all).
//
// Assertions are only made outside guard scopes: gtest allocates when it formats a failure.

#include "audio_thread_guard.hpp"

#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace legato::test {
namespace {

using namespace std::chrono_literals;

// Optimisation barriers (same idea as benchmark::DoNotOptimize): the pointed-to memory becomes
// observable, so the compiler cannot elide the allocation or the work that produced it.
// Non-const parameter: a const one makes GCC assume the (uninitialised) pointee is read.
inline void escape(void* p) {
    asm volatile("" : : "g"(p) : "memory");
}
template <typename T>
inline void keep(T& value) {
    asm volatile("" : "+m"(value) : : "memory");
}

// Runs body under a fresh guard and returns what it saw.
template <typename F>
AudioThreadViolations run_guarded(F&& body) {
    AudioThreadViolations v;
    {
        AudioThreadGuard guard;
        body();
        v = guard.violations();
    }
    return v;
}

// Checks that body is caught: the given counter is >= 1 and the first offender is `expected`.
template <typename F>
void expect_caught(const char* expected, std::uint64_t AudioThreadViolations::*counter, F&& body) {
    SCOPED_TRACE(expected);
    const AudioThreadViolations v = run_guarded(body);
    EXPECT_GE(v.*counter, 1u);
    EXPECT_FALSE(NoViolations(v));
    ASSERT_NE(v.first, nullptr);
    EXPECT_STREQ(v.first, expected);
}

timespec deadline_in(std::chrono::nanoseconds delta, clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    const auto ns = static_cast<long>(delta.count()) + ts.tv_nsec;
    ts.tv_sec += ns / 1'000'000'000;
    ts.tv_nsec = ns % 1'000'000'000;
    return ts;
}

class AudioThreadGuardTest : public ::testing::Test {
protected:
    void SetUp() override { LEGATO_REQUIRE_AUDIO_THREAD_GUARD(); }
};

// ---- the guard can pass

TEST_F(AudioThreadGuardTest, ArithmeticIsClean) {
    volatile float input = 0.25f;
    float acc = 0.0f;
    const AudioThreadViolations v = run_guarded([&] {
        for (int i = 0; i < 4096; ++i) {
            acc = acc * 0.99f + input * static_cast<float>(i & 7);
        }
        keep(acc);
    });
    EXPECT_TRUE(NoViolations(v));
    EXPECT_EQ(v.first, nullptr);
}

TEST_F(AudioThreadGuardTest, AtomicsAreClean) {
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
    static_assert(std::atomic<double>::is_always_lock_free);
    std::atomic<int> counter{0};
    std::atomic<std::uint64_t> wide{0};
    std::atomic<double> level{0.0};
    std::atomic_flag flag = ATOMIC_FLAG_INIT;
    const AudioThreadViolations v = run_guarded([&] {
        counter.fetch_add(1, std::memory_order_relaxed);
        int expected = 1;
        counter.compare_exchange_strong(expected, 2, std::memory_order_acq_rel);
        wide.store(counter.exchange(3) + 40u, std::memory_order_release);
        level.fetch_add(0.5);
        while (flag.test_and_set(std::memory_order_acquire)) {
        }
        flag.clear(std::memory_order_release);
    });
    EXPECT_TRUE(NoViolations(v));
    EXPECT_EQ(wide.load(), 42u);
}

TEST_F(AudioThreadGuardTest, WritingIntoPreallocatedVectorIsClean) {
    std::vector<float> block(512);
    std::vector<int> events;
    events.reserve(16);
    const AudioThreadViolations v = run_guarded([&] {
        for (std::size_t i = 0; i < block.size(); ++i) {
            block[i] = static_cast<float>(i) * 0.5f;
        }
        events.clear();
        for (int i = 0; i < 16; ++i) {
            events.push_back(i);  // within capacity: no reallocation
        }
        escape(block.data());
        escape(events.data());
    });
    EXPECT_TRUE(NoViolations(v));
}

TEST_F(AudioThreadGuardTest, SmallStdFunctionIsClean) {
    // A single pointer capture fits std::function's small buffer (libstdc++: 16 bytes).
    int state = 1;
    std::function<int()> f;
    const AudioThreadViolations v = run_guarded([&] {
        f = [p = &state] { return *p + 1; };
        state = f();
    });
    EXPECT_TRUE(NoViolations(v));
    EXPECT_EQ(state, 2);
}

// ---- the guard can fail: allocations

TEST_F(AudioThreadGuardTest, CatchesNewAndDelete) {
    const AudioThreadViolations v = run_guarded([] {
        int* p = new int(7);
        escape(p);
        delete p;
    });
    EXPECT_GE(v.allocations, 1u);
    EXPECT_GE(v.deallocations, 1u);
    ASSERT_NE(v.first, nullptr);
    EXPECT_STREQ(v.first, "operator new");
}

TEST_F(AudioThreadGuardTest, CatchesEveryOperatorNewForm) {
    using V = AudioThreadViolations;
    expect_caught("operator new[]", &V::allocations, [] {
        int* p = new int[10];
        escape(p);
        delete[] p;
    });
    expect_caught("operator new", &V::allocations, [] {
        int* p = new (std::nothrow) int(3);
        escape(p);
        delete p;
    });
    expect_caught("operator new", &V::allocations, [] {
        struct alignas(64) Line {  // over-aligned: operator new(size_t, align_val_t)
            char bytes[64];
        };
        auto* p = new Line{};
        escape(p);
        delete p;
    });
}

TEST_F(AudioThreadGuardTest, CatchesDeleteOfMemoryAllocatedBeforehand) {
    auto* p = new std::array<int, 8>{};
    escape(p);  // otherwise the new/delete pair may be elided at -O2
    const AudioThreadViolations v = run_guarded([&] { delete p; });
    EXPECT_EQ(v.allocations, 0u);
    EXPECT_GE(v.deallocations, 1u);
    ASSERT_NE(v.first, nullptr);
    EXPECT_STREQ(v.first, "operator delete");
}

TEST_F(AudioThreadGuardTest, CatchesVectorConstruction) {
    const AudioThreadViolations v = run_guarded([] {
        std::vector<int> samples(100);
        escape(samples.data());
    });
    EXPECT_GE(v.allocations, 1u);
    EXPECT_GE(v.deallocations, 1u);
}

TEST_F(AudioThreadGuardTest, CatchesMalloc) {
    const AudioThreadViolations v = run_guarded([] {
        void* p = std::malloc(64);
        escape(p);
        std::free(p);
    });
    EXPECT_GE(v.allocations, 1u);
    EXPECT_GE(v.deallocations, 1u);
    ASSERT_NE(v.first, nullptr);
    EXPECT_STREQ(v.first, "malloc");
}

TEST_F(AudioThreadGuardTest, CatchesEveryCAllocationFunction) {
    using V = AudioThreadViolations;
    expect_caught("calloc", &V::allocations, [] {
        void* p = std::calloc(4, 16);
        escape(p);
        std::free(p);
    });
    void* grown = std::malloc(8);  // realloc(nullptr, n) would be folded into malloc(n)
    expect_caught("realloc", &V::allocations, [&] {
        grown = std::realloc(grown, 4096);
        escape(grown);
    });
    std::free(grown);
    expect_caught("reallocarray", &V::allocations, [] {
        void* p = reallocarray(nullptr, 4, 8);
        escape(p);
        std::free(p);
    });
    expect_caught("aligned_alloc", &V::allocations, [] {
        void* p = std::aligned_alloc(64, 128);
        escape(p);
        std::free(p);
    });
    expect_caught("posix_memalign", &V::allocations, [] {
        void* p = nullptr;
        if (posix_memalign(&p, 64, 128) == 0) {
            escape(p);
            std::free(p);
        }
    });
    expect_caught("memalign", &V::allocations, [] {
        void* p = memalign(64, 128);
        escape(p);
        std::free(p);
    });
    expect_caught("valloc", &V::allocations, [] {
        void* p = valloc(128);
        escape(p);
        std::free(p);
    });
    expect_caught("pvalloc", &V::allocations, [] {
        void* p = pvalloc(128);
        escape(p);
        std::free(p);
    });
    // libc's own internal malloc calls are routed through the hook as well.
    expect_caught("malloc", &V::allocations, [] {
        char* p = strdup("allocated inside libc.so");
        escape(p);
        std::free(p);
    });
}

TEST_F(AudioThreadGuardTest, CatchesLongString) {
    const char* text = "far longer than the fifteen characters of the small-string buffer";
    const AudioThreadViolations v = run_guarded([&] {
        std::string s(text);
        escape(s.data());
    });
    EXPECT_GE(v.allocations, 1u);
    ASSERT_NE(v.first, nullptr);
    EXPECT_STREQ(v.first, "operator new");
}

TEST_F(AudioThreadGuardTest, CatchesAllocationInsideLibstdcxx) {
    // runtime_error's constructor lives in libstdc++.so: only seen if the hooks are exported.
    const AudioThreadViolations v = run_guarded([] {
        std::runtime_error error("a message that has to be copied into a heap-allocated string");
        escape(&error);
    });
    EXPECT_GE(v.allocations, 1u);
}

TEST_F(AudioThreadGuardTest, CatchesStdFunctionWithLargeCapture) {
    std::array<float, 32> coefficients{};
    coefficients[3] = 2.0f;
    float out = 0.0f;
    const AudioThreadViolations v = run_guarded([&] {
        std::function<float(float)> filter = [coefficients](float x) {
            return x * coefficients[3];
        };
        escape(&filter);
        out = filter(1.5f);
    });
    EXPECT_GE(v.allocations, 1u);
    EXPECT_EQ(out, 3.0f);
}

// ---- the guard can fail: locks, waits, sleeps

TEST_F(AudioThreadGuardTest, CatchesMutexLock) {
    std::mutex m;
    const AudioThreadViolations v = run_guarded([&] {
        m.lock();
        m.unlock();
    });
    EXPECT_GE(v.locks, 1u);
    EXPECT_EQ(v.allocations, 0u);
    ASSERT_NE(v.first, nullptr);
    EXPECT_STREQ(v.first, "pthread_mutex_lock");
}

TEST_F(AudioThreadGuardTest, CatchesLockGuardAndTryLock) {
    using V = AudioThreadViolations;
    std::mutex m;
    std::recursive_mutex rm;
    std::timed_mutex tm;
    expect_caught("pthread_mutex_lock", &V::locks, [&] { std::lock_guard lock(m); });
    expect_caught("pthread_mutex_trylock", &V::locks, [&] {
        if (m.try_lock()) {
            m.unlock();
        }
    });
    expect_caught("pthread_mutex_lock", &V::locks, [&] { std::scoped_lock lock(rm); });
    expect_caught("pthread_mutex_clocklock", &V::locks, [&] {
        if (tm.try_lock_for(1ms)) {
            tm.unlock();
        }
    });
}

TEST_F(AudioThreadGuardTest, CatchesConditionVariableWaitFor) {
    std::mutex m;
    std::condition_variable cv;
    const AudioThreadViolations v = run_guarded([&] {
        std::unique_lock lock(m);
        cv.wait_for(lock, 1ms);
    });
    EXPECT_GE(v.waits, 1u);
    EXPECT_GE(v.locks, 1u);
}

TEST_F(AudioThreadGuardTest, CatchesConditionVariableWaitInsideLibstdcxx) {
    // condition_variable::wait(unique_lock&) is compiled into libstdc++.so, so this proves the
    // pthread hooks see calls from shared libraries. The notifier can only take the mutex once
    // this thread has released it inside pthread_cond_wait, so the wait really happens.
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::atomic<bool> waiting{false};
    std::thread notifier([&] {
        while (!waiting.load()) {
        }
        {
            std::lock_guard lock(m);
            done = true;
        }
        cv.notify_one();
    });
    const AudioThreadViolations v = run_guarded([&] {
        std::unique_lock lock(m);
        waiting.store(true);
        while (!done) {
            cv.wait(lock);
        }
    });
    notifier.join();
    EXPECT_GE(v.waits, 1u);
}

TEST_F(AudioThreadGuardTest, CatchesSharedMutex) {
    using V = AudioThreadViolations;
    std::shared_mutex sm;
    expect_caught("pthread_rwlock_rdlock", &V::locks, [&] { std::shared_lock lock(sm); });
    expect_caught("pthread_rwlock_wrlock", &V::locks, [&] { std::unique_lock lock(sm); });
}

TEST_F(AudioThreadGuardTest, CatchesSemaphores) {
    using V = AudioThreadViolations;
    sem_t sem;
    ASSERT_EQ(sem_init(&sem, 0, 0), 0);
    const timespec deadline = deadline_in(1ms, CLOCK_REALTIME);
    int result = 0;
    int error = 0;
    expect_caught("sem_timedwait", &V::waits, [&] {
        result = sem_timedwait(&sem, &deadline);
        error = errno;
    });
    EXPECT_EQ(result, -1);
    EXPECT_EQ(error, ETIMEDOUT);

    ASSERT_EQ(sem_post(&sem), 0);
    expect_caught("sem_wait", &V::waits, [&] { sem_wait(&sem); });  // does not block: posted
    sem_destroy(&sem);
}

TEST_F(AudioThreadGuardTest, CatchesSleepsAndYield) {
    using V = AudioThreadViolations;
    const AudioThreadViolations sleep_for = run_guarded([] { std::this_thread::sleep_for(1us); });
    EXPECT_GE(sleep_for.sleeps, 1u);
    EXPECT_NE(sleep_for.first, nullptr);

    expect_caught("sched_yield", &V::sleeps, [] { std::this_thread::yield(); });
    expect_caught("nanosleep", &V::sleeps, [] {
        const timespec ts{0, 1000};
        nanosleep(&ts, nullptr);
    });
    expect_caught("clock_nanosleep", &V::sleeps, [] {
        const timespec ts{0, 1000};
        clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
    });
    expect_caught("usleep", &V::sleeps, [] { usleep(1); });
    expect_caught("sleep", &V::sleeps, [] { sleep(0); });
}

TEST_F(AudioThreadGuardTest, CatchesSpinLockAndJoin) {
    using V = AudioThreadViolations;
    pthread_spinlock_t spin;
    ASSERT_EQ(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE), 0);
    expect_caught("pthread_spin_lock", &V::locks, [&] {
        pthread_spin_lock(&spin);
        pthread_spin_unlock(&spin);
    });
    pthread_spin_destroy(&spin);

    std::thread worker([] {});
    expect_caught("pthread_join", &V::waits, [&] { worker.join(); });
}

// ---- scoping rules

TEST_F(AudioThreadGuardTest, IgnoresOtherThreads) {
    // The worker is created before the guard; both sides then only busy-wait on atomics, so the
    // only forbidden calls while the guard lives are the worker's.
    std::atomic<int> phase{0};
    AudioThreadViolations worker_own{};
    std::thread worker([&] {
        while (phase.load() != 1) {
        }
        auto owned = std::make_unique<std::vector<int>>(1000);
        escape(owned->data());
        std::mutex m;
        { std::lock_guard lock(m); }
        std::this_thread::sleep_for(100us);
        {
            AudioThreadGuard own;  // a guard on the worker sees the worker's calls
            int* p = new int(1);
            escape(p);
            delete p;
            worker_own = own.violations();
        }
        phase.store(2);
    });
    AudioThreadViolations mine;
    {
        AudioThreadGuard guard;
        phase.store(1);
        while (phase.load() != 2) {
        }
        mine = guard.violations();
    }
    worker.join();
    EXPECT_TRUE(NoViolations(mine));
    EXPECT_EQ(worker_own.allocations, 1u);
    EXPECT_EQ(worker_own.deallocations, 1u);
}

TEST_F(AudioThreadGuardTest, IgnoresCallsBeforeConstructionAndAfterDestruction) {
    EXPECT_EQ(AudioThreadGuard::depth(), 0u);
    int* before = new int(1);
    escape(before);

    AudioThreadViolations v;
    std::size_t depth_inside = 0;
    {
        AudioThreadGuard guard;
        depth_inside = AudioThreadGuard::depth();
        v = guard.violations();
    }
    delete before;
    EXPECT_TRUE(NoViolations(v));
    EXPECT_EQ(depth_inside, 1u);
    EXPECT_EQ(AudioThreadGuard::depth(), 0u);

    // A destroyed guard must be unlinked: calls after its destructor leave its bytes untouched.
    alignas(AudioThreadGuard) unsigned char storage[sizeof(AudioThreadGuard)];
    auto* g = new (storage) AudioThreadGuard;  // placement new: no allocation
    g->~AudioThreadGuard();
    unsigned char after_destruction[sizeof storage];
    std::memcpy(after_destruction, storage, sizeof storage);
    int* after = new int(2);
    escape(after);
    delete after;
    escape(storage);
    EXPECT_EQ(std::memcmp(after_destruction, storage, sizeof storage), 0);
    EXPECT_EQ(AudioThreadGuard::depth(), 0u);
}

TEST_F(AudioThreadGuardTest, NestedGuardsCountFromTheirOwnConstruction) {
    std::mutex m;
    AudioThreadViolations outer_v;
    AudioThreadViolations inner_v;
    std::size_t depth_inner = 0;
    {
        AudioThreadGuard outer;
        void* p = std::malloc(16);
        escape(p);
        {
            AudioThreadGuard inner;
            depth_inner = AudioThreadGuard::depth();
            m.lock();
            m.unlock();
            inner_v = inner.violations();
        }
        std::free(p);
        outer_v = outer.violations();
    }
    EXPECT_EQ(depth_inner, 2u);
    EXPECT_EQ(inner_v.allocations, 0u);
    EXPECT_EQ(inner_v.locks, 1u);
    ASSERT_NE(inner_v.first, nullptr);
    EXPECT_STREQ(inner_v.first, "pthread_mutex_lock");
    EXPECT_EQ(outer_v.allocations, 1u);
    EXPECT_EQ(outer_v.locks, 1u);
    EXPECT_EQ(outer_v.deallocations, 1u);  // after the inner guard ended
    ASSERT_NE(outer_v.first, nullptr);
    EXPECT_STREQ(outer_v.first, "malloc");
}

TEST_F(AudioThreadGuardTest, ToleratesOutOfOrderDestruction) {
    std::optional<AudioThreadGuard> first;
    std::optional<AudioThreadGuard> second;
    first.emplace();
    second.emplace();
    first.reset();
    void* p = std::malloc(8);
    escape(p);
    std::free(p);
    const AudioThreadViolations v = second->violations();
    const std::size_t depth = AudioThreadGuard::depth();
    second.reset();
    EXPECT_EQ(depth, 1u);
    EXPECT_EQ(v.allocations, 1u);
    EXPECT_EQ(v.deallocations, 1u);
    EXPECT_EQ(AudioThreadGuard::depth(), 0u);
}

TEST_F(AudioThreadGuardTest, HooksAreExportedFromTheExecutable) {
    // Without --export-dynamic, shared libraries would bind to glibc/libstdc++ directly.
    EXPECT_EQ(dlsym(RTLD_DEFAULT, "malloc"), reinterpret_cast<void*>(&std::malloc));
    EXPECT_EQ(dlsym(RTLD_DEFAULT, "free"), reinterpret_cast<void*>(&std::free));
    EXPECT_EQ(dlsym(RTLD_DEFAULT, "pthread_mutex_lock"),
              reinterpret_cast<void*>(&pthread_mutex_lock));
    EXPECT_EQ(dlsym(RTLD_DEFAULT, "pthread_cond_wait"),
              reinterpret_cast<void*>(&pthread_cond_wait));
    EXPECT_EQ(dlsym(RTLD_DEFAULT, "nanosleep"), reinterpret_cast<void*>(&nanosleep));
    void* (*global_new)(std::size_t) = &::operator new;
    EXPECT_EQ(dlsym(RTLD_DEFAULT, "_Znwm"), reinterpret_cast<void*>(global_new));
}

// ---- reporting

TEST(AudioThreadGuardReport, NoViolationsMessageListsCountsAndFirstOffender) {
    EXPECT_TRUE(NoViolations(AudioThreadViolations{}));

    AudioThreadViolations v;
    v.allocations = 2;
    v.locks = 1;
    v.first = "operator new";
    const ::testing::AssertionResult result = NoViolations(v);
    EXPECT_FALSE(result);
    const std::string message = result.message();
    EXPECT_NE(message.find("3 forbidden call(s)"), std::string::npos) << message;
    EXPECT_NE(message.find("allocations=2"), std::string::npos) << message;
    EXPECT_NE(message.find("locks=1"), std::string::npos) << message;
    EXPECT_NE(message.find("first offender: operator new"), std::string::npos) << message;
    EXPECT_EQ(v.total(), 3u);
}

TEST(AudioThreadGuardUnavailable, CountsNothingWhenHooksAreCompiledOut) {
    if (AudioThreadGuard::available()) {
        GTEST_SKIP() << "hooks are compiled in; covered by AudioThreadGuardTest";
    }
    const AudioThreadViolations v = run_guarded([] {
        int* p = new int(1);
        escape(p);
        delete p;
    });
    EXPECT_EQ(v.total(), 0u);
    EXPECT_EQ(v.first, nullptr);
    EXPECT_EQ(AudioThreadGuard::depth(), 0u);
}

}  // namespace
}  // namespace legato::test
