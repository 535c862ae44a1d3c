// keepalived's VRRP for a test (Debian's keepalived, installed by scripts/install-deps): one
// daemon in the foreground with a config, pid files and a log of its own, so several run side
// by side (one per load-balancer namespace) and none touches the machine's
// /etc/keepalived or /run.
//
//   KeepalivedProcess vrrp(config_text, ns.launcher());   // inside a network namespace
//   ASSERT_TRUE(vrrp.start());                            // until "Startup complete"
//   vrrp.process().wait_for_log("Entering MASTER STATE", 10s);
//   vrrp.crash();    // SIGKILL: no goodbye advert, the peer waits out the master-down timer
//   vrrp.stop();     // SIGTERM: a priority-0 advert, the VIPs removed, the peer takes over at once
//
// keepalived's own --namespace is not used: it also unshares a mount namespace and mounts
// /run/keepalived/keepalived_<name> over /run/keepalived. The launcher (ip netns exec) puts it
// in the network namespace, and its pid files are named explicitly.
//
// keepalived runs as `keepalived --dont-fork --vrrp --log-console --log-detail --no-syslog`: the
// test's child is the parent process (its PID is pid()), which forks the VRRP child; that
// child's PID comes from its pid file once it has started (vrrp_pid()). The parent gives its
// children SIGTERM when it dies (PR_SET_PDEATHSIG), so a SIGKILL of the parent alone would still
// let the VRRP child say goodbye: crash() stops the parent first (so it cannot respawn the
// child), kills the child, then the parent.
//
// The destructor crashes a keepalived that still runs and waits for the VRRP child to go. Only
// these two PIDs are signalled.
//
// Thread-safety: one thread uses an instance.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "support/logged_process.h"
#include "support/temp_dir.h"

namespace berth::testing {

inline constexpr const char* kKeepalivedBinary = "/usr/sbin/keepalived";

class KeepalivedProcess {
 public:
  // `config` is keepalived.conf's text; it is written to a file of this instance's own.
  explicit KeepalivedProcess(const std::string& config, std::vector<std::string> launcher = {});
  ~KeepalivedProcess();
  KeepalivedProcess(const KeepalivedProcess&) = delete;
  KeepalivedProcess& operator=(const KeepalivedProcess&) = delete;

  // Starts it and waits until the VRRP child has logged "Startup complete" and written its pid
  // file. Errors: kIo (spawn, keepalived exited: its log is in the message), kTimeout.
  Result<void> start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGTERM: a clean stop. Returns the exit code.
  Result<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // A crash of the whole daemon: no goodbye advert, the VIPs stay where they are.
  void crash();

  LoggedProcess& process() { return process_; }
  pid_t pid() const { return process_.pid(); }
  pid_t vrrp_pid() const { return vrrp_pid_; }
  std::filesystem::path config_path() const { return dir_.path() / "keepalived.conf"; }

 private:
  TempDir dir_;
  LoggedProcess process_;
  pid_t vrrp_pid_ = -1;
};

}  // namespace berth::testing
