// HaproxyMaster, MasterSocket and the servers-state dump against the real HAProxy 2.6
// (/usr/sbin/haproxy) on loopback. Every test stops the processes it started through the
// HaproxyGuard in HaproxyEnv, by PID, also when it fails.
#include "haproxy/haproxy_master.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "haproxy/master_socket.h"
#include "haproxy/servers_state.h"
#include "haproxy_test_env.h"
#include "model_fixtures.h"
#include "support/echo_server.h"

namespace berth::haproxy {
namespace {

using namespace std::chrono_literals;
using testenv::HaproxyEnv;
using testenv::PortHolder;
using testenv::free_port;
using testing::EchoServer;
using testing::TcpClient;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kStartTimeout = 10s;
constexpr auto kReloadTimeout = 10s;
constexpr auto kClientIo = 5s;
constexpr const char* kEchoName = "echo";

long long ms_since(SteadyClock::time_point begin) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - begin).count();
}

// A new connection to 127.0.0.1:<port> reaches the echo server (its greeting) and `line` comes back.
::testing::AssertionResult echoes_through(int port, const std::string& line) {
  auto client = TcpClient::connect("127.0.0.1", port, kClientIo);
  if (!client) return ::testing::AssertionFailure() << "connect: " << client.error().describe();
  auto greeting = (*client)->read_line(kClientIo);
  if (!greeting) return ::testing::AssertionFailure() << "no greeting: " << greeting.error().describe();
  if (*greeting != kEchoName) return ::testing::AssertionFailure() << "greeted by \"" << *greeting << "\"";
  if (!(*client)->round_trip(line, kClientIo)) return ::testing::AssertionFailure() << "\"" << line << "\" did not come back";
  return ::testing::AssertionSuccess();
}

std::vector<std::string> route_commands(int frontend_port, int server_port) {
  return {fmt::format("set server p{}/s1 addr 127.0.0.1 port {}", frontend_port, server_port),
          fmt::format("set server p{}/s1 state ready", frontend_port)};
}

// Starts a master on one frontend and points its slot at an echo server.
class RunningHaproxy : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(testenv::kHaproxyBinary, X_OK), 0) << testenv::kHaproxyBinary << " is not installed";
    ASSERT_TRUE(echo_.ok());
    port_ = free_port();
    ASSERT_GT(port_, 0);
    env_.write_config({port_});
    const auto begin = SteadyClock::now();
    auto table = env_.master.start(kStartTimeout, {});
    env_.guard.watch(table);
    ASSERT_TRUE(table) << table.error().describe() << "\nlog:\n" << env_.log();
    std::cout << "[ measure  ] start took " << ms_since(begin) << " ms\n";
    table_ = *table;
    auto answers = env_.cli.to_worker(*table_.current_worker(), route_commands(port_, echo_.port()));
    ASSERT_TRUE(answers) << answers.error().describe();
  }

  HaproxyEnv env_;
  EchoServer echo_{kEchoName};
  int port_ = 0;
  ProcessTable table_;
};

TEST_F(RunningHaproxy, StatusListsTheMasterAndOneWorker) {
  auto status = env_.master.status();
  ASSERT_TRUE(status) << status.error().describe();
  env_.guard.watch(status);
  EXPECT_EQ(status->master.pid, table_.master.pid);
  EXPECT_EQ(status->master.reloads, 0);
  EXPECT_EQ(status->failed_reloads, 0);
  EXPECT_EQ(status->master.version.substr(0, 4), "2.6.");
  ASSERT_EQ(status->workers.size(), 1u);
  EXPECT_EQ(status->workers[0].reloads, 0);
  EXPECT_EQ(status->current_worker(), status->workers[0].pid);
  EXPECT_TRUE(status->old_workers().empty());
  // The pid file names the master, which is not our child: it runs in a session of its own.
  std::ifstream pid_file(env_.paths.pid_file);
  int pid = 0;
  pid_file >> pid;
  EXPECT_EQ(pid, status->master.pid);
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_TRUE(testing::is_live_haproxy(status->workers[0].pid));
}

TEST_F(RunningHaproxy, RuntimeCommandsRouteTrafficWithTheMeasuredAnswers) {
  const int worker = *table_.current_worker();
  // SetUp already routed the slot; the same commands again show both answers' exact framing.
  auto again = env_.cli.to_worker(worker, route_commands(port_, echo_.port()));
  ASSERT_TRUE(again) << again.error().describe();
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0], "no need to change the addr, no need to change the port by 'stats socket command'\n");
  EXPECT_EQ((*again)[1], "");

  EXPECT_TRUE(echoes_through(port_, "hello through haproxy"));

  auto dump = env_.cli.to_worker(worker, std::vector<std::string>{"show servers state"});
  ASSERT_TRUE(dump) << dump.error().describe();
  auto state = parse_servers_state((*dump)[0]);
  ASSERT_TRUE(state) << state.error().describe() << "\n" << (*dump)[0];
  ASSERT_EQ(state->servers.size(), 1u);
  const auto& slot = state->servers[0];
  EXPECT_EQ(slot.backend, fmt::format("p{}", port_));
  EXPECT_EQ(slot.server, "s1");
  EXPECT_EQ(slot.address, "127.0.0.1");
  EXPECT_EQ(slot.port, echo_.port());
  EXPECT_EQ(slot.operational_state, 2);  // running
  EXPECT_FALSE(slot.in_maintenance());

  // Errors are answers, in order, each in its own block.
  auto mixed = env_.cli.to_worker(
      worker, std::vector<std::string>{"set server nosuch/s1 state ready", fmt::format("set server p{}/nosuch state ready", port_)});
  ASSERT_TRUE(mixed) << mixed.error().describe();
  EXPECT_EQ(*mixed, (std::vector<std::string>{"No such backend.\n", "No such server.\n"}));
}

TEST_F(RunningHaproxy, AFirstAddrChangeAnswersWithTheOldAndNewPort) {
  const int worker = *table_.current_worker();
  const int other = free_port();
  auto answers = env_.cli.to_worker(worker, std::vector<std::string>{
                                                fmt::format("set server p{}/s1 addr 127.0.0.1 port {}", port_, other)});
  ASSERT_TRUE(answers) << answers.error().describe();
  EXPECT_EQ(*answers, std::vector<std::string>{fmt::format(
                          "no need to change the addr, port changed from '{}' to '{}' by 'stats socket command'\n",
                          echo_.port(), other)});
}

TEST_F(RunningHaproxy, ABatchOfThousandsOfCommandsIsOneSession) {
  // Far more than a socket buffer holds: the client must read while it writes.
  std::vector<std::string> commands(5000, fmt::format("set server p{}/s1 state ready", port_));
  const auto begin = SteadyClock::now();
  auto answers = env_.cli.to_worker(*table_.current_worker(), commands);
  ASSERT_TRUE(answers) << answers.error().describe();
  std::cout << "[ measure  ] 5000 commands in one session took " << ms_since(begin) << " ms\n";
  EXPECT_EQ(answers->size(), commands.size());
  EXPECT_TRUE(std::all_of(answers->begin(), answers->end(), [](const std::string& a) { return a.empty(); }));
}

TEST_F(RunningHaproxy, AnUnknownWorkerPidIsNotFound) {
  auto answers = env_.cli.to_worker(99999, std::vector<std::string>{"show info"});
  ASSERT_FALSE(answers);
  EXPECT_EQ(answers.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(answers.error().message, "Can't find the target PID matching the prefix '@!99999'");
}

TEST_F(RunningHaproxy, CommandsThatCouldSmuggleAnotherAreRefusedUnsent) {
  const int worker = *table_.current_worker();
  for (std::string bad : {"show info; reload", "show info\nreload", "show info\rreload", ""}) {
    auto answers = env_.cli.to_worker(worker, std::vector<std::string>{"show info", bad});
    ASSERT_FALSE(answers) << "accepted \"" << bad << "\"";
    EXPECT_EQ(answers.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(env_.cli.to_master(bad).error().code, ErrorCode::kInvalidArgument);
  }
  auto status = env_.master.status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->master.reloads, 0);  // no "reload" got through
}

TEST_F(RunningHaproxy, ReloadHandsOverToANewWorkerWhileAHeldConnectionStaysWithTheOld) {
  auto held = TcpClient::connect("127.0.0.1", port_, kClientIo);
  ASSERT_TRUE(held) << held.error().describe();
  ASSERT_EQ((*held)->read_line(kClientIo).value_or("(no greeting)"), kEchoName);
  ASSERT_TRUE((*held)->round_trip("before", kClientIo)) << "the held connection did not work before the reload";
  const int old_worker = *table_.current_worker();

  // A changed, valid config: a second frontend.
  const int second_port = free_port();
  env_.write_config({port_, second_port});
  ASSERT_TRUE(check_config(env_.paths.binary, env_.paths.config, 10s));
  const auto begin = SteadyClock::now();
  auto reloaded = env_.master.reload(kReloadTimeout, {});
  const auto took = ms_since(begin);
  env_.guard.watch(reloaded);
  ASSERT_TRUE(reloaded) << reloaded.error().describe() << "\nlog:\n" << env_.log();
  std::cout << "[ measure  ] reload took " << took << " ms\n";

  EXPECT_EQ(reloaded->master.pid, table_.master.pid);
  EXPECT_EQ(reloaded->master.reloads, 1);
  EXPECT_EQ(reloaded->failed_reloads, 0);
  ASSERT_TRUE(reloaded->current_worker());
  EXPECT_NE(*reloaded->current_worker(), old_worker);
  EXPECT_EQ(reloaded->old_workers(), std::vector<int>{old_worker});

  EXPECT_TRUE((*held)->round_trip("after", kClientIo));
  // The old worker still lists as old while it drains; the new frontend accepts.
  auto status = env_.master.status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->old_workers(), std::vector<int>{old_worker});
  // The new worker has the new frontend but its slot is disabled (runtime state is not carried
  // over without a state file): it accepts and closes.
  auto fresh = testing::greeting_at("127.0.0.1", second_port, kClientIo);
  EXPECT_FALSE(fresh) << "greeted by \"" << *fresh << "\"";
}

TEST_F(RunningHaproxy, AStateFileCarriesRuntimeServersAcrossAReload) {
  auto dump = env_.cli.to_worker(*table_.current_worker(), std::vector<std::string>{"show servers state"});
  ASSERT_TRUE(dump) << dump.error().describe();
  auto state = parse_servers_state((*dump)[0]);
  ASSERT_TRUE(state) << state.error().describe();
  env_.dir.write("servers.state", to_state_file(*state));

  auto reloaded = env_.master.reload(kReloadTimeout, {});
  env_.guard.watch(reloaded);
  ASSERT_TRUE(reloaded) << reloaded.error().describe();
  // A connection made now can only reach the new worker, which learnt the slot from the file.
  EXPECT_TRUE(echoes_through(port_, "restored"));
  auto new_dump = env_.cli.to_worker(*reloaded->current_worker(), std::vector<std::string>{"show servers state"});
  ASSERT_TRUE(new_dump);
  auto restored = parse_servers_state((*new_dump)[0]);
  ASSERT_TRUE(restored);
  ASSERT_EQ(restored->servers.size(), 1u);
  EXPECT_EQ(restored->servers[0].port, echo_.port());
  EXPECT_EQ(restored->servers[0].operational_state, 2);
}

TEST_F(RunningHaproxy, AReloadOntoABusyPortIsRefusedAndTheOldWorkerKeepsServing) {
  const int busy = free_port();
  PortHolder holder(busy);
  ASSERT_TRUE(holder.ok());
  env_.write_config({port_, busy});
  // -c passes: only binding finds the port taken.
  ASSERT_TRUE(check_config(env_.paths.binary, env_.paths.config, 10s));

  const auto begin = SteadyClock::now();
  auto refused = env_.master.reload(kReloadTimeout, {});
  std::cout << "[ measure  ] refused reload took " << ms_since(begin) << " ms\n";
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalid) << refused.error().describe();
  const auto& message = refused.error().message;
  EXPECT_TRUE(contains(message, fmt::format("cannot bind socket (Address already in use) for [127.0.0.1:{}]", busy)))
      << message;
  EXPECT_TRUE(contains(message, fmt::format("for frontend p{}", busy))) << message;

  auto status = env_.master.status();
  ASSERT_TRUE(status);
  env_.guard.watch(status);
  EXPECT_EQ(status->master.reloads, 1);
  EXPECT_EQ(status->failed_reloads, 1);
  ASSERT_EQ(status->workers.size(), 1u);
  EXPECT_EQ(status->workers[0].pid, *table_.current_worker());
  EXPECT_EQ(status->workers[0].reloads, 1);  // no worker has 0 after a failed reload
  EXPECT_EQ(status->current_worker(), *table_.current_worker());
  ASSERT_TRUE(echoes_through(port_, "still here"));

  // Fixed config: the next reload succeeds and the failure count goes back to 0.
  env_.write_config({port_});
  auto reloaded = env_.master.reload(kReloadTimeout, {});
  env_.guard.watch(reloaded);
  ASSERT_TRUE(reloaded) << reloaded.error().describe();
  EXPECT_EQ(reloaded->master.reloads, 2);
  EXPECT_EQ(reloaded->failed_reloads, 0);
}

TEST_F(RunningHaproxy, ASecondMasterObjectAdoptsTheRunningOne) {
  MasterSocket other_cli(env_.paths.master_socket, 5s);
  HaproxyMaster adopted(env_.paths, other_cli, SystemClock::instance());
  auto status = adopted.status();
  ASSERT_TRUE(status) << status.error().describe();
  EXPECT_EQ(status->master.pid, table_.master.pid);
  EXPECT_EQ(status->current_worker(), table_.current_worker());

  auto second = adopted.start(kStartTimeout, {});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(contains(second.error().message, std::to_string(table_.master.pid))) << second.error().message;
}

TEST_F(RunningHaproxy, StatusFailsWithTransportOnceTheMasterIsGone) {
  ASSERT_TRUE(env_.guard.stop_all());
  auto status = env_.master.status();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kTransport) << status.error().describe();
}

TEST(HaproxyMasterStart, FailsWithHaproxysReasonWhenThePortIsBusy) {
  HaproxyEnv env;
  const int busy = free_port();
  PortHolder holder(busy);
  ASSERT_TRUE(holder.ok());
  env.write_config({busy});
  auto started = env.master.start(kStartTimeout, {});
  env.guard.watch(started);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::kInvalid);
  EXPECT_TRUE(contains(started.error().message, "haproxy exited while starting")) << started.error().message;
  EXPECT_TRUE(contains(started.error().message,
                       fmt::format("cannot bind socket (Address already in use) for [127.0.0.1:{}]", busy)))
      << started.error().message;
}

TEST(HaproxyMasterStart, AHolderWithSoReuseportSharesThePortInsteadOfBlockingIt) {
  // HAProxy sets SO_REUSEPORT on its listeners (no `noreuseport` in the config), so a holder
  // that set it too does not stop the start: the port is silently shared. port_probe reports
  // such a holder; here the start itself succeeds.
  HaproxyEnv env;
  const int shared = free_port();
  PortHolder holder(shared, /*reuse_port=*/true);
  ASSERT_TRUE(holder.ok());
  env.write_config({shared});
  auto started = env.master.start(kStartTimeout, {});
  env.guard.watch(started);
  EXPECT_TRUE(started) << started.error().describe();
}

TEST(HaproxyMasterStart, ABrokenConfigFailsTheStartWithItsAlert) {
  HaproxyEnv env;
  env.dir.write("haproxy.cfg", "global\n  no_such_keyword 1\n");
  auto started = env.master.start(kStartTimeout, {});
  env.guard.watch(started);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::kInvalid);
  EXPECT_TRUE(contains(started.error().message, "unknown keyword 'no_such_keyword'")) << started.error().message;
}

TEST(HaproxyMasterStart, AMissingBinaryIsAnIoError) {
  HaproxyEnv env;
  env.write_config({free_port()});
  env.paths.binary = (env.dir.path() / "no-haproxy").string();
  HaproxyMaster master(env.paths, env.cli, SystemClock::instance());
  auto started = master.start(kStartTimeout, {});
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::kIo) << started.error().describe();
}

// deploy/'s berth container: the binary berth runs starts no master, and the haproxy
// container's master may come up while berth's start still waits. start() must not claim a
// master that is not the process it spawned.
TEST(HaproxyMasterStart, AMasterThatComesUpElsewhereMeanwhileIsNotClaimed) {
  HaproxyEnv env;
  const int port = free_port();
  env.write_config({port});
  // The "binary": starts the real master in a session of its own (another pid), then stays
  // until that master has written its pid file and a little longer, as a slow exit would.
  const auto pid_file = env.paths.pid_file.string();
  env.paths.binary = env.dir.write("elsewhere", fmt::format(R"(#!/bin/sh
setsid {} "$@" </dev/null >/dev/null 2>&1 &
tries=0
while [ ! -s {} ] && [ "$tries" -lt 200 ]; do tries=$((tries + 1)); sleep 0.05; done
sleep 5
)", testenv::kHaproxyBinary, pid_file)).string();
  ASSERT_EQ(::chmod(env.paths.binary.c_str(), 0755), 0);
  HaproxyMaster master(env.paths, env.cli, SystemClock::instance());
  auto started = master.start(kStartTimeout, {});
  auto elsewhere = env.master.status();
  env.guard.watch(elsewhere);
  ASSERT_FALSE(started) << "claimed master " << started->master.pid;
  EXPECT_EQ(started.error().code, ErrorCode::kAlreadyExists) << started.error().describe();
  ASSERT_TRUE(elsewhere) << elsewhere.error().describe();
  EXPECT_TRUE(contains(started.error().message, fmt::format("pid {}", elsewhere->master.pid))) << started.error().message;
}

TEST(HaproxyMasterStart, TheMasterOutlivesTheProcessThatStartedIt) {
  HaproxyEnv env;
  const int port = free_port();
  env.write_config({port});
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  // The starter is a forked copy of this (still single-threaded) test that exits at once.
  const pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    ::close(report[0]);
    auto table = env.master.start(kStartTimeout, {});
    const int pid = table ? table->master.pid : -1;
    [[maybe_unused]] auto n = ::write(report[1], &pid, sizeof pid);
    ::_exit(table ? 0 : 1);
  }
  ::close(report[1]);
  int master_pid = -1;
  const auto got = ::read(report[0], &master_pid, sizeof master_pid);
  ::close(report[0]);
  env.guard.watch_pid(master_pid);
  int status = 0;
  ASSERT_EQ(::waitpid(starter, &status, 0), starter);
  ASSERT_EQ(got, static_cast<ssize_t>(sizeof master_pid));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << env.log();

  auto table = env.master.status();
  ASSERT_TRUE(table) << table.error().describe();
  env.guard.watch(table);
  EXPECT_EQ(table->master.pid, master_pid);
  EXPECT_TRUE(process_running(master_pid));
  ASSERT_TRUE(table->current_worker());
}

TEST(CheckConfig, AcceptsAValidConfigAndQuotesTheAlertsOfABrokenOne) {
  testing::TempDir dir;
  auto good = dir.write("good.cfg", testenv::test_config(dir.path(), {free_port()}));
  auto ok = check_config(testenv::kHaproxyBinary, good, 10s);
  EXPECT_TRUE(ok) << ok.error().describe();

  auto bad = dir.write("bad.cfg", "global\n  bogus_keyword 1\ndefaults\n  mode tcp\nfrontend f\n  bind 127.0.0.1:1\n"
                                  "  default_backend nowhere\n");
  auto rejected = check_config(testenv::kHaproxyBinary, bad, 10s);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, ErrorCode::kInvalid);
  const auto& message = rejected.error().message;
  EXPECT_TRUE(contains(message, "[ALERT]")) << message;
  EXPECT_TRUE(contains(message, "unknown keyword 'bogus_keyword' in 'global' section")) << message;
  EXPECT_FALSE(contains(message, "[NOTICE]")) << message;

  auto missing = check_config((dir.path() / "no-haproxy").string(), good, 10s);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace berth::haproxy
