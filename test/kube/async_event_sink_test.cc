// AsyncEventSink: Events emitted from many threads are created by the sink's own thread; a full
// queue drops instead of blocking; stop() sends what is queued. Run under ThreadSanitizer too
// (test/tsan.cmake): the emitters, the sender thread and stats() share the queue.
#include "kube/async_event_sink.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kube/resource.h"
#include "support/fake_clock.h"
#include "support/in_memory_api_client.h"

namespace berth::kube {
namespace {

using namespace std::chrono_literals;
using berth::testing::FakeClock;
using berth::testing::InMemoryApiClient;

// Forwards to an InMemoryApiClient; while closed, create() waits (bounded) until open() and
// counts the creates that have begun, so a test knows the sender is busy.
class GatedEventApi final : public ApiClient {
 public:
  explicit GatedEventApi(bool closed) : closed_(closed) {}

  void open() {
    std::lock_guard lock(mu_);
    closed_ = false;
    cv_.notify_all();
  }
  // Waits (bounded) until `n` creates have begun; false on timeout.
  bool wait_for_creates(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return creates_begun_ >= n; });
  }
  std::size_t events_created() const {
    auto calls = inner_.calls();
    return std::count_if(calls.begin(), calls.end(), [](const std::string& c) { return c.starts_with("create events"); });
  }

  Result<nlohmann::json> create(const ResourceType& t, std::string_view ns, const nlohmann::json& o) override {
    {
      std::unique_lock lock(mu_);
      ++creates_begun_;
      cv_.notify_all();
      // Bounded: a test that forgets open() fails on its counts instead of hanging.
      cv_.wait_for(lock, 10s, [&] { return !closed_; });
    }
    return inner_.create(t, ns, o);
  }
  Result<nlohmann::json> get(const ResourceType& t, std::string_view ns, std::string_view n) override {
    return inner_.get(t, ns, n);
  }
  Result<ListPage> list(const ResourceType& t, std::string_view ns, const ListOptions& o) override {
    return inner_.list(t, ns, o);
  }
  Result<void> watch(const ResourceType& t, std::string_view ns, const WatchOptions& o, const WatchHandler& h,
                     std::stop_token s) override {
    return inner_.watch(t, ns, o, h, s);
  }
  Result<nlohmann::json> update(const ResourceType& t, std::string_view ns, std::string_view n,
                                const nlohmann::json& o) override {
    return inner_.update(t, ns, n, o);
  }
  Result<nlohmann::json> patch(const ResourceType& t, std::string_view ns, std::string_view n, PatchType p,
                               const nlohmann::json& b) override {
    return inner_.patch(t, ns, n, p, b);
  }
  Result<void> remove(const ResourceType& t, std::string_view ns, std::string_view n) override {
    return inner_.remove(t, ns, n);
  }

 private:
  InMemoryApiClient inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_;           // guarded by mu_
  int creates_begun_ = 0;  // guarded by mu_
};

ObjectReference service_ref(const std::string& name) {
  return {.kind = "Service", .api_version = "v1", .namespace_ = "default", .name = name, .uid = "uid-" + name};
}

TEST(AsyncEventSinkTest, EventsFromManyThreadsAreAllCreatedByStop) {
  GatedEventApi api(/*closed=*/false);
  FakeClock clock;
  AsyncEventSink sink(api, clock, {.capacity = 1000});
  constexpr int kThreads = 4, kEach = 25;
  {
    std::vector<std::jthread> emitters;
    for (int t = 0; t < kThreads; ++t) {
      emitters.emplace_back([&sink, t] {
        for (int i = 0; i < kEach; ++i) {
          sink.emit(service_ref("db-" + std::to_string(t)), EventType::kNormal, "PortAllocated",
                    "event " + std::to_string(i));
          (void)sink.stats();  // read while the sender writes them
        }
      });
    }
  }
  sink.stop();  // the FakeClock never reaches the drain deadline: everything queued is sent
  const AsyncEventSinkStats stats = sink.stats();
  constexpr std::uint64_t kAll = kThreads * kEach;
  EXPECT_EQ(stats.sent, kAll);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_EQ(api.events_created(), kAll);

  sink.emit(service_ref("late"), EventType::kNormal, "PortAllocated", "after stop");
  EXPECT_EQ(sink.stats().sent, kAll) << "emit after stop() is ignored";
}

TEST(AsyncEventSinkTest, AFullQueueDropsAndCountsWithoutBlockingTheCaller) {
  GatedEventApi api(/*closed=*/true);
  FakeClock clock;
  AsyncEventSink sink(api, clock, {.capacity = 3});
  sink.emit(service_ref("first"), EventType::kWarning, "InvalidOption", "held by the sender");
  ASSERT_TRUE(api.wait_for_creates(1)) << "the sender took the first Event";
  // The sender is stuck in create(): three wait, the other two are dropped at once.
  for (int i = 0; i < 5; ++i) {
    sink.emit(service_ref("db-" + std::to_string(i)), EventType::kWarning, "InvalidOption", "queued");
  }
  EXPECT_EQ(sink.stats().dropped, 2u);
  api.open();
  sink.stop();
  const AsyncEventSinkStats stats = sink.stats();
  EXPECT_EQ(stats.sent, 4u);
  EXPECT_EQ(stats.dropped, 2u);
  EXPECT_EQ(api.events_created(), 4u);
}

}  // namespace
}  // namespace berth::kube
