// The test helper that stops HAProxy by PID (test/support/haproxy_guard.h): it must stop what
// it saw, including a draining old worker, and nothing else.
#include "support/haproxy_guard.h"

#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "haproxy_test_env.h"
#include "support/child_process.h"
#include "support/echo_server.h"

namespace berth::haproxy {
namespace {

using namespace std::chrono_literals;

TEST(HaproxyGuard, StopsTheMasterAndEveryWorkerItSawIncludingADrainingOne) {
  testing::EchoServer echo("echo");
  ASSERT_TRUE(echo.ok());
  std::vector<int> pids;
  {
    testenv::HaproxyEnv env;
    const int port = testenv::free_port();
    env.write_config({port});
    auto started = env.master.start(10s, {});
    env.guard.watch(started);
    ASSERT_TRUE(started) << started.error().describe();
    const int first = *started->current_worker();
    ASSERT_TRUE(env.cli.to_worker(first, std::vector<std::string>{
                                             fmt::format("set server p{}/s1 addr 127.0.0.1 port {}", port, echo.port()),
                                             fmt::format("set server p{}/s1 state ready", port)}));
    auto held = testing::TcpClient::connect("127.0.0.1", port, 5s);  // keeps the first worker alive after the reload
    ASSERT_TRUE(held) << held.error().describe();
    ASSERT_EQ((*held)->read_line(5s).value_or("(no greeting)"), "echo");
    auto reloaded = env.master.reload(10s, {});
    env.guard.watch(reloaded);
    ASSERT_TRUE(reloaded) << reloaded.error().describe();
    ASSERT_EQ(reloaded->old_workers(), std::vector<int>{first});
    pids = {started->master.pid, first, *reloaded->current_worker()};
    for (int pid : pids) {
      EXPECT_TRUE(testing::is_live_haproxy(pid)) << pid;
      EXPECT_TRUE(env.guard.pids().contains(pid)) << pid;
    }
  }
  ASSERT_EQ(pids.size(), 3u);
  for (int pid : pids) EXPECT_FALSE(process_running(pid)) << "haproxy " << pid << " survived its guard";
}

TEST(HaproxyGuard, LeavesAProcessThatIsNotHaproxyAlone) {
  auto sleeper = testing::ChildProcess::spawn({"/bin/sleep", "30"});
  ASSERT_TRUE(sleeper) << sleeper.error().describe();
  testing::TempDir dir;
  {
    testing::HaproxyGuard guard(dir.path() / "no.pid");
    guard.watch_pid((*sleeper)->pid());  // e.g. a remembered pid the system has reused
    EXPECT_TRUE(guard.stop_all());
  }
  EXPECT_TRUE((*sleeper)->running());
}

}  // namespace
}  // namespace berth::haproxy
