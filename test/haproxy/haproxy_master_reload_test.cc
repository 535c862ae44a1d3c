// HaproxyMaster::reload's decisions against a scripted master CLI on a clock whose sleeps
// return at once: every outcome of `show proc` after a reload, without a real HAProxy (those
// runs are in haproxy_master_test.cc).
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <functional>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "haproxy/haproxy_master.h"
#include "kube/instant_clock.h"
#include "support/temp_dir.h"

namespace berth::haproxy {
namespace {

using namespace std::chrono_literals;

// A `show proc` answer in 2.6's layout.
std::string proc(int master_pid, int reloads, int failed, std::vector<std::pair<int, int>> workers) {
  std::string text = fmt::format(
      "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
      "{:<15} master          {} [failed: {}]   0d00h01m00s     2.6.12-1+deb12u4\n# workers\n",
      master_pid, reloads, failed);
  for (auto [pid, worker_reloads] : workers) {
    text += fmt::format("{:<15} worker          {:<15} 0d00h00m10s     2.6.12-1+deb12u4\n", pid, worker_reloads);
  }
  return text + "# programs\n";
}

Result<std::string> refused() { return make_error(ErrorCode::kTransport, "connect: Connection refused"); }

// Answers "show proc" from a script (the last entry repeats) and runs a hook on "reload".
class ScriptedCli final : public MasterCli {
 public:
  std::deque<Result<std::string>> show_proc;
  std::function<void()> on_reload = [] {};
  std::vector<std::string> commands;

  Result<std::string> to_master(std::string_view command) override {
    commands.emplace_back(command);
    if (command == "reload") {
      on_reload();
      return std::string();
    }
    if (show_proc.empty()) return make_error(ErrorCode::kInternal, "script exhausted");
    auto answer = show_proc.front();
    if (show_proc.size() > 1) show_proc.pop_front();
    return answer;
  }
  Result<std::vector<std::string>> to_worker(int, std::span<const std::string>) override {
    return make_error(ErrorCode::kInternal, "not scripted");
  }
};

class ReloadTest : public ::testing::Test {
 protected:
  ReloadTest() : master_(paths(), cli_, clock_) {}

  HaproxyPaths paths() const {
    HaproxyPaths p;
    p.master_log = dir_.path() / "master.log";
    return p;
  }
  void append_log(std::string_view text) {
    std::ofstream out(dir_.path() / "master.log", std::ios::app);
    out << text;
  }

  // The master must look alive to the reload's liveness check: this test process stands in.
  const int master_pid_ = ::getpid();
  testing::TempDir dir_;
  ScriptedCli cli_;
  testing::InstantClock clock_;
  HaproxyMaster master_;
};

TEST_F(ReloadTest, WaitsThroughRefusedConnectionsForTheNewWorker) {
  cli_.show_proc = {proc(master_pid_, 0, 0, {{100, 0}}), refused(), refused(),
                    proc(master_pid_, 1, 0, {{101, 0}, {100, 1}})};
  auto table = master_.reload(5s, {});
  ASSERT_TRUE(table) << table.error().describe();
  EXPECT_EQ(table->current_worker(), 101);
  EXPECT_EQ(table->old_workers(), std::vector<int>{100});
  EXPECT_EQ(cli_.commands,
            (std::vector<std::string>{"show proc", "reload", "show proc", "show proc", "show proc"}));
  for (auto sleep : clock_.sleeps()) EXPECT_EQ(sleep, 10ms);
}

TEST_F(ReloadTest, KeepsPollingWhileTheCountRoseButTheNewWorkerIsNotListedYet) {
  cli_.show_proc = {proc(master_pid_, 3, 0, {{100, 0}}), proc(master_pid_, 3, 0, {{100, 0}}),
                    proc(master_pid_, 4, 0, {{100, 1}}), proc(master_pid_, 4, 0, {{102, 0}, {100, 1}})};
  auto table = master_.reload(5s, {});
  ASSERT_TRUE(table) << table.error().describe();
  EXPECT_EQ(table->current_worker(), 102);
}

TEST_F(ReloadTest, ARefusedReloadQuotesTheAlertLinesLoggedSinceItWasSent) {
  append_log("[ALERT]    (1) : an old alert from an earlier reload\n");
  cli_.on_reload = [&] {
    append_log(
        "[NOTICE]   (7) : Reloading HAProxy\n"
        "[WARNING]  (100) : Paused frontend p26735.\n"
        "[ALERT]    (7) : Binding [/etc/haproxy/haproxy.cfg:17] for frontend p26736: cannot bind socket (Address "
        "already in use) for [0.0.0.0:26736]\n"
        "[ALERT]    (7) : [/usr/sbin/haproxy.main()] Some protocols failed to start their listeners! Exiting.\n"
        "[WARNING]  (7) : Loading failure!\n");
  };
  cli_.show_proc = {proc(master_pid_, 1, 0, {{100, 0}}), refused(), proc(master_pid_, 2, 1, {{100, 1}})};
  auto table = master_.reload(5s, {});
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(table.error().message,
            "haproxy refused the reload: [ALERT]    (7) : Binding [/etc/haproxy/haproxy.cfg:17] for frontend p26736: "
            "cannot bind socket (Address already in use) for [0.0.0.0:26736] | [ALERT]    (7) : "
            "[/usr/sbin/haproxy.main()] Some protocols failed to start their listeners! Exiting.");
}

TEST_F(ReloadTest, WithoutAlertLinesTheLastLinesAreQuoted) {
  cli_.on_reload = [&] { append_log("[NOTICE]   (7) : Reloading HAProxy\n[WARNING]  (7) : Loading failure!\n"); };
  cli_.show_proc = {proc(master_pid_, 0, 0, {{100, 0}}), proc(master_pid_, 1, 1, {{100, 1}})};
  auto table = master_.reload(5s, {});
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().message,
            "haproxy refused the reload: [NOTICE]   (7) : Reloading HAProxy | [WARNING]  (7) : Loading failure!");
}

TEST_F(ReloadTest, TimesOutWhenTheMasterNeverAnswersAgain) {
  cli_.show_proc = {proc(master_pid_, 0, 0, {{100, 0}}), refused()};
  auto table = master_.reload(1s, {});
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().code, ErrorCode::kTimeout);
  EXPECT_NE(table.error().message.find("Connection refused"), std::string::npos) << table.error().message;
  EXPECT_EQ(clock_.sleeps().size(), 100u);  // 1 s of 10 ms polls, and no more
}

TEST_F(ReloadTest, AStopRequestEndsTheWait) {
  cli_.show_proc = {proc(master_pid_, 0, 0, {{100, 0}}), refused()};
  std::stop_source stop;
  stop.request_stop();
  auto table = master_.reload(5s, stop.get_token());
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().code, ErrorCode::kCancelled);
}

TEST_F(ReloadTest, NoMasterMeansNoReloadIsSent) {
  cli_.show_proc = {refused()};
  auto table = master_.reload(5s, {});
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().code, ErrorCode::kTransport);
  EXPECT_EQ(cli_.commands, std::vector<std::string>{"show proc"});
}

TEST_F(ReloadTest, AMasterThatExitsDuringTheReloadIsReportedAtOnce) {
  const pid_t gone = ::fork();
  ASSERT_GE(gone, 0);
  if (gone == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);  // reaped: the pid names no process now
  cli_.on_reload = [&] { append_log("[ALERT]    (9) : out of memory\n"); };
  cli_.show_proc = {proc(gone, 0, 0, {{100, 0}}), refused()};
  auto table = master_.reload(60s, {});
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().code, ErrorCode::kTransport);
  EXPECT_NE(table.error().message.find("exited during the reload: [ALERT]    (9) : out of memory"), std::string::npos)
      << table.error().message;
  EXPECT_EQ(clock_.sleeps().size(), 1u);
}

TEST_F(ReloadTest, AnAnswerThatIsNotAProcessTableIsNotRetried) {
  cli_.show_proc = {proc(master_pid_, 0, 0, {{100, 0}}), std::string("Permission denied\n")};
  auto table = master_.reload(5s, {});
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().code, ErrorCode::kParse);
}

}  // namespace
}  // namespace berth::haproxy
