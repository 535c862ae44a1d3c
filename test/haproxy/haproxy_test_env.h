// What the tests against a real HAProxy share: free loopback ports, a listener that holds a port,
// a minimal config, and an environment (a TempDir with the config, master socket, pid file and
// log; a MasterSocket; a HaproxyMaster; the guard that stops every HAProxy process it saw, by
// PID, when the test ends). The servers behind HAProxy and the clients through it are
// support/echo_server.h's EchoServer and TcpClient.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "haproxy/haproxy_master.h"
#include "haproxy/master_socket.h"
#include "support/haproxy_guard.h"
#include "support/temp_dir.h"

namespace berth::haproxy::testenv {

using namespace std::chrono_literals;

inline constexpr const char* kHaproxyBinary = "/usr/sbin/haproxy";

inline sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// A port nothing listens on right now: bound to 127.0.0.1:0, read back, released.
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = loopback(0);
  socklen_t length = sizeof address;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

// A listening socket on 127.0.0.1 that the test holds, so HAProxy cannot bind the port.
class PortHolder {
 public:
  explicit PortHolder(int port, bool reuse_port = false) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    if (reuse_port) ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    sockaddr_in address = loopback(port);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && ::listen(fd_, 16) == 0;
  }
  ~PortHolder() {
    if (fd_ >= 0) ::close(fd_);
  }
  PortHolder(const PortHolder&) = delete;
  PortHolder& operator=(const PortHolder&) = delete;
  bool ok() const { return ok_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

// The smallest config the tests need: one frontend per port, each with a backend of one
// disabled server slot "s1" (the per-port layout of model.h), and the state file HAProxy
// loads its servers' runtime state from.
inline std::string test_config(const std::filesystem::path& dir, const std::vector<int>& ports) {
  std::string text = fmt::format(
      "global\n"
      "  nbthread 1\n"
      "  server-state-file {}/servers.state\n"
      "defaults\n"
      "  mode tcp\n"
      "  timeout connect 2s\n"
      "  timeout client 30s\n"
      "  timeout server 30s\n"
      "  load-server-state-from-file global\n",
      dir.string());
  for (int port : ports) {
    text += fmt::format(
        "frontend p{0}\n"
        "  bind 127.0.0.1:{0}\n"
        "  default_backend p{0}\n"
        "backend p{0}\n"
        "  server s1 127.0.0.1:1 disabled\n",
        port);
  }
  return text;
}

// A master CLI that can be made silent: the master's socket refuses while its process runs on,
// as when it re-executes a big config on a loaded host.
class SilenceableCli final : public MasterCli {
 public:
  explicit SilenceableCli(MasterCli& inner) : inner_(inner) {}
  Result<std::string> to_master(std::string_view command) override {
    if (silent_) return make_error(ErrorCode::kTransport, "connect: Connection refused (the test silenced the master)");
    return inner_.to_master(command);
  }
  Result<std::vector<std::string>> to_worker(int pid, std::span<const std::string> commands) override {
    return inner_.to_worker(pid, commands);
  }
  void silence_master(bool silent) { silent_ = silent; }

 private:
  MasterCli& inner_;
  std::atomic<bool> silent_{false};
};

// A TempDir holding everything of one HAProxy master, and the objects that drive it.
struct HaproxyEnv {
  testing::TempDir dir;
  HaproxyPaths paths;
  MasterSocket cli;
  HaproxyMaster master;
  testing::HaproxyGuard guard;

  HaproxyEnv()
      : paths(make_paths(dir.path())),
        cli(paths.master_socket, 5s),
        master(paths, cli, SystemClock::instance()),
        guard(paths.pid_file) {}

  static HaproxyPaths make_paths(const std::filesystem::path& dir) {
    HaproxyPaths paths;
    paths.binary = kHaproxyBinary;
    paths.config = dir / "haproxy.cfg";
    paths.master_socket = dir / "master.sock";  // ~40 bytes: far below sun_path's 108
    paths.pid_file = dir / "haproxy.pid";
    paths.master_log = dir / "master.log";
    return paths;
  }

  void write_config(const std::vector<int>& ports) { dir.write("haproxy.cfg", test_config(dir.path(), ports)); }

  std::string log() const {
    std::ifstream in(paths.master_log);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

}  // namespace berth::haproxy::testenv
