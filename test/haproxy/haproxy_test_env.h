// What the tests against a real HAProxy share: free loopback ports, a TCP echo server to stand
// behind HAProxy, a client that can hold a connection open, and an environment (a TempDir with
// the config, master socket, pid file and log; a MasterSocket; a HaproxyMaster; the guard that
// stops every HAProxy process it saw, by PID, when the test ends).
//
// Every wait is bounded by a deadline; nothing here sleeps to synchronise.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/error.h"
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

// Echoes every byte back, on any number of connections, from one thread; stops (closing every
// connection) when destroyed.
class EchoServer {
 public:
  EchoServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = loopback(0);
    socklen_t length = sizeof address;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(listen_fd_, 64);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::jthread([this] { run(); });
  }
  ~EchoServer() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
    ::close(stop_fd_);
    ::close(listen_fd_);
  }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  int port() const { return port_; }

 private:
  void run() {
    std::vector<int> clients;
    while (true) {
      std::vector<pollfd> fds = {{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (int c : clients) fds.push_back({c, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents) break;
      if (fds[1].revents & POLLIN) {
        const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) clients.push_back(c);
      }
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        char buffer[4096];
        const ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
        if (n > 0 && ::send(fds[i].fd, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL) == n) continue;
        ::close(fds[i].fd);
        std::erase(clients, fds[i].fd);
      }
    }
    for (int c : clients) ::close(c);
  }

  int listen_fd_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
  std::jthread thread_;
};

// One TCP connection to 127.0.0.1:<port>, kept open until destroyed.
class TcpClient {
 public:
  explicit TcpClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address = loopback(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~TcpClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  // Sends `text` and reads back as many bytes (an echo); kTransport naming what went wrong.
  Result<std::string> exchange(std::string_view text) {
    if (!connected_) return make_error(ErrorCode::kTransport, "not connected");
    if (::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size())) {
      return make_error(ErrorCode::kTransport, fmt::format("send: {}", std::strerror(errno)));
    }
    std::string answer;
    while (answer.size() < text.size()) {
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n == 0) return make_error(ErrorCode::kTransport, fmt::format("closed after \"{}\"", answer));
      if (n < 0) return make_error(ErrorCode::kTransport, fmt::format("recv: {}", std::strerror(errno)));
      answer.append(buffer, static_cast<std::size_t>(n));
    }
    return answer;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// One echo round trip on a new connection.
inline Result<std::string> echo_through(int port, std::string_view text) {
  TcpClient client(port);
  return client.exchange(text);
}

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
