#include "haproxy/port_probe.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "haproxy_test_env.h"
#include "model_fixtures.h"

namespace berth::haproxy {
namespace {

using testenv::PortHolder;
using testenv::free_port;

std::vector<PortConflict> probe(const std::vector<IpAddress>& addresses, std::vector<int> ports) {
  auto conflicts = ports_in_use(addresses, ports);
  EXPECT_TRUE(conflicts) << conflicts.error().describe();
  return conflicts ? *conflicts : std::vector<PortConflict>{};
}

// A listener on [::1]:port (IPv6 only).
class V6Holder {
 public:
  explicit V6Holder(int port) {
    fd_ = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(static_cast<std::uint16_t>(port));
    address.sin6_addr = in6addr_loopback;
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && ::listen(fd_, 4) == 0;
  }
  ~V6Holder() { ::close(fd_); }
  bool ok() const { return ok_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

TEST(PortsInUse, AFreePortIsNotReported) {
  const int port = free_port();
  EXPECT_TRUE(probe({}, {port}).empty());
  EXPECT_TRUE(probe({ip("127.0.0.1")}, {port}).empty());
}

TEST(PortsInUse, ReportsAPortAListenerHolds) {
  const int port = free_port();
  PortHolder holder(port);
  ASSERT_TRUE(holder.ok());
  auto conflicts = probe({ip("127.0.0.1")}, {port});
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].port, port);
  EXPECT_EQ(conflicts[0].address, ip("127.0.0.1"));
  EXPECT_EQ(conflicts[0].reason, PortConflict::Reason::kInUse);
  EXPECT_EQ(conflicts[0].message, fmt::format("127.0.0.1:{}: Address already in use", port));
  // The default, every IPv4 address, conflicts with a holder on one of them.
  auto wildcard = probe({}, {port});
  ASSERT_EQ(wildcard.size(), 1u);
  EXPECT_EQ(wildcard[0].address, ip("0.0.0.0"));
}

TEST(PortsInUse, ReportsAHolderThatSetSoReuseport) {
  // HAProxy would share such a port (it sets SO_REUSEPORT too) and hand the holder part of its
  // connections; the probe, which does not set it, reports the holder.
  const int port = free_port();
  PortHolder holder(port, /*reuse_port=*/true);
  ASSERT_TRUE(holder.ok());
  auto conflicts = probe({ip("127.0.0.1")}, {port});
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].reason, PortConflict::Reason::kInUse);
}

TEST(PortsInUse, APortLeftInTimeWaitIsFree) {
  // Close the accepted side first, so the listening port's connection sits in TIME_WAIT there,
  // as after a worker closed a session. SO_REUSEADDR (HAProxy sets it) binds over it.
  const int port = free_port();
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address = testenv::loopback(port);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  const int accepted = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  ::close(listener);
  ::close(accepted);  // active close: TIME_WAIT on 127.0.0.1:<port>
  char byte;
  ASSERT_EQ(::recv(client, &byte, 1, 0), 0);  // the FIN arrived
  ::close(client);

  // Without SO_REUSEADDR the port is still taken: this is what the probe must not report.
  const int plain = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_NE(::bind(plain, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(errno, EADDRINUSE);
  ::close(plain);
  EXPECT_TRUE(probe({ip("127.0.0.1")}, {port}).empty());
}

TEST(PortsInUse, ProbesIpv6OnItsOwnAndALoneWildcardAsDualStack) {
  const int port = free_port();
  V6Holder v6(port);
  ASSERT_TRUE(v6.ok());
  auto on_v6 = probe({ip("::1")}, {port});
  ASSERT_EQ(on_v6.size(), 1u);
  EXPECT_EQ(on_v6[0].message, fmt::format("[::1]:{}: Address already in use", port));
  // V6ONLY: an IPv6 holder does not make the IPv4 side busy.
  EXPECT_TRUE(probe({ip("127.0.0.1")}, {port}).empty());

  // "::" alone is bound dual-stack by HAProxy, so an IPv4 holder blocks it too.
  const int v4_port = free_port();
  PortHolder v4(v4_port);
  ASSERT_TRUE(v4.ok());
  auto dual = probe({ip("::")}, {v4_port});
  ASSERT_EQ(dual.size(), 1u);
  EXPECT_EQ(dual[0].address, ip("0.0.0.0"));
  // Next to an explicit IPv4 address, "::" is only the IPv6 side.
  auto both = probe({ip("::"), ip("127.0.0.2")}, {v4_port});
  EXPECT_TRUE(both.empty()) << both[0].message;
}

TEST(PortsInUse, AnAddressNotOnThisHostIsReportedAsSuch) {
  auto conflicts = probe({ip("192.0.2.1")}, {free_port()});  // TEST-NET-1
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].reason, PortConflict::Reason::kNoSuchAddress);
  EXPECT_NE(conflicts[0].message.find("Cannot assign requested address"), std::string::npos) << conflicts[0].message;
}

TEST(PortsInUse, APrivilegedPortWithoutThePrivilegeIsReported) {
  int unprivileged_start = 1024;
  std::ifstream("/proc/sys/net/ipv4/ip_unprivileged_port_start") >> unprivileged_start;
  if (::geteuid() == 0 || unprivileged_start <= 1) GTEST_SKIP() << "binding low ports is allowed here";
  auto conflicts = probe({ip("127.0.0.1")}, {unprivileged_start - 1});
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].reason, PortConflict::Reason::kPermissionDenied);
}

TEST(PortsInUse, OrdersByPortThenAddressAndRejectsImpossiblePorts) {
  const int a = free_port();
  const int b = free_port();
  PortHolder hold_a(a);
  PortHolder hold_b(b);
  ASSERT_TRUE(hold_a.ok() && hold_b.ok());
  auto conflicts = probe({ip("127.0.0.1"), ip("0.0.0.0")}, {std::max(a, b), std::min(a, b), a});
  ASSERT_EQ(conflicts.size(), 4u);
  EXPECT_EQ(conflicts[0].port, std::min(a, b));
  EXPECT_EQ(conflicts[0].address, ip("0.0.0.0"));
  EXPECT_EQ(conflicts[1].address, ip("127.0.0.1"));
  EXPECT_EQ(conflicts[2].port, std::max(a, b));

  for (int bad : {0, -1, 65536}) {
    auto rejected = ports_in_use({}, std::vector<int>{bad});
    ASSERT_FALSE(rejected);
    EXPECT_EQ(rejected.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace berth::haproxy
