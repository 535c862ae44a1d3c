#include "workqueue/rate_limiting_queue.h"

#include <algorithm>

namespace berth::workqueue {

RateLimitingQueue::RateLimitingQueue(Clock& clock, ItemRateLimiter::Options limiter_options)
    : clock_(clock),
      limiter_(clock, limiter_options),
      delay_thread_([this](std::stop_token stop) { run_delay_loop(std::move(stop)); }) {}

RateLimitingQueue::~RateLimitingQueue() { shut_down(); }

void RateLimitingQueue::shut_down() {
  delay_thread_.request_stop();
  queue_.shut_down();
}

void RateLimitingQueue::shut_down_with_drain() {
  delay_thread_.request_stop();
  queue_.shut_down_with_drain();
}

void RateLimitingQueue::add_after(const std::string& key, Clock::duration delay) {
  if (queue_.shutting_down()) return;
  if (delay <= Clock::duration::zero()) {
    queue_.add(key);
    return;
  }
  std::lock_guard lock(mu_);
  push_locked(key, clock_.now() + delay);
}

void RateLimitingQueue::add_rate_limited(const std::string& key) { add_after(key, limiter_.when(key)); }

std::size_t RateLimitingQueue::num_waiting() const {
  std::lock_guard lock(mu_);
  return deadlines_.size();
}

void RateLimitingQueue::push_locked(const std::string& key, Clock::time_point deadline) {
  auto [it, inserted] = deadlines_.try_emplace(key, deadline);
  if (!inserted) {
    if (deadline >= it->second) return;  // the earlier add wins
    // The stale heap entry stays; the loop skips entries that do not match deadlines_.
    it->second = deadline;
  }
  heap_.push_back(Waiting{deadline, key});
  std::push_heap(heap_.begin(), heap_.end());
  if (deadline < sleeping_until_) wake_.request_stop();
  cv_.notify_all();
}

void RateLimitingQueue::run_delay_loop(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    if (!cv_.wait(lock, stop, [&] { return !heap_.empty(); })) return;

    const Clock::time_point now = clock_.now();
    while (!heap_.empty() && heap_.front().deadline <= now) {
      std::pop_heap(heap_.begin(), heap_.end());
      Waiting due = std::move(heap_.back());
      heap_.pop_back();
      auto it = deadlines_.find(due.key);
      if (it == deadlines_.end() || it->second != due.deadline) continue;  // superseded entry
      deadlines_.erase(it);
      queue_.add(due.key);  // WorkQueue has its own lock; it never calls back into this class
    }
    if (heap_.empty()) continue;

    const Clock::time_point deadline = heap_.front().deadline;
    wake_ = std::stop_source();
    std::stop_source wake = wake_;
    sleeping_until_ = deadline;
    lock.unlock();
    {
      // Either an earlier add_after() (through wake_) or the thread's own stop ends the sleep.
      std::stop_callback forward_stop(stop, [&wake] { wake.request_stop(); });
      clock_.sleep_until(deadline, wake.get_token());
    }
    lock.lock();
    sleeping_until_ = Clock::time_point::max();
  }
}

}  // namespace berth::workqueue
