#include "controller/service_controller.h"

#include <algorithm>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "common/backoff.h"
#include "common/log.h"
#include "kube/annotation_patch.h"
#include "kube/event_recorder.h"
#include "kube/resource.h"

namespace berth::controller {
namespace {

constexpr std::int64_t kListPageSize = 500;

std::pair<std::string, std::string> split_key(const std::string& key) {
  auto slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

}  // namespace

ServiceController::ServiceController(kube::ApiClient& api, kube::Store<kube::Service>& services,
                                     kube::EventSink& events, Clock& clock, AllocatorConfig config)
    : api_(api),
      services_(services),
      events_(events),
      clock_(clock),
      config_(std::move(config)),
      log_(logger("allocator")),
      quarantine_store_(api, config_.quarantine_lease_namespace, config_.quarantine_lease_name,
                        quarantine_key(config_.annotations)),
      allocator_(config_, clock) {}

void ServiceController::enqueue(const std::string& key) {
  std::lock_guard lock(queue_mu_);
  if (queue_) queue_->add(key);
}

void ServiceController::enqueue_all(const std::vector<std::string>& keys) {
  std::lock_guard lock(queue_mu_);
  if (!queue_) return;
  for (const std::string& key : keys) queue_->add(key);
}

void ServiceController::enqueue_after(const std::string& key, Clock::duration delay) {
  std::lock_guard lock(queue_mu_);
  if (queue_) queue_->add_after(key, delay);
}

void ServiceController::run(std::stop_token stop) {
  auto queue = std::make_shared<workqueue::RateLimitingQueue>(clock_);
  {
    std::lock_guard lock(queue_mu_);
    queue_ = queue;
  }
  Backoff backoff({.initial = std::chrono::milliseconds(500), .max = std::chrono::seconds(30)});
  std::vector<std::string> keys;
  while (!stop.stop_requested()) {
    keys.clear();
    auto summary = rebuild(keys);
    if (summary) break;
    log_->error("rebuilding the port pool failed, nothing is allocated until it succeeds: {}",
                summary.error().describe());
    clock_.sleep_for(backoff.next(), stop);
  }
  if (!stop.stop_requested()) {
    for (const std::string& key : services_.keys()) keys.push_back(key);
    enqueue_all(keys);
    std::vector<std::jthread> workers;
    for (int i = 0; i < std::max(1, config_.workers); ++i) {
      workers.emplace_back([this, queue, stop] {
        while (auto key = queue->get(stop)) process(*queue, *key);
      });
    }
  }  // workers join here: each returns once `stop` is requested
  {
    std::lock_guard lock(queue_mu_);
    queue_.reset();
  }
  queue->shut_down();
  rebuilt_ = false;
  log_->info("allocator stopped");
}

void ServiceController::process(workqueue::RateLimitingQueue& queue, const std::string& key) {
  const auto started = clock_.now();
  auto result = sync(key);
  if (sync_observer_) sync_observer_(clock_.now() - started);
  if (result) {
    queue.forget(key);
  } else {
    if (result.error().code == ErrorCode::kConflict) {
      log_->debug("sync conflict service={}: {}", key, result.error().message);
    } else {
      log_->warn("sync failed service={} retries={}: {}", key, queue.num_requeues(key), result.error().describe());
    }
    queue.add_rate_limited(key);
  }
  queue.done(key);
}

Result<RebuildSummary> ServiceController::rebuild() {
  std::vector<std::string> keys;
  return rebuild(keys);
}

Result<RebuildSummary> ServiceController::rebuild(std::vector<std::string>& keys) {
  const auto started = clock_.now();
  std::vector<kube::Service> services;
  kube::ListOptions options{.limit = kListPageSize};
  while (true) {
    auto page = api_.list(kube::kServices, config_.watch_namespace, options);
    if (!page) {
      if (page.error().code == ErrorCode::kGone && !options.continue_token.empty()) {
        services.clear();  // the continue token expired: start the LIST again
        options.continue_token.clear();
        continue;
      }
      return std::unexpected(page.error());
    }
    for (const nlohmann::json& item : page->items) {
      auto service = kube::parse_service(item);
      if (!service) {
        log_->warn("rebuild: skipping a Service that cannot be read: {}", service.error().message);
        continue;
      }
      services.push_back(std::move(*service));
    }
    if (page->continue_token.empty()) break;
    options.continue_token = page->continue_token;
  }
  auto persisted = quarantine_store_.load();
  if (!persisted) return std::unexpected(persisted.error());

  RebuildSummary summary;
  {
    std::lock_guard lock(mu_);
    summary = allocator_.rebuild(services, *persisted, std::chrono::system_clock::now());
    waiting_.clear();
  }
  for (const kube::Service& service : services) keys.push_back(service.meta.key());
  for (const std::string& problem : summary.problems) log_->warn("rebuild: {}", problem);
  ++rebuilds_;
  rebuilt_ = true;
  const auto counts = pool_counts();
  log_->info("port pool rebuilt services={} kept={} rejected={} pool={} free={} quarantined={} took_ms={}",
             summary.services, summary.kept, summary.rejected, counts.size, counts.free, counts.quarantined,
             std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started).count());
  return summary;
}

Result<void> ServiceController::persist_quarantine() {
  const std::uint64_t mine = ++persist_requested_;
  std::lock_guard persist_lock(persist_mu_);
  if (persist_covered_ >= mine) return {};  // a save that started after this request succeeded
  const std::uint64_t included = persist_requested_.load();
  QuarantinedPorts ports;
  {
    std::lock_guard lock(mu_);
    ports = allocator_.quarantine_to_persist(std::chrono::system_clock::now());
    quarantine_unsaved_ = false;
  }
  auto saved = quarantine_store_.save(ports);
  if (!saved) {
    std::lock_guard lock(mu_);
    quarantine_unsaved_ = true;
    return make_error(saved.error().code, "saving the port quarantine: " + saved.error().message);
  }
  persist_covered_ = included;
  return {};
}

void ServiceController::wake_waiting_locked(std::vector<std::string>& keys) {
  keys.insert(keys.end(), waiting_.begin(), waiting_.end());
}

Result<void> ServiceController::sync(const std::string& key) {
  ++syncs_;
  auto failed = [&](Error error) -> Result<void> {
    ++failed_syncs_;
    if (error.code == ErrorCode::kConflict) ++conflicts_;
    return std::unexpected(std::move(error));
  };
  const auto [ns, name] = split_key(key);
  if (!config_.watch_namespace.empty() && ns != config_.watch_namespace) return {};

  std::shared_ptr<const kube::Service> service = services_.get(key);
  bool confirm = false;
  {
    std::lock_guard lock(mu_);
    confirm = allocator_.needs_confirmation(key, service.get());
  }
  if (confirm) {
    auto fresh = api_.get(kube::kServices, ns, name);
    if (fresh) {
      auto parsed = kube::parse_service(*fresh);
      if (!parsed) return failed(parsed.error());
      service = std::make_shared<const kube::Service>(std::move(*parsed));
    } else if (fresh.error().code == ErrorCode::kNotFound) {
      service = nullptr;
    } else {
      return failed(fresh.error());
    }
  }

  std::vector<std::string> wake;
  if (service == nullptr) {
    std::vector<PortAssignment> released;
    {
      std::lock_guard lock(mu_);
      released = allocator_.release_deleted(key);
      waiting_.erase(key);
      if (!released.empty()) quarantine_unsaved_ = true;
      if (!released.empty()) wake_waiting_locked(wake);
    }
    for (const PortAssignment& port : released) {
      log_->info("released service={} port={} host_port={} reason=deleted", key, port.service_port, port.host_port);
    }
    enqueue_all(wake);
    bool unsaved = false;
    {
      std::lock_guard lock(mu_);
      unsaved = quarantine_unsaved_;
    }
    // Also when an earlier save failed: the record may still lack ports released then.
    if (unsaved) {
      if (auto persisted = persist_quarantine(); !persisted) return failed(persisted.error());
    }
    return {};
  }

  Plan plan;
  std::vector<Warning> new_warnings;
  std::optional<Clock::time_point> retry_at;
  {
    std::lock_guard lock(mu_);
    plan = allocator_.plan(*service);
    new_warnings = allocator_.new_warnings(key, plan.warnings);
    if (plan.waiting) {
      waiting_.insert(key);
      retry_at = allocator_.pool().next_quarantine_expiry();
    } else {
      waiting_.erase(key);
    }
    if (!plan.released_now.empty()) wake_waiting_locked(wake);
    if (!plan.released_now.empty() || !plan.to_release.empty()) quarantine_unsaved_ = true;
  }
  const kube::ObjectReference ref = kube::object_reference(kube::kServices, service->meta);
  for (const Warning& warning : new_warnings) {
    log_->warn("service={} {}: {}", key, warning.reason, warning.message);
    events_.emit(ref, kube::EventType::kWarning, warning.reason, warning.message);
  }
  for (const HolderNotice& notice : plan.holder_notices) {
    if (std::find(new_warnings.begin(), new_warnings.end(), notice.claimant_warning) == new_warnings.end()) continue;
    if (auto holder = services_.get(notice.holder_key)) {
      events_.emit(kube::object_reference(kube::kServices, holder->meta), kube::EventType::kWarning, "PortConflict",
                   notice.message);
    }
  }
  for (const PortAssignment& port : plan.released_now) {
    log_->info("released service={} port={} host_port={} reason=replaced", key, port.service_port, port.host_port);
    events_.emit(ref, kube::EventType::kNormal, "PortReleased",
                 fmt::format("host port {} of service port {} released into quarantine", port.host_port,
                             port.service_port));
  }
  if (retry_at) enqueue_after(key, *retry_at - clock_.now());
  enqueue_all(wake);

  if (!plan.released_now.empty() || !plan.to_release.empty()) {
    if (auto persisted = persist_quarantine(); !persisted) {
      std::lock_guard lock(mu_);
      allocator_.rollback(key, plan);
      return failed(persisted.error());
    }
  }

  if (!plan.changes.empty()) {
    auto written = kube::patch_annotations(api_, ns, name, service->meta.resource_version, plan.changes);
    if (!written) {
      std::lock_guard lock(mu_);
      allocator_.rollback(key, plan);
      return failed(written.error());
    }
    ++writes_;
    if (auto stored = kube::parse_service(*written)) {
      if (services_.update_if_unchanged(std::make_shared<const kube::Service>(std::move(*stored)),
                                        service->meta.resource_version) &&
          store_observer_) {
        store_observer_(key);
      }
    }
  }

  wake.clear();
  {
    std::lock_guard lock(mu_);
    allocator_.commit(key, plan);
    if (!plan.to_release.empty()) wake_waiting_locked(wake);
  }
  enqueue_all(wake);
  for (const PortAssignment& port : plan.reserved) {
    log_->info("allocated service={} port={} host_port={}{}", key, port.service_port, port.host_port,
               port.pinned ? " pinned=true" : "");
    events_.emit(ref, kube::EventType::kNormal, "PortAllocated",
                 fmt::format("host port {} allocated to service port {}{}", port.host_port, port.service_port,
                             port.pinned ? " (pinned by the annotation)" : ""));
  }
  for (const PortAssignment& port : plan.to_release) {
    log_->info("released service={} port={} host_port={}", key, port.service_port, port.host_port);
    events_.emit(ref, kube::EventType::kNormal, "PortReleased",
                 fmt::format("host port {} of service port {} released into quarantine", port.host_port,
                             port.service_port));
  }
  return {};
}

Result<void> ServiceController::mark_port_unusable(int port) {
  Result<std::optional<std::string>> evicted;
  {
    std::lock_guard lock(mu_);
    evicted = allocator_.mark_unusable(port);
    if (evicted && *evicted) quarantine_unsaved_ = true;
  }
  if (!evicted) return std::unexpected(evicted.error());
  log_->warn("host port {} marked unusable{}", port, *evicted ? " service=" + **evicted : std::string());
  if (*evicted) {
    enqueue(**evicted);
    return persist_quarantine();
  }
  return {};
}

ServiceControllerStats ServiceController::stats() const {
  return {.rebuilds = rebuilds_.load(),
          .syncs = syncs_.load(),
          .failed_syncs = failed_syncs_.load(),
          .conflicts = conflicts_.load(),
          .writes = writes_.load()};
}

std::map<int, int> ServiceController::held(const std::string& key) const {
  std::lock_guard lock(mu_);
  return allocator_.held(key);
}

ports::PortPoolCounts ServiceController::pool_counts() const {
  std::lock_guard lock(mu_);
  return allocator_.pool().counts();
}

}  // namespace berth::controller
