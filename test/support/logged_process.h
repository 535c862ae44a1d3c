// A long-running child process for end-to-end tests (berth, keepalived) whose stdout and stderr
// go to a log file in its own temporary directory, so a test that does not read the log can
// never block the process on a full pipe, and a test that does can wait for a line in it.
//
//   LoggedProcess keepalived("keepalived", {"/usr/sbin/keepalived", "-n", "-l", ...});
//   ASSERT_TRUE(keepalived.start());
//   ASSERT_TRUE(keepalived.wait_for_log("Entering MASTER STATE", 10s));
//   keepalived.kill();        // SIGKILL: a crash
//   keepalived.start();       // the same command again, the log appended to
//
// `launcher` (optional) comes before the command: {"/bin/ip", "netns", "exec", "<ns>"} runs it
// inside a network namespace. A launcher must exec the command (ip netns exec does), so pid()
// is the process's own PID.
//
// The destructor kills a process that still runs. Only this process's own PID is signalled.
// Thread-safety: one thread uses an instance.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace berth::testing {

class LoggedProcess {
 public:
  // `name` names the process in error messages; `argv[0]` is an absolute path (no PATH search).
  LoggedProcess(std::string name, std::vector<std::string> argv, std::vector<std::string> launcher = {});
  ~LoggedProcess();
  LoggedProcess(const LoggedProcess&) = delete;
  LoggedProcess& operator=(const LoggedProcess&) = delete;

  // Errors: kInvalidArgument when it already runs, kIo when it cannot be spawned.
  Result<void> start();
  // Arguments for the next start() (after the ones given to the constructor).
  void add_args(const std::vector<std::string>& args) { argv_.insert(argv_.end(), args.begin(), args.end()); }
  // The next start() gives `flag` `value`: the value after the flag is replaced, or both are
  // added (a flag given twice is refused).
  void set_arg(const std::string& flag, const std::string& value) {
    for (std::size_t i = 1; i + 1 < argv_.size(); ++i) {
      if (argv_[i] == flag) {
        argv_[i + 1] = value;
        return;
      }
    }
    add_args({flag, value});
  }
  void kill();
  // `signal` (SIGTERM unless told), then SIGKILL after `grace`; returns the exit code.
  Result<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(20), int signal = SIGTERM);
  bool running();
  pid_t pid() const { return child_ ? child_->pid() : -1; }

  // The process's own temporary directory (removed with the object); the log is in it.
  const std::filesystem::path& dir() const { return dir_.path(); }
  // Everything logged so far (all runs).
  std::string log() const;
  // Occurrences of `text` in the log.
  std::size_t count_in_log(const std::string& text) const;
  // Polls the log every 20 ms until it contains `text` (counting from the start of the file)
  // at least `times` times. kTimeout when the deadline passes first, kIo when the process exited.
  Result<void> wait_for_log(const std::string& text, std::chrono::milliseconds timeout, std::size_t times = 1);

 private:
  std::string name_;
  std::vector<std::string> argv_;
  std::vector<std::string> launcher_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace berth::testing
