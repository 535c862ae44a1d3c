// Processes a test caused but did not fork itself, so it cannot wait for them: the HAProxy
// masters and workers berth starts detached (double fork + setsid), keepalived's VRRP child.
// They are signalled only by the PIDs the test remembered, and only while /proc/<pid>/comm
// still names the expected program (a remembered PID may have been reused by then). A zombie
// counts as gone.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <set>
#include <string_view>

namespace berth::testing {

// Whether `pid` is a live process whose /proc/<pid>/comm is `comm`.
bool is_live_process(pid_t pid, std::string_view comm);

// Sends `signal` to each of `pids` that is a live `comm`.
void signal_live_processes(const std::set<pid_t>& pids, std::string_view comm, int signal);

// Polls every 5 ms until none of `pids` is a live `comm`; false when `timeout` passes first.
bool wait_until_gone(const std::set<pid_t>& pids, std::string_view comm, std::chrono::milliseconds timeout);

// SIGTERM, up to `grace` to go, then SIGKILL and up to 2 s more. Returns whether all are gone.
bool stop_processes(const std::set<pid_t>& pids, std::string_view comm, std::chrono::milliseconds grace);

}  // namespace berth::testing
