#include "support/haproxy_guard.h"

#include <fstream>

#include "haproxy/master_socket.h"
#include "support/foreign_processes.h"

namespace berth::testing {

bool is_live_haproxy(pid_t pid) { return is_live_process(pid, "haproxy"); }

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

void HaproxyGuard::watch_master(const std::filesystem::path& master_socket) {
  haproxy::MasterSocket socket(master_socket, std::chrono::seconds(5));
  auto answer = socket.to_master("show proc");
  if (answer) {
    if (auto table = haproxy::parse_show_proc(*answer)) watch(*table);
  }
  read_pid_file();
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
  return stop_processes(pids_, "haproxy", std::chrono::seconds(5));
}

}  // namespace berth::testing
