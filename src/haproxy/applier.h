// The seam between the data plane's sync loop and whatever makes HAProxy serve a Model: the
// Driver (driver.h) in berth, a recording fake in the sync loop's tests.
//
// Thread-safety: an Applier is used by one thread (the sync loop).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "haproxy/model.h"

namespace berth::haproxy {

struct ApplyResult {
  enum class Action { kNone, kRuntime, kReload, kStart };
  Action action = Action::kNone;
  std::vector<std::string> reasons;        // why HAProxy was reloaded or started
  std::size_t runtime_commands = 0;        // sent without a reload
  std::map<int, std::string> unavailable;  // host port → why it cannot be bound here; left out
  std::map<int, std::string> rejected;     // host port → HAProxy's complaint; left out
  std::optional<Error> error;              // nothing was changed: the running config stays

  bool ok() const { return !error.has_value(); }
  bool reloaded() const { return action == Action::kReload || action == Action::kStart; }
  // "failed", "none", "runtime", "reload" or "start": a metric label and a log word.
  std::string_view label() const {
    if (!ok()) return "failed";
    switch (action) {
      case Action::kNone: return "none";
      case Action::kRuntime: return "runtime";
      case Action::kReload: return "reload";
      case Action::kStart: return "start";
    }
    return "none";
  }
};

// Host ports whose listeners may have changed; std::nullopt: any may have.
using ChangedPorts = std::optional<std::set<int>>;

class Applier {
 public:
  virtual ~Applier() = default;

  // Makes HAProxy serve `desired` (as far as it can: see ApplyResult). `stop` aborts a wait.
  // `changed`: the caller's hint, the host ports whose listeners may differ from the `desired`
  // of the previous apply() call (std::nullopt: any may). An Applier may look at only those
  // ports (range mode does: a new port at 10,000 routes then costs one port, not 10,000); the
  // outcome must be the same as without the hint.
  virtual ApplyResult apply(const GlobalSettings& global, const Model& desired, const ChangedPorts& changed,
                            std::stop_token stop) = 0;
  ApplyResult apply(const GlobalSettings& global, const Model& desired, std::stop_token stop) {
    return apply(global, desired, std::nullopt, stop);
  }
  // Whether apply(global, desired) would reload or start HAProxy.
  virtual bool needs_reload(const GlobalSettings& global, const Model& desired) const = 0;
  // Whether HAProxy serves a listener on `host_port` now.
  virtual bool serves(int host_port) const = 0;
};

}  // namespace berth::haproxy
