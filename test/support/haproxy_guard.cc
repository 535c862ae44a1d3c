#include "support/haproxy_guard.h"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "common/subprocess.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

// Waits for processes that are not our children (so no waitpid) by polling, bounded.
bool wait_until_all_gone(const std::set<pid_t>& pids, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    bool any = false;
    for (pid_t pid : pids) any = any || is_live_haproxy(pid);
    if (!any) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

void signal_live_haproxies(const std::set<pid_t>& pids, int sig) {
  for (pid_t pid : pids) {
    if (is_live_haproxy(pid)) ::kill(pid, sig);
  }
}

}  // namespace

bool is_live_haproxy(pid_t pid) {
  if (!process_running(pid)) return false;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name == "haproxy";
}

HaproxyGuard::HaproxyGuard(std::filesystem::path pid_file) : pid_file_(std::move(pid_file)) {}

HaproxyGuard::~HaproxyGuard() { stop_all(); }

void HaproxyGuard::watch(const haproxy::ProcessTable& table) {
  watch_pid(table.master.pid);
  for (const auto& worker : table.workers) watch_pid(worker.pid);
  read_pid_file();
}

void HaproxyGuard::watch(const Result<haproxy::ProcessTable>& result) {
  if (result) {
    watch(*result);
  } else {
    read_pid_file();
  }
}

void HaproxyGuard::watch_pid(pid_t pid) {
  if (pid > 0) pids_.insert(pid);
}

void HaproxyGuard::read_pid_file() {
  std::ifstream in(pid_file_);
  pid_t pid = 0;
  if (in >> pid) watch_pid(pid);
}

bool HaproxyGuard::stop_all() {
  read_pid_file();
  signal_live_haproxies(pids_, SIGTERM);
  if (wait_until_all_gone(pids_, 5s)) return true;
  signal_live_haproxies(pids_, SIGKILL);
  return wait_until_all_gone(pids_, 2s);
}

}  // namespace berth::testing
