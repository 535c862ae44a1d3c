#include "kube/reflector.h"

#include <fmt/format.h>

#include "common/log.h"

namespace berth::kube {
namespace {

using nlohmann::json;

// metadata.<field> if it is a string, else "".
std::string metadata_string(const json& object, const char* field) {
  if (!object.is_object()) return {};
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return {};
  auto value = meta->find(field);
  if (value == meta->end() || !value->is_string()) return {};
  return value->get<std::string>();
}

// A watch ERROR event carries a metav1.Status; 410 (reason Expired or Gone) means the
// resourceVersion is too old to watch from.
bool is_gone_status(const json& status) {
  if (!status.is_object()) return false;
  auto code = status.find("code");
  if (code != status.end() && code->is_number_integer() && code->get<int>() == 410) return true;
  auto reason = status.find("reason");
  return reason != status.end() && reason->is_string() &&
         (reason->get<std::string>() == "Expired" || reason->get<std::string>() == "Gone");
}

std::string status_message(const json& status) {
  if (status.is_object()) {
    auto message = status.find("message");
    if (message != status.end() && message->is_string()) return message->get<std::string>();
  }
  return status.dump();
}

}  // namespace

ReflectorBase::ReflectorBase(ApiClient& api, const ResourceType& type, std::string ns,
                             ReflectorSelectors selectors, Clock& clock, ReflectorOptions options,
                             Handler handler)
    : type_(type),
      api_(api),
      ns_(std::move(ns)),
      selectors_(std::move(selectors)),
      clock_(clock),
      options_(std::move(options)),
      handler_(std::move(handler)),
      log_(logger("reflector")),
      backoff_(options_.backoff, options_.seed != 0 ? options_.seed : std::random_device{}()),
      rng_(options_.seed != 0 ? options_.seed + 1 : std::random_device{}()) {}

std::string ReflectorBase::last_sync_resource_version() const {
  std::lock_guard lock(mu_);
  return last_sync_rv_;
}

std::string ReflectorBase::last_resource_version() const {
  std::lock_guard lock(mu_);
  return last_rv_;
}

ReflectorStats ReflectorBase::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void ReflectorBase::log_skipped(const json& object, const Error& error) {
  {
    std::lock_guard lock(mu_);
    ++stats_.skipped_objects;
  }
  const std::string name = metadata_string(object, "name");
  const std::string key = name.empty() ? "<unknown>" : object_key(metadata_string(object, "namespace"), name);
  log_->warn("skipping malformed object kind={} object={} error=\"{}\"", type_.kind, key, error.describe());
}

void ReflectorBase::set_resource_version(std::string rv) {
  if (rv.empty()) return;
  std::lock_guard lock(mu_);
  last_rv_ = std::move(rv);
}

void ReflectorBase::notify(const std::string& key) {
  if (handler_) handler_(key);
}

Clock::duration ReflectorBase::failure_delay() {
  const Clock::time_point now = clock_.now();
  if (last_failure_ && now - *last_failure_ >= options_.healthy_period) backoff_.reset();
  last_failure_ = now;
  {
    std::lock_guard lock(mu_);
    ++stats_.failures;
  }
  return backoff_.next();
}

void ReflectorBase::run(std::stop_token stop) {
  const std::string where = ns_.empty() ? std::string("<all>") : ns_;
  bool need_list = true;
  while (!stop.stop_requested()) {
    if (need_list) {
      auto listed = list(stop);
      if (stop.stop_requested()) return;
      if (!listed) {
        const Clock::duration delay = failure_delay();
        log_->warn("list failed kind={} namespace={} error=\"{}\" retry_in={}ms", type_.kind, where,
                   listed.error().describe(),
                   std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
        if (!clock_.sleep_for(delay, stop)) return;
        continue;
      }
      need_list = false;
    }

    switch (watch(stop)) {
      case WatchEnd::kStopped:
        return;
      case WatchEnd::kGone:
        // The resourceVersion was compacted: only a fresh LIST can tell what we missed.
        need_list = true;
        break;
      case WatchEnd::kEnded:
      case WatchEnd::kFailed: {
        std::lock_guard lock(mu_);
        ++stats_.watch_restarts;
        break;
      }
    }
  }
}

Result<void> ReflectorBase::list(std::stop_token stop) {
  ListOptions options;
  options.label_selector = selectors_.label_selector;
  options.field_selector = selectors_.field_selector;
  options.limit = options_.page_size;
  int restarts = 0;
  std::string resource_version;
  list_begin();
  for (;;) {
    if (stop.stop_requested()) return make_error(ErrorCode::kCancelled, "stopped");
    auto page = api_.list(type_, ns_, options);
    if (!page) {
      if (page.error().code == ErrorCode::kGone && !options.continue_token.empty() &&
          restarts < options_.max_list_restarts) {
        ++restarts;
        {
          std::lock_guard lock(mu_);
          ++stats_.list_restarts;
        }
        log_->info("list continue token expired, restarting list kind={}", type_.kind);
        options.continue_token.clear();
        list_begin();
        continue;
      }
      return std::unexpected(page.error());
    }
    for (const json& item : page->items) list_item(item);
    // Every page of one LIST is a snapshot at the same resourceVersion; keep the latest seen.
    if (!page->resource_version.empty()) resource_version = page->resource_version;
    if (page->continue_token.empty()) break;
    options.continue_token = std::move(page->continue_token);
  }

  const std::vector<std::string> keys = list_commit(resource_version);
  bool first;
  {
    std::lock_guard lock(mu_);
    first = stats_.lists == 0;
    ++stats_.lists;
    if (!first) ++stats_.relists;
    last_sync_rv_ = resource_version;
    last_rv_ = resource_version;
  }
  synced_.store(true);
  if (first) {
    log_->info("synced kind={} resourceVersion={}", type_.kind, resource_version);
  } else {
    log_->info("relisted kind={} resourceVersion={} changed={}", type_.kind, resource_version, keys.size());
  }
  for (const std::string& key : keys) notify(key);
  return {};
}

ReflectorBase::WatchEnd ReflectorBase::watch(std::stop_token stop) {
  const auto min_timeout = options_.min_watch_timeout.count();
  std::uniform_int_distribution<std::int64_t> spread(min_timeout, 2 * min_timeout);
  WatchOptions options{.label_selector = selectors_.label_selector,
                       .field_selector = selectors_.field_selector,
                       .resource_version = last_resource_version(),
                       .allow_bookmarks = true,
                       .timeout_seconds = static_cast<int>(spread(rng_))};
  {
    std::lock_guard lock(mu_);
    ++stats_.watches;
  }

  const Clock::time_point started = clock_.now();
  int events = 0;
  bool gone = false;
  std::optional<Error> error_event;
  auto handle = [&](WatchEvent&& event) -> bool {
    ++events;
    switch (event.type) {
      case WatchEventType::kError:
        if (is_gone_status(event.object)) {
          gone = true;
        } else {
          int code = 0;
          if (event.object.is_object() && event.object.contains("code") && event.object["code"].is_number_integer()) {
            code = event.object["code"].get<int>();
          }
          error_event = Error{ErrorCode::kServerError, status_message(event.object), code};
        }
        return false;
      case WatchEventType::kBookmark:
        consecutive_gone_ = 0;
        set_resource_version(metadata_string(event.object, "resourceVersion"));
        return true;
      case WatchEventType::kAdded:
      case WatchEventType::kModified:
      case WatchEventType::kDeleted: {
        consecutive_gone_ = 0;
        std::optional<std::string> key = apply(event.type, event.object);
        set_resource_version(metadata_string(event.object, "resourceVersion"));
        if (key) notify(*key);
        return !stop.stop_requested();
      }
    }
    return true;
  };
  Result<void> result = api_.watch(type_, ns_, options, handle, stop);

  if (stop.stop_requested()) return WatchEnd::kStopped;
  if (gone || (!result && result.error().code == ErrorCode::kGone)) {
    log_->info("watch expired, relisting kind={} resourceVersion={}", type_.kind, options.resource_version);
    // Gone straight after a fresh LIST means the server keeps failing us: back off before
    // listing again instead of looping LIST/WATCH as fast as the network allows.
    if (++consecutive_gone_ > 1) {
      const Clock::duration delay = failure_delay();
      log_->warn("watch expired again without events kind={} retry_in={}ms", type_.kind,
                 std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
      if (!clock_.sleep_for(delay, stop)) return WatchEnd::kStopped;
    }
    return WatchEnd::kGone;
  }
  std::optional<Error> failure = error_event;
  if (!failure && !result) failure = result.error();
  if (!failure && events == 0 && clock_.now() - started < options_.min_healthy_watch) {
    failure = Error{ErrorCode::kTransport, "very short watch: ended at once without events", 0};
  }
  if (!failure) return WatchEnd::kEnded;  // server-side timeout: resume at once

  const Clock::duration delay = failure_delay();
  log_->warn("watch failed kind={} resourceVersion={} error=\"{}\" retry_in={}ms", type_.kind,
             last_resource_version(), failure->describe(),
             std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
  if (!clock_.sleep_for(delay, stop)) return WatchEnd::kStopped;
  return WatchEnd::kFailed;
}

}  // namespace berth::kube
