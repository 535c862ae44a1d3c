#include "haproxy/port_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace berth::haproxy {
namespace {

PortConflict::Reason reason_of(int error) {
  switch (error) {
    case EADDRINUSE: return PortConflict::Reason::kInUse;
    case EACCES: return PortConflict::Reason::kPermissionDenied;
    case EADDRNOTAVAIL: return PortConflict::Reason::kNoSuchAddress;
    default: return PortConflict::Reason::kOther;
  }
}

// 0 when the pair can be bound, else the bind's errno; an Error when no socket can be made.
Result<int> try_bind(const IpAddress& address, int port) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (address.is_v6()) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET6, address.text().c_str(), &v6->sin6_addr);
    length = sizeof *v6;
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, address.text().c_str(), &v4->sin_addr);
    length = sizeof *v4;
  }
  const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return make_error(ErrorCode::kIo, fmt::format("probing {}: socket: {}", address.with_port(port), std::strerror(errno)));
  }
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (address.is_v6()) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  const int result = ::bind(fd, reinterpret_cast<const sockaddr*>(&storage), length);
  const int error = result == 0 ? 0 : errno;
  ::close(fd);
  return error;
}

}  // namespace

Result<std::vector<PortConflict>> ports_in_use(const std::vector<IpAddress>& bind_addresses,
                                               std::span<const int> ports) {
  const IpAddress any_v4 = *IpAddress::parse("0.0.0.0");
  std::vector<IpAddress> addresses = bind_addresses;
  if (addresses.empty()) addresses.push_back(any_v4);
  if (addresses.size() == 1 && addresses.front().is_v6() && addresses.front().is_unspecified()) {
    addresses.push_back(any_v4);
  }
  std::vector<int> sorted(ports.begin(), ports.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());

  std::vector<PortConflict> conflicts;
  for (int port : sorted) {
    if (port < 1 || port > 65535) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("port {} is outside 1..65535", port));
    }
    for (const auto& address : addresses) {
      auto error = try_bind(address, port);
      if (!error) return std::unexpected(error.error());
      if (*error == 0) continue;
      conflicts.push_back(PortConflict{
          .port = port,
          .address = address,
          .reason = reason_of(*error),
          .message = fmt::format("{}: {}", address.with_port(port), std::strerror(*error)),
      });
    }
  }
  return conflicts;
}

}  // namespace berth::haproxy
