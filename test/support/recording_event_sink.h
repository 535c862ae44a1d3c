// An EventSink that keeps every Event in memory, for controller tests.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "kube/event_sink.h"

namespace berth::testing {

class RecordingEventSink final : public kube::EventSink {
 public:
  struct Recorded {
    std::string object;  // "namespace/name"
    std::string type;    // "Normal" or "Warning"
    std::string reason;
    std::string message;
  };

  void emit(const kube::ObjectReference& involved, kube::EventType type, std::string_view reason,
            std::string_view message) override {
    std::lock_guard lock(mu_);
    events_.push_back({involved.namespace_ + "/" + involved.name, std::string(kube::to_string(type)),
                       std::string(reason), std::string(message)});
  }

  std::vector<Recorded> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  // "namespace/name Reason" of every Event, in order: compact to compare in tests.
  std::vector<std::string> summary() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const Recorded& e : events_) out.push_back(e.object + " " + e.reason);
    return out;
  }
  void clear() {
    std::lock_guard lock(mu_);
    events_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Recorded> events_;  // guarded by mu_
};

}  // namespace berth::testing
