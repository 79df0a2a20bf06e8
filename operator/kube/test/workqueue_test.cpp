#include "operator/kube/workqueue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "operator/kube/rate_limiter.h"

namespace sluice::kube {
namespace {

using namespace std::chrono_literals;

TEST(WorkQueue, DeduplicatesQueuedKeys) {
  FakeClock clock;
  WorkQueue q(clock);
  q.add("a");
  q.add("b");
  q.add("a");
  EXPECT_EQ(q.depth(), 2u);
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.depth(), 0u);
}

TEST(WorkQueue, KeyAddedWhileProcessingIsRequeuedOnDoneNotHandedOut) {
  FakeClock clock;
  WorkQueue q(clock);
  q.add("a");
  auto key = q.get();
  ASSERT_EQ(key, "a");
  q.add("a");  // changed while being processed
  EXPECT_EQ(q.depth(), 0u) << "must not be given to a second worker";
  EXPECT_EQ(q.getFor(10ms), std::nullopt);
  q.done("a");
  EXPECT_EQ(q.depth(), 1u);
  EXPECT_EQ(q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.depth(), 0u);
}

TEST(WorkQueue, NeverProcessesOneKeyConcurrently) {
  SystemClock clock;
  WorkQueue q(clock);
  std::atomic<bool> overlap{false};
  std::mutex mu;
  std::set<std::string> active;
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.get()) {
        {
          std::lock_guard lock(mu);
          if (!active.insert(*key).second)
            overlap = true;
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(mu);
          active.erase(*key);
        }
        ++processed;
        q.done(*key);
      }
    });
  }
  for (int i = 0; i < 2000; ++i)
    q.add("k" + std::to_string(i % 5));
  q.shutdown(/*drain=*/true);
  for (auto& t : workers)
    t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GE(processed.load(), 5);
}

TEST(WorkQueue, RateLimitedBackoffDoublesAndForgetResets) {
  FakeClock clock;
  WorkQueueOptions opts;
  opts.baseDelay = 10ms;
  opts.maxDelay = 50ms;
  WorkQueue q(clock, opts);
  EXPECT_EQ(q.nextBackoff("a"), 10ms);
  q.addRateLimited("a");
  EXPECT_EQ(q.numRequeues("a"), 1);
  EXPECT_EQ(q.nextBackoff("a"), 20ms);
  q.addRateLimited("a");
  q.addRateLimited("a");
  EXPECT_EQ(q.nextBackoff("a"), 50ms) << "capped";
  EXPECT_EQ(q.depth(), 0u) << "delayed, not yet queued";
  clock.advance(10ms);
  q.promoteDue();
  EXPECT_EQ(q.depth(), 1u) << "earliest deadline wins for a waiting key";
  q.forget("a");
  EXPECT_EQ(q.numRequeues("a"), 0);
  EXPECT_EQ(q.nextBackoff("a"), 10ms);
  EXPECT_EQ(q.stats().retries, 3u);
}

TEST(WorkQueue, AddAfterWaitsForTheClock) {
  FakeClock clock;
  WorkQueue q(clock);
  q.addAfter("a", 5s);
  q.promoteDue();
  EXPECT_EQ(q.depth(), 0u);
  clock.advance(4s);
  q.promoteDue();
  EXPECT_EQ(q.depth(), 0u);
  clock.advance(1s);
  // The background thread notices the moved FakeClock within its poll interval.
  EXPECT_EQ(q.getFor(5s), "a");
}

TEST(WorkQueue, ShutdownWithDrainHandsOutRemainingKeys) {
  FakeClock clock;
  WorkQueue q(clock);
  q.add("a");
  q.add("b");
  q.shutdown(/*drain=*/true);
  q.add("c");  // ignored after shutdown
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.get(), std::nullopt);
}

TEST(WorkQueue, ShutdownWithoutDrainAbandonsKeysAndWakesWorkers) {
  FakeClock clock;
  WorkQueue q(clock);
  std::optional<std::string> got = "unset";
  std::thread waiter([&] { got = q.get(); });
  q.shutdown(/*drain=*/false);
  waiter.join();
  EXPECT_EQ(got, std::nullopt);
  q.add("x");
  EXPECT_EQ(q.get(), std::nullopt);
}

TEST(WorkQueue, WaitUntilIdleTracksInFlightWork) {
  FakeClock clock;
  WorkQueue q(clock);
  q.add("a");
  auto key = q.get();
  EXPECT_FALSE(q.waitUntilIdle(10ms));
  q.done(*key);
  EXPECT_TRUE(q.waitUntilIdle(10ms));
  EXPECT_EQ(q.stats().workCount, 1u);
}

TEST(TokenBucket, BurstThenQps) {
  FakeClock clock;
  TokenBucket bucket(clock, /*qps=*/10, /*burst=*/3);
  EXPECT_TRUE(bucket.tryAccept());
  EXPECT_TRUE(bucket.tryAccept());
  EXPECT_TRUE(bucket.tryAccept());
  EXPECT_FALSE(bucket.tryAccept());
  clock.advance(100ms);  // one token at 10 qps
  EXPECT_TRUE(bucket.tryAccept());
  EXPECT_FALSE(bucket.tryAccept());
  clock.advance(10s);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(bucket.tryAccept()) << "refills up to burst only";
  EXPECT_FALSE(bucket.tryAccept());
}

TEST(TokenBucket, ReservationsQueueInOrder) {
  FakeClock clock;
  TokenBucket bucket(clock, /*qps=*/2, /*burst=*/1);
  EXPECT_EQ(bucket.reserve(), 0ns);
  EXPECT_EQ(bucket.reserve(), 500ms);
  EXPECT_EQ(bucket.reserve(), 1000ms);
  clock.advance(1s);
  EXPECT_EQ(bucket.reserve(), 500ms);
}

}  // namespace
}  // namespace sluice::kube
