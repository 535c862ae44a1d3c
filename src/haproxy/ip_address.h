// IP addresses and CIDR ranges as they may appear in an HAProxy config: parsed strictly and
// kept in canonical text form (inet_ntop), so a value of these types is always safe to print
// in a config line and two equal addresses always render the same bytes.
//
// The only way to make one is parse(): text from a user or the API (an EndpointSlice address,
// an annotation, a flag) is rejected with a message quoting it when it is not exactly an
// address. Zones ("fe80::1%eth0"), brackets, blanks and ports are rejected.
//
// Thread-safety: value types.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth::haproxy {

class IpAddress {
 public:
  // kInvalidArgument: "\"10.0.0.300\" is not an IPv4 or IPv6 address". IPv4-mapped IPv6
  // ("::ffff:10.0.0.1") is kept as IPv6 text, as inet_ntop writes it.
  static Result<IpAddress> parse(std::string_view text);

  const std::string& text() const { return text_; }
  bool is_v6() const { return v6_; }
  // The unspecified address (0.0.0.0 or ::): "every address" in a bind line.
  bool is_unspecified() const { return text_ == "0.0.0.0" || text_ == "::"; }
  // "10.0.0.1:3306" or "[fd00::1]:3306": HAProxy's address:port syntax for both families.
  std::string with_port(int port) const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  IpAddress(std::string text, bool v6) : text_(std::move(text)), v6_(v6) {}
  std::string text_;
  bool v6_ = false;
};

class Cidr {
 public:
  // "10.0.0.0/8", "fd00::/8"; a bare address is a single host (/32 or /128). Rejects a prefix
  // longer than the family allows and host bits set below the prefix ("10.0.0.1/8": the
  // message suggests "10.0.0.0/8"), so a typo never silently widens or narrows a range.
  static Result<Cidr> parse(std::string_view text);

  const IpAddress& network() const { return network_; }
  int prefix_length() const { return prefix_length_; }
  // "10.0.0.0/8"; single hosts keep their prefix ("10.0.0.1/32").
  std::string text() const;

  auto operator<=>(const Cidr&) const = default;

 private:
  Cidr(IpAddress network, int prefix_length) : network_(std::move(network)), prefix_length_(prefix_length) {}
  IpAddress network_;
  int prefix_length_ = 0;
};

}  // namespace berth::haproxy
