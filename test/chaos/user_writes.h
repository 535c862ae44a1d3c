// What the churning users themselves wrote into allocation annotations, so that a sample of the
// cluster can tell berth's allocations from a user's value: a user may write any host port,
// including one another Service holds (berth then reports PortConflict and writes a fresh
// port), and such a duplicate is the user's doing until berth has corrected it.
//
// Thread-safety: every member may be called from any thread (the churn writes, the sampler reads).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace berth::chaos {

class UserWrites {
 public:
  // The user set (value) or removed (nullopt) `key` on Service `service` ("ns/name"). A write
  // whose answer was lost counts as made: the sampler then errs towards silence, never alarm.
  void record(const std::string& service, const std::string& key, std::optional<std::string> value) {
    std::lock_guard lock(mutex_);
    written_[{service, key}] = std::move(value);
  }
  // Whether `value` of `key` on `service` is what a user last wrote there.
  bool wrote(const std::string& service, const std::string& key, const std::string& value) const {
    std::lock_guard lock(mutex_);
    auto it = written_.find({service, key});
    return it != written_.end() && it->second == value;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> written_;
};

}  // namespace berth::chaos
