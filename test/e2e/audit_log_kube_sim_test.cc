// The connection audit log as an operator reads it: berth with --haproxy-log-target pointing at a
// syslog socket (here a Unix datagram socket the test owns), a session through a host port, and
// the line HAProxy writes when the session ends.
//
// Host ports 31610-31649 (test/e2e's port blocks are listed in docs/development.md).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "e2e/dataplane_cluster.h"
#include "support/echo_server.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

// A Unix datagram socket bound at `path`: what a local syslog daemon listens on.
class SyslogSocket {
 public:
  explicit SyslogSocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string text = path.string();
    if (fd_ < 0 || text.size() >= sizeof(address.sun_path)) return;
    std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~SyslogSocket() {
    if (fd_ >= 0) ::close(fd_);
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  SyslogSocket(const SyslogSocket&) = delete;
  SyslogSocket& operator=(const SyslogSocket&) = delete;

  bool ok() const { return fd_ >= 0; }

  // The next datagram whose text contains `needle`, skipping others; "" after `timeout`.
  std::string wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return "";
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[8192];
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) continue;
      std::string line(buffer, static_cast<std::size_t>(n));
      seen_ += line + "\n";
      if (line.find(needle) != std::string::npos) return line;
    }
  }
  const std::string& seen() const { return seen_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::string seen_;
};

// The key=value fields of an audit line, after the syslog header ("<134>Dec  7 ... haproxy[1]: ").
std::map<std::string, std::string> audit_fields(const std::string& line) {
  std::map<std::string, std::string> fields;
  const auto start = line.find("client=");
  if (start == std::string::npos) return fields;
  std::size_t at = start;
  while (at < line.size()) {
    std::size_t end = line.find(' ', at);
    if (end == std::string::npos) end = line.size();
    const std::string word = line.substr(at, end - at);
    if (const auto eq = word.find('='); eq != std::string::npos) fields[word.substr(0, eq)] = word.substr(eq + 1);
    at = end + 1;
  }
  // A datagram may end in a newline; it belongs to no field.
  for (auto& [_, value] : fields) {
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  }
  return fields;
}

TEST(AuditLogKubeSim, EverySessionIsLoggedWithItsClientServiceServerBytesAndDuration) {
  TempDir dir;
  SyslogSocket syslog(dir.path() / "log.sock");
  ASSERT_TRUE(syslog.ok()) << "cannot bind " << dir.path() / "log.sock";
  EchoServer db("audited-db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  DataplaneCluster c(DataplaneClusterOptions{.port_ranges = {{31610, 31649}},
                                             .flags = {{"--haproxy-log-target", (dir.path() / "log.sock").string()}}});
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("audited", 3306) + slice_yaml("audited-1", "audited", {"127.0.0.2"}, db.port())));
  auto port = c.wait_for_host_port("audited", 3306);
  ASSERT_TRUE(port) << c.berth().log();
  ASSERT_TRUE(c.wait_for_applied(1)) << c.berth().log();

  // One session: the greeting ("audited-db\n", 11 bytes) and an echoed line ("SELECT 1\n", 9).
  {
    auto client = TcpClient::connect("127.0.0.1", *port, 2s);
    ASSERT_TRUE(client);
    ASSERT_EQ(*(*client)->read_line(2s), "audited-db");
    ASSERT_TRUE((*client)->round_trip("SELECT 1", 2s));
  }  // the client closes; HAProxy logs the session as it ends

  const std::string line = syslog.wait_for("service=default/audited:3306", kWait);
  ASSERT_FALSE(line.empty()) << "no audit line; received:\n" << syslog.seen() << "\nberth:\n" << c.berth().log();
  auto fields = audit_fields(line);
  EXPECT_TRUE(fields["client"].starts_with("127.0.0.1:")) << line;
  EXPECT_EQ(fields["host_port"], std::to_string(*port)) << line;
  EXPECT_EQ(fields["service"], "default/audited:3306") << line;
  EXPECT_EQ(fields["server"], "127.0.0.2:" + std::to_string(db.port())) << line;
  EXPECT_EQ(fields["bytes_in"], "9") << line;
  EXPECT_EQ(fields["bytes_out"], "20") << line;
  EXPECT_FALSE(fields["duration_ms"].empty()) << line;
  EXPECT_GE(std::stol(fields["duration_ms"]), 0) << line;
  // A session the client ended cleanly: neither side aborted, no timeout.
  EXPECT_EQ(fields["termination"], "--") << line;
  EXPECT_EQ(fields["backend"].rfind("p" + std::to_string(*port) + "/s", 0), 0u) << line;
}

}  // namespace
}  // namespace berth::testing
