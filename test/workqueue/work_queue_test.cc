#include "workqueue/work_queue.h"

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace berth::workqueue {
namespace {

TEST(WorkQueueTest, AddDeduplicatesWaitingKeys) {
  WorkQueue q;
  q.add("a");
  q.add("a");
  q.add("b");
  q.add("a");
  EXPECT_EQ(q.len(), 2u);
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.len(), 0u);
}

TEST(WorkQueueTest, HandsOutKeysInFirstAddedOrder) {
  WorkQueue q;
  for (const char* k : {"c", "a", "b", "a", "c"}) q.add(k);
  EXPECT_EQ(q.get(), "c");
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(), "b");
}

TEST(WorkQueueTest, KeyReaddedWhileProcessingIsQueuedAgainAfterDone) {
  WorkQueue q;
  q.add("a");
  auto key = q.get();
  ASSERT_EQ(key, "a");
  q.add("a");
  q.add("a");
  // Still held by the first worker: not available to another one.
  EXPECT_EQ(q.len(), 0u);
  q.add("b");
  EXPECT_EQ(q.get(), "b");
  q.done("b");
  q.done("a");
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.len(), 0u);
}

TEST(WorkQueueTest, DoneWithoutReaddDoesNotRequeue) {
  WorkQueue q;
  q.add("a");
  ASSERT_EQ(q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.len(), 0u);
  q.add("a");
  EXPECT_EQ(q.len(), 1u);
}

TEST(WorkQueueTest, GetReturnsNulloptOnStop) {
  WorkQueue q;
  std::stop_source stop;
  std::optional<std::string> got = "unset";
  std::jthread worker([&] { got = q.get(stop.get_token()); });
  stop.request_stop();
  worker.join();
  EXPECT_EQ(got, std::nullopt);
}

TEST(WorkQueueTest, ShutDownDrainsQueuedKeysThenReturnsNullopt) {
  WorkQueue q;
  q.add("a");
  q.add("b");
  q.shut_down();
  q.add("c");  // ignored
  EXPECT_TRUE(q.shutting_down());
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownWakesBlockedGetters) {
  WorkQueue q;
  std::vector<std::optional<std::string>> results(3, std::string("unset"));
  {
    std::vector<std::jthread> workers;
    for (int i = 0; i < 3; ++i) workers.emplace_back([&, i] { results[i] = q.get(); });
    q.shut_down();
  }
  for (const auto& r : results) EXPECT_EQ(r, std::nullopt);
}

TEST(WorkQueueTest, ShutDownWithDrainWaitsForInFlightKeys) {
  WorkQueue q;
  q.add("a");
  ASSERT_EQ(q.get(), "a");
  std::atomic<bool> drained{false};
  std::jthread closer([&] {
    q.shut_down_with_drain();
    drained = true;
  });
  // The closer cannot finish while "a" is held; wait until it has at least started shutting down.
  while (!q.shutting_down()) std::this_thread::yield();
  EXPECT_FALSE(drained.load());
  q.done("a");
  closer.join();
  EXPECT_TRUE(drained.load());
  EXPECT_EQ(q.get(), std::nullopt);
}

// Many workers, many adds of few keys: no key is ever held by two workers at once, and every
// add is followed by at least one processing of that key that started after it.
TEST(WorkQueueTest, NeverHandsOneKeyToTwoWorkersUnderContention) {
  constexpr int kKeys = 8;
  constexpr int kAddsPerKey = 2000;
  constexpr int kWorkers = 6;
  WorkQueue q;
  std::mutex mu;
  std::map<std::string, int> holders;         // guarded by mu
  std::map<std::string, int> processed;       // guarded by mu
  std::atomic<int> violations{0};

  std::vector<std::jthread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.get()) {
        {
          std::lock_guard lock(mu);
          if (++holders[*key] != 1) ++violations;
          ++processed[*key];
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(mu);
          --holders[*key];
        }
        q.done(*key);
      }
    });
  }
  {
    std::vector<std::jthread> producers;
    for (int k = 0; k < kKeys; ++k) {
      producers.emplace_back([&, k] {
        for (int i = 0; i < kAddsPerKey; ++i) q.add("key-" + std::to_string(k));
      });
    }
  }
  q.shut_down_with_drain();
  for (auto& w : workers) w.join();

  EXPECT_EQ(violations.load(), 0);
  std::lock_guard lock(mu);
  ASSERT_EQ(processed.size(), static_cast<std::size_t>(kKeys));
  for (const auto& [key, n] : processed) {
    EXPECT_GE(n, 1) << key;
    EXPECT_LE(n, kAddsPerKey) << key;  // deduplicated: never more syncs than adds
  }
}

}  // namespace
}  // namespace berth::workqueue
