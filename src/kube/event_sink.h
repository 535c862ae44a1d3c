// Where controllers send the Events they raise, so that raising one never waits on the network
// and tests can record them (test/support/recording_event_sink.h).
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <string_view>

#include "kube/event.h"
#include "kube/event_recorder.h"

namespace berth::kube {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Queues one Event about `involved`. Never blocks on I/O; may drop under overload (logged).
  virtual void emit(const ObjectReference& involved, EventType type, std::string_view reason,
                    std::string_view message) = 0;
};

}  // namespace berth::kube
