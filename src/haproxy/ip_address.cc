#include "haproxy/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace berth::haproxy {
namespace {

// inet_pton accepts exactly the address grammar and nothing around it; the length bound keeps
// the copy into a NUL-terminated buffer safe (the longest IPv6 text is 45 characters).
constexpr std::size_t kMaxAddressText = 64;

}  // namespace

Result<IpAddress> IpAddress::parse(std::string_view text) {
  auto invalid = [&] {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("\"{}\" is not an IPv4 or IPv6 address", text));
  };
  if (text.empty() || text.size() >= kMaxAddressText || text.find('\0') != std::string_view::npos) {
    return invalid();
  }
  char buffer[kMaxAddressText] = {};
  std::memcpy(buffer, text.data(), text.size());
  char canonical[INET6_ADDRSTRLEN] = {};
  in_addr v4{};
  if (inet_pton(AF_INET, buffer, &v4) == 1) {
    inet_ntop(AF_INET, &v4, canonical, sizeof canonical);
    return IpAddress(canonical, false);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buffer, &v6) == 1) {
    inet_ntop(AF_INET6, &v6, canonical, sizeof canonical);
    return IpAddress(canonical, true);
  }
  return invalid();
}

std::string IpAddress::with_port(int port) const {
  return v6_ ? fmt::format("[{}]:{}", text_, port) : fmt::format("{}:{}", text_, port);
}

Result<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("\"{}\" is not a CIDR range", text));
  }
  const int max_prefix = address->is_v6() ? 128 : 32;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const char* end = digits.data() + digits.size();
    auto [ptr, ec] = std::from_chars(digits.data(), end, prefix);
    // Canonical decimal only: no sign, no leading zero, nothing after the number.
    if (digits.empty() || ec != std::errc() || ptr != end || (digits.size() > 1 && digits[0] == '0') ||
        prefix < 0 || prefix > max_prefix) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("\"{}\": the prefix length must be 0..{}", text, max_prefix));
    }
  }
  // Clear the host bits and compare: a range written with host bits set is a typo.
  std::array<unsigned char, 16> bytes{};
  inet_pton(address->is_v6() ? AF_INET6 : AF_INET, address->text().c_str(), bytes.data());
  const int total_bytes = address->is_v6() ? 16 : 4;
  std::array<unsigned char, 16> network = bytes;
  for (int i = 0; i < total_bytes; ++i) {
    const int bits_kept = std::clamp(prefix - i * 8, 0, 8);
    network[i] &= static_cast<unsigned char>(0xFF00 >> bits_kept);
  }
  if (network != bytes) {
    char canonical[INET6_ADDRSTRLEN] = {};
    inet_ntop(address->is_v6() ? AF_INET6 : AF_INET, network.data(), canonical, sizeof canonical);
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("\"{}\" has host bits set; did you mean \"{}/{}\"?", text, canonical, prefix));
  }
  return Cidr(std::move(*address), prefix);
}

std::string Cidr::text() const { return fmt::format("{}/{}", network_.text(), prefix_length_); }

}  // namespace berth::haproxy
