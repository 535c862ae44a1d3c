#include "ports/port_range_set.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstdint>
#include <cstdlib>

#include <fmt/format.h>

namespace berth::ports {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A port number, or the reason it is not one.
std::expected<Port, std::string> parse_port(std::string_view text) {
  if (text.empty()) return std::unexpected("missing port number");
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::unexpected(fmt::format("\"{}\" is not a number", text));
  }
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value < kMinPort || value > kMaxPort) {
    return std::unexpected(fmt::format("{} is not a port between {} and {}", text, kMinPort, kMaxPort));
  }
  return static_cast<Port>(value);
}

std::unexpected<Error> bad_entry(std::string_view entry, std::string_view why) {
  return make_error(ErrorCode::kInvalidArgument, fmt::format("port range \"{}\": {}", entry, why));
}

}  // namespace

PortRangeSet::const_iterator& PortRangeSet::const_iterator::operator++() {
  const PortRange& r = (*ranges_)[range_];
  if (port_ < r.last) {
    ++port_;
  } else {
    ++range_;
    port_ = range_ < ranges_->size() ? (*ranges_)[range_].first : 0;
  }
  return *this;
}

PortRangeSet::const_iterator PortRangeSet::begin() const {
  return ranges_.empty() ? end() : const_iterator(&ranges_, 0, ranges_.front().first);
}

Result<PortRangeSet> PortRangeSet::parse(std::string_view spec) {
  PortRangeSet set;
  if (trim(spec).empty()) return set;
  while (true) {
    auto comma = spec.find(',');
    std::string_view entry = trim(spec.substr(0, comma));
    if (entry.empty()) return bad_entry(entry, "empty entry (stray comma?)");
    auto dash = entry.find('-');
    if (dash == std::string_view::npos) {
      auto port = parse_port(entry);
      if (!port) return bad_entry(entry, port.error());
      set.add(*port);
    } else {
      auto first = parse_port(trim(entry.substr(0, dash)));
      if (!first) return bad_entry(entry, "start: " + first.error());
      auto last = parse_port(trim(entry.substr(dash + 1)));
      if (!last) return bad_entry(entry, "end: " + last.error());
      if (*first > *last) return bad_entry(entry, "start is greater than end");
      set.add(*first, *last);
    }
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return set;
}

Result<PortRangeSet> PortRangeSet::parse(std::span<const std::string> specs) {
  PortRangeSet set;
  for (const std::string& spec : specs) {
    auto one = parse(spec);
    if (!one) return std::unexpected(one.error());
    for (const PortRange& r : one->ranges_) set.add(r.first, r.last);
  }
  return set;
}

void PortRangeSet::add(Port first, Port last) {
  if (!is_valid_port(first) || !is_valid_port(last) || first > last) std::abort();
  // Ranges that overlap or touch [first, last] are absorbed into it.
  auto lo = std::lower_bound(ranges_.begin(), ranges_.end(), first,
                             [](const PortRange& r, Port p) { return r.last + 1 < p; });
  auto hi = lo;
  while (hi != ranges_.end() && hi->first <= last + 1) {
    first = std::min(first, hi->first);
    last = std::max(last, hi->last);
    ++hi;
  }
  lo = ranges_.erase(lo, hi);
  ranges_.insert(lo, PortRange{first, last});
}

PortRangeSet PortRangeSet::minus(const PortRangeSet& other) const {
  PortRangeSet out;
  auto o = other.ranges_.begin();
  for (PortRange r : ranges_) {
    while (o != other.ranges_.end() && o->last < r.first) ++o;
    Port next = r.first;
    for (auto it = o; it != other.ranges_.end() && it->first <= r.last; ++it) {
      if (it->first > next) out.ranges_.push_back({next, it->first - 1});
      next = std::max(next, it->last + 1);
    }
    if (next <= r.last) out.ranges_.push_back({next, r.last});
  }
  return out;
}

bool PortRangeSet::contains(Port port) const {
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), port,
                             [](const PortRange& r, Port p) { return r.last < p; });
  return it != ranges_.end() && it->first <= port;
}

std::size_t PortRangeSet::size() const {
  std::size_t n = 0;
  for (const PortRange& r : ranges_) n += r.size();
  return n;
}

std::string PortRangeSet::to_string() const {
  std::string out;
  for (const PortRange& r : ranges_) {
    if (!out.empty()) out += ',';
    out += r.first == r.last ? fmt::format("{}", r.first) : fmt::format("{}-{}", r.first, r.last);
  }
  return out;
}

}  // namespace berth::ports
