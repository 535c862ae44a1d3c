#include "kube/async_event_sink.h"

#include <utility>

#include "common/log.h"

namespace berth::kube {

AsyncEventSink::AsyncEventSink(ApiClient& api, Clock& clock, AsyncEventSinkOptions options)
    : api_(api), clock_(clock), options_(std::move(options)), log_(logger("events")) {
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

AsyncEventSink::~AsyncEventSink() { stop(); }

void AsyncEventSink::emit(const ObjectReference& involved, EventType type, std::string_view reason,
                          std::string_view message) {
  std::unique_lock lock(mu_);
  if (stopping_) return;
  if (queue_.size() >= options_.capacity) {
    ++stats_.dropped;
    if (!drop_logged_) {
      drop_logged_ = true;
      log_->warn("event queue full capacity={}; dropping events until it drains", options_.capacity);
    }
    return;
  }
  queue_.push_back({involved, type, std::string(reason), std::string(message), std::chrono::system_clock::now()});
  lock.unlock();
  cv_.notify_one();
}

void AsyncEventSink::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

AsyncEventSinkStats AsyncEventSink::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void AsyncEventSink::run(std::stop_token stop) {
  std::optional<Clock::time_point> drain_deadline;
  while (true) {
    Pending next;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, stop, [&] { return !queue_.empty() || stopping_; });
      if (stopping_ && !drain_deadline) drain_deadline = clock_.now() + options_.drain_timeout;
      if (queue_.empty() || stop.stop_requested()) return;
      if (drain_deadline && clock_.now() >= *drain_deadline) {
        log_->warn("stopping with {} events not sent", queue_.size());
        stats_.dropped += queue_.size();
        queue_.clear();
        return;
      }
      next = std::move(queue_.front());
      queue_.pop_front();
      if (queue_.empty()) drop_logged_ = false;
    }
    auto created =
        create_event(api_, next.involved, next.type, next.reason, next.message, options_.component, next.when);
    std::lock_guard lock(mu_);
    if (created) {
      ++stats_.sent;
    } else {
      ++stats_.failed;
      log_->warn("event not written object={}/{} reason={}: {}", next.involved.namespace_, next.involved.name,
                 next.reason, created.error().message);
    }
  }
}

}  // namespace berth::kube
