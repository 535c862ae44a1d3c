#include "controller/quarantine_store.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/log.h"
#include "kube/lease.h"
#include "kube/lease_client.h"

namespace berth::controller {
namespace {

constexpr int kMaxConflictRetries = 5;

}  // namespace

std::string format_quarantine_within(const QuarantinedPorts& ports, std::size_t budget, std::size_t& left_out) {
  left_out = 0;
  std::string text = format_quarantine(ports);
  if (text.size() <= budget) return text;
  // Drop the oldest releases first: they leave quarantine soonest. An entry costs ≤ 19 bytes.
  std::vector<std::pair<std::chrono::system_clock::time_point, int>> by_age;
  for (const auto& [port, released] : ports) by_age.emplace_back(released, port);
  std::sort(by_age.begin(), by_age.end());
  QuarantinedPorts kept = ports;
  std::size_t excess = text.size() - budget;
  std::size_t i = 0;
  while (excess > 0 && i < by_age.size()) {
    kept.erase(by_age[i++].second);
    excess = excess > 19 ? excess - 19 : 0;
  }
  text = format_quarantine(kept);
  while (text.size() > budget && i < by_age.size()) {
    kept.erase(by_age[i++].second);
    text = format_quarantine(kept);
  }
  left_out = ports.size() - kept.size();
  return text;
}

QuarantineStore::QuarantineStore(kube::ApiClient& api, std::string lease_namespace, std::string lease_name,
                                 std::string annotation_key)
    : api_(api),
      namespace_(std::move(lease_namespace)),
      name_(std::move(lease_name)),
      key_(std::move(annotation_key)),
      log_(logger("quarantine")) {}

Result<QuarantinedPorts> QuarantineStore::load() {
  auto lease = kube::get_lease(api_, namespace_, name_);
  if (!lease) {
    if (lease.error().code == ErrorCode::kNotFound) return QuarantinedPorts{};
    return std::unexpected(lease.error());
  }
  auto it = lease->meta.annotations.find(key_);
  if (it == lease->meta.annotations.end()) return QuarantinedPorts{};
  auto record = parse_quarantine(it->second);
  if (!record) {
    log_->error("quarantine record on lease {}/{} is unreadable, starting with an empty one: {}", namespace_, name_,
                record.error().message);
    return QuarantinedPorts{};
  }
  for (const std::string& problem : record->problems) {
    log_->warn("quarantine record on lease {}/{}: skipped {}", namespace_, name_, problem);
  }
  return std::move(record->ports);
}

Result<void> QuarantineStore::save(const QuarantinedPorts& ports) {
  for (int attempt = 0;; ++attempt) {
    auto lease = kube::get_lease(api_, namespace_, name_);
    const bool exists = lease.has_value();
    if (!exists && lease.error().code != ErrorCode::kNotFound) return std::unexpected(lease.error());
    kube::Lease next;
    if (exists) {
      next = std::move(*lease);
    } else {
      next.meta.namespace_ = namespace_;
      next.meta.name = name_;
    }
    std::size_t others = 0;
    for (const auto& [key, value] : next.meta.annotations) {
      if (key != key_) others += key.size() + value.size();
    }
    const std::size_t budget = kMaxTotalAnnotationBytes - std::min(kMaxTotalAnnotationBytes, others + key_.size());
    std::size_t left_out = 0;
    std::string text = format_quarantine_within(ports, budget, left_out);
    if (left_out > 0) {
      log_->warn("quarantine record too large for one annotation; left out the {} oldest of {} entries", left_out,
                 ports.size());
    }
    auto current = next.meta.annotations.find(key_);
    if (exists && current != next.meta.annotations.end() && current->second == text) return {};
    next.meta.annotations[key_] = std::move(text);
    auto written = exists ? kube::update_lease(api_, next) : kube::create_lease(api_, next);
    if (written) return {};
    const bool raced = written.error().code == ErrorCode::kConflict || written.error().code == ErrorCode::kAlreadyExists;
    if (!raced || attempt + 1 >= kMaxConflictRetries) return std::unexpected(written.error());
  }
}

}  // namespace berth::controller
