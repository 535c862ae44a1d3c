// The RangeDriver against the real HAProxy 2.6 on loopback: one frontend binds a block of pool
// ports once, and ports are exposed and removed through the Runtime API. Each test sees what
// clients see (which echo server answers, a port closing at once), what the master's reload
// count says, and what a reload or restart by someone else keeps.
//
// Each test has its own 10-port block of 31910-31999 or 19500-19599 (docs/development.md), so ctest -j2 never
// makes two HAProxies bind the same port; every HAProxy process is stopped by PID at the end.
#include "haproxy/range/range_driver.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/atomic_file.h"
#include "common/subprocess.h"
#include "haproxy/haproxy_test_env.h"
#include "haproxy/map_entries.h"
#include "haproxy/model_fixtures.h"
#include "haproxy/range/range_config.h"
#include "haproxy/runtime_stats.h"
#include "haproxy/update_plan.h"
#include "support/echo_server.h"

namespace berth::haproxy {
namespace {

using namespace std::chrono_literals;
using testenv::HaproxyEnv;
using Action = ApplyResult::Action;

constexpr auto kIo = 2s;

struct Endpoint {
  Endpoint(const std::string& name, std::string address_text) : address(std::move(address_text)), echo(name, address) {}
  Server server() const { return Server{ip(address), echo.port()}; }
  std::string address;
  testing::EchoServer echo;
};

std::string served_by(int port) {
  auto greeting = testing::greeting_at("127.0.0.1", port, kIo);
  return greeting ? *greeting : "error: " + greeting.error().describe();
}

class RangeDriverTest : public ::testing::Test {
 protected:
  // The test's block: 10 ports starting at `first`.
  explicit RangeDriverTest(int first = 31910) : first_(first) {}

  void SetUp() override {
    ASSERT_EQ(::access(testenv::kHaproxyBinary, X_OK), 0) << testenv::kHaproxyBinary << " is not installed";
    ASSERT_TRUE(a_.echo.ok() && b_.echo.ok()) << "echo servers on 127.0.0.2-3";
  }

  int port(int i) const { return first_ + i; }

  GlobalSettings global() const {
    return GlobalSettings{.nbthread = 1,
                          .bind_addresses = {ip("127.0.0.1")},
                          .admin_socket = (env_.dir.path() / "admin.sock").string(),
                          .server_state_file = (env_.dir.path() / "server-state").string(),
                          .prometheus = prometheus_};
  }

  RangeDriverSettings settings(std::size_t chunk = 4) const {
    return RangeDriverSettings{.paths = env_.paths,
                               .policy = {.chunk = chunk, .min_servers = 2},
                               .pool = {{first_, first_ + 9}},
                               .check_timeout = 30s,
                               .reload_timeout = 30s};
  }

  std::unique_ptr<RangeDriver> make_driver(std::size_t chunk = 4) {
    return std::make_unique<RangeDriver>(settings(chunk), cli_, SystemClock::instance());
  }

  ApplyResult apply(RangeDriver& driver, const Model& desired) {
    auto result = driver.apply(global(), desired, {});
    env_.guard.watch(env_.master.status());
    return result;
  }

  std::string why(const ApplyResult& result) const {
    return (result.error ? result.error->describe() : std::string("ok")) + "\nmaster log:\n" + env_.log();
  }

  int reloads() {
    auto table = env_.master.status();
    env_.guard.watch(table);
    return table ? table->master.reloads : -1;
  }

  int first_;
  std::optional<MetricsEndpoint> prometheus_;  // global()'s exporter, when a test sets one
  HaproxyEnv env_;
  testenv::SilenceableCli cli_{env_.cli};
  Endpoint a_{"a", "127.0.0.2"};
  Endpoint b_{"b", "127.0.0.3"};
};

TEST_F(RangeDriverTest, PortsComeAndGoThroughTheRuntimeApiWithNoReload) {
  auto driver = make_driver();
  auto started = apply(*driver, routed_model({db_listener(port(0), {a_.server()})}));
  ASSERT_EQ(started.action, Action::kStart) << why(started);
  EXPECT_EQ(served_by(port(0)), "a");
  // Bound, but no Service: accepted and closed at once.
  EXPECT_TRUE(served_by(port(1)).starts_with("error")) << served_by(port(1));
  const int reloads_before = reloads();

  auto added = apply(*driver, routed_model({db_listener(port(0), {a_.server()}), db_listener(port(1), {b_.server()})}));
  ASSERT_TRUE(added.ok()) << why(added);
  EXPECT_EQ(added.action, Action::kRuntime);
  EXPECT_EQ(served_by(port(1)), "b");

  auto removed = apply(*driver, routed_model({db_listener(port(1), {b_.server()})}));
  ASSERT_TRUE(removed.ok()) << why(removed);
  EXPECT_EQ(removed.action, Action::kRuntime);
  EXPECT_TRUE(served_by(port(0)).starts_with("error")) << served_by(port(0));
  EXPECT_EQ(served_by(port(1)), "b");
  EXPECT_EQ(reloads(), reloads_before);
  EXPECT_EQ(driver->stats().reloads, 0u);
  // The map file says what the worker does, and haproxy.cfg is what the whole state renders to,
  // once the files written behind the runtime updates are.
  driver->flush_files();
  EXPECT_GT(driver->files_written_behind(), 0u);
  EXPECT_EQ(read_whole_file(driver->files().ports_map).value_or(""),
            fmt::format("{} {}\n", port(1), driver->current()->routes.at(port(1)).backend));
  EXPECT_EQ(read_whole_file(env_.paths.config).value_or(""),
            render_range_config(global(), *driver->current(), driver->files()));
}

TEST_F(RangeDriverTest, AHeldSessionOutlivesItsPortsRemovalAndItsBackendIsFreedAfter) {
  first_ = 31920;
  auto driver = make_driver();
  ASSERT_TRUE(apply(*driver, routed_model({db_listener(port(0), {a_.server()})})).ok());
  auto session = testing::session_with("127.0.0.1", port(0), "a", kIo);
  ASSERT_TRUE(session) << session.error().describe();
  const std::string backend = driver->current()->routes.at(port(0)).backend;

  auto removed = apply(*driver, routed_model({}));
  ASSERT_EQ(removed.action, Action::kRuntime) << why(removed);
  EXPECT_TRUE(served_by(port(0)).starts_with("error"));
  EXPECT_TRUE((*session)->round_trip("still here", kIo)) << "removing a port cut its session";
  EXPECT_TRUE(driver->current()->draining.contains(backend));
  {
    // `berth status` sees the session of the removed port no more (no port maps to its backend),
    // and the session of a served port on that port's backend.
    ASSERT_TRUE(apply(*driver, routed_model({db_listener(port(2), {a_.server()})})).ok());
    auto other = testing::session_with("127.0.0.1", port(2), "a", kIo);
    ASSERT_TRUE(other) << other.error().describe();
    auto stats = read_runtime_stats(env_.cli, driver->files().ports_map.string());
    ASSERT_TRUE(stats) << stats.error().describe();
    EXPECT_FALSE(stats->listeners.contains(port(0)));
    ASSERT_TRUE(stats->listeners.contains(port(2)));
    EXPECT_EQ(stats->listeners.at(port(2)).sessions, 1);
    ASSERT_EQ(stats->listeners.at(port(2)).servers.size(), 1u);
    EXPECT_EQ(stats->listeners.at(port(2)).servers[0].address, fmt::format("127.0.0.2:{}", a_.echo.port()));
    EXPECT_EQ(driver->backend_of(port(2)), driver->current()->routes.at(port(2)).backend);
  }
  // A new port of the same kind does not get the draining backend.
  ASSERT_TRUE(apply(*driver, routed_model({db_listener(port(1), {b_.server()})})).ok());
  EXPECT_NE(driver->current()->routes.at(port(1)).backend, backend);

  session->reset();  // the session ends; the next apply frees the backend
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (driver->current()->draining.contains(backend) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // HAProxy notices the close asynchronously; bounded poll
    apply(*driver, routed_model({db_listener(port(1), {b_.server()})}));
  }
  EXPECT_FALSE(driver->current()->draining.contains(backend));
  EXPECT_EQ(driver->stats().reloads, 0u);
}

TEST_F(RangeDriverTest, AReloadOrRestartByOthersKeepsEveryRoute) {
  first_ = 31930;
  auto driver = make_driver();
  ASSERT_TRUE(apply(*driver, routed_model({db_listener(port(0), {a_.server()})})).ok());
  // Routes set through the Runtime API only: a new port, and a port whose server changed.
  auto changed = apply(*driver, routed_model({db_listener(port(0), {b_.server()}), db_listener(port(1), {a_.server()})}));
  ASSERT_EQ(changed.action, Action::kRuntime) << why(changed);
  ASSERT_EQ(served_by(port(0)), "b");

  // An operator's reload: HAProxy reads only the files berth wrote.
  SCOPED_TRACE("ports.map:\n" + read_whole_file(driver->files().ports_map).value_or("") + "server state:\n" +
               read_whole_file(global().server_state_file).value_or("") + "config:\n" +
               read_whole_file(env_.paths.config).value_or(""));
  auto reloaded = env_.master.reload(30s, {});
  ASSERT_TRUE(reloaded) << reloaded.error().describe() << env_.log();
  env_.guard.watch(reloaded);
  EXPECT_EQ(served_by(port(0)), "b");
  EXPECT_EQ(served_by(port(1)), "a");
  EXPECT_TRUE(served_by(port(2)).starts_with("error"));

  // A restart: the master and its workers are killed and a new master starts from the files.
  auto table = env_.master.status();
  ASSERT_TRUE(table);
  std::vector<int> pids{table->master.pid};
  for (const auto& worker : table->workers) pids.push_back(worker.pid);
  for (int pid : pids) ::kill(pid, SIGKILL);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (int pid : pids) {
    while (process_running(pid) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  }
  auto restarted = env_.master.start(30s, {});
  ASSERT_TRUE(restarted) << restarted.error().describe() << env_.log();
  env_.guard.watch(restarted);
  EXPECT_EQ(served_by(port(0)), "b");
  EXPECT_EQ(served_by(port(1)), "a");
  EXPECT_TRUE(served_by(port(2)).starts_with("error"));
}

TEST_F(RangeDriverTest, AReloadByOthersFromFilesThatLagIsSetRightAtTheNextApply) {
  first_ = 31990;
  auto driver = make_driver();
  ASSERT_TRUE(apply(*driver, Model{}).ok());
  BackendOptions limited;
  limited.maxconn = 3;
  const Model desired = routed_model({db_listener(port(0), {a_.server()}, limited)});
  ASSERT_EQ(apply(*driver, desired).action, Action::kRuntime);
  // As if the reload came while berth was still writing: the maps without the new port.
  driver->flush_files();  // so that the writer does not write them right after the test
  for (const auto& map : {driver->files().ports_map, driver->files().maxconn_map, driver->files().services_map}) {
    ASSERT_TRUE(write_file_atomically(map, "", 0600));
  }
  auto reloaded = env_.master.reload(30s, {});
  ASSERT_TRUE(reloaded) << reloaded.error().describe();
  env_.guard.watch(reloaded);
  ASSERT_TRUE(served_by(port(0)).starts_with("error")) << "the test's premise: the new worker lacks the route";

  auto next = apply(*driver, desired);
  EXPECT_TRUE(next.ok()) << why(next);
  EXPECT_GT(driver->reconciled_commands(), 0u);
  EXPECT_EQ(served_by(port(0)), "a");
  EXPECT_EQ(driver->stats().reloads, 0u) << "set right through the Runtime API";
  // The port's limit and its Service's label are back in the worker too.
  const auto worker = env_.master.status().value_or(ProcessTable{}).current_worker();
  ASSERT_TRUE(worker);
  auto maps = env_.cli.to_worker(*worker, std::vector<std::string>{"show map " + driver->files().maxconn_map.string(),
                                                                   "show map " + driver->files().services_map.string()});
  ASSERT_TRUE(maps && maps->size() == 2);
  EXPECT_EQ(parse_show_map((*maps)[0]), (std::map<int, std::string>{{port(0), "3"}}));
  EXPECT_EQ(parse_show_map((*maps)[1]).size(), 1u);
  EXPECT_TRUE(parse_show_map((*maps)[1]).contains(port(0)));
}

// A master that does not answer while its process runs on is slow, not dead: a second master
// beside it would find the pool held and leave every Service unrouted (seen under ASan load,
// when an operator's reload re-executed for longer than the polls allow).
TEST_F(RangeDriverTest, ASilentMasterWhoseProcessRunsIsWaitedForNotReplaced) {
  first_ = 19500;
  auto driver = make_driver();
  ASSERT_TRUE(apply(*driver, routed_model({db_listener(port(0), {a_.server()})})).ok());
  const int master = env_.master.status().value_or(ProcessTable{}).master.pid;

  cli_.silence_master(true);
  auto waited = apply(*driver, routed_model({db_listener(port(0), {a_.server()}), db_listener(port(1), {b_.server()})}));
  cli_.silence_master(false);
  ASSERT_FALSE(waited.ok());
  EXPECT_NE(waited.error->message.find("still runs"), std::string::npos) << waited.error->describe();
  EXPECT_EQ(driver->stats().restarts, 0u);

  auto answered = apply(*driver, routed_model({db_listener(port(0), {a_.server()}), db_listener(port(1), {b_.server()})}));
  ASSERT_TRUE(answered.ok()) << why(answered);
  EXPECT_EQ(answered.action, Action::kRuntime);
  EXPECT_EQ(driver->stats().starts, 1u);
  EXPECT_EQ(env_.master.status().value_or(ProcessTable{}).master.pid, master);
  EXPECT_EQ(served_by(port(0)), "a");
  EXPECT_EQ(served_by(port(1)), "b");
}

// The sync loop tells apply() which ports changed since its previous call; range mode then plans
// only those. That is sound only when the previous apply left every port as it wanted.
TEST_F(RangeDriverTest, TheChangedPortsHintIsFollowedOnlyAfterAnApplyThatLeftEveryPortAsWanted) {
  first_ = 19510;
  auto driver = make_driver();
  std::vector<Listener> listeners{db_listener(port(0), {a_.server()})};
  auto apply_with = [&](ChangedPorts changed) {
    auto result = driver->apply(global(), routed_model(listeners), changed, {});
    env_.guard.watch(env_.master.status());
    return result;
  };
  ASSERT_EQ(apply_with(std::nullopt).action, Action::kStart);
  listeners.push_back(db_listener(port(1), {b_.server()}));
  auto added = apply_with(std::set<int>{port(1)});
  ASSERT_TRUE(added.ok()) << why(added);
  EXPECT_EQ(served_by(port(1)), "b");

  // A failed apply: the next one looks at every port, whatever its hint says.
  listeners.push_back(db_listener(port(2), {a_.server()}));
  cli_.silence_master(true);
  ASSERT_FALSE(apply_with(std::set<int>{port(2)}).ok());
  cli_.silence_master(false);
  EXPECT_TRUE(served_by(port(2)).starts_with("error"));
  auto retried = apply_with(std::set<int>{});  // nothing changed since the failed call's Model
  ASSERT_TRUE(retried.ok()) << why(retried);
  EXPECT_EQ(retried.action, Action::kRuntime);
  EXPECT_EQ(served_by(port(2)), "a");

  // In step, the hint is followed: a port it leaves out is not looked at (a caller's lie, here,
  // to show the plan was not a full one); the next apply without a hint looks at every port.
  listeners.push_back(db_listener(port(3), {b_.server()}));
  auto ignored = apply_with(std::set<int>{});
  ASSERT_TRUE(ignored.ok()) << why(ignored);
  EXPECT_EQ(ignored.action, Action::kNone);
  EXPECT_FALSE(driver->serves(port(3)));
  auto full = apply_with(std::nullopt);
  ASSERT_TRUE(full.ok()) << why(full);
  EXPECT_EQ(served_by(port(3)), "b");
  EXPECT_EQ(driver->backend_of(port(3)), driver->current()->routes.at(port(3)).backend);
  EXPECT_EQ(driver->stats().reloads, 0u);
}

TEST_F(RangeDriverTest, APortAnotherProcessHoldsIsNeverBound) {
  first_ = 31940;
  testenv::PortHolder holder(port(3));
  ASSERT_TRUE(holder.ok());
  auto driver = make_driver();
  auto started = apply(*driver, routed_model({db_listener(port(0), {a_.server()}), db_listener(port(3), {b_.server()})}));
  ASSERT_EQ(started.action, Action::kStart) << why(started);
  EXPECT_TRUE(started.unavailable.contains(port(3)));
  EXPECT_EQ(served_by(port(0)), "a");
  const auto config = read_whole_file(env_.paths.config).value_or("");
  EXPECT_NE(config.find(fmt::format("bind 127.0.0.1:{}-{}\n", port(0), port(2))), std::string::npos) << config;
  EXPECT_NE(config.find(fmt::format("bind 127.0.0.1:{}-{}\n", port(4), port(9))), std::string::npos) << config;
  EXPECT_FALSE(driver->serves(port(3)));
  // Still held: the next apply reports it again and does not reload.
  auto again = apply(*driver, routed_model({db_listener(port(0), {a_.server()}), db_listener(port(3), {b_.server()})}));
  EXPECT_TRUE(again.unavailable.contains(port(3)));
  EXPECT_EQ(again.action, Action::kNone);
  EXPECT_FALSE(driver->needs_reload(global(), routed_model({db_listener(port(0), {a_.server()}), db_listener(port(3), {b_.server()})})))
      << "a port still held must not hold runtime changes back as a pending reload";
}

TEST_F(RangeDriverTest, AKindOutOfBackendsGrowsByAChunkInOneReload) {
  first_ = 31950;
  auto driver = make_driver(/*chunk=*/2);
  ASSERT_TRUE(apply(*driver, routed_model({db_listener(port(0), {a_.server()})})).ok());
  EXPECT_EQ(driver->current()->layout.backends.size(), 2u);
  ASSERT_EQ(apply(*driver, routed_model({db_listener(port(0), {a_.server()}), db_listener(port(1), {a_.server()})})).action,
            Action::kRuntime);
  auto grown = apply(*driver, routed_model({db_listener(port(0), {a_.server()}), db_listener(port(1), {a_.server()}),
                                     db_listener(port(2), {b_.server()})}));
  ASSERT_EQ(grown.action, Action::kReload) << why(grown);
  ASSERT_EQ(grown.reasons.size(), 1u);
  EXPECT_EQ(reload_reason_kind(grown.reasons.front()), "backends_outgrown") << grown.reasons.front();
  EXPECT_EQ(driver->current()->layout.backends.size(), 4u);
  EXPECT_EQ(served_by(port(2)), "b");
  // Another kind (a different timeout) gets backends of its own.
  BackendOptions other;
  other.timeout_server = 1h;
  auto second_kind = apply(*driver, routed_model({db_listener(port(0), {a_.server()}), db_listener(port(1), {a_.server()}),
                                           db_listener(port(2), {b_.server()}), db_listener(port(3), {b_.server()}, other)}));
  EXPECT_EQ(second_kind.action, Action::kReload);
  EXPECT_EQ(driver->current()->layout.backends.size(), 6u);
  EXPECT_EQ(served_by(port(3)), "b");
}

TEST_F(RangeDriverTest, MaxconnAndAllowSourcesChangeWithNoReload) {
  first_ = 31960;
  auto driver = make_driver();
  ASSERT_TRUE(apply(*driver, routed_model({db_listener(port(0), {a_.server()})})).ok());
  BackendOptions limited;
  limited.maxconn = 1;
  ASSERT_EQ(apply(*driver, routed_model({db_listener(port(0), {a_.server()}, limited)})).action, Action::kRuntime);
  {
    auto first = testing::session_with("127.0.0.1", port(0), "a", kIo);
    ASSERT_TRUE(first) << first.error().describe();
    EXPECT_TRUE(served_by(port(0)).starts_with("error")) << "a second session got past maxconn 1";
  }
  BackendOptions elsewhere;
  elsewhere.allow_sources = {*Cidr::parse("10.0.0.0/8")};
  ASSERT_EQ(apply(*driver, routed_model({db_listener(port(0), {a_.server()}, elsewhere)})).action, Action::kRuntime);
  EXPECT_TRUE(served_by(port(0)).starts_with("error")) << "127.0.0.1 is not in 10.0.0.0/8";
  BackendOptions loopback;
  loopback.allow_sources = {*Cidr::parse("127.0.0.0/8")};
  ASSERT_EQ(apply(*driver, routed_model({db_listener(port(0), {a_.server()}, loopback)})).action, Action::kRuntime);
  EXPECT_EQ(served_by(port(0)), "a");
  driver->flush_files();
  EXPECT_EQ(read_whole_file(driver->files().acl_file(driver->current()->routes.at(port(0)).backend)).value_or(""),
            "127.0.0.0/8\n");
  EXPECT_EQ(driver->stats().reloads, 0u);
}

TEST_F(RangeDriverTest, ABerthRestartedOverARunningHaproxyAdoptsItsStateWithNoReload) {
  first_ = 31970;
  // HAProxy's own exporter binds a port in a frontend of its own: not one of the pool's (the
  // deploy/ manifests run it; taken for the pool's, the adoption reloaded).
  prometheus_ = MetricsEndpoint{.address = ip("127.0.0.1"), .port = 19520};
  BackendOptions limited;
  limited.maxconn = 7;
  limited.allow_sources = {*Cidr::parse("127.0.0.0/8")};
  const Model before = routed_model({db_listener(port(0), {a_.server()}), db_listener(port(1), {b_.server()}, limited)});
  std::optional<RangeState> ran;
  {
    auto first = make_driver();
    ASSERT_TRUE(apply(*first, routed_model({db_listener(port(0), {a_.server()})})).ok());
    ASSERT_EQ(apply(*first, before).action, Action::kRuntime);  // the config on disk is a runtime one's
    ran = first->current();
  }
  auto second = make_driver();
  auto adopted = apply(*second, before);
  ASSERT_TRUE(adopted.ok()) << why(adopted);
  EXPECT_EQ(adopted.action, Action::kNone);
  EXPECT_EQ(second->stats().adoptions, 1u);
  EXPECT_EQ(reloads(), 0);
  ASSERT_TRUE(second->current());
  EXPECT_EQ(second->current()->routes, ran->routes);
  EXPECT_EQ(second->current()->layout, ran->layout);
  // What it adopted it changes through the Runtime API, as the first one would have.
  auto more = apply(*second, routed_model({db_listener(port(0), {a_.server()}), db_listener(port(1), {b_.server()}, limited),
                                    db_listener(port(2), {b_.server()})}));
  EXPECT_EQ(more.action, Action::kRuntime) << why(more);
  EXPECT_EQ(served_by(port(2)), "b");
  EXPECT_EQ(served_by(port(0)), "a");

  // Adopted and changed in one apply: every route it adopted is published too (metric labels).
  second.reset();
  auto third = make_driver();
  auto adopted_and_changed =
      apply(*third, routed_model({db_listener(port(0), {a_.server()}), db_listener(port(1), {b_.server()}, limited),
                                  db_listener(port(2), {b_.server()}), db_listener(port(3), {a_.server()})}));
  EXPECT_EQ(adopted_and_changed.action, Action::kRuntime) << why(adopted_and_changed);
  EXPECT_EQ(third->stats().adoptions, 1u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(third->backend_of(port(i)), third->current()->routes.at(port(i)).backend) << "port " << port(i);
  }
}

TEST_F(RangeDriverTest, ABerthThatCannotReadTheStateBackReloadsOnceAndKeepsServing) {
  first_ = 31980;
  {
    auto first = make_driver();
    ASSERT_TRUE(apply(*first, routed_model({db_listener(port(0), {a_.server()})})).ok());
  }
  // A config on disk that is not the one HAProxy was confirmed with.
  ASSERT_TRUE(write_file_atomically(sibling(env_.paths.config, ".applied"), "0000000000000000", 0600));
  auto second = make_driver();
  auto adopted = apply(*second, routed_model({db_listener(port(0), {a_.server()}), db_listener(port(1), {b_.server()})}));
  ASSERT_TRUE(adopted.ok()) << why(adopted);
  EXPECT_EQ(adopted.action, Action::kReload);
  ASSERT_EQ(adopted.reasons.size(), 1u);
  EXPECT_EQ(reload_reason_kind(adopted.reasons.front()), "unconfirmed");
  EXPECT_EQ(second->stats().starts, 0u);
  EXPECT_EQ(served_by(port(0)), "a");
  EXPECT_EQ(served_by(port(1)), "b");
}

}  // namespace
}  // namespace berth::haproxy
