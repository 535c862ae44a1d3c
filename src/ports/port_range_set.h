// A set of TCP ports (1..65535) kept as sorted, merged, inclusive ranges: the shape of the
// `--port-range` and `--exclude-ports` flags.
//
// Grammar of one spec: a comma-separated list of entries, each a port ("25000") or an
// inclusive range ("20000-29999"), blanks around entries ignored. A wholly blank spec is the
// empty set. Overlapping or adjacent entries merge. Both flags use this grammar; `--port-range`
// may be repeated, so parse() also takes the list of its values.
//
// Errors: parse() returns kInvalidArgument naming the offending entry and why, e.g.
//   port range "30000-20000": start is greater than end
//
// Thread-safety: a value type; const members may be called concurrently.
#pragma once

#include <cstddef>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace berth::ports {

// A TCP port. int, not uint16_t, so a value out of 1..65535 (read from a user's annotation)
// reaches the pool intact and is rejected there instead of wrapping silently.
using Port = int;

inline constexpr Port kMinPort = 1;
inline constexpr Port kMaxPort = 65535;

constexpr bool is_valid_port(Port p) { return p >= kMinPort && p <= kMaxPort; }

struct PortRange {
  Port first = 0;  // inclusive
  Port last = 0;   // inclusive, >= first

  std::size_t size() const { return static_cast<std::size_t>(last - first + 1); }
  bool operator==(const PortRange&) const = default;
};

class PortRangeSet {
 public:
  // Iterates over every port in ascending order.
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Port;
    using difference_type = std::ptrdiff_t;
    using pointer = const Port*;
    using reference = Port;

    const_iterator() = default;
    Port operator*() const { return port_; }
    const_iterator& operator++();
    const_iterator operator++(int) {
      auto copy = *this;
      ++*this;
      return copy;
    }
    bool operator==(const const_iterator& o) const { return range_ == o.range_ && port_ == o.port_; }

   private:
    friend class PortRangeSet;
    const_iterator(const std::vector<PortRange>* ranges, std::size_t range, Port port)
        : ranges_(ranges), range_(range), port_(port) {}

    const std::vector<PortRange>* ranges_ = nullptr;
    std::size_t range_ = 0;
    Port port_ = 0;
  };

  PortRangeSet() = default;

  // One flag value, e.g. "22,25000-25010".
  static Result<PortRangeSet> parse(std::string_view spec);
  // The values of a repeated flag, united: {"20000-29999", "31000"}.
  static Result<PortRangeSet> parse(std::span<const std::string> specs);

  // Adds [first, last]; both must be valid ports with first <= last (aborts otherwise: callers
  // with untrusted input go through parse()).
  void add(Port first, Port last);
  void add(Port port) { add(port, port); }
  // The ports of this set that are not in `other`.
  PortRangeSet minus(const PortRangeSet& other) const;

  bool contains(Port port) const;
  std::size_t size() const;  // number of ports
  bool empty() const { return ranges_.empty(); }
  const std::vector<PortRange>& ranges() const { return ranges_; }

  const_iterator begin() const;
  const_iterator end() const { return const_iterator(&ranges_, ranges_.size(), 0); }

  // The canonical spec: "22,25000-25010"; "" when empty. parse(to_string()) == *this.
  std::string to_string() const;

  bool operator==(const PortRangeSet& o) const { return ranges_ == o.ranges_; }

 private:
  std::vector<PortRange> ranges_;  // sorted, disjoint, non-adjacent
};

}  // namespace berth::ports
