#include "common/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace berth {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls a file written by a detached process (which sends no other signal) until it holds
// `needle`, for at most `timeout`.
bool wait_for_text(const std::filesystem::path& path, std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    if (read_file(path).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

bool wait_until_gone(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (process_running(pid)) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Kills a detached test process by its pid when the test ends, even when it fails.
class KillOnExit {
 public:
  explicit KillOnExit(pid_t pid) : pid_(pid) {}
  ~KillOnExit() {
    if (pid_ > 0 && process_running(pid_)) {
      ::kill(pid_, SIGKILL);
      wait_until_gone(pid_, 5s);
    }
  }
  KillOnExit(const KillOnExit&) = delete;
  KillOnExit& operator=(const KillOnExit&) = delete;

 private:
  pid_t pid_;
};

std::string session_of(pid_t pid) {
  // Field 6 of /proc/<pid>/stat, counted after the ")" that ends the command name.
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string state, ppid, pgrp, session;
  fields >> state >> ppid >> pgrp >> session;
  return session;
}

TEST(RunProcess, ReturnsTheExitCodeAndMergedOutputInOrder) {
  auto result = run_process({"/bin/sh", "-c", "echo out; echo err >&2; echo out2; exit 3"}, 10s);
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->output, "out\nerr\nout2\n");
}

TEST(RunProcess, ReportsADeathBySignalAsAShellDoes) {
  auto result = run_process({"/bin/sh", "-c", "kill -KILL $$"}, 10s);
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(result->exit_code, 128 + SIGKILL);
}

TEST(RunProcess, GivesTheChildAnEmptyStdin) {
  auto result = run_process({"/bin/sh", "-c", "cat; echo read-to-eof"}, 10s);
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(result->output, "read-to-eof\n");
}

TEST(RunProcess, DoesNotSearchThePathAndReportsExecFailure) {
  auto result = run_process({"sh", "-c", "true"}, 10s);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kIo);
  EXPECT_NE(result.error().message.find("cannot run sh"), std::string::npos) << result.error().message;

  EXPECT_EQ(run_process({}, 1s).error().code, ErrorCode::kInvalidArgument);
}

TEST(RunProcess, KillsAChildThatOutlivesItsTimeout) {
  const auto begin = SteadyClock::now();
  // The child reports its pid first, so the test can check it is gone afterwards.
  auto result = run_process({"/bin/sh", "-c", "echo $$; exec /bin/sleep 30"}, 300ms);
  const auto took = SteadyClock::now() - begin;
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kTimeout);
  EXPECT_LT(took, 5s);
  const auto& message = result.error().message;
  const auto output = message.substr(message.find("output: ") + 8);
  const pid_t pid = std::stoi(output);
  EXPECT_FALSE(process_running(pid)) << "the timed-out child " << pid << " is still there";
}

TEST(RunProcess, AStopRequestKillsTheChildPromptly) {
  std::stop_source stop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(100ms);  // lets run_process reach its wait; the test asserts on the result
    stop.request_stop();
  });
  const auto begin = SteadyClock::now();
  auto result = run_process({"/bin/sleep", "30"}, 30s, stop.get_token());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kCancelled);
  EXPECT_LT(SteadyClock::now() - begin, 5s);
}

TEST(RunProcess, ChildSeesNoneOfTheCallersDescriptors) {
  // A socket without CLOEXEC, as a library might leave one: it must not reach the child.
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto result = run_process({"/bin/sh", "-c", "ls /proc/$$/fd"}, 10s);
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(result) << result.error().describe();
  // The shell's own descriptors: the three standard streams and nothing inherited from us.
  EXPECT_EQ(result->output, "0\n1\n2\n") << result->output;
}

TEST(RunProcess, ResetsIgnoredSignals) {
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGTERM, &ignore, &previous), 0);
  auto result = run_process({"/bin/sh", "-c", "kill -TERM $$; echo survived"}, 10s);
  ::sigaction(SIGTERM, &previous, nullptr);
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(result->exit_code, 128 + SIGTERM) << result->output;
}

TEST(SpawnDetached, RunsInItsOwnSessionAppendingToTheLog) {
  testing::TempDir dir;
  const auto log = dir.write("out.log", "before\n");
  auto pid = spawn_detached({"/bin/sh", "-c", "cat; echo stdout; echo stderr >&2; exec /bin/sleep 30"}, log);
  ASSERT_TRUE(pid) << pid.error().describe();
  KillOnExit cleanup(*pid);

  ASSERT_TRUE(wait_for_text(log, "stderr\n", 5s)) << read_file(log);
  EXPECT_EQ(read_file(log), "before\nstdout\nstderr\n");  // stdin was /dev/null: cat ended at once
  EXPECT_TRUE(process_running(*pid));

  // Not our child (the intermediate was reaped, the program reparented), and a session leader
  // of nothing: setsid() ran in the intermediate child.
  EXPECT_EQ(::waitpid(*pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_NE(session_of(*pid), session_of(::getpid()));
  EXPECT_NE(session_of(*pid), std::to_string(*pid));

  ::kill(*pid, SIGTERM);
  EXPECT_TRUE(wait_until_gone(*pid, 5s));
}

TEST(SpawnDetached, ClosesEveryOtherDescriptor) {
  testing::TempDir dir;
  const auto log = dir.path() / "fds.log";
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto pid = spawn_detached({"/bin/sh", "-c", "ls /proc/$$/fd; echo end"}, log);
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(pid) << pid.error().describe();
  KillOnExit cleanup(*pid);
  ASSERT_TRUE(wait_for_text(log, "end\n", 5s)) << read_file(log);
  EXPECT_EQ(read_file(log), "0\n1\n2\nend\n");
}

TEST(SpawnDetached, ReportsExecFailureAndAnUnwritableLog) {
  testing::TempDir dir;
  auto missing = spawn_detached({(dir.path() / "no-such-binary").string()}, dir.path() / "log");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
  EXPECT_NE(missing.error().message.find("No such file or directory"), std::string::npos) << missing.error().message;

  auto no_log = spawn_detached({"/bin/true"}, dir.path() / "no-such-dir" / "log");
  ASSERT_FALSE(no_log);
  EXPECT_EQ(no_log.error().code, ErrorCode::kIo);
  EXPECT_NE(no_log.error().message.find("no-such-dir"), std::string::npos) << no_log.error().message;
}

TEST(SpawnDetached, TheProgramOutlivesTheProcessThatStartedIt) {
  testing::TempDir dir;
  const auto log = dir.path() / "log";
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  // The starter is a forked copy of this test, which exits right after starting the program.
  const pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    ::close(report[0]);
    auto pid = spawn_detached({"/bin/sleep", "30"}, log);
    const pid_t value = pid ? *pid : -1;
    [[maybe_unused]] auto n = ::write(report[1], &value, sizeof value);
    ::_exit(pid ? 0 : 1);
  }
  ::close(report[1]);
  pid_t program = -1;
  ASSERT_EQ(::read(report[0], &program, sizeof program), static_cast<ssize_t>(sizeof program));
  ::close(report[0]);
  KillOnExit cleanup(program);
  int status = 0;
  ASSERT_EQ(::waitpid(starter, &status, 0), starter);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_GT(program, 0);
  EXPECT_TRUE(process_running(program));
}

TEST(ProcessRunning, TellsAZombieFromALiveProcess) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  EXPECT_TRUE(process_running(child));
  ::kill(child, SIGKILL);
  // Unreaped, the child is a zombie: kill(pid, 0) still succeeds, process_running must not.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(::kill(child, 0), 0);
  EXPECT_FALSE(process_running(child));
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(process_running(child));
  EXPECT_FALSE(process_running(0));
  EXPECT_FALSE(process_running(-1));
}

}  // namespace
}  // namespace berth
