// Keeps a running HAProxy in line with a desired Model without ever cutting a session: the
// Driver of DESIGN.md. One apply():
//
//   1. Attach (first apply after berth starts): a master that answers on the socket is
//      adopted, never restarted. Its running slots are read back (`show servers state`); when
//      the config berth would render from them equals the file on disk and that file is the
//      one HAProxy confirmed running (a hash beside it, written after each success), it is
//      taken as the current Config with no reload. Otherwise the next step reloads.
//   2. Plan (update_plan.h). Nothing changed → nothing done. Servers only → Runtime API
//      commands to the current worker (through the master, "@!<pid>"), then haproxy.cfg and
//      the server-state file are rewritten so that a later reload or restart keeps them.
//   3. Reload (or start, when no master runs): host ports new to HAProxy are probed first; a
//      port another process holds is left out and reported (`unavailable`), since `haproxy -c`
//      passes such a config and only the reload fails. The config is rendered to a candidate
//      file and checked with `haproxy -c`; a rejected candidate is kept as
//      haproxy.cfg.rejected. When every line HAProxy complains about lies in listeners'
//      sections (config_errors.h), those listeners are reported (`rejected`) and left out (or
//      kept as they ran), the rest is applied, and they are not offered again until they
//      change; otherwise nothing changes. Then the running worker's
//      server state is dumped, filtered to the slots whose server stays (their health carries
//      over), the candidate is renamed over haproxy.cfg, `reload` is sent to the master and
//      the new worker confirmed through `show proc`. A failed reload puts the previous file
//      back, so the file on disk is always what runs.
//   The new Config becomes current only after HAProxy accepted it.
//
// A master that died is noticed by poll() or the next apply(): the next apply starts a new one
// with everything (counted as a restart).
//
// Thread-safety: not thread-safe; one thread (the data plane's sync loop) owns a Driver.
// stats() may be read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "haproxy/applier.h"
#include "haproxy/config_renderer.h"
#include "haproxy/haproxy_master.h"
#include "haproxy/master_cli.h"
#include "haproxy/model.h"
#include "haproxy/slot_table.h"

namespace spdlog {
class logger;
}

namespace berth::haproxy {

struct DriverSettings {
  HaproxyPaths paths;  // paths.config is haproxy.cfg; its siblings get the suffixes below
  SlotPolicy slots;
  std::chrono::milliseconds check_timeout = std::chrono::seconds(60);
  std::chrono::milliseconds reload_timeout = std::chrono::seconds(60);  // also for a start
};

struct DriverStats {
  std::uint64_t starts = 0;            // masters started (the first one, and restarts)
  std::uint64_t restarts = 0;          // of those, after a master berth knew had died
  std::uint64_t adoptions = 0;         // running masters taken over
  std::uint64_t reloads = 0;           // confirmed reloads
  std::uint64_t failed_reloads = 0;    // reloads or starts HAProxy refused
  std::uint64_t rejected_configs = 0;  // candidates `haproxy -c` refused
  std::uint64_t runtime_updates = 0;   // applies done with Runtime API commands only
  std::uint64_t old_workers = 0;       // draining workers seen by the last status
};

// The files beside `config`: ".candidate" (being checked), ".rejected" (the last one HAProxy
// refused, for inspection), ".applied" (the hash of the config HAProxy confirmed running).
std::filesystem::path sibling(const std::filesystem::path& config, std::string_view suffix);

class Driver final : public Applier {
 public:
  Driver(DriverSettings settings, const ConfigRenderer& renderer, MasterCli& cli, Clock& clock);
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  using Applier::apply;
  // `changed` is not used: a config is rendered whole, and the plan of runtime changes compares
  // every listener (update_plan.h).
  ApplyResult apply(const GlobalSettings& global, const Model& desired, const ChangedPorts& changed,
                    std::stop_token stop) override;

  // Whether apply(global, desired) would reload or start HAProxy (the sync loop spaces those
  // out by --min-reload-interval; runtime updates it applies at once). True before the first
  // apply.
  bool needs_reload(const GlobalSettings& global, const Model& desired) const override;
  bool serves(int host_port) const override { return current_ && current_->model.listeners.contains(host_port); }

  // `show proc` now: counts old workers; a master that no longer answers is forgotten, so the
  // next apply() starts one. Errors as HaproxyMaster::status().
  Result<ProcessTable> poll();

  // What HAProxy runs, as far as berth knows (nullopt before the first success).
  const std::optional<Config>& current() const { return current_; }
  DriverStats stats() const;

 private:
  void attach(const GlobalSettings& global, const Model& desired);
  // With no master known, whether one answers now or within `grace`, adopted if it does: a master
  // someone else started since (deploy/'s haproxy container restarted by the kubelet, an
  // operator), whose ports are its own and must not be taken for another process's.
  bool adopt_appeared_master(const GlobalSettings& global, const Model& desired, std::chrono::milliseconds grace,
                             std::stop_token stop);
  ApplyResult apply_runtime(Config next, const std::vector<std::string>& commands);
  Result<void> write_live_files(const std::string& text);
  Result<void> write_server_state(const Config& next);
  Result<int> current_worker();

  const DriverSettings settings_;
  const ConfigRenderer& renderer_;
  MasterCli& cli_;
  Clock& clock_;
  HaproxyMaster master_;
  std::shared_ptr<spdlog::logger> log_;

  // Listeners HAProxy refused, by host port, with its complaint; until the listener changes.
  std::map<int, std::pair<Listener, std::string>> rejected_;
  bool attached_ = false;
  bool running_ = false;             // a master answers (started or adopted)
  std::optional<Config> current_;    // what it runs, when known

  std::atomic<std::uint64_t> starts_{0}, restarts_{0}, adoptions_{0}, reloads_{0}, failed_reloads_{0},
      rejected_configs_{0}, runtime_updates_{0}, old_workers_{0};
};

}  // namespace berth::haproxy
