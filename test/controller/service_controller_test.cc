// The sync of one Service, driven without threads: objects live in an InMemoryApiClient (the
// "cluster") and in the Store (the cache), the test calls rebuild() and sync() and checks the
// calls the controller made, the annotations it left and the Events it raised.
#include "controller/service_controller.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/quarantine_record.h"
#include "kube/resource.h"
#include "support/fake_clock.h"
#include "support/in_memory_api_client.h"
#include "support/recording_event_sink.h"

namespace berth::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using Annotations = std::map<std::string, std::string>;

constexpr char kMarked[] = "haproxy-ingress";

struct PortSpec {
  int port;
  std::string protocol = "TCP";
};

class ServiceControllerTest : public ::testing::Test {
 protected:
  static AllocatorConfig default_config() {
    AllocatorConfig config;
    config.port_range = *ports::PortRangeSet::parse("20000-20009");
    config.excluded = *ports::PortRangeSet::parse("20005");
    config.quarantine = std::chrono::minutes(10);
    return config;
  }

  void SetUp() override { start(default_config()); }

  void start(AllocatorConfig config) {
    config_ = config;
    controller_ = std::make_unique<ServiceController>(api_, store_, events_, clock_, std::move(config));
  }

  // A user creates (or replaces) a Service; the cache sees it at once unless `cached` is false.
  void create(const std::string& name, std::vector<PortSpec> ports, Annotations annotations = {{"ingress", kMarked}},
              std::string ns = "default", std::string created = "2026-11-23T10:00:00Z", bool cached = true) {
    nlohmann::json spec_ports = nlohmann::json::array();
    for (const PortSpec& p : ports) {
      spec_ports.push_back({{"name", "p" + std::to_string(p.port)}, {"port", p.port}, {"protocol", p.protocol}});
    }
    nlohmann::json svc = {{"metadata",
                           {{"name", name},
                            {"namespace", ns},
                            {"creationTimestamp", created},
                            {"annotations", nlohmann::json(annotations)}}},
                          {"spec", {{"ports", spec_ports}}}};
    if (auto old = api_.object(kube::kServices, ns, name)) svc["metadata"]["uid"] = (*old)["metadata"]["uid"];
    auto stored = api_.put(kube::kServices, svc);
    if (cached) cache(stored);
  }

  // A user edits the annotations of an existing Service.
  void annotate(const std::string& key, Annotations annotations) {
    auto [ns, name] = split(key);
    auto svc = *api_.object(kube::kServices, ns, name);
    svc["metadata"]["annotations"] = annotations;
    cache(api_.put(kube::kServices, svc));
  }

  void cache(const nlohmann::json& object) { store_.upsert(std::make_shared<const kube::Service>(*kube::parse_service(object))); }

  void remove(const std::string& key) {
    auto [ns, name] = split(key);
    api_.erase(kube::kServices, ns, name);
    store_.remove(key);
  }

  static std::pair<std::string, std::string> split(const std::string& key) {
    auto slash = key.find('/');
    return {key.substr(0, slash), key.substr(slash + 1)};
  }

  // The Service's haproxy-ingress/<port> annotations in the cluster.
  Annotations allocations(const std::string& key) {
    auto [ns, name] = split(key);
    Annotations out;
    auto svc = api_.object(kube::kServices, ns, name);
    if (!svc) return out;
    const nlohmann::json annotations = (*svc)["metadata"].value("annotations", nlohmann::json::object());
    for (const auto& [k, v] : annotations.items()) {
      if (k.starts_with("haproxy-ingress/")) out[k] = v.get<std::string>();
    }
    return out;
  }

  QuarantinedPorts persisted_quarantine() {
    auto lease = api_.object(kube::kLeases, "default", "berth-quarantine");
    if (!lease) return {};
    return parse_quarantine((*lease)["metadata"]["annotations"]["haproxy-ingress/quarantine"].get<std::string>())->ports;
  }

  void rebuild() {
    auto summary = controller_->rebuild();
    ASSERT_TRUE(summary) << summary.error().describe();
    api_.clear_calls();
    events_.clear();
  }

  void sync_ok(const std::string& key) {
    auto result = controller_->sync(key);
    ASSERT_TRUE(result) << result.error().describe();
  }

  AllocatorConfig config_;
  testing::InMemoryApiClient api_;
  kube::Store<kube::Service> store_;
  testing::RecordingEventSink events_;
  testing::FakeClock clock_;
  std::unique_ptr<ServiceController> controller_;
};

TEST_F(ServiceControllerTest, MarkedServiceGetsOneHostPortPerTcpPortInOneWrite) {
  create("db", {{3306}, {33060}, {53, "UDP"}});
  rebuild();
  sync_ok("default/db");
  EXPECT_THAT(api_.calls(), ElementsAre("patch services default/db"));
  EXPECT_EQ(allocations("default/db"),
            (Annotations{{"haproxy-ingress/3306", "20000"}, {"haproxy-ingress/33060", "20001"}}));
  EXPECT_THAT(events_.summary(), UnorderedElementsAre("default/db UnsupportedProtocol", "default/db PortAllocated",
                                                      "default/db PortAllocated"));
  EXPECT_EQ(controller_->held("default/db"), (std::map<int, int>{{3306, 20000}, {33060, 20001}}));

  // The cache holds the write's answer, so syncing again changes nothing and repeats no Event.
  events_.clear();
  api_.clear_calls();
  sync_ok("default/db");
  EXPECT_THAT(api_.calls(), IsEmpty());
  EXPECT_THAT(events_.summary(), IsEmpty());
}

// The write's answer is stored before its watch event arrives, and that event then changes
// nothing and calls no Reflector handler: the data plane hears of the new port from here.
TEST_F(ServiceControllerTest, EveryWriteStoredInTheCacheIsToldToTheStoreObserver) {
  std::vector<std::string> told;
  controller_->set_store_observer([&](const std::string& key) { told.push_back(key); });
  create("db", {{3306}});
  create("web", {{80}}, {});
  rebuild();
  sync_ok("default/db");
  sync_ok("default/web");
  EXPECT_THAT(told, ElementsAre("default/db"));
  auto cached = store_.get("default/db");
  ASSERT_NE(cached, nullptr);
  EXPECT_EQ(cached->meta.annotations.at("haproxy-ingress/3306"), "20000");
  sync_ok("default/db");
  EXPECT_THAT(told, ElementsAre("default/db")) << "no write, nothing stored, nothing told";
}

TEST_F(ServiceControllerTest, UnmarkedServicesAreLeftAlone) {
  create("web", {{80}}, {});
  create("other", {{80}}, {{"ingress", "nginx"}});
  rebuild();
  sync_ok("default/web");
  sync_ok("default/other");
  EXPECT_THAT(api_.calls(), IsEmpty());
  EXPECT_EQ(controller_->pool_counts().allocated, 0u);
}

TEST_F(ServiceControllerTest, RebuildKeepsEveryValidAllocationAndWritesNothing) {
  create("a", {{3306}}, {{"ingress", kMarked}, {"haproxy-ingress/3306", "20007"}});
  create("b", {{5432}}, {{"ingress", kMarked}, {"haproxy-ingress/5432", "20003"}});
  rebuild();
  sync_ok("default/a");
  sync_ok("default/b");
  EXPECT_THAT(api_.calls(), IsEmpty());
  EXPECT_EQ(controller_->held("default/a"), (std::map<int, int>{{3306, 20007}}));
  EXPECT_EQ(controller_->held("default/b"), (std::map<int, int>{{5432, 20003}}));
  // A new Service continues after the highest allocated port.
  create("c", {{6379}});
  sync_ok("default/c");
  EXPECT_EQ(allocations("default/c"), (Annotations{{"haproxy-ingress/6379", "20008"}}));
}

TEST_F(ServiceControllerTest, RebuildGivesADuplicateToTheOlderServiceAndMovesTheOther) {
  create("young", {{3306}}, {{"ingress", kMarked}, {"haproxy-ingress/3306", "20002"}}, "default",
         "2026-11-23T12:00:00Z");
  create("old", {{3306}}, {{"ingress", kMarked}, {"haproxy-ingress/3306", "20002"}}, "default",
         "2026-11-23T09:00:00Z");
  rebuild();
  sync_ok("default/old");
  sync_ok("default/young");
  EXPECT_EQ(allocations("default/old"), (Annotations{{"haproxy-ingress/3306", "20002"}}));
  EXPECT_EQ(allocations("default/young"), (Annotations{{"haproxy-ingress/3306", "20003"}}));
  EXPECT_THAT(events_.summary(), UnorderedElementsAre("default/young PortConflict", "default/old PortConflict",
                                                      "default/young PortAllocated"));
}

struct PinCase {
  std::string name;
  std::string value;                 // the user's haproxy-ingress/3306
  std::string expected;              // what the annotation ends as
  std::vector<std::string> reasons;  // Events on the Service, in order
  bool writes;
};

class PinnedPortTest : public ServiceControllerTest, public ::testing::WithParamInterface<PinCase> {};

TEST_P(PinnedPortTest, ValidFreeValuesAreKeptAndOthersReplacedWithAWarning) {
  const PinCase& c = GetParam();
  create("holder", {{5432}}, {{"ingress", kMarked}, {"haproxy-ingress/5432", "20009"}});
  rebuild();
  create("db", {{3306}}, {{"ingress", kMarked}, {"haproxy-ingress/3306", c.value}});
  sync_ok("default/db");
  EXPECT_EQ(allocations("default/db"), (Annotations{{"haproxy-ingress/3306", c.expected}}));
  std::vector<std::string> reasons;
  for (const auto& e : events_.events()) {
    if (e.object == "default/db") reasons.push_back(e.reason);
  }
  EXPECT_EQ(reasons, c.reasons);
  EXPECT_EQ(api_.calls().size(), c.writes ? 1u : 0u);
  EXPECT_EQ(allocations("default/holder"), (Annotations{{"haproxy-ingress/5432", "20009"}}));
}

INSTANTIATE_TEST_SUITE_P(
    Pins, PinnedPortTest,
    ::testing::Values(PinCase{"FreeInPool", "20004", "20004", {"PortAllocated"}, false},
                      PinCase{"OutOfPool", "30000", "20000", {"InvalidAnnotation", "PortAllocated"}, true},
                      PinCase{"Excluded", "20005", "20000", {"InvalidAnnotation", "PortAllocated"}, true},
                      PinCase{"NotANumber", "mysql", "20000", {"InvalidAnnotation", "PortAllocated"}, true},
                      PinCase{"LeadingZero", "020004", "20000", {"InvalidAnnotation", "PortAllocated"}, true},
                      PinCase{"HeldByAnother", "20009", "20000", {"PortConflict", "PortAllocated"}, true}),
    [](const auto& info) { return info.param.name; });

TEST_F(ServiceControllerTest, PortConflictIsAlsoToldToTheHolder) {
  create("holder", {{5432}}, {{"ingress", kMarked}, {"haproxy-ingress/5432", "20009"}});
  rebuild();
  create("db", {{3306}}, {{"ingress", kMarked}, {"haproxy-ingress/3306", "20009"}});
  sync_ok("default/db");
  auto events = events_.events();
  auto holder = std::find_if(events.begin(), events.end(), [](auto& e) { return e.object == "default/holder"; });
  ASSERT_NE(holder, events.end());
  EXPECT_EQ(holder->reason, "PortConflict");
  EXPECT_THAT(holder->message, ::testing::HasSubstr("default/db"));
}

TEST_F(ServiceControllerTest, RemovedPortIsReleasedIntoAPersistedQuarantineBeforeTheWrite) {
  create("db", {{3306}, {33060}});
  rebuild();
  sync_ok("default/db");
  create("db", {{3306}},
         {{"ingress", kMarked}, {"haproxy-ingress/3306", "20000"}, {"haproxy-ingress/33060", "20001"}});
  api_.clear_calls();
  events_.clear();
  sync_ok("default/db");
  // The quarantine reaches the Lease before the annotation leaves the Service.
  EXPECT_THAT(api_.calls(), ElementsAre("get leases default/berth-quarantine", "create leases default/berth-quarantine",
                                        "patch services default/db"));
  EXPECT_EQ(allocations("default/db"), (Annotations{{"haproxy-ingress/3306", "20000"}}));
  EXPECT_THAT(events_.summary(), ElementsAre("default/db PortReleased"));
  EXPECT_TRUE(persisted_quarantine().contains(20001));
  EXPECT_EQ(controller_->pool_counts().quarantined, 1u);
}

TEST_F(ServiceControllerTest, DeletedServiceIsConfirmedWithAGetAndItsPortsQuarantined) {
  create("db", {{3306}});
  rebuild();
  sync_ok("default/db");
  // The cache lost the Service but the cluster still has it: nothing may be released.
  store_.remove("default/db");
  api_.clear_calls();
  sync_ok("default/db");
  EXPECT_THAT(api_.calls(), ElementsAre("get services default/db"));
  EXPECT_EQ(controller_->held("default/db"), (std::map<int, int>{{3306, 20000}}));

  remove("default/db");
  api_.clear_calls();
  sync_ok("default/db");
  EXPECT_THAT(api_.calls(), ElementsAre("get services default/db", "get leases default/berth-quarantine",
                                        "create leases default/berth-quarantine"));
  EXPECT_TRUE(controller_->held("default/db").empty());
  EXPECT_TRUE(persisted_quarantine().contains(20000));
}

TEST_F(ServiceControllerTest, QuarantinedPortIsReusedOnlyAfterThePeriod) {
  AllocatorConfig config = default_config();
  config.port_range = *ports::PortRangeSet::parse("20000-20001");
  config.excluded = {};
  start(config);
  create("a", {{3306}});
  create("b", {{3306}});
  rebuild();
  sync_ok("default/a");
  sync_ok("default/b");
  remove("default/a");
  sync_ok("default/a");  // 20000 into quarantine
  create("c", {{3306}});
  events_.clear();
  sync_ok("default/c");
  EXPECT_THAT(events_.summary(), ElementsAre("default/c PoolExhausted"));
  EXPECT_TRUE(allocations("default/c").empty());
  sync_ok("default/c");  // the same state: no second Event
  EXPECT_THAT(events_.summary(), ElementsAre("default/c PoolExhausted"));

  clock_.advance(std::chrono::minutes(10) - std::chrono::seconds(1));
  sync_ok("default/c");
  EXPECT_TRUE(allocations("default/c").empty());
  clock_.advance(std::chrono::seconds(1));
  sync_ok("default/c");
  EXPECT_EQ(allocations("default/c"), (Annotations{{"haproxy-ingress/3306", "20000"}}));
}

TEST_F(ServiceControllerTest, QuarantineSurvivesARestart) {
  create("a", {{3306}});
  rebuild();
  sync_ok("default/a");
  remove("default/a");
  sync_ok("default/a");
  // A new process: same cluster, empty memory.
  start(default_config());
  create("b", {{3306}});
  rebuild();
  EXPECT_EQ(controller_->pool_counts().quarantined, 1u);
  sync_ok("default/b");
  EXPECT_EQ(allocations("default/b"), (Annotations{{"haproxy-ingress/3306", "20001"}}));
}

TEST_F(ServiceControllerTest, UnmarkingRemovesEveryAllocationAnnotation) {
  create("db", {{3306}});
  rebuild();
  sync_ok("default/db");
  annotate("default/db", {{"ingress", "none"}, {"haproxy-ingress/3306", "20000"}, {"haproxy-ingress/9999", "1"},
                          {"haproxy-ingress/check", "mysql"}});
  sync_ok("default/db");
  auto svc = *api_.object(kube::kServices, "default", "db");
  EXPECT_EQ(svc["metadata"]["annotations"],
            (nlohmann::json{{"ingress", "none"}, {"haproxy-ingress/check", "mysql"}}));
  EXPECT_EQ(controller_->pool_counts().allocated, 0u);
  EXPECT_EQ(controller_->pool_counts().quarantined, 1u);
}

TEST_F(ServiceControllerTest, ConflictOnWriteRollsBackAndLeavesTheClusterUntouched) {
  create("db", {{3306}});
  rebuild();
  api_.fail_next("patch", Error{ErrorCode::kConflict, "the object has been modified", 409});
  auto result = controller_->sync("default/db");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kConflict);
  EXPECT_EQ(controller_->pool_counts().allocated, 0u);
  EXPECT_EQ(controller_->pool_counts().quarantined, 0u);  // never written: no quarantine
  EXPECT_THAT(events_.summary(), IsEmpty());
  EXPECT_EQ(controller_->stats().conflicts, 1u);
  sync_ok("default/db");
  // Next-fit moves on past the rolled-back port; what matters is one allocation, no leak.
  EXPECT_EQ(allocations("default/db"), (Annotations{{"haproxy-ingress/3306", "20001"}}));
  EXPECT_EQ(controller_->pool_counts().allocated, 1u);
  EXPECT_EQ(controller_->pool_counts().quarantined, 0u);
}

TEST_F(ServiceControllerTest, StaleCacheMakesTheWriteFailInsteadOfOverwriting) {
  create("db", {{3306}});
  rebuild();
  // Someone else wrote since the cache saw the Service.
  auto svc = *api_.object(kube::kServices, "default", "db");
  svc["metadata"]["annotations"]["team"] = "payments";
  api_.put(kube::kServices, svc);
  auto result = controller_->sync("default/db");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kConflict);
  EXPECT_EQ((*api_.object(kube::kServices, "default", "db"))["metadata"]["annotations"]["team"], "payments");
}

TEST_F(ServiceControllerTest, InvalidValueOnAHeldPortIsWrittenBack) {
  create("db", {{3306}});
  rebuild();
  sync_ok("default/db");
  annotate("default/db", {{"ingress", kMarked}, {"haproxy-ingress/3306", "oops"}});
  events_.clear();
  sync_ok("default/db");
  EXPECT_EQ(allocations("default/db"), (Annotations{{"haproxy-ingress/3306", "20000"}}));
  EXPECT_THAT(events_.summary(), ElementsAre("default/db InvalidAnnotation"));
}

TEST_F(ServiceControllerTest, RemovedAnnotationOfAHeldPortIsRestored) {
  create("db", {{3306}});
  rebuild();
  sync_ok("default/db");
  annotate("default/db", {{"ingress", kMarked}});
  sync_ok("default/db");
  EXPECT_EQ(allocations("default/db"), (Annotations{{"haproxy-ingress/3306", "20000"}}));
}

TEST_F(ServiceControllerTest, UserMovesAPinnedPortToAFreeOne) {
  create("db", {{3306}});
  rebuild();
  sync_ok("default/db");
  annotate("default/db", {{"ingress", kMarked}, {"haproxy-ingress/3306", "20008"}});
  events_.clear();
  sync_ok("default/db");
  EXPECT_EQ(controller_->held("default/db"), (std::map<int, int>{{3306, 20008}}));
  EXPECT_TRUE(controller_->pool_counts().quarantined == 1u);
  EXPECT_THAT(events_.summary(), ElementsAre("default/db PortReleased", "default/db PortAllocated"));
  EXPECT_TRUE(persisted_quarantine().contains(20000));
}

TEST_F(ServiceControllerTest, NamespaceLimitStopsOnlyThatNamespace) {
  AllocatorConfig config = default_config();
  config.max_ports_per_namespace = 2;
  start(config);
  create("a", {{1}, {2}, {3}}, {{"ingress", kMarked}}, "team-a");
  create("b", {{1}}, {{"ingress", kMarked}}, "team-b");
  rebuild();
  sync_ok("team-a/a");
  sync_ok("team-b/b");
  EXPECT_EQ(allocations("team-a/a").size(), 2u);
  EXPECT_EQ(allocations("team-b/b").size(), 1u);
  EXPECT_THAT(events_.summary(), ::testing::Contains("team-a/a PortLimitReached"));
}

TEST_F(ServiceControllerTest, NewIncarnationUnderTheSameNameGetsAFreshPort) {
  create("db", {{3306}});
  rebuild();
  sync_ok("default/db");
  // Deleted and created again while the cache missed the deletion: another uid.
  remove("default/db");
  create("db", {{3306}});
  sync_ok("default/db");
  EXPECT_EQ(allocations("default/db"), (Annotations{{"haproxy-ingress/3306", "20001"}}));
  EXPECT_TRUE(persisted_quarantine().contains(20000));
}

TEST_F(ServiceControllerTest, UnusablePortMovesItsService) {
  create("db", {{3306}});
  rebuild();
  sync_ok("default/db");
  ASSERT_TRUE(controller_->mark_port_unusable(20000));
  events_.clear();
  sync_ok("default/db");
  EXPECT_EQ(allocations("default/db"), (Annotations{{"haproxy-ingress/3306", "20001"}}));
  EXPECT_THAT(events_.summary(), ElementsAre("default/db PortUnusable", "default/db PortAllocated"));
  EXPECT_FALSE(controller_->mark_port_unusable(30000));
}

TEST_F(ServiceControllerTest, RebuildFailsWhileTheApiIsDownAndAllocatesNothing) {
  create("db", {{3306}});
  api_.fail_next("list", Error{ErrorCode::kServerError, "etcdserver: request timed out", 500});
  EXPECT_FALSE(controller_->rebuild());
  EXPECT_FALSE(controller_->rebuilt());
}

}  // namespace
}  // namespace berth::controller
