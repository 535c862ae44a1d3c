#include "support/foreign_processes.h"

#include <signal.h>

#include <fstream>
#include <string>
#include <thread>

#include "common/subprocess.h"

namespace berth::testing {

bool is_live_process(pid_t pid, std::string_view comm) {
  if (!process_running(pid)) return false;
  std::ifstream comm_file("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm_file, name);
  return name == comm;
}

void signal_live_processes(const std::set<pid_t>& pids, std::string_view comm, int signal) {
  for (pid_t pid : pids) {
    if (is_live_process(pid, comm)) ::kill(pid, signal);
  }
}

bool wait_until_gone(const std::set<pid_t>& pids, std::string_view comm, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    bool any = false;
    for (pid_t pid : pids) any = any || is_live_process(pid, comm);
    if (!any) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // Not our children, so no waitpid: poll, bounded by the deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool stop_processes(const std::set<pid_t>& pids, std::string_view comm, std::chrono::milliseconds grace) {
  signal_live_processes(pids, comm, SIGTERM);
  if (wait_until_gone(pids, comm, grace)) return true;
  signal_live_processes(pids, comm, SIGKILL);
  return wait_until_gone(pids, comm, std::chrono::seconds(2));
}

}  // namespace berth::testing
