// One load-balancer host of the chaos run: a berth (with --leader-elect) and the HAProxy it
// starts, both on one loopback bind address, with their directories in a TempDir. Two of these
// share one kube-sim: the leader allocates, both serve the same ports on their own address, as
// two hosts behind keepalived do (docs/high-availability.md).
//
//   LoadBalancer a("a", "127.0.1.1", common_args);
//   a.start();  a.kill();  a.start();   // berth SIGKILLed and started again: it adopts HAProxy
//   read_runtime_stats(a.master())      // what HAProxy runs now
//
// The HAProxy processes seen are stopped by PID when the object goes (HaproxyGuard), berth
// first, so nothing starts HAProxy again meanwhile.
//
// Thread-safety: one thread uses an instance.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "haproxy/master_socket.h"
#include "support/berth_process.h"
#include "support/haproxy_guard.h"
#include "support/temp_dir.h"

namespace berth::chaos {

class LoadBalancer {
 public:
  // `common_args`: berth's flags shared by both hosts (kubeconfig, pool, leader election...).
  // This host adds its directories, --bind-address and a metrics endpoint on
  // `address:metrics_port`.
  LoadBalancer(std::string name, std::string address, int metrics_port, std::vector<std::string> common_args);
  ~LoadBalancer();
  LoadBalancer(const LoadBalancer&) = delete;
  LoadBalancer& operator=(const LoadBalancer&) = delete;

  // Starts berth (again, after kill()). The first start waits until HAProxy runs.
  Result<void> start(std::chrono::milliseconds timeout);
  void kill();
  // SIGTERM, as an orderly shutdown; berth's exit code (under ASan, LeakSanitizer makes it
  // non-zero when berth leaked). HAProxy keeps running, as it does when berth is upgraded.
  Result<int> stop_berth();
  bool running();
  pid_t berth_pid() const { return berth_->pid(); }
  // berth's resident memory in KiB (/proc/<pid>/status VmRSS); nullopt when it does not run.
  std::optional<long> berth_rss_kib() const;
  // Whether berth reports itself the allocating leader (its berth_leader gauge); nullopt when
  // its metrics cannot be read.
  std::optional<bool> is_leader() const;

  // A fresh session to HAProxy's master socket; the HAProxy processes it lists are remembered
  // for the cleanup.
  haproxy::MasterSocket master();
  void remember_haproxy();

  // Range mode's map of host ports to backends, beside haproxy.cfg.
  std::filesystem::path ports_map() const { return dir_.path() / "cfg" / "ports.map"; }
  const std::string& name() const { return name_; }
  const std::string& address() const { return address_; }
  std::string log() const { return berth_->log(); }
  std::size_t count_in_log(const std::string& text) const { return berth_->count_in_log(text); }

 private:
  std::filesystem::path socket_path() const { return dir_.path() / "run" / "master.sock"; }

  std::string name_;
  std::string address_;
  int metrics_port_;
  testing::TempDir dir_;
  testing::HaproxyGuard guard_;
  std::unique_ptr<testing::BerthProcess> berth_;
  bool started_once_ = false;
};

}  // namespace berth::chaos
