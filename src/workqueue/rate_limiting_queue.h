// A WorkQueue with delayed and rate-limited adds: client-go's RateLimitingInterface.
//
//   RateLimitingQueue queue(clock);
//   // processNextWorkItem:
//   auto key = queue.get(stop);  if (!key) return false;
//   auto result = sync(*key);
//   if (result)                        queue.forget(*key);
//   else if (retryable(result.error())) queue.add_rate_limited(*key);
//   queue.done(*key);
//
// add_after() keeps keys in a heap ordered by deadline; one thread sleeps on the injected Clock
// until the earliest deadline and then add()s the due keys. A key waiting for a deadline is
// kept once, with its earliest deadline. An add_after() with an earlier deadline than the one
// being waited for wakes the thread, which then waits for the new deadline. A delay <= 0 is a
// plain add().
//
// Shutdown: shut_down()/shut_down_with_drain() (and the destructor) stop the delay thread;
// keys still waiting for their deadline are dropped, as in client-go.
//
// Thread-safety: every member may be called from any thread. `clock` must outlive the queue.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "workqueue/item_rate_limiter.h"
#include "workqueue/work_queue.h"

namespace berth::workqueue {

class RateLimitingQueue {
 public:
  explicit RateLimitingQueue(Clock& clock, ItemRateLimiter::Options limiter_options = {});
  ~RateLimitingQueue();
  RateLimitingQueue(const RateLimitingQueue&) = delete;
  RateLimitingQueue& operator=(const RateLimitingQueue&) = delete;

  // WorkQueue semantics (see work_queue.h).
  void add(const std::string& key) { queue_.add(key); }
  std::optional<std::string> get() { return queue_.get(); }
  std::optional<std::string> get(std::stop_token stop) { return queue_.get(std::move(stop)); }
  void done(const std::string& key) { queue_.done(key); }
  void shut_down();
  void shut_down_with_drain();
  bool shutting_down() const { return queue_.shutting_down(); }
  // Keys ready to be handed out (not the ones waiting for a deadline or being processed).
  std::size_t len() const { return queue_.len(); }

  // add(key) once `delay` has passed on the clock.
  void add_after(const std::string& key, Clock::duration delay);
  // add_after(key, rate_limiter.when(key)): one more failure of `key`.
  void add_rate_limited(const std::string& key);
  // Resets the failure count of `key` (after a successful sync). Does not remove a pending add.
  void forget(const std::string& key) { limiter_.forget(key); }
  int num_requeues(const std::string& key) const { return limiter_.num_requeues(key); }

  // Keys waiting for their deadline (for tests and metrics).
  std::size_t num_waiting() const;

 private:
  struct Waiting {
    Clock::time_point deadline;
    std::string key;
    // Min-heap on deadline via std::push_heap's max-heap.
    bool operator<(const Waiting& other) const { return deadline > other.deadline; }
  };

  void run_delay_loop(std::stop_token stop);
  void push_locked(const std::string& key, Clock::time_point deadline);

  Clock& clock_;
  WorkQueue queue_;
  ItemRateLimiter limiter_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;                                 // heap became non-empty
  std::vector<Waiting> heap_;                                      // guarded by mu_
  std::unordered_map<std::string, Clock::time_point> deadlines_;  // guarded by mu_; key -> deadline in heap_
  // Requested to wake the delay thread from Clock::sleep_until (new earliest deadline).
  std::stop_source wake_;                                          // guarded by mu_
  Clock::time_point sleeping_until_ = Clock::time_point::max();    // guarded by mu_

  std::jthread delay_thread_;  // last: started after, and joined before, everything above
};

}  // namespace berth::workqueue
