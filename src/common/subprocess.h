// Running other programs: to completion with a deadline (run_process), or detached into a
// session of their own so they outlive the caller (spawn_detached).
//
// argv[0] is the path of the executable: there is no PATH search, so what runs is exactly what
// the caller named. Children start with the default signal dispositions and an empty signal
// mask whatever the caller set (an ignored SIGPIPE would otherwise be inherited through exec),
// and with no file descriptor of the caller's but the ones named here (berth holds sockets to
// the API server and HAProxy's master; a child must never keep one open).
//
// Thread-safety: every function may be called from any thread. fork() is followed only by
// async-signal-safe calls, so calling these from a multi-threaded process is safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <stop_token>
#include <string>
#include <vector>

#include "common/error.h"

namespace berth {

struct ProcessOutput {
  int exit_code = -1;  // the exit status, or 128 + the signal that killed it (as a shell says)
  std::string output;  // stdout and stderr merged in the order written, at most kMaxOutput bytes
};

// Output beyond this is read and dropped, so a chatty child can never exhaust memory.
inline constexpr std::size_t kMaxProcessOutput = 4 * 1024 * 1024;

// Runs argv to completion with stdin on /dev/null. Errors: kInvalidArgument (empty argv); kIo
// when the pipe, fork or exec fails (the message names argv[0] and errno's text); kTimeout
// when it has not finished within `timeout`, kCancelled when `stop` is requested first — in
// both cases the child has been killed (SIGKILL) and reaped before the call returns, and the
// message carries the output seen so far.
Result<ProcessOutput> run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                  std::stop_token stop = {});

// Starts argv detached: double fork with setsid() in between, so the program runs in a new
// session, is not the caller's child (it is reparented to init or the nearest subreaper) and
// survives the caller's exit or SIGKILL. stdin is /dev/null; stdout and stderr are appended to
// `log_file` (created 0644 if missing). Returns the program's pid (the grandchild's) once it
// has been exec'd. The intermediate child is reaped here; the program itself never can be, so
// use process_running() to tell whether it is alive. Errors: kInvalidArgument (empty argv);
// kIo when the log file cannot be opened or fork/exec fails (the message has errno's text).
Result<pid_t> spawn_detached(const std::vector<std::string>& argv, const std::filesystem::path& log_file);

// Whether `pid` names a live process: it exists and is not a zombie. kill(pid, 0) alone is
// not enough for a process that is not our child: once it exits it stays a zombie until its
// new parent reaps it, and kill() still succeeds on a zombie.
bool process_running(pid_t pid);

}  // namespace berth
