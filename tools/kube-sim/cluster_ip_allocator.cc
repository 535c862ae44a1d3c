#include "kube-sim/cluster_ip_allocator.h"

#include <charconv>

#include <fmt/format.h>

namespace berth::kubesim {

bool ClusterIpAllocator::parse_ip(std::string_view s, std::uint32_t& out) {
  std::uint32_t ip = 0;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (s.empty() || s.front() != '.') return false;
      s.remove_prefix(1);
    }
    unsigned octet = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), octet);
    if (ec != std::errc() || ptr == s.data() || octet > 255 || (ptr - s.data() > 1 && s.front() == '0')) return false;
    s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
    ip = (ip << 8) | octet;
  }
  if (!s.empty()) return false;
  out = ip;
  return true;
}

std::string ClusterIpAllocator::format_ip(std::uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

Result<ClusterIpAllocator> ClusterIpAllocator::create(std::string_view cidr) {
  auto slash = cidr.find('/');
  std::uint32_t base = 0;
  unsigned bits = 0;
  if (slash == std::string_view::npos || !parse_ip(cidr.substr(0, slash), base)) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("invalid service CIDR \"{}\"", cidr));
  }
  auto rest = cidr.substr(slash + 1);
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), bits);
  if (ec != std::errc() || ptr != rest.data() + rest.size() || bits < 8 || bits > 30) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("invalid service CIDR \"{}\": prefix must be 8..30", cidr));
  }
  std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  ClusterIpAllocator a;
  a.cidr_ = std::string(cidr);
  std::uint32_t network = base & mask;
  a.first_ = network + 2;
  a.last_ = (network | ~mask) - 1;
  a.next_ = a.first_;
  return a;
}

Result<std::string> ClusterIpAllocator::allocate() {
  std::uint64_t count = std::uint64_t{last_} - first_ + 1;
  if (used_.size() >= count) {
    return make_error(ErrorCode::kServerError, "failed to allocate a serviceIP: range is full", 500);
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint32_t ip = next_;
    next_ = next_ == last_ ? first_ : next_ + 1;
    if (used_.insert(ip).second) return format_ip(ip);
  }
  return make_error(ErrorCode::kServerError, "failed to allocate a serviceIP: range is full", 500);
}

Result<void> ClusterIpAllocator::reserve(std::string_view text) {
  std::uint32_t ip = 0;
  if (!parse_ip(text, ip)) {
    return make_error(ErrorCode::kInvalid, fmt::format("spec.clusterIPs[0]: Invalid value: \"{}\": must be a valid IP address", text), 422);
  }
  if (ip < first_ - 1 || ip > last_) {
    return make_error(ErrorCode::kInvalid,
                      fmt::format("spec.clusterIPs: Invalid value: [\"{}\"]: failed to allocate IP {}: the provided IP ({}) is "
                                  "not in the valid range. The range of valid IPs is {}",
                                  text, text, text, cidr_),
                      422);
  }
  if (!used_.insert(ip).second) {
    return make_error(ErrorCode::kInvalid,
                      fmt::format("spec.clusterIPs: Invalid value: [\"{}\"]: failed to allocate IP {}: provided IP is already allocated",
                                  text, text),
                      422);
  }
  return {};
}

void ClusterIpAllocator::release(std::string_view text) {
  std::uint32_t ip = 0;
  if (parse_ip(text, ip)) used_.erase(ip);
}

bool ClusterIpAllocator::allocated(std::string_view text) const {
  std::uint32_t ip = 0;
  return parse_ip(text, ip) && used_.contains(ip);
}

}  // namespace berth::kubesim
