// The whole data plane for end-to-end tests and benchmarks: kube-sim, the berth binary (which
// starts HAProxy) and kubectl, over loopback. berth's config and socket directories live in a
// TempDir; the HAProxy processes berth started are stopped by PID when the cluster goes away
// (HaproxyGuard), even when the test or benchmark fails half-way.
//
//   DataplaneCluster c(31000);                    // host ports 31000-31099, the test flags
//   ASSERT_TRUE(c.start()) ...;
//   c.kube().api().create(kube::kServices, "default", service);   // or c.kubectl_apply(yaml)
//   auto port = c.wait_for_host_port("db", 3306);  // the allocation annotation
//
//   DataplaneCluster big({.port_ranges = {{20000, 29999}},
//                         .flags = {{"--min-reload-interval", "1s"}}});   // a benchmark's
//
// berth binds the host ports on 127.0.0.1 and accepts endpoints on loopback addresses
// (--allow-loopback-endpoints), where tests run their stand-in databases. Clusters that run
// at the same time must use different port ranges.
//
// Thread-safety: one thread drives an instance; kube().connect() gives other threads clients
// of their own.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "haproxy/master_cli.h"
#include "support/berth_process.h"
#include "support/child_process.h"
#include "support/haproxy_guard.h"
#include "support/kube_sim_cluster.h"
#include "support/temp_dir.h"

namespace berth::testing {

inline constexpr const char* kKubectl = "/usr/bin/kubectl";

struct DataplaneClusterOptions {
  // Host ports to allocate (--port-range first-last, one flag each). The first range's first
  // port is first_port().
  std::vector<std::pair<int, int>> port_ranges;
  // berth flags (flag → value) replacing those of DataplaneCluster::default_flags() or added.
  std::map<std::string, std::string> flags;
  // Appended as given: flags without a value, repeatable ones.
  std::vector<std::string> extra_args;
};

class DataplaneCluster {
 public:
  // What the end-to-end tests run berth with: short delays, so a test waits little.
  static std::map<std::string, std::string> default_flags();

  // Host ports first_port .. first_port + 99 and the default flags, then extra_args.
  explicit DataplaneCluster(int first_port, std::vector<std::string> extra_args = {});
  explicit DataplaneCluster(DataplaneClusterOptions options);
  // berth first, so nothing starts HAProxy again while the guard stops it.
  ~DataplaneCluster();
  DataplaneCluster(const DataplaneCluster&) = delete;
  DataplaneCluster& operator=(const DataplaneCluster&) = delete;

  // Starts berth and waits until HAProxy runs. Errors name what did not happen.
  Result<void> start(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  KubeSimCluster& kube() { return cluster_; }
  BerthProcess& berth() { return *berth_; }
  // berth's command line, without the binary.
  const std::vector<std::string>& args() const { return args_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path config_path() const { return dir_.path() / "cfg" / "haproxy.cfg"; }
  std::filesystem::path master_socket_path() const { return dir_.path() / "run" / "master.sock"; }
  int first_port() const { return first_port_; }

  // Remembers the HAProxy processes running now, so the guard stops them at the end.
  void watch();
  // `show proc`, retried for a second: the master refuses connections for a few ms while it
  // re-executes after a reload. The processes it lists are remembered as watch() does.
  Result<haproxy::ProcessTable> haproxy_status();
  // Stops every HAProxy process seen so far (master and workers, by PID) and waits until they
  // are gone; returns whether they are. For a cold start of berth with no HAProxy running.
  bool stop_haproxy();

  // kubectl with a private discovery cache; stdin_data is piped in.
  Result<CommandResult> kubectl(std::vector<std::string> args, std::string stdin_data = "");
  Result<void> kubectl_apply(const std::string& yaml);

  // The host port berth wrote on the Service for `service_port`, once it has.
  std::optional<int> host_port(const std::string& name, int service_port, const std::string& ns = "default");
  std::optional<int> wait_for_host_port(const std::string& name, int service_port,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Whether an Event with `reason` about the Service `name` exists (Events are written
  // asynchronously, so callers wait with eventually()).
  bool has_event(const std::string& name, const std::string& reason, const std::string& ns = "default");

  // Waits until berth has logged a start or reload that left HAProxy with `listeners`
  // listeners. HAProxy serves a new port as soon as its reload is done, a moment before berth
  // has confirmed and logged it; tests that count reloads or kill berth wait for this first.
  Result<void> wait_for_applied(std::size_t listeners, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return berth_->wait_for_log(fmt::format("listeners={} reasons=", listeners), timeout);
  }

  // Completed reloads and starts, as berth logged them.
  std::size_t reloads() const { return berth_->count_in_log("haproxy reloaded"); }
  std::size_t starts() const { return berth_->count_in_log("haproxy started"); }

 private:
  TempDir dir_;
  KubeSimCluster cluster_;
  int first_port_;
  std::vector<std::string> args_;
  HaproxyGuard guard_;
  std::unique_ptr<BerthProcess> berth_;
};

}  // namespace berth::testing
