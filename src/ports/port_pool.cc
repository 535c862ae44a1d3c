#include "ports/port_pool.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <tuple>

#include <fmt/format.h>

namespace berth::ports {
namespace {

constexpr std::size_t kPortSlots = kMaxPort + 1;
constexpr std::size_t kWords = kPortSlots / 64 + 1;

void require_owner(std::string_view owner) {
  if (owner.empty()) std::abort();  // an empty owner would be indistinguishable from "no owner"
}

}  // namespace

std::string_view to_string(PortPoolErrorCode code) {
  switch (code) {
    case PortPoolErrorCode::kNotInPool: return "NotInPool";
    case PortPoolErrorCode::kExcluded: return "Excluded";
    case PortPoolErrorCode::kQuarantined: return "Quarantined";
    case PortPoolErrorCode::kAlreadyAllocated: return "AlreadyAllocated";
    case PortPoolErrorCode::kUnusable: return "Unusable";
    case PortPoolErrorCode::kExhausted: return "Exhausted";
    case PortPoolErrorCode::kOwnerHasPort: return "OwnerHasPort";
    case PortPoolErrorCode::kDuplicateOwner: return "DuplicateOwner";
  }
  return "Unknown";
}

std::string PortPoolError::describe() const {
  switch (code) {
    case PortPoolErrorCode::kNotInPool: return fmt::format("port {} is not in the port range", port);
    case PortPoolErrorCode::kExcluded: return fmt::format("port {} is excluded", port);
    case PortPoolErrorCode::kQuarantined: return fmt::format("port {} is in quarantine after a release", port);
    case PortPoolErrorCode::kAlreadyAllocated: return fmt::format("port {} is already allocated to {}", port, holder);
    case PortPoolErrorCode::kUnusable: return fmt::format("port {} is held by another process on the host", port);
    case PortPoolErrorCode::kExhausted: return "the port pool is exhausted";
    case PortPoolErrorCode::kOwnerHasPort: return fmt::format("the owner already holds port {}", port);
    case PortPoolErrorCode::kDuplicateOwner: return fmt::format("the owner already claimed port {}", port);
  }
  return "unknown port pool error";
}

PortPool::PortPool(PortRangeSet ranges, PortRangeSet excluded, Clock& clock, Clock::duration quarantine)
    : pool_(ranges.minus(excluded)),
      excluded_(std::move(excluded)),
      clock_(&clock),
      quarantine_(std::max(quarantine, Clock::duration::zero())),
      state_(kPortSlots, State::kOutside),
      unusable_(kPortSlots, false),
      free_bits_(kWords, 0) {
  for (Port p : excluded_) state_[p] = State::kExcluded;
  for (Port p : pool_) set_free(p);
  cursor_ = pool_.empty() ? 0 : pool_.ranges().front().first;
}

void PortPool::update_free_bit(Port port) {
  std::uint64_t bit = std::uint64_t{1} << (port % 64);
  if (state_[port] == State::kFree && !unusable_[port]) {
    free_bits_[port / 64] |= bit;
  } else {
    free_bits_[port / 64] &= ~bit;
  }
}

void PortPool::set_free(Port port) {
  if (state_[port] == State::kQuarantined) {
    auto it = released_at_.find(port);
    by_release_.erase({it->second, port});
    released_at_.erase(it);
  }
  state_[port] = State::kFree;
  update_free_bit(port);
}

void PortPool::quarantine(Port port, Clock::time_point released) {
  if (!live(released)) {
    set_free(port);
    return;
  }
  if (state_[port] == State::kQuarantined) set_free(port);  // re-keys by_release_
  state_[port] = State::kQuarantined;
  released_at_[port] = released;
  by_release_.insert({released, port});
  update_free_bit(port);
}

void PortPool::take(Port port, std::string owner) {
  if (state_[port] == State::kQuarantined) set_free(port);
  state_[port] = State::kAllocated;
  update_free_bit(port);
  owners_.emplace(owner, port);
  holders_.emplace(port, std::move(owner));
}

std::string PortPool::drop_owner(Port port) {
  auto it = holders_.find(port);
  std::string owner = std::move(it->second);
  holders_.erase(it);
  owners_.erase(owners_.find(owner));
  state_[port] = State::kFree;
  update_free_bit(port);
  return owner;
}

void PortPool::expire_quarantine() {
  while (!by_release_.empty() && !live(by_release_.begin()->first)) set_free(by_release_.begin()->second);
}

std::optional<Port> PortPool::next_free(Port from) const {
  auto scan = [&](std::size_t lo, std::size_t hi) -> std::optional<Port> {  // [lo, hi)
    for (std::size_t w = lo / 64; w * 64 < hi; ++w) {
      std::uint64_t bits = free_bits_[w];
      if (w == lo / 64) bits &= ~std::uint64_t{0} << (lo % 64);
      if (bits == 0) continue;
      std::size_t p = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
      if (p < hi) return static_cast<Port>(p);
      return std::nullopt;
    }
    return std::nullopt;
  };
  if (auto p = scan(static_cast<std::size_t>(from), kPortSlots)) return p;
  return scan(0, static_cast<std::size_t>(from));
}

std::optional<PortPoolError> PortPool::unavailable(Port port) const {
  if (!is_valid_port(port) || state_[port] == State::kOutside) {
    return PortPoolError{.code = PortPoolErrorCode::kNotInPool, .port = port};
  }
  if (state_[port] == State::kExcluded) return PortPoolError{.code = PortPoolErrorCode::kExcluded, .port = port};
  if (unusable_[port]) return PortPoolError{.code = PortPoolErrorCode::kUnusable, .port = port};
  if (state_[port] == State::kQuarantined) {
    Clock::time_point released = released_at_.at(port);
    if (live(released)) {
      return PortPoolError{.code = PortPoolErrorCode::kQuarantined, .port = port, .until = expiry(released)};
    }
  }
  return std::nullopt;
}

PoolResult<Port> PortPool::allocate(std::string_view owner) {
  require_owner(owner);
  if (auto held = port_of(owner)) return *held;
  expire_quarantine();
  auto port = next_free(cursor_);
  if (!port) return std::unexpected(PortPoolError{.code = PortPoolErrorCode::kExhausted});
  take(*port, std::string(owner));
  cursor_ = *port == kMaxPort ? 0 : *port + 1;
  return *port;
}

PoolResult<Port> PortPool::allocate_specific(std::string_view owner, Port port) {
  require_owner(owner);
  expire_quarantine();
  if (is_valid_port(port) && state_[port] == State::kAllocated) {
    const std::string& h = holders_.at(port);
    if (h == owner) return port;
    return std::unexpected(PortPoolError{.code = PortPoolErrorCode::kAlreadyAllocated, .port = port, .holder = h});
  }
  if (auto err = unavailable(port)) return std::unexpected(*err);
  if (auto held = port_of(owner)) {
    return std::unexpected(PortPoolError{.code = PortPoolErrorCode::kOwnerHasPort, .port = *held});
  }
  take(port, std::string(owner));
  return port;
}

std::optional<Port> PortPool::release(std::string_view owner) {
  auto port = port_of(owner);
  if (!port) return std::nullopt;
  expire_quarantine();
  drop_owner(*port);
  quarantine(*port, clock_->now());
  return port;
}

std::optional<std::string> PortPool::release_port(Port port) {
  if (!is_valid_port(port) || state_[port] != State::kAllocated) return std::nullopt;
  expire_quarantine();
  std::string owner = drop_owner(port);
  quarantine(port, clock_->now());
  return owner;
}

std::optional<Port> PortPool::release_without_quarantine(std::string_view owner) {
  auto port = port_of(owner);
  if (!port) return std::nullopt;
  drop_owner(*port);
  return port;
}

PoolResult<std::optional<std::string>> PortPool::mark_unusable(Port port) {
  if (!is_valid_port(port) || state_[port] == State::kOutside) {
    return std::unexpected(PortPoolError{.code = PortPoolErrorCode::kNotInPool, .port = port});
  }
  if (state_[port] == State::kExcluded) {
    return std::unexpected(PortPoolError{.code = PortPoolErrorCode::kExcluded, .port = port});
  }
  expire_quarantine();
  if (!unusable_[port]) {
    unusable_[port] = true;
    ++unusable_count_;
  }
  std::optional<std::string> evicted;
  if (state_[port] == State::kAllocated) {
    // Its clients still dial this port; when the foreign process goes away the port must not
    // reach a new tenant before the quarantine has passed.
    evicted = drop_owner(port);
    quarantine(port, clock_->now());
  }
  update_free_bit(port);
  return evicted;
}

bool PortPool::clear_unusable(Port port) {
  if (!is_valid_port(port) || !unusable_[port]) return false;
  unusable_[port] = false;
  --unusable_count_;
  update_free_bit(port);
  return true;
}

std::optional<PortPoolError> PortPool::why_unavailable(Port port) const {
  if (is_valid_port(port) && state_[port] == State::kAllocated) {
    return PortPoolError{.code = PortPoolErrorCode::kAlreadyAllocated, .port = port, .holder = holders_.at(port)};
  }
  return unavailable(port);
}

std::optional<std::string> PortPool::holder(Port port) const {
  if (!is_valid_port(port) || state_[port] != State::kAllocated) return std::nullopt;
  return holders_.at(port);
}

std::optional<Port> PortPool::port_of(std::string_view owner) const {
  auto it = owners_.find(owner);
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

bool PortPool::is_quarantined(Port port) const {
  return is_valid_port(port) && state_[port] == State::kQuarantined && live(released_at_.at(port));
}

bool PortPool::is_unusable(Port port) const { return is_valid_port(port) && unusable_[port]; }

std::optional<Clock::time_point> PortPool::next_quarantine_expiry() const {
  for (const auto& [released, port] : by_release_) {
    if (live(released)) return expiry(released);
  }
  return std::nullopt;
}

PortPoolCounts PortPool::counts() const {
  PortPoolCounts c;
  c.size = pool_.size();
  c.allocated = holders_.size();
  c.unusable = unusable_count_;
  for (const auto& [released, port] : by_release_) {
    if (!unusable_[port] && live(released)) ++c.quarantined;
  }
  c.free = c.size - c.allocated - c.quarantined - c.unusable;
  return c;
}

QuarantineReleaseTimes PortPool::export_quarantine(std::chrono::system_clock::time_point wall_now) const {
  QuarantineReleaseTimes out;
  Clock::time_point now = clock_->now();
  for (const auto& [released, port] : by_release_) {
    if (!live(released)) continue;
    out[port] = wall_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - released);
  }
  return out;
}

QuarantineReleaseTimes PortPool::import_quarantine(const QuarantineReleaseTimes& entries,
                                                   std::chrono::system_clock::time_point wall_now) {
  expire_quarantine();
  QuarantineReleaseTimes dropped;
  auto period = std::chrono::duration_cast<std::chrono::system_clock::duration>(quarantine_);
  Clock::time_point now = clock_->now();
  for (const auto& [port, released_wall] : entries) {
    if (!is_valid_port(port) || state_[port] == State::kOutside || state_[port] == State::kExcluded ||
        state_[port] == State::kAllocated) {
      dropped[port] = released_wall;
      continue;
    }
    // Compared before subtracting so that absurd times (epoch, time_point::min) cannot overflow.
    if (released_wall <= wall_now - period) continue;
    auto age = std::max(wall_now - released_wall, std::chrono::system_clock::duration::zero());
    Clock::time_point released = now - std::chrono::duration_cast<Clock::duration>(age);
    if (state_[port] == State::kQuarantined) released = std::max(released, released_at_.at(port));
    quarantine(port, released);
  }
  return dropped;
}

RebuildReport PortPool::rebuild(std::vector<Claim> claims, const QuarantineReleaseTimes& quarantine,
                                std::chrono::system_clock::time_point wall_now) {
  holders_.clear();
  owners_.clear();
  released_at_.clear();
  by_release_.clear();
  for (Port p : pool_) {
    state_[p] = State::kFree;
    update_free_bit(p);
  }

  std::sort(claims.begin(), claims.end(), [](const Claim& a, const Claim& b) {
    return std::tie(a.claim_order, a.owner, a.port) < std::tie(b.claim_order, b.owner, b.port);
  });
  RebuildReport report;
  Port highest = 0;
  for (Claim& claim : claims) {
    require_owner(claim.owner);
    std::optional<PortPoolError> reason = unavailable(claim.port);
    if (!reason && state_[claim.port] == State::kAllocated) {
      reason = PortPoolError{.code = PortPoolErrorCode::kAlreadyAllocated, .port = claim.port,
                             .holder = holders_.at(claim.port)};
    }
    if (!reason) {
      if (auto held = port_of(claim.owner)) reason = PortPoolError{.code = PortPoolErrorCode::kDuplicateOwner, .port = *held};
    }
    if (reason) {
      report.rejected.push_back({std::move(claim), std::move(*reason)});
      continue;
    }
    take(claim.port, claim.owner);
    highest = std::max(highest, claim.port);
    report.accepted.push_back(std::move(claim));
  }
  report.dropped_quarantine = import_quarantine(quarantine, wall_now);

  if (pool_.empty()) {
    cursor_ = 0;
  } else if (highest == 0 || highest == kMaxPort) {
    cursor_ = highest == 0 ? pool_.ranges().front().first : 0;
  } else {
    cursor_ = highest + 1;
  }
  return report;
}

}  // namespace berth::ports
