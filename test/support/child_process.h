// A child process for tests: fork/execv with stdout (and optionally stderr) on pipes, line
// reads with a deadline, and a stop that signals only this child's PID.
//
// The destructor kills (SIGKILL) and reaps a child that is still running, so a failing test
// never leaves a process behind; the child also gets SIGKILL if the test process dies
// (PR_SET_PDEATHSIG).
//
// Thread-safety: one thread uses an instance.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace berth::testing {

class ChildProcess {
 public:
  struct Options {
    bool pipe_stderr = false;  // false: the child writes to the test's stderr
    std::string stdin_data;    // written to the child's stdin, which is then closed...
    bool keep_stdin_open = false;  // ...unless this is set: then write_stdin() feeds it
  };

  // argv[0] is the executable path (no PATH search). Errors: kIo when fork/pipe fails; an
  // exec failure shows as exit code 127.
  static Result<std::unique_ptr<ChildProcess>> spawn(const std::vector<std::string>& argv, Options options);
  static Result<std::unique_ptr<ChildProcess>> spawn(const std::vector<std::string>& argv) {
    return spawn(argv, Options{});
  }

  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();

  // The next line of stdout without its newline. kTimeout when none arrives in time; kIo at
  // end of file (the text of an unterminated last line is returned first).
  Result<std::string> read_line(std::chrono::milliseconds timeout);

  // Waits for the exit; returns the exit code, or 128+signal. kTimeout when still running.
  Result<int> wait(std::chrono::milliseconds timeout);

  // Writes to the child's stdin (Options::keep_stdin_open). Errors: kIo when the child has
  // closed its end or stdin is not open.
  Result<void> write_stdin(std::string_view text);
  void close_stdin();

  // `signal` (SIGTERM unless told), wait up to `grace`, then SIGKILL. Returns the exit status
  // as wait() does.
  Result<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(10), int signal = SIGTERM);
  void kill();

  // Reads stdout (and the stderr pipe) until both reach end of file or the deadline passes.
  struct Output {
    std::string out;
    std::string err;
  };
  Output drain(std::chrono::milliseconds timeout);

 private:
  ChildProcess() = default;

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int in_fd_ = -1;
  std::string out_buffer_;
  std::optional<int> exit_status_;
};

// Runs a command to completion. Errors: kTimeout (the child is killed), kIo.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
Result<CommandResult> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(60),
                                  std::string stdin_data = "");

}  // namespace berth::testing
