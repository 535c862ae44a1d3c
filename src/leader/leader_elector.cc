#include "leader/leader_elector.h"

#include <unistd.h>

#include <chrono>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "common/log.h"
#include "kube/lease_client.h"
#include "kube/micro_time.h"
#include "kube/name_validation.h"

namespace berth::leader {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

// The fields that make a record "changed" for the expiry rule (client-go compares the whole
// LeaderElectionRecord).
bool same_record(const kube::Lease& a, const kube::Lease& b) {
  return a.holder_identity == b.holder_identity && a.lease_duration_seconds == b.lease_duration_seconds &&
         a.acquire_time == b.acquire_time && a.renew_time == b.renew_time &&
         a.lease_transitions == b.lease_transitions;
}

std::string format_seconds(Clock::duration d) {
  return fmt::format("{:.3g}s", std::chrono::duration<double>(d).count());
}

}  // namespace

Result<void> validate(const LeaderElectionConfig& c) {
  auto invalid = [](std::string message) { return make_error(ErrorCode::kInvalidArgument, std::move(message)); };
  if (c.retry_period <= Clock::duration::zero()) return invalid("--leader-elect-retry-period must be positive");
  if (c.renew_deadline <= c.retry_period * 6 / 5) {
    return invalid(fmt::format("--leader-elect-renew-deadline ({}) must be greater than 1.2 × "
                               "--leader-elect-retry-period ({})",
                               format_seconds(c.renew_deadline), format_seconds(c.retry_period)));
  }
  if (c.lease_duration <= c.renew_deadline) {
    return invalid(fmt::format("--leader-elect-lease-duration ({}) must be greater than --leader-elect-renew-deadline "
                               "({})",
                               format_seconds(c.lease_duration), format_seconds(c.renew_deadline)));
  }
  if (c.lease_duration < seconds(1)) return invalid("--leader-elect-lease-duration must be at least 1s");
  if (auto e = kube::dns1123_label_error(c.lease_namespace); !e.empty()) {
    return invalid(fmt::format("--leader-election-namespace \"{}\": {}", c.lease_namespace, e));
  }
  if (auto e = kube::dns1123_subdomain_error(c.lease_name); !e.empty()) {
    return invalid(fmt::format("--leader-election-id \"{}\": {}", c.lease_name, e));
  }
  if (c.identity.empty()) return invalid("the leader election identity must not be empty");
  return {};
}

std::string default_identity() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof(host), "berth");
  std::random_device random;
  const std::uint64_t suffix = (static_cast<std::uint64_t>(random()) << 32) ^ random();
  return fmt::format("{}_{:016x}", host, suffix);
}

LeaderElector::LeaderElector(kube::ApiClient& api, Clock& clock, LeaderElectionConfig config,
                             LeaderCallbacks callbacks)
    : api_(api),
      clock_(clock),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      log_(logger("leader")),
      rng_(std::random_device{}()) {}

std::string LeaderElector::observed_leader() const {
  std::lock_guard lock(mu_);
  return observed_leader_;
}

Clock::duration LeaderElector::jittered_retry() {
  std::uniform_real_distribution<double> factor(1.0, 1.2);
  return duration_cast<Clock::duration>(config_.retry_period * factor(rng_));
}

void LeaderElector::observe(const kube::Lease& lease) {
  if (!observed_ || !same_record(*observed_, lease)) observed_at_ = clock_.now();
  observed_ = lease;
  std::string previous;
  {
    std::lock_guard lock(mu_);
    if (observed_leader_ == lease.holder_identity) return;
    previous = std::exchange(observed_leader_, lease.holder_identity);
  }
  if (lease.holder_identity != config_.identity) {
    log_->info("leader observed lease={}/{} holder=\"{}\"", config_.lease_namespace, config_.lease_name,
               lease.holder_identity);
  }
  if (callbacks_.on_new_leader) callbacks_.on_new_leader(lease.holder_identity);
}

bool LeaderElector::try_acquire_or_renew() {
  const auto wall_now = std::chrono::system_clock::now();
  const std::int32_t lease_seconds =
      static_cast<std::int32_t>(std::chrono::ceil<seconds>(config_.lease_duration).count());
  auto current = kube::get_lease(api_, config_.lease_namespace, config_.lease_name);
  if (!current) {
    if (current.error().code != ErrorCode::kNotFound) {
      log_->warn("reading lease {}/{} failed: {}", config_.lease_namespace, config_.lease_name,
                 current.error().describe());
      return false;
    }
    kube::Lease fresh;
    fresh.meta.namespace_ = config_.lease_namespace;
    fresh.meta.name = config_.lease_name;
    fresh.holder_identity = config_.identity;
    fresh.lease_duration_seconds = lease_seconds;
    fresh.acquire_time = fresh.renew_time = kube::format_micro_time(wall_now);
    auto created = kube::create_lease(api_, fresh);
    if (!created) {
      log_->debug("creating lease failed: {}", created.error().describe());
      return false;
    }
    observe(*created);
    return true;
  }
  observe(*current);

  const bool ours = current->holder_identity == config_.identity;
  if (!current->holder_identity.empty() && !ours) {
    const Clock::duration honoured = current->lease_duration_seconds
                                         ? Clock::duration(seconds(*current->lease_duration_seconds))
                                         : config_.lease_duration;
    if (observed_at_ + honoured > clock_.now()) return false;  // held, and renewed as far as we can tell
  }
  kube::Lease next = *current;
  next.holder_identity = config_.identity;
  next.lease_duration_seconds = lease_seconds;
  next.renew_time = kube::format_micro_time(wall_now);
  if (!ours) {
    next.acquire_time = next.renew_time;
    next.lease_transitions = current->lease_transitions + 1;
  }
  auto updated = kube::update_lease(api_, next);
  if (!updated) {
    log_->debug("updating lease failed: {}", updated.error().describe());
    return false;
  }
  observe(*updated);
  return true;
}

void LeaderElector::lead(std::stop_token stop) {
  leading_ = true;
  log_->info("became leader lease={}/{} identity={}", config_.lease_namespace, config_.lease_name, config_.identity);
  std::stop_source term;
  std::jthread callback;
  if (callbacks_.on_started_leading) {
    callback = std::jthread([this, token = term.get_token()] { callbacks_.on_started_leading(token); });
  }
  std::stop_callback forward(stop, [&term] { term.request_stop(); });
  Clock::time_point last_renewal = clock_.now();
  while (!stop.stop_requested()) {
    if (!clock_.sleep_for(config_.retry_period, stop)) break;
    bool renewed = false;
    while (!stop.stop_requested() && clock_.now() < last_renewal + config_.renew_deadline) {
      if (try_acquire_or_renew()) {
        renewed = true;
        break;
      }
      // Another identity holds the Lease now: no point in retrying until the deadline.
      if (observed_ && observed_->holder_identity != config_.identity) break;
      const auto remaining = last_renewal + config_.renew_deadline - clock_.now();
      clock_.sleep_for(std::min<Clock::duration>(config_.retry_period, remaining), stop);
    }
    if (stop.stop_requested()) break;
    if (!renewed) {
      log_->error("lost leadership: no renewal of lease {}/{} within {}", config_.lease_namespace, config_.lease_name,
                  format_seconds(config_.renew_deadline));
      break;
    }
    last_renewal = clock_.now();
  }
  term.request_stop();
  if (callback.joinable()) callback.join();
  leading_ = false;
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
}

void LeaderElector::release() {
  auto current = kube::get_lease(api_, config_.lease_namespace, config_.lease_name);
  if (!current || current->holder_identity != config_.identity) return;
  kube::Lease next = *current;
  next.holder_identity.clear();
  next.lease_duration_seconds = 1;
  next.renew_time = next.acquire_time = kube::format_micro_time(std::chrono::system_clock::now());
  if (auto updated = kube::update_lease(api_, next); updated) {
    log_->info("released lease {}/{}", config_.lease_namespace, config_.lease_name);
  } else {
    log_->warn("releasing lease {}/{} failed: {}", config_.lease_namespace, config_.lease_name,
               updated.error().describe());
  }
}

void LeaderElector::run(std::stop_token stop) {
  log_->info("candidate lease={}/{} identity={}", config_.lease_namespace, config_.lease_name, config_.identity);
  while (!stop.stop_requested()) {
    if (try_acquire_or_renew()) {
      lead(stop);
      if (stop.stop_requested()) {
        if (config_.release_on_cancel) release();
        return;
      }
    }
    clock_.sleep_for(jittered_retry(), stop);
  }
}

}  // namespace berth::leader
