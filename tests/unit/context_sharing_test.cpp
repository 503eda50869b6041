// Sharing of the process-wide Context: concurrent handlers get one instance, which lives until
// the last of them leaves; a private context stays separate.

#include <gtest/gtest.h>

#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "stream_support.hpp"

namespace legato::test {
namespace {

TEST(ContextSharing, ConcurrentHandlersShareOneContextUntilTheLastLeaves) {
    constexpr std::size_t threads = 8;
    std::weak_ptr<Context> first;
    std::size_t first_workers = 0;
    {
        std::vector<std::unique_ptr<InferenceHandler>> handlers(threads);
        std::latch created(threads);
        std::latch ready(threads);
        std::latch destroy(1);
        std::vector<std::thread> pool;
        for (std::size_t t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                created.arrive_and_wait();  // every thread asks for the shared context at once
                handlers[t] = std::make_unique<InferenceHandler>(
                    make_config(make_bypass_backend(), 64, 0, 1, half_hop_ms(64)));
                ready.count_down();
                destroy.wait();
                handlers[t].reset();  // the last of these destroys the context
            });
        ready.wait();
        const std::shared_ptr<Context>& shared = handlers[0]->context();
        for (const auto& h : handlers)
            EXPECT_EQ(h->context().get(), shared.get());
        EXPECT_EQ(shared.use_count(), static_cast<long>(threads)) << "only the handlers hold it";
        first = shared;
        first_workers = shared->info().worker_threads;

        // While it lives, shared() returns it and ignores the config.
        ContextConfig other;
        other.worker_threads = first_workers + 2;
        EXPECT_EQ(Context::shared(other).get(), shared.get());
        EXPECT_EQ(Context::shared(other)->info().worker_threads, first_workers);

        // A private pool is separate, with its own workers.
        ContextConfig private_config;
        private_config.worker_threads = 4;
        auto own = Context::create(private_config);
        InferenceHandler isolated(make_config(make_bypass_backend(), 64, 0, 1, half_hop_ms(64)),
                                  own);
        EXPECT_EQ(isolated.context().get(), own.get());
        EXPECT_NE(own.get(), shared.get());
        EXPECT_EQ(own->info().worker_threads, 4u);
        EXPECT_EQ(shared.use_count(), static_cast<long>(threads));

        destroy.count_down();
        for (auto& thread : pool)
            thread.join();
    }
    EXPECT_TRUE(first.expired());
    // A new instance, created with the config given now. Owner comparison, not addresses: the
    // new context may reuse the old one's memory, but not its (still referenced) control block.
    ContextConfig config;
    config.worker_threads = first_workers + 2;
    const std::shared_ptr<Context> fresh = Context::shared(config);
    EXPECT_TRUE(first.owner_before(fresh) || fresh.owner_before(first));
    EXPECT_EQ(fresh->info().worker_threads, first_workers + 2);
}

}  // namespace
}  // namespace legato::test
