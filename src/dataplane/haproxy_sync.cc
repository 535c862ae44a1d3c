#include "dataplane/haproxy_sync.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "common/log.h"
#include "kube/resource.h"

namespace berth::dataplane {
namespace {

// The one key of the queue: the whole config is one unit of work.
const std::string kConfigKey = "haproxy";

}  // namespace

HaproxySync::HaproxySync(kube::Store<kube::Service>& services, kube::Store<kube::EndpointSlice>& slices,
                         const ModelBuilder& builder, haproxy::Applier& applier, kube::EventSink& events, Clock& clock,
                         SyncConfig config, std::function<void(int)> on_port_unavailable)
    : services_(services),
      slices_(slices),
      builder_(builder),
      applier_(applier),
      events_(events),
      clock_(clock),
      config_(std::move(config)),
      on_port_unavailable_(std::move(on_port_unavailable)),
      log_(logger("dataplane")),
      queue_(clock) {}

void HaproxySync::notify() { queue_.add_after(kConfigKey, config_.gather_delay); }

SyncStats HaproxySync::stats() const {
  return {.syncs = syncs_.load(),
          .failed_syncs = failed_syncs_.load(),
          .applied_syncs = applied_syncs_.load(),
          .listeners = listeners_.load()};
}

void HaproxySync::run(std::stop_token stop) {
  queue_.add(kConfigKey);
  std::stop_callback on_stop(stop, [&] { queue_.shut_down(); });
  while (auto key = queue_.get(stop)) {
    sync(stop);
    queue_.done(*key);
  }
}

void HaproxySync::report(const std::map<std::string, std::vector<controller::Warning>>& warnings) {
  std::map<std::string, std::set<controller::Warning>> now;
  for (const auto& [key, list] : warnings) now[key].insert(list.begin(), list.end());
  for (const auto& [port, entry] : apply_warnings_) now[entry.first].insert(entry.second);
  for (const auto& [key, set] : now) {
    const auto& before = reported_[key];
    auto service = services_.get(key);
    if (!service) continue;
    for (const auto& warning : set) {
      if (before.contains(warning)) continue;
      events_.emit(kube::object_reference(kube::kServices, service->meta), kube::EventType::kWarning, warning.reason,
                   warning.message);
      log_->warn("{} service={} {}", warning.reason, key, warning.message);
    }
  }
  // A Warning that went away may be raised again when it comes back.
  reported_ = std::move(now);
}

std::shared_ptr<const ServingStatus> HaproxySync::serving_status() const { return status_.snapshot(); }

void HaproxySync::publish(const BuiltModel& built, const haproxy::ChangedPorts& changed) {
  std::set<int> warned;  // ports whose outcome Warning may have been raised or ended
  for (const auto& [port, warning] : apply_warnings_) warned.insert(port);
  std::set<int> recheck = warned;
  recheck.insert(warned_ports_.begin(), warned_ports_.end());
  status_.update(built, changed, recheck, [&](int port) -> std::pair<ServedPort::State, std::string> {
    if (auto warning = apply_warnings_.find(port); warning != apply_warnings_.end()) {
      return {ServedPort::State::kNotServed, warning->second.second.reason + ": " + warning->second.second.message};
    }
    if (applier_.serves(port)) return {ServedPort::State::kServing, ""};
    return {ServedPort::State::kPending, "not applied to HAProxy yet"};
  });
  warned_ports_ = std::move(warned);
}

HaproxySync::Outcome HaproxySync::sync(std::stop_token stop) {
  syncs_.fetch_add(1);
  const Clock::time_point started = clock_.now();
  // Held for this sync only, so the next build patches it in place (model_builder.h). Built from
  // the Stores themselves, so that it reads only what changed since the last build.
  const std::shared_ptr<const BuiltModel> held = builder_.build(services_, slices_, {});
  const BuiltModel& built = *held;
  const Clock::time_point built_at = clock_.now();
  listeners_.store(built.model.listeners.size());
  if (!built.changed_ports) {
    changed_since_apply_.reset();
  } else if (changed_since_apply_) {
    changed_since_apply_->insert(built.changed_ports->begin(), built.changed_ports->end());
  }

  // Outcome Warnings stand while their port is still wanted by the same Service and unserved.
  std::erase_if(apply_warnings_, [&](const auto& entry) {
    const auto& [port, warning] = entry;
    auto owner = built.owner.find(port);
    return owner == built.owner.end() || owner->second != warning.first || applier_.serves(port);
  });

  // Only a reload within the interval waits, so the Applier is asked only then: in range mode
  // the question is a whole plan (12 ms at 10,000 Services, measured by bench/range_mode_bench).
  if (last_reload_ && clock_.now() < *last_reload_ + config_.min_reload_interval &&
      applier_.needs_reload(config_.global, built.model)) {
    const auto due = *last_reload_ + config_.min_reload_interval;
    report(built.warnings);
    publish(built, built.changed_ports);  // nothing was applied: only what the build changed
    queue_.add_after(kConfigKey, due - clock_.now());
    return Outcome::kDeferred;
  }

  // The interval spaces the starts of reloads: read the time before the apply, which may take
  // long (haproxy -c, a new worker), so the spacing does not grow with the reload's own duration.
  const Clock::time_point apply_started = clock_.now();
  haproxy::ApplyResult result = applier_.apply(config_.global, built.model, changed_since_apply_, stop);
  changed_since_apply_.emplace();  // the next apply's hint counts from this one's Model
  const Clock::time_point applied_at = clock_.now();
  if (config_.observe_apply) config_.observe_apply(result, applied_at - apply_started);
  if (result.reloaded()) last_reload_ = apply_started;
  for (const auto& [port, why] : result.unavailable) {
    auto owner = built.owner.find(port);
    if (owner == built.owner.end()) continue;
    apply_warnings_[port] = {owner->second,
                             {"PortUnavailable", fmt::format("host port {} is held by another process on this "
                                                             "load balancer ({}); the Service is moved to another port",
                                                             port, why)}};
    if (on_port_unavailable_) on_port_unavailable_(port);
  }
  for (const auto& [port, why] : result.rejected) {
    auto owner = built.owner.find(port);
    if (owner == built.owner.end()) continue;
    apply_warnings_[port] = {owner->second,
                             {"ConfigRejected", fmt::format("HAProxy rejected the config for host port {}: {}", port, why)}};
  }
  report(built.warnings);
  // What a runtime update or nothing changed is what the build changed; a reload, a start or a
  // failure may change what any port's listener does.
  const bool runtime_only = result.ok() && !result.reloaded();
  publish(built, runtime_only ? built.changed_ports : std::nullopt);
  // Where a sync's time goes, for benchmarks and for an operator chasing latency at scale.
  log_->debug("sync listeners={} build_ms={:.1f} apply_ms={:.1f} publish_ms={:.1f} action={}",
              built.model.listeners.size(), milliseconds(built_at - started), milliseconds(applied_at - apply_started),
              milliseconds(clock_.now() - applied_at), result.label());
  if (!result.ok()) {
    failed_syncs_.fetch_add(1);
    log_->warn("apply failed, retrying: {}", result.error->describe());
    // Backoff from 5 ms, but never longer than a resync period: whichever comes first.
    queue_.add_rate_limited(kConfigKey);
    queue_.add_after(kConfigKey, config_.resync_period);
    return Outcome::kFailed;
  }
  applied_syncs_.fetch_add(1);
  queue_.forget(kConfigKey);
  queue_.add_after(kConfigKey, config_.resync_period);
  return Outcome::kApplied;
}

}  // namespace berth::dataplane
