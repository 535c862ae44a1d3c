// The REST client and the Reflector against a real kube-sim over loopback HTTPS, with the
// faults kube-sim injects: dropped watches, compaction, 429/503 storms.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "kube/reflector.h"
#include "kube/service.h"
#include "kube/store.h"
#include "support/kube_sim_cluster.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;
using kube::kServices;

// Forwards to a real ApiClient and records the LIST calls, to see how a LIST was paged.
class CountingApi final : public kube::ApiClient {
 public:
  explicit CountingApi(kube::ApiClient& inner) : inner_(inner) {}
  Result<nlohmann::json> get(const kube::ResourceType& t, std::string_view ns, std::string_view n) override {
    return inner_.get(t, ns, n);
  }
  Result<kube::ListPage> list(const kube::ResourceType& t, std::string_view ns,
                              const kube::ListOptions& o) override {
    auto page = inner_.list(t, ns, o);
    std::lock_guard lock(mu_);
    list_limits_.push_back(o.limit);
    if (page) page_sizes_.push_back(page->items.size());
    return page;
  }
  Result<void> watch(const kube::ResourceType& t, std::string_view ns, const kube::WatchOptions& o,
                     const kube::WatchHandler& h, std::stop_token s) override {
    return inner_.watch(t, ns, o, h, s);
  }
  Result<nlohmann::json> create(const kube::ResourceType& t, std::string_view ns, const nlohmann::json& o) override {
    return inner_.create(t, ns, o);
  }
  Result<nlohmann::json> update(const kube::ResourceType& t, std::string_view ns, std::string_view n,
                                const nlohmann::json& o) override {
    return inner_.update(t, ns, n, o);
  }
  Result<nlohmann::json> patch(const kube::ResourceType& t, std::string_view ns, std::string_view n,
                               kube::PatchType p, const nlohmann::json& b) override {
    return inner_.patch(t, ns, n, p, b);
  }
  Result<void> remove(const kube::ResourceType& t, std::string_view ns, std::string_view n) override {
    return inner_.remove(t, ns, n);
  }
  std::vector<std::size_t> page_sizes() {
    std::lock_guard lock(mu_);
    return page_sizes_;
  }
  std::vector<std::int64_t> list_limits() {
    std::lock_guard lock(mu_);
    return list_limits_;
  }

 private:
  kube::ApiClient& inner_;
  std::mutex mu_;
  std::vector<std::int64_t> list_limits_;
  std::vector<std::size_t> page_sizes_;
};

std::uint64_t rv_number(const std::string& rv) { return rv.empty() ? 0 : std::stoull(rv); }

// A Reflector<Service> on its own thread, with a handler that records, per key, the
// resourceVersions it saw in the store, and wakes waiters.
class ReflectedServices {
 public:
  ReflectedServices(kube::ApiClient& api, kube::ReflectorOptions options = {})
      : reflector_(api, kServices, "", {}, store_, kube::parse_service, SystemClock::instance(),
                   tuned(std::move(options)), [this](const std::string& key) { on_key(key); }),
        thread_([this](std::stop_token stop) { reflector_.run(stop); }) {}

  ~ReflectedServices() { thread_.request_stop(); }

  // Waits until `done()` holds, re-checking whenever the handler fires (and at least every
  // 20 ms, since bookmarks move the resourceVersion without calling the handler).
  bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      cv_.wait_for(lock, 20ms);
    }
    return true;
  }

  // Waits until the reflector has seen everything up to the server's current resourceVersion.
  bool wait_caught_up(kube::ApiClient& api, std::chrono::milliseconds timeout) {
    auto head = api.list(kServices, "", {.limit = 1});
    if (!head) return false;
    const auto target = rv_number(head->resource_version);
    return wait_until([&] { return rv_number(reflector_.last_resource_version()) >= target; }, timeout);
  }

  // Keys whose recorded resourceVersions went backwards: an event replayed or applied twice.
  std::vector<std::string> regressions() {
    std::lock_guard lock(mu_);
    return regressions_;
  }

  kube::Store<kube::Service>& store() { return store_; }
  kube::Reflector<kube::Service>& reflector() { return reflector_; }

 private:
  static kube::ReflectorOptions tuned(kube::ReflectorOptions o) {
    o.backoff = {.initial = 20ms, .max = 200ms};
    o.min_healthy_watch = 0ms;
    return o;
  }

  void on_key(const std::string& key) {
    auto svc = store_.get(key);
    std::lock_guard lock(mu_);
    if (svc) {
      auto rv = rv_number(svc->meta.resource_version);
      auto& last = last_rv_[key];
      if (rv <= last) regressions_.push_back(key);
      last = rv;
    }
    cv_.notify_all();
  }

  kube::Store<kube::Service> store_;
  kube::Reflector<kube::Service> reflector_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::uint64_t> last_rv_;  // guarded by mu_; kept across deletes on purpose
  std::vector<std::string> regressions_;          // guarded by mu_
  std::jthread thread_;                           // last: started after everything it uses
};

// Everything the server has, as key -> resourceVersion.
std::map<std::string, std::string> server_state(kube::ApiClient& api) {
  std::map<std::string, std::string> out;
  kube::ListOptions options{.limit = 1000};
  do {
    auto page = api.list(kServices, "", options);
    EXPECT_TRUE(page) << page.error().describe();
    if (!page) break;
    for (const auto& item : page->items) {
      out[item["metadata"]["namespace"].get<std::string>() + "/" + item["metadata"]["name"].get<std::string>()] =
          item["metadata"]["resourceVersion"].get<std::string>();
    }
    options.continue_token = page->continue_token;
  } while (!options.continue_token.empty());
  return out;
}

std::map<std::string, std::string> store_state(kube::Store<kube::Service>& store) {
  std::map<std::string, std::string> out;
  for (const auto& svc : store.list()) out[svc->meta.key()] = svc->meta.resource_version;
  return out;
}

// Creates `count` Services named <prefix>-<i> in "default" from `threads` clients at once.
void create_services(KubeSimCluster& cluster, const std::string& prefix, int count, int threads) {
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  {
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        auto client = cluster.connect({.qps = 0, .burst = 1});
        for (int i = next++; i < count; i = next++) {
          if (!client->api().create(kServices, "default", service_manifest(prefix + "-" + std::to_string(i)))) {
            ++failures;
          }
        }
      });
    }
  }
  ASSERT_EQ(failures.load(), 0);
}

class ReflectorAgainstKubeSim : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.ready()) << cluster_.error(); }
  KubeSimCluster cluster_;
};

TEST_F(ReflectorAgainstKubeSim, ListsTenThousandServicesInPagesIntoTheStore) {
  create_services(cluster_, "db", 10000, 4);
  CountingApi counting(cluster_.api());
  ReflectedServices services(counting, {.page_size = 500});
  ASSERT_TRUE(services.wait_until([&] { return services.reflector().has_synced(); }, 120s));

  EXPECT_EQ(services.store().size(), 10000u);
  auto pages = counting.page_sizes();
  ASSERT_EQ(pages.size(), 20u);  // 10,000 in pages of 500
  for (auto size : pages) EXPECT_EQ(size, 500u);
  for (auto limit : counting.list_limits()) EXPECT_EQ(limit, 500);
  EXPECT_EQ(store_state(services.store()), server_state(cluster_.api()));
}

TEST_F(ReflectorAgainstKubeSim, WatchesDroppedOverAndOverLoseAndRepeatNothing) {
  ReflectedServices services(cluster_.api());
  ASSERT_TRUE(services.wait_until([&] { return services.reflector().has_synced(); }, 30s));

  // A writer creates, changes and deletes Services while the watches are dropped every 40
  // writes; the reflector must resume each time from its last resourceVersion.
  constexpr int kWrites = 600;
  int drops = 0;
  for (int i = 0; i < kWrites; ++i) {
    const std::string name = "churn-" + std::to_string(i % 50);
    Result<void> written;
    if (i % 3 == 0) {
      auto r = cluster_.api().create(kServices, "default", service_manifest(name, 3306, std::to_string(i)));
      if (!r && r.error().code != ErrorCode::kAlreadyExists) written = std::unexpected(r.error());
    } else if (i % 3 == 1) {
      auto r = cluster_.api().patch(kServices, "default", name, kube::PatchType::kMerge,
                                    {{"metadata", {{"annotations", {{"example.com/note", std::to_string(i)}}}}}});
      if (!r && r.error().code != ErrorCode::kNotFound) written = std::unexpected(r.error());
    } else if (i % 7 == 2) {
      auto r = cluster_.api().remove(kServices, "default", name);
      if (!r && r.error().code != ErrorCode::kNotFound) written = std::unexpected(r.error());
    }
    ASSERT_TRUE(written) << written.error().describe();
    if (i % 40 == 39) {
      ASSERT_TRUE(cluster_.sim().admin("POST", "/admin/faults/drop-watches"));
      ++drops;
    }
  }

  ASSERT_TRUE(services.wait_caught_up(cluster_.api(), 30s));
  EXPECT_EQ(store_state(services.store()), server_state(cluster_.api()));
  EXPECT_TRUE(services.regressions().empty()) << services.regressions().front();
  auto stats = services.reflector().stats();
  EXPECT_EQ(stats.relists, 0u) << "a dropped watch must resume, not relist";
  EXPECT_GE(stats.watch_restarts, static_cast<std::uint64_t>(drops));
}

TEST_F(ReflectorAgainstKubeSim, CompactionForcesARelistThatConverges) {
  create_services(cluster_, "before", 30, 1);
  ReflectedServices services(cluster_.api());
  ASSERT_TRUE(services.wait_until([&] { return services.reflector().has_synced(); }, 30s));

  // Keep the reflector away while history moves on and is compacted: its watch is dropped and
  // its (cluster-wide) requests fail, while this test writes through the namespaced path.
  ASSERT_TRUE(cluster_.sim().admin("POST", "/admin/faults/errors",
                                   R"({"count": 100000, "status": 503, "paths": "/api/v1/services"})"));
  ASSERT_TRUE(cluster_.sim().admin("POST", "/admin/faults/drop-watches"));
  create_services(cluster_, "during", 20, 1);
  ASSERT_TRUE(cluster_.api().remove(kServices, "default", "before-0"));
  ASSERT_TRUE(cluster_.sim().admin("POST", "/admin/faults/compact"));
  ASSERT_TRUE(cluster_.sim().admin("POST", "/admin/faults/clear"));

  ASSERT_TRUE(services.wait_until([&] { return services.reflector().stats().relists >= 1; }, 30s));
  ASSERT_TRUE(services.wait_caught_up(cluster_.api(), 30s));
  EXPECT_EQ(store_state(services.store()), server_state(cluster_.api()));
  EXPECT_EQ(services.store().get("default/before-0"), nullptr);
  EXPECT_NE(services.store().get("default/during-19"), nullptr);
}

TEST_F(ReflectorAgainstKubeSim, ThrottlingAndUnavailableStormsAreRetriedUntilConvergence) {
  create_services(cluster_, "db", 50, 1);
  // The next 12 requests of any kind are refused: first 429 with Retry-After, then 503.
  ASSERT_TRUE(cluster_.sim().admin("POST", "/admin/faults/errors",
                                   R"({"count": 6, "status": 429, "retryAfterSeconds": 1})"));
  auto throttled_client = cluster_.connect({.qps = 0, .burst = 1, .retry = {.max_attempts = 20}});
  ReflectedServices services(throttled_client->api());
  ASSERT_TRUE(services.wait_until([&] { return services.reflector().has_synced(); }, 60s));
  EXPECT_EQ(services.store().size(), 50u);

  ASSERT_TRUE(cluster_.sim().admin("POST", "/admin/faults/errors", R"({"count": 6, "status": 503})"));
  ASSERT_TRUE(cluster_.sim().admin("POST", "/admin/faults/drop-watches"));
  create_services(cluster_, "after", 5, 1);  // these writes retry through the 503s too
  ASSERT_TRUE(services.wait_caught_up(cluster_.api(), 60s));
  EXPECT_EQ(store_state(services.store()), server_state(cluster_.api()));

  auto stats = cluster_.sim().admin("GET", "/admin/stats");
  ASSERT_TRUE(stats);
  auto doc = nlohmann::json::parse(*stats);
  EXPECT_NE(doc.dump().find("429"), std::string::npos) << doc.dump();
}

}  // namespace
}  // namespace berth::testing
