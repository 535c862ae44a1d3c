// ServiceController::run() as berth runs it: several workers syncing at once, the reflector's
// handler enqueueing, the data plane marking a port unusable, and /metrics reading the counts,
// each from a thread of its own. The other controller tests drive one sync without threads;
// this one is for ThreadSanitizer (test/tsan.cmake) and checks the outcome in every build.
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "controller/service_controller.h"
#include "kube/resource.h"
#include "support/eventually.h"
#include "support/fake_clock.h"
#include "support/in_memory_api_client.h"
#include "support/recording_event_sink.h"

namespace berth::controller {
namespace {

using namespace std::chrono_literals;

constexpr int kServiceCount = 40;

nlohmann::json workers_test_service(int i) {
  return {{"metadata",
           {{"name", "db-" + std::to_string(i)},
            {"namespace", "default"},
            {"creationTimestamp", "2026-11-23T10:00:00Z"},
            {"annotations", {{"ingress", "haproxy-ingress"}}}}},
          {"spec", {{"ports", {{{"name", "mysql"}, {"port", 3306}, {"protocol", "TCP"}}}}}}};
}

// The host port the cluster holds for db-<i>'s port 3306, or 0.
int workers_test_host_port(testing::InMemoryApiClient& api, int i) {
  auto svc = api.object(kube::kServices, "default", "db-" + std::to_string(i));
  if (!svc) return 0;
  const auto annotations = (*svc)["metadata"].value("annotations", nlohmann::json::object());
  auto it = annotations.find("haproxy-ingress/3306");
  return it == annotations.end() ? 0 : std::stoi(it->get<std::string>());
}

TEST(ServiceControllerWorkersTest, WorkersReflectorDataPlaneAndMetricsThreadsTogetherGiveUniquePorts) {
  testing::InMemoryApiClient api;
  kube::Store<kube::Service> store;
  testing::RecordingEventSink events;
  testing::FakeClock clock;
  AllocatorConfig config;
  config.port_range = *ports::PortRangeSet::parse("20000-20099");
  config.quarantine = 10min;
  config.workers = 4;
  ServiceController controller(api, store, events, clock, config);

  for (int i = 0; i < kServiceCount; ++i) {
    store.upsert(std::make_shared<const kube::Service>(*kube::parse_service(api.put(kube::kServices, workers_test_service(i)))));
  }

  std::jthread allocator([&](std::stop_token stop) { controller.run(stop); });
  // /metrics: reads the counters and the pool while the workers write them.
  std::jthread metrics([&](std::stop_token stop) {
    while (!stop.stop_requested()) {
      (void)controller.stats();
      if (controller.rebuilt()) (void)controller.pool_counts();
      (void)controller.held("default/db-0");
      std::this_thread::yield();
    }
  });
  // The reflector's handler: every key again, as watch events would queue them.
  std::jthread reflector([&] {
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < kServiceCount; ++i) controller.enqueue("default/db-" + std::to_string(i));
    }
  });

  ASSERT_TRUE(berth::testing::eventually(
      [&] {
        for (int i = 0; i < kServiceCount; ++i) {
          if (workers_test_host_port(api, i) == 0) return false;
        }
        return true;
      },
      30s))
      << "every Service gets a host port";

  // The data plane finds db-0's port held by another process: db-0 moves, from this thread,
  // while the workers run.
  const int busy = workers_test_host_port(api, 0);
  ASSERT_TRUE(controller.mark_port_unusable(busy));
  ASSERT_TRUE(berth::testing::eventually(
      [&] {
        const int now = workers_test_host_port(api, 0);
        return now != 0 && now != busy;
      },
      30s))
      << "db-0 moves off the unusable port";

  reflector.join();
  allocator.request_stop();
  allocator.join();
  metrics.request_stop();
  metrics.join();

  std::set<int> seen;
  for (int i = 0; i < kServiceCount; ++i) {
    const int host_port = workers_test_host_port(api, i);
    EXPECT_GE(host_port, 20000);
    EXPECT_LE(host_port, 20099);
    EXPECT_NE(host_port, busy);
    EXPECT_TRUE(seen.insert(host_port).second) << "host port " << host_port << " given twice";
  }
  EXPECT_GE(controller.stats().syncs, static_cast<std::uint64_t>(kServiceCount));
  EXPECT_EQ(controller.pool_counts().unusable, 1u);
  EXPECT_FALSE(controller.rebuilt()) << "the term ended";
}

}  // namespace
}  // namespace berth::controller
