#include "workqueue/work_queue.h"

namespace berth::workqueue {

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;
  // A key being processed stays out of the queue until done(), so no two workers hold it.
  if (processing_.contains(key)) return;
  queue_.push_back(key);
  cv_.notify_all();
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  return get_locked(lock, nullptr);
}

std::optional<std::string> WorkQueue::get(std::stop_token stop) {
  std::unique_lock lock(mu_);
  return get_locked(lock, &stop);
}

std::optional<std::string> WorkQueue::get_locked(std::unique_lock<std::mutex>& lock, std::stop_token* stop) {
  auto ready = [&] { return !queue_.empty() || shutting_down_; };
  if (stop != nullptr) {
    if (!cv_.wait(lock, *stop, ready)) return std::nullopt;
  } else {
    cv_.wait(lock, ready);
  }
  if (queue_.empty()) return std::nullopt;  // shut down and drained
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  if (dirty_.contains(key)) queue_.push_back(key);
  // Wakes getters for the re-queued key and shut_down_with_drain() waiting for processing_.
  cv_.notify_all();
}

void WorkQueue::shut_down() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
}

void WorkQueue::shut_down_with_drain() {
  std::unique_lock lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
  cv_.wait(lock, [&] { return processing_.empty(); });
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

std::size_t WorkQueue::len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace berth::workqueue
