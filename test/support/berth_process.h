// A running berth binary for end-to-end tests: started with a kubeconfig and flags, its log
// (stdout and stderr) going to a file in its own temporary directory, so a test that does
// not read the log can never block berth on a full pipe.
//
//   BerthProcess berth({"--kubeconfig", path, "--port-range", "20000-20099"});
//   ASSERT_TRUE(berth.start());
//   ASSERT_TRUE(berth.wait_for_log("port pool rebuilt", 30s));
//   berth.kill();        // SIGKILL: a crash
//   berth.start();       // the same flags again, the log appended to
//
// The destructor kills a berth that still runs. Only this process's own PID is signalled.
// Thread-safety: one thread uses an instance.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace berth::testing {

class BerthProcess {
 public:
  explicit BerthProcess(std::vector<std::string> args);
  ~BerthProcess();
  BerthProcess(const BerthProcess&) = delete;
  BerthProcess& operator=(const BerthProcess&) = delete;

  Result<void> start();
  // Flags for the next start() (after the ones given to the constructor).
  void add_args(const std::vector<std::string>& args) { args_.insert(args_.end(), args.begin(), args.end()); }
  void kill();
  // SIGTERM; returns the exit code.
  Result<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(20));
  bool running();
  pid_t pid() const { return child_ ? child_->pid() : -1; }

  // Everything berth has logged so far (all runs).
  std::string log() const;
  // Occurrences of `text` in the log.
  std::size_t count_in_log(const std::string& text) const;
  // Polls the log every 20 ms until it contains `text` (counting from the start of the file)
  // at least `times` times. kTimeout when the deadline passes first, kIo when berth exited.
  Result<void> wait_for_log(const std::string& text, std::chrono::milliseconds timeout, std::size_t times = 1);

 private:
  std::vector<std::string> args_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace berth::testing
