#include "support/keepalived_process.h"

#include <signal.h>

#include <fstream>

#include "support/foreign_processes.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kComm = "keepalived";

std::vector<std::string> keepalived_command(const std::filesystem::path& dir) {
  return {kKeepalivedBinary,
          "--dont-fork",
          "--vrrp",
          "--log-console",
          "--log-detail",
          "--no-syslog",
          "--use-file=" + (dir / "keepalived.conf").string(),
          "--pid=" + (dir / "keepalived.pid").string(),
          "--vrrp_pid=" + (dir / "vrrp.pid").string()};
}

}  // namespace

KeepalivedProcess::KeepalivedProcess(const std::string& config, std::vector<std::string> launcher)
    : process_("keepalived", keepalived_command(dir_.path()), std::move(launcher)) {
  dir_.write("keepalived.conf", config);
}

KeepalivedProcess::~KeepalivedProcess() {
  crash();
  wait_until_gone({vrrp_pid_}, kComm, 2s);
}

Result<void> KeepalivedProcess::start(std::chrono::milliseconds timeout) {
  const std::size_t starts = process_.count_in_log("Startup complete");
  if (auto started = process_.start(); !started) return started;
  if (auto up = process_.wait_for_log("Startup complete", timeout, starts + 1); !up) {
    return make_error(up.error().code, up.error().message + "; keepalived's log:\n" + process_.log());
  }
  std::ifstream in(dir_.path() / "vrrp.pid");
  pid_t pid = -1;
  if (!(in >> pid) || pid <= 0) return make_error(ErrorCode::kIo, "keepalived wrote no VRRP pid file");
  vrrp_pid_ = pid;
  return {};
}

Result<int> KeepalivedProcess::stop(std::chrono::milliseconds grace) {
  auto status = process_.stop(grace);
  wait_until_gone({vrrp_pid_}, kComm, grace);
  return status;
}

void KeepalivedProcess::crash() {
  if (!process_.running()) return;
  ::kill(process_.pid(), SIGSTOP);
  signal_live_processes({vrrp_pid_}, kComm, SIGKILL);
  process_.kill();
}

}  // namespace berth::testing
