// The data plane's sync loop against a recording Applier, on a FakeClock: Events once per
// state, busy ports handed to the allocator, bursts gathered into one apply, reloads spaced by
// --min-reload-interval while server-only changes go at once, failures retried.
#include "dataplane/haproxy_sync.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "support/fake_clock.h"
#include "support/recording_event_sink.h"

namespace berth::dataplane {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

// Records every apply with the clock's time; answers with scripted results, then defaults.
class FakeApplier final : public haproxy::Applier {
 public:
  explicit FakeApplier(testing::FakeClock& clock) : clock_(clock) {}

  struct Call {
    Clock::time_point at;
    haproxy::Model model;
    haproxy::ChangedPorts changed;
  };

  using haproxy::Applier::apply;
  haproxy::ApplyResult apply(const haproxy::GlobalSettings&, const haproxy::Model& desired,
                             const haproxy::ChangedPorts& changed, std::stop_token) override {
    std::lock_guard lock(mu_);
    calls_.push_back({clock_.now(), desired, changed});
    haproxy::ApplyResult result;
    if (!script_.empty()) {
      result = script_.front();
      script_.pop_front();
    } else if (needs_reload_locked(desired)) {
      result.action = haproxy::ApplyResult::Action::kReload;
    } else if (desired != served_) {
      result.action = haproxy::ApplyResult::Action::kRuntime;
    }
    if (result.ok()) {
      served_ = desired;
      for (const auto& [port, why] : result.unavailable) served_.listeners.erase(port);
      for (const auto& [port, why] : result.rejected) served_.listeners.erase(port);
    }
    cv_.notify_all();
    return result;
  }
  // A reload is needed when the set of host ports changes, as with the real Driver.
  bool needs_reload(const haproxy::GlobalSettings&, const haproxy::Model& desired) const override {
    std::lock_guard lock(mu_);
    return needs_reload_locked(desired);
  }
  bool serves(int host_port) const override {
    std::lock_guard lock(mu_);
    return served_.listeners.contains(host_port);
  }

  void script(haproxy::ApplyResult result) {
    std::lock_guard lock(mu_);
    script_.push_back(std::move(result));
  }
  std::vector<Call> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // Waits (bounded: a timeout only turns a hang into a failure) until `n` applies happened.
  bool wait_for_calls(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return calls_.size() >= n; });
  }

 private:
  bool needs_reload_locked(const haproxy::Model& desired) const {
    if (!ever_applied_reload_) return true;
    if (desired.listeners.size() != served_.listeners.size()) return true;
    for (const auto& [port, l] : desired.listeners) {
      if (!served_.listeners.contains(port)) return true;
    }
    return false;
  }

  testing::FakeClock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;
  std::deque<haproxy::ApplyResult> script_;
  haproxy::Model served_;
  bool ever_applied_reload_ = true;  // as if HAProxy already ran the empty config
};

std::shared_ptr<const kube::Service> service(const std::string& name, std::map<std::string, std::string> annotations,
                                             std::string rv = "1") {
  auto s = std::make_shared<kube::Service>();
  s->meta.namespace_ = "default";
  s->meta.name = name;
  s->meta.uid = "uid-" + name;
  s->meta.resource_version = std::move(rv);
  s->meta.creation_timestamp = "2026-12-01T00:00:00Z";
  s->meta.annotations = std::move(annotations);
  s->meta.annotations["ingress"] = "haproxy-ingress";
  s->ports = {kube::ServicePort{.name = "db", .port = 3306, .target_port = {std::int32_t{3306}}}};
  return s;
}

class HaproxySyncTest : public ::testing::Test {
 protected:
  HaproxySyncTest()
      : builder_(controller::AnnotationConfig{}, *ports::PortRangeSet::parse(std::vector<std::string>{"20000-20099"})),
        applier_(clock_),
        sync_(services_, slices_, builder_, applier_, events_, clock_,
              SyncConfig{.gather_delay = 100ms, .min_reload_interval = 1s, .resync_period = 5s},
              [&](int port) { unavailable_calls_.push_back(port); }) {}

  void expose(const std::string& name, int host_port, std::map<std::string, std::string> extra = {},
              std::string rv = "1") {
    extra["haproxy-ingress/3306"] = std::to_string(host_port);
    services_.upsert(service(name, std::move(extra), std::move(rv)));
  }
  std::vector<std::string> events() const { return events_.summary(); }

  testing::FakeClock clock_;
  kube::Store<kube::Service> services_;
  kube::Store<kube::EndpointSlice> slices_;
  ModelBuilder builder_;
  FakeApplier applier_;
  testing::RecordingEventSink events_;
  std::vector<int> unavailable_calls_;
  HaproxySync sync_;
};

TEST_F(HaproxySyncTest, AWarningIsOneEventPerStateAndComesBackWhenTheStateDoes) {
  expose("db", 20001, {{"haproxy-ingress/balance", "random"}});
  EXPECT_EQ(sync_.sync(), HaproxySync::Outcome::kApplied);
  EXPECT_THAT(events(), ElementsAre("default/db InvalidOption"));
  clock_.advance(2s);
  sync_.sync();
  EXPECT_EQ(events().size(), 1u) << "an unchanged state raises no second Event";

  expose("db", 20001, {{"haproxy-ingress/balance", "leastconn"}}, "2");
  clock_.advance(2s);
  sync_.sync();
  EXPECT_EQ(events().size(), 1u);
  expose("db", 20001, {{"haproxy-ingress/balance", "random"}}, "3");
  clock_.advance(2s);
  sync_.sync();
  EXPECT_THAT(events(), ElementsAre("default/db InvalidOption", "default/db InvalidOption"));
}

TEST_F(HaproxySyncTest, ABusyPortIsReportedOnceOnItsServiceAndHandedToTheAllocator) {
  expose("db", 20001);
  expose("other", 20002);
  applier_.script({.action = haproxy::ApplyResult::Action::kReload,
                   .unavailable = {{20001, "127.0.0.1:20001: Address already in use"}}});
  sync_.sync();
  EXPECT_THAT(events(), ElementsAre("default/db PortUnavailable"));
  EXPECT_THAT(unavailable_calls_, ElementsAre(20001));
  ASSERT_FALSE(events_.events().empty());
  EXPECT_THAT(events_.events()[0].message, ::testing::HasSubstr("Address already in use"));

  // Later applies do not retry the port (the fake serves everything else): no second Event.
  clock_.advance(2s);
  sync_.sync();
  EXPECT_EQ(events().size(), 1u);
  // The allocator moved the Service: the Warning is over, and the new port is served.
  expose("db", 20003, {}, "2");
  clock_.advance(2s);
  sync_.sync();
  EXPECT_EQ(events().size(), 1u);
  EXPECT_TRUE(applier_.serves(20003));
}

TEST_F(HaproxySyncTest, AListenerHaproxyRejectedIsReportedOnItsService) {
  expose("db", 20001);
  expose("bad", 20002);
  applier_.script({.action = haproxy::ApplyResult::Action::kReload,
                   .rejected = {{20002, "parsing [haproxy.cfg:31] : unknown keyword"}}});
  sync_.sync();
  EXPECT_THAT(events(), ElementsAre("default/bad ConfigRejected"));
  EXPECT_TRUE(applier_.serves(20001));
}

// Each apply is told which host ports changed since the previous apply's Model, so that range
// mode can look at only those; builds deferred in between count too.
TEST_F(HaproxySyncTest, EachApplyIsToldTheHostPortsThatChangedSinceThePreviousOne) {
  expose("a", 20001);
  expose("b", 20002);
  ASSERT_EQ(sync_.sync(), HaproxySync::Outcome::kApplied);
  ASSERT_EQ(applier_.calls().size(), 1u);
  EXPECT_FALSE(applier_.calls()[0].changed.has_value()) << "the first apply is told nothing";

  expose("c", 20003);
  clock_.advance(300ms);
  ASSERT_EQ(sync_.sync(), HaproxySync::Outcome::kDeferred);  // a reload within the interval
  expose("b", 20004, {}, "2");                                 // moved to another host port
  ASSERT_EQ(sync_.sync(), HaproxySync::Outcome::kDeferred);
  clock_.advance(1s);
  ASSERT_EQ(sync_.sync(), HaproxySync::Outcome::kApplied);
  ASSERT_EQ(applier_.calls().size(), 2u);
  EXPECT_EQ(applier_.calls()[1].changed, (std::set<int>{20002, 20003, 20004}));

  services_.remove("default/a");
  clock_.advance(1s);
  applier_.script({.error = Error{ErrorCode::kTimeout, "the master does not answer"}});
  EXPECT_EQ(sync_.sync(), HaproxySync::Outcome::kFailed);
  clock_.advance(2s);
  ASSERT_EQ(sync_.sync(), HaproxySync::Outcome::kApplied);
  ASSERT_EQ(applier_.calls().size(), 4u);
  EXPECT_EQ(applier_.calls()[2].changed, (std::set<int>{20001}));
  EXPECT_EQ(applier_.calls()[3].changed, (std::set<int>{}))
      << "counted from the failed call's Model: the Applier knows its apply failed";
}

TEST_F(HaproxySyncTest, ReloadsAreSpacedByTheMinimumIntervalServerChangesAreNot) {
  expose("a", 20001);
  ASSERT_EQ(sync_.sync(), HaproxySync::Outcome::kApplied);  // a reload: a new listener
  expose("b", 20002);
  clock_.advance(300ms);
  EXPECT_EQ(sync_.sync(), HaproxySync::Outcome::kDeferred) << "a second reload within 1s waits";
  EXPECT_EQ(applier_.calls().size(), 1u);
  clock_.advance(700ms);
  EXPECT_EQ(sync_.sync(), HaproxySync::Outcome::kApplied);
  // A change that needs no reload goes at once, however recent the last reload.
  auto slice = std::make_shared<kube::EndpointSlice>();
  slice->meta.namespace_ = "default";
  slice->meta.name = "a-1";
  slice->meta.resource_version = "1";
  slice->service_name = "a";
  slice->address_type = "IPv4";
  slice->ports = {kube::EndpointPort{.name = "db", .port = 3306}};
  slice->endpoints = {kube::Endpoint{.addresses = {"10.0.0.1"}}};
  slices_.upsert(slice);
  clock_.advance(10ms);
  EXPECT_EQ(sync_.sync(), HaproxySync::Outcome::kApplied);
  ASSERT_EQ(applier_.calls().size(), 3u);
  EXPECT_EQ(applier_.calls()[2].model.listeners.at(20001).servers.size(), 1u);
}

TEST_F(HaproxySyncTest, ABurstOfChangesIsOneApplyAfterTheGatheringDelay) {
  std::jthread loop([&](std::stop_token stop) { sync_.run(stop); });
  ASSERT_TRUE(applier_.wait_for_calls(1));  // the first sync, at once
  const auto start = clock_.now();
  for (int i = 0; i < 50; ++i) {
    expose("svc-" + std::to_string(i), 20010 + i);
    sync_.notify();
  }
  // Time moves in steps shorter than the gathering delay, so a sync per notify would show.
  for (int step = 0; step < 10; ++step) {
    clock_.wait_for_sleepers(1);
    clock_.advance(20ms);
  }
  ASSERT_TRUE(applier_.wait_for_calls(2));
  const auto calls = applier_.calls();
  EXPECT_EQ(calls[1].model.listeners.size(), 50u) << "the apply saw the whole burst";
  EXPECT_GE(calls[1].at - start, 100ms) << "applied only after the gathering delay";
  // One more change, well inside the resync period: the next apply must be the one it causes.
  // A second apply for the burst (or a resync) would come first and lack the new Service. It
  // needs a reload, so it waits for --min-reload-interval (1s) after the burst's: 100 steps
  // of 20ms cover that and stay short of the 5s resync.
  expose("after-the-burst", 20090);
  sync_.notify();
  for (int step = 0; step < 100 && applier_.calls().size() < 3; ++step) {
    clock_.wait_for_sleepers(1);
    clock_.advance(20ms);
  }
  ASSERT_TRUE(applier_.wait_for_calls(3));
  EXPECT_TRUE(applier_.calls()[2].model.listeners.contains(20090));
  EXPECT_LT(clock_.now() - start, 5s) << "the resync period never came into it";
  loop.request_stop();
}

TEST_F(HaproxySyncTest, AFailedApplyIsRetriedSoonerThanTheResyncPeriod) {
  expose("db", 20001);
  applier_.script({.error = Error{ErrorCode::kTransport, "no master answers"}});
  std::jthread loop([&](std::stop_token stop) { sync_.run(stop); });
  ASSERT_TRUE(applier_.wait_for_calls(1));
  for (int step = 0; step < 20 && applier_.calls().size() < 2; ++step) {
    clock_.wait_for_sleepers(1);
    clock_.advance(50ms);
  }
  ASSERT_TRUE(applier_.wait_for_calls(2));
  EXPECT_LT(applier_.calls()[1].at - applier_.calls()[0].at, 5s);
  EXPECT_EQ(sync_.stats().failed_syncs, 1u);
  loop.request_stop();
}

}  // namespace
}  // namespace berth::dataplane

namespace berth::dataplane {
namespace {

std::vector<std::string> status_lines(const ServingStatus& status) {
  std::vector<std::string> lines;
  for (const ServedPort& p : status.ports) {
    lines.push_back(p.service + ":" + std::to_string(p.service_port) + " " + std::to_string(p.host_port) + " " +
                    std::string(state_name(p.state)) + (p.reason.empty() ? "" : " (" + p.reason + ")"));
  }
  return lines;
}

TEST_F(HaproxySyncTest, PublishesWhatItServesWhatWaitsAndWhatCannotBeServed) {
  EXPECT_TRUE(sync_.serving_status()->ports.empty()) << "nothing before the first sync";
  expose("served", 20001);
  expose("busy", 20002);
  services_.upsert(service("waiting", {}));
  haproxy::ApplyResult busy;
  busy.action = haproxy::ApplyResult::Action::kReload;
  busy.unavailable[20002] = "address already in use";
  applier_.script(busy);
  ASSERT_EQ(sync_.sync(), HaproxySync::Outcome::kApplied);
  auto status = sync_.serving_status();
  EXPECT_THAT(status_lines(*status),
              ElementsAre("default/busy:3306 20002 not served (PortUnavailable: host port 20002 is held by another "
                          "process on this load balancer (address already in use); the Service is moved to another "
                          "port)",
                          "default/served:3306 20001 serving", "default/waiting:3306 0 not served (no host port "
                                                               "allocated yet)"));

  // A new port within --min-reload-interval of the last reload waits: pending until applied.
  expose("waiting", 20003, {}, "2");
  ASSERT_EQ(sync_.sync(), HaproxySync::Outcome::kDeferred);
  EXPECT_THAT(status_lines(*sync_.serving_status()),
              ::testing::Contains("default/waiting:3306 20003 pending (not applied to HAProxy yet)"));
  clock_.advance(1s);
  ASSERT_EQ(sync_.sync(), HaproxySync::Outcome::kApplied);
  EXPECT_THAT(status_lines(*sync_.serving_status()), ::testing::Contains("default/waiting:3306 20003 serving"));
}

}  // namespace
}  // namespace berth::dataplane
