// A fair, deduplicating work queue of string keys: client-go's workqueue.Interface.
//
//   WorkQueue q;
//   q.add("default/mysql");                // a key is queued once however often it is added
//   while (auto key = q.get(stop)) {       // nullopt after shut_down() once drained, or on stop
//     sync(*key);
//     q.done(*key);                        // always; a key re-added while processing is
//   }                                      // queued again now
//
// Guarantees:
//   - Deduplication: a key waiting in the queue is not queued a second time ("dirty" set).
//   - Exclusivity: a key is never handed to two workers at once. A key added while a worker
//     holds it is remembered and queued again when the worker calls done().
//   - Fairness: keys are handed out in the order they were first added (FIFO).
//   - Shutdown: after shut_down(), add() is ignored and get() keeps handing out what is
//     already queued, then returns nullopt. shut_down_with_drain() also waits until every
//     key handed out has been done().
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_set>

namespace berth::workqueue {

class WorkQueue {
 public:
  WorkQueue() = default;
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it is already waiting; ignored after shutdown.
  void add(const std::string& key);

  // Blocks until a key is available and hands it to the caller, who must call done(key).
  // nullopt once the queue is shut down and empty.
  std::optional<std::string> get();
  // As get(), and also nullopt when `stop` is requested first.
  std::optional<std::string> get(std::stop_token stop);

  // The caller has finished with `key`; queues it again if it was added meanwhile.
  void done(const std::string& key);

  // Refuses new keys and wakes every get() (they drain what is queued, then return nullopt).
  void shut_down();
  // As shut_down(), then blocks until every handed-out key has been done().
  void shut_down_with_drain();
  bool shutting_down() const;

  // Keys waiting to be handed out (not counting the ones being processed).
  std::size_t len() const;

 private:
  std::optional<std::string> get_locked(std::unique_lock<std::mutex>& lock, std::stop_token* stop);

  mutable std::mutex mu_;
  std::condition_variable_any cv_;              // signalled on add, done and shutdown
  std::deque<std::string> queue_;               // guarded by mu_; FIFO of keys to hand out
  std::unordered_set<std::string> dirty_;       // guarded by mu_; keys that need processing
  std::unordered_set<std::string> processing_;  // guarded by mu_; keys held by a worker
  bool shutting_down_ = false;                  // guarded by mu_
};

}  // namespace berth::workqueue
