// An EventSink that creates the Events from its own thread, like client-go's event broadcaster.
//
// Why a thread and a queue: an Event is a report, not part of the work. A controller that
// wrote its Events inline would halve its write rate and stall when the API server is slow.
// The composition root gives this sink its own ApiClient (own rate limiter), as
// controller-runtime does for its recorder, so Events never take the allocator's API budget.
//
// Overload: at most `capacity` Events wait; further ones are dropped and counted (logged once
// per burst), never blocking the caller. A failed create is logged and not retried (the
// ApiClient has already retried transient failures).
//
// Lifetime: the thread starts in the constructor; the destructor (or stop()) sends what is
// queued for at most `drain_timeout` on the clock, then aborts. The ApiClient and Clock must
// outlive the sink.
// Thread-safety: emit() may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "kube/api_client.h"
#include "kube/event_sink.h"

namespace spdlog {
class logger;
}

namespace berth::kube {

struct AsyncEventSinkOptions {
  std::string component = "berth";  // source.component of every Event
  std::size_t capacity = 1000;
  Clock::duration drain_timeout = std::chrono::seconds(2);
};

struct AsyncEventSinkStats {
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;
  std::uint64_t dropped = 0;
};

class AsyncEventSink final : public EventSink {
 public:
  AsyncEventSink(ApiClient& api, Clock& clock, AsyncEventSinkOptions options = {});
  ~AsyncEventSink() override;
  AsyncEventSink(const AsyncEventSink&) = delete;
  AsyncEventSink& operator=(const AsyncEventSink&) = delete;

  void emit(const ObjectReference& involved, EventType type, std::string_view reason,
            std::string_view message) override;

  // Stops accepting Events, sends the queued ones (bounded by drain_timeout), joins the thread.
  void stop();
  AsyncEventSinkStats stats() const;

 private:
  struct Pending {
    ObjectReference involved;
    EventType type;
    std::string reason;
    std::string message;
    std::chrono::system_clock::time_point when;
  };

  void run(std::stop_token stop);

  ApiClient& api_;
  Clock& clock_;
  const AsyncEventSinkOptions options_;
  std::shared_ptr<spdlog::logger> log_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Pending> queue_;      // guarded by mu_
  bool stopping_ = false;          // guarded by mu_
  bool drop_logged_ = false;       // guarded by mu_
  AsyncEventSinkStats stats_;      // guarded by mu_
  std::jthread thread_;            // declared last: started after the fields it uses
};

}  // namespace berth::kube
