// Range mode's Driver (--listen-mode=range): one frontend binds the whole pool once, and a
// Service port is exposed by giving it a free pre-made backend and a map entry through the
// Runtime API — no reload (docs/listen-modes.md). One apply():
//
//   1. Free the draining backends whose sessions ended (`show stat <backend> 2 -1`).
//   2. Desired ports the frontend does not bind (busy at the last reload): still busy → left
//      out and reported `unavailable`; free now → a reload binds them.
//   3. Plan (range_plan.h). Runtime only → the commands go to the current worker ("@!<pid>",
//      so none lands in a draining old one) and the changed backends' server state is dumped;
//      then the ACL files, the maps, haproxy.cfg (with every route's servers) and the
//      server-state file are written behind, on a thread of their own (range_files_writer.h),
//      so that a reload or restart by anyone reproduces the same routing while the next change
//      need not wait for them.
//   4. Reload (or start): the layout grows, global settings changed, or a port must be bound.
//      The files being written behind are waited for first. Pool ports the running config does
//      not bind are probed and busy ones left out of the binds (one busy port in a bound range
//      fails the whole reload, while `haproxy -c` passes). The config (with every route's servers written in) is checked with `haproxy
//      -c`; the maps and ACL files of the new state and the server state of the slots that keep
//      their server are written; then reload, confirm the new worker and reconcile: `show map`
//      and `show servers state` of the new worker are compared with the state and any
//      difference is set right through the Runtime API. A failed reload puts the previous files
//      back.
//
// Adopting: a master that answers at berth's start is never restarted. When the config on disk
// is the one berth confirmed (".applied") and the state read back from the worker
// (running_state.h) renders exactly that config, it is taken as current with no reload;
// otherwise the first apply reloads it.
//
// A worker berth did not start (an operator's reload, a master restarted by others) is noticed
// at the next apply and reconciled as after berth's own reloads: it loaded the files, which lag
// the Runtime API for the moments after a change that berth spends writing them.
//
// Runtime changes and reloads are serialized by construction: one thread calls apply().
//
// Thread-safety: not thread-safe, like Driver; stats() and backend_of() from any thread. The
// file writer's thread copies the state under state_mu_, which apply() holds: apply() is the
// only code that changes the state.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "haproxy/applier.h"
#include "haproxy/driver.h"
#include "haproxy/haproxy_master.h"
#include "haproxy/master_cli.h"
#include "haproxy/range/range_files.h"
#include "haproxy/range/range_files_writer.h"
#include "haproxy/range/range_plan.h"
#include "haproxy/range/range_state.h"

namespace spdlog {
class logger;
}

namespace berth::haproxy {

struct RangeDriverSettings {
  HaproxyPaths paths;  // paths.config is haproxy.cfg; the maps and ACLs live beside it
  RangePolicy policy;
  std::vector<PortSpan> pool;  // the ports to bind: the allocator's pool without excluded ports
  std::chrono::milliseconds check_timeout = std::chrono::seconds(60);
  std::chrono::milliseconds reload_timeout = std::chrono::seconds(60);  // also for a start
};

class RangeDriver final : public Applier {
 public:
  RangeDriver(RangeDriverSettings settings, MasterCli& cli, Clock& clock);
  RangeDriver(const RangeDriver&) = delete;
  RangeDriver& operator=(const RangeDriver&) = delete;

  using Applier::apply;
  // With `changed`, and when the last apply left every port as it wanted, the plan looks at only
  // the changed ports (and publishes only those): O(changed) at 10,000 routes.
  ApplyResult apply(const GlobalSettings& global, const Model& desired, const ChangedPorts& changed,
                    std::stop_token stop) override;
  bool needs_reload(const GlobalSettings& global, const Model& desired) const override;
  bool serves(int host_port) const override { return current_ && current_->routes.contains(host_port); }

  // `show proc` now, as Driver::poll().
  Result<ProcessTable> poll();

  const std::optional<RangeState>& current() const { return current_; }
  // The backend serving `host_port` after the last apply ("" when none): for metric labels that
  // join berth's series with HAProxy's. Any thread.
  std::string backend_of(int host_port) const;
  const RangeFiles& files() const { return files_; }
  // Returns once the files show the state the last apply() left (they are written behind).
  void flush_files() { files_writer_.flush(); }
  std::uint64_t files_written_behind() const { return files_writer_.writes(); }
  DriverStats stats() const;
  std::uint64_t reconciled_commands() const { return reconciled_.load(); }

 private:
  // `only`: the plan looks at these host ports only (apply()'s hint, when in step).
  ApplyResult apply_once(const GlobalSettings& global, const Model& desired, const std::set<int>* only,
                         std::stop_token stop);
  void publish();
  // A running master is adopted; its state too (no reload) when adopt_state() can read it back.
  void attach(const GlobalSettings& global, const Model& desired);
  Result<void> adopt_state(const GlobalSettings& global, const Model& desired, std::optional<int> worker,
                           const Result<std::string>& disk);
  void release_drained();
  // Carries `plan` out at run time: current_ becomes plan.next. On failure the plan is left
  // as it was (current_ is the caller's to put back).
  ApplyResult apply_runtime(RangePlan& plan);
  ApplyResult reload(const GlobalSettings& global, RangeState next, std::vector<std::string> reasons,
                     ApplyResult result, std::stop_token stop);
  // Pool ports HAProxy does not bind now that another process holds.
  Result<std::set<int>> busy_pool_ports(const GlobalSettings& global);
  // The worker's server state of `backends`, kept for the server-state file.
  Result<void> dump_server_state(const std::set<std::string>& backends);
  // What the file writer writes now (on its thread): the state's copy, taken under state_mu_.
  std::optional<RangeFilesSnapshot> files_snapshot();
  // The server-state file's text: state_header_ and state_lines_.
  std::string server_state_text() const;
  Result<void> write_filtered_server_state(const GlobalSettings& global, const RangeState& next);
  void reconcile(int worker);
  Result<int> current_worker();
  Result<std::vector<std::string>> to_current_worker(const std::vector<std::string>& commands);

  const RangeDriverSettings settings_;
  const RangeFiles files_;
  MasterCli& cli_;
  Clock& clock_;
  HaproxyMaster master_;
  std::shared_ptr<spdlog::logger> log_;

  bool attached_ = false;
  bool running_ = false;
  std::optional<RangeState> current_;
  // The last apply() ended with every port it wanted routed as wanted (a runtime update or
  // nothing to do): the next apply's hint then says where it differs. False after a reload, a
  // failure or an adoption, so the next plan looks at every port.
  bool in_step_ = false;
  std::optional<std::set<int>> published_ports_;  // the ports an in-step apply changed: only these are published
  GlobalSettings current_global_;
  int known_worker_ = 0;      // the current worker berth started, adopted or reconciled
  std::set<int> own_ports_;  // ports the running HAProxy binds (adopted: its config's bind lines)
  std::string state_header_;
  std::map<std::string, std::string> state_lines_;  // server-state file lines, by backend

  // Held by apply() (reload() lets go of it while it waits for the files); the file writer takes
  // its snapshot under it.
  std::mutex state_mu_;
  std::unique_lock<std::mutex> state_lock_{state_mu_, std::defer_lock};
  std::set<std::string> unwritten_acls_;  // backends whose ACL file the writer has not written since their change

  mutable std::mutex published_mu_;
  std::map<int, std::string> published_;  // host port → backend; guarded by published_mu_

  std::atomic<std::uint64_t> starts_{0}, restarts_{0}, adoptions_{0}, reloads_{0}, failed_reloads_{0},
      rejected_configs_{0}, runtime_updates_{0}, old_workers_{0}, reconciled_{0};

  RangeFilesWriter files_writer_;  // last: its thread stops (after its last write) before the state goes
};


}  // namespace berth::haproxy
