// LeaderElector on a FakeClock against an in-memory API with real resourceVersion
// preconditions. Every step moves the clock past each elector's next deadline and waits until
// each has gone back to sleep, so the tests never sleep in real time.
#include "leader/leader_elector.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kube/lease.h"
#include "kube/lease_client.h"
#include "kube/resource.h"
#include "support/fake_clock.h"
#include "support/in_memory_api_client.h"

namespace berth::leader {
namespace {

using namespace std::chrono_literals;

// Longer than the largest jittered retry (1.2 × 2 s), so every sleeper wakes each step.
constexpr auto kStep = 2500ms;

LeaderElectionConfig config_for(std::string identity) {
  return {.lease_namespace = "default",
          .lease_name = "berth",
          .identity = std::move(identity),
          .lease_duration = 15s,
          .renew_deadline = 10s,
          .retry_period = 2s};
}

// An elector on its own thread, with its callbacks counted.
class RunningElector {
 public:
  RunningElector(kube::ApiClient& api, Clock& clock, LeaderElectionConfig config)
      : elector_(api, clock, std::move(config),
                 {.on_started_leading =
                      [this](std::stop_token term) {
                        ++terms_started_;
                        std::mutex m;
                        std::condition_variable_any cv;
                        std::unique_lock lock(m);
                        cv.wait(lock, term, [] { return false; });
                        ++terms_ended_;
                      },
                  .on_stopped_leading = [this] { ++stopped_callbacks_; }}) {
    thread_ = std::jthread([this](std::stop_token stop) { elector_.run(stop); });
  }

  void stop() {
    thread_.request_stop();
    thread_.join();
  }

  LeaderElector& elector() { return elector_; }
  int terms_started() const { return terms_started_; }
  // The term's callback runs on a thread of its own: wait (bounded) until it has begun.
  bool wait_for_terms_started(int n) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (terms_started_ < n && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    return terms_started_ >= n;
  }
  int terms_ended() const { return terms_ended_; }
  int stopped_callbacks() const { return stopped_callbacks_; }

 private:
  LeaderElector elector_;
  std::atomic<int> terms_started_{0}, terms_ended_{0}, stopped_callbacks_{0};
  std::jthread thread_;
};

class LeaderElectorTest : public ::testing::Test {
 protected:
  // Moves time on by kStep and waits until `sleepers` threads have gone to sleep again.
  void step(int sleepers = 1) {
    const long started = clock_.sleeps_started();
    clock_.advance(kStep);
    clock_.wait_for_sleeps_started(started + sleepers);
  }

  kube::Lease lease() { return *kube::get_lease(api_, "default", "berth"); }

  void put_lease(const std::string& holder, int transitions = 3) {
    kube::Lease l;
    l.meta.namespace_ = "default";
    l.meta.name = "berth";
    l.holder_identity = holder;
    l.lease_duration_seconds = 15;
    l.renew_time = l.acquire_time = "2026-11-23T10:00:00.000000Z";
    l.lease_transitions = transitions;
    api_.put(kube::kLeases, kube::to_json(l));
  }

  testing::InMemoryApiClient api_;
  testing::FakeClock clock_;
};

TEST_F(LeaderElectorTest, CreatesAMissingLeaseAndLeads) {
  RunningElector a(api_, clock_, config_for("a"));
  clock_.wait_for_sleeps_started(1);
  EXPECT_TRUE(a.elector().is_leader());
  EXPECT_EQ(lease().holder_identity, "a");
  EXPECT_EQ(lease().lease_duration_seconds, 15);
  EXPECT_EQ(lease().lease_transitions, 0);
  EXPECT_EQ(a.elector().observed_leader(), "a");
  a.stop();
  EXPECT_EQ(a.terms_started(), 1);
  EXPECT_EQ(a.terms_ended(), 1);
}

TEST_F(LeaderElectorTest, TakesAnotherHoldersLeaseOnlyAfterItWentUnrenewedForTheLeaseDuration) {
  put_lease("other");
  RunningElector a(api_, clock_, config_for("a"));
  clock_.wait_for_sleeps_started(1);
  // 5 steps = 12.5 s since it first saw the record: still honoured.
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(a.elector().is_leader()) << "step " << i;
    step();
  }
  EXPECT_FALSE(a.elector().is_leader());
  EXPECT_EQ(a.elector().observed_leader(), "other");
  step();  // 15 s
  EXPECT_TRUE(a.elector().is_leader());
  const kube::Lease taken = lease();
  EXPECT_EQ(taken.holder_identity, "a");
  EXPECT_EQ(taken.lease_transitions, 4);
  EXPECT_NE(taken.acquire_time, "2026-11-23T10:00:00.000000Z");
  a.stop();
}

TEST_F(LeaderElectorTest, AnotherHoldersRenewalRestartsTheWait) {
  put_lease("other");
  RunningElector a(api_, clock_, config_for("a"));
  clock_.wait_for_sleeps_started(1);
  for (int i = 0; i < 4; ++i) step();  // 10 s
  // The other holder renews: its record changes, so the 15 s start again from now.
  kube::Lease renewed = lease();
  renewed.renew_time = "2026-11-23T10:00:10.000000Z";
  ASSERT_TRUE(kube::update_lease(api_, renewed));
  for (int i = 0; i < 6; ++i) {
    step();  // up to 15 s after the first wait began, < 15 s after the renewal was seen
    EXPECT_FALSE(a.elector().is_leader()) << "step " << i;
  }
  step();
  EXPECT_TRUE(a.elector().is_leader());
  a.stop();
}

TEST_F(LeaderElectorTest, RenewingKeepsAcquireTimeAndTransitions) {
  RunningElector a(api_, clock_, config_for("a"));
  clock_.wait_for_sleeps_started(1);
  const kube::Lease first = lease();
  for (int i = 0; i < 3; ++i) step();
  const kube::Lease later = lease();
  EXPECT_NE(later.meta.resource_version, first.meta.resource_version) << "the leader must renew";
  EXPECT_EQ(later.acquire_time, first.acquire_time);
  EXPECT_EQ(later.lease_transitions, first.lease_transitions);
  EXPECT_TRUE(a.elector().is_leader());
  a.stop();
}

TEST_F(LeaderElectorTest, StepsDownWhenRenewalsFailForTheRenewDeadlineAndStopsTheTerm) {
  RunningElector a(api_, clock_, config_for("a"));
  clock_.wait_for_sleeps_started(1);
  ASSERT_TRUE(a.elector().is_leader());
  for (int i = 0; i < 6; ++i) api_.fail_next("update", Error{ErrorCode::kServerError, "etcd timeout", 500});
  // 10 s without a renewal: the term ends.
  for (int i = 0; i < 5 && a.elector().is_leader(); ++i) step();
  EXPECT_FALSE(a.elector().is_leader());
  EXPECT_EQ(a.terms_ended(), 1) << "the term's token must have been stopped and its callback returned";
  EXPECT_EQ(a.stopped_callbacks(), 1);
  // Once the API answers again the Lease (still ours) is taken again: a new term.
  for (int i = 0; i < 6 && !a.elector().is_leader(); ++i) step();
  EXPECT_TRUE(a.elector().is_leader());
  EXPECT_TRUE(a.wait_for_terms_started(2));
  a.stop();
}

TEST_F(LeaderElectorTest, StoppingTheLeaderReleasesTheLease) {
  RunningElector a(api_, clock_, config_for("a"));
  clock_.wait_for_sleeps_started(1);
  a.stop();
  EXPECT_EQ(lease().holder_identity, "");
  EXPECT_EQ(lease().lease_duration_seconds, 1);
  EXPECT_FALSE(a.elector().is_leader());
}

TEST_F(LeaderElectorTest, TwoCandidatesNeverLeadAtOnceAndTheSecondTakesOverAReleasedLease) {
  auto a = std::make_unique<RunningElector>(api_, clock_, config_for("a"));
  clock_.wait_for_sleeps_started(1);
  RunningElector b(api_, clock_, config_for("b"));
  clock_.wait_for_sleeps_started(2);
  for (int i = 0; i < 20; ++i) {
    step(2);
    EXPECT_NE(a->elector().is_leader(), b.elector().is_leader()) << "step " << i;
  }
  EXPECT_TRUE(a->elector().is_leader());
  a->stop();  // releases: b may take it at its next retry
  a.reset();
  for (int i = 0; i < 2 && !b.elector().is_leader(); ++i) step();
  EXPECT_TRUE(b.elector().is_leader());
  EXPECT_EQ(lease().lease_transitions, 1);
  b.stop();
}

TEST(LeaderElectionConfigTest, ValidateNamesTheFlag) {
  struct Case {
    LeaderElectionConfig config;
    std::string flag;
  };
  auto with = [](auto change) {
    LeaderElectionConfig c = config_for("me");
    change(c);
    return c;
  };
  const std::vector<Case> cases = {
      {with([](auto& c) { c.lease_duration = 10s; }), "--leader-elect-lease-duration"},
      {with([](auto& c) { c.renew_deadline = 2s; }), "--leader-elect-renew-deadline"},
      {with([](auto& c) { c.retry_period = 0s; }), "--leader-elect-retry-period"},
      {with([](auto& c) { c.lease_namespace = "Not_A_Namespace"; }), "--leader-election-namespace"},
      {with([](auto& c) { c.lease_name = "bad/name"; }), "--leader-election-id"},
      {with([](auto& c) { c.identity = ""; }), "identity"},
  };
  EXPECT_TRUE(validate(config_for("me")));
  for (const Case& c : cases) {
    auto result = validate(c.config);
    ASSERT_FALSE(result) << c.flag;
    EXPECT_NE(result.error().message.find(c.flag), std::string::npos) << result.error().message;
  }
}

TEST(LeaderElectionConfigTest, DefaultIdentitiesAreUnique) {
  EXPECT_NE(default_identity(), default_identity());
  EXPECT_FALSE(default_identity().empty());
}

}  // namespace
}  // namespace berth::leader
