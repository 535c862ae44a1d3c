#include "support/echo_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

namespace berth::testing {
namespace {

bool fill_address(const std::string& address, int port, sockaddr_storage& storage, socklen_t& length) {
  std::memset(&storage, 0, sizeof storage);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

}  // namespace

EchoServer::EchoServer(std::string name, std::string address) : name_(std::move(name)) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (!fill_address(address, 0, storage, length)) return;
  int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 || ::listen(fd, 1024) != 0) {
    ::close(fd);
    return;
  }
  length = sizeof storage;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  port_ = storage.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port)
                                       : ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  listen_fd_ = fd;
  thread_ = std::jthread([this](std::stop_token stop) { serve(stop); });
}

EchoServer::~EchoServer() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void EchoServer::serve(std::stop_token stop) {
  std::map<int, std::string> clients;  // fd → bytes not yet echoed
  const std::string greeting = name_ + "\n";
  while (!stop.stop_requested()) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    for (const auto& [fd, pending] : clients) {
      fds.push_back({fd, static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0});
    }
    // A short timeout only so that a stop request is seen; readiness drives everything else.
    if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      while (true) {
        int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (client < 0) break;
        ++accepted_;
        ++open_;
        clients[client] = greeting;
      }
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      const int fd = fds[i].fd;
      std::string& pending = clients[fd];
      bool closed = (fds[i].revents & (POLLERR | POLLHUP)) != 0 && (fds[i].revents & POLLIN) == 0;
      if (fds[i].revents & POLLIN) {
        char buffer[16384];
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) {
          pending.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          closed = true;
        }
      }
      if (!closed && !pending.empty()) {
        ssize_t n = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL);
        if (n > 0) {
          pending.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          closed = true;
        }
      }
      if (closed) {
        ::close(fd);
        clients.erase(fd);
        --open_;
      }
    }
  }
  for (const auto& [fd, pending] : clients) ::close(fd);
}

Result<std::unique_ptr<TcpClient>> TcpClient::connect(const std::string& address, int port,
                                                      std::chrono::milliseconds timeout) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (!fill_address(address, port, storage, length)) {
    return make_error(ErrorCode::kInvalidArgument, "not an address: " + address);
  }
  int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error(ErrorCode::kIo, std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 && errno != EINPROGRESS) {
    int err = errno;
    ::close(fd);
    return make_error(ErrorCode::kTransport, std::string("connect: ") + std::strerror(err));
  }
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
    ::close(fd);
    return make_error(ErrorCode::kTimeout, "connect timed out");
  }
  int err = 0;
  socklen_t err_length = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_length);
  if (err != 0) {
    ::close(fd);
    return make_error(ErrorCode::kTransport, std::string("connect: ") + std::strerror(err));
  }
  return std::unique_ptr<TcpClient>(new TcpClient(fd));
}

TcpClient::~TcpClient() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> TcpClient::send(std::string_view data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    if (n <= 0) return make_error(ErrorCode::kTransport, std::string("send: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Result<std::string> TcpClient::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return make_error(ErrorCode::kTimeout, "no line in time");
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) != 1) continue;
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0) return make_error(ErrorCode::kIo, "connection closed by the peer");
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return make_error(ErrorCode::kIo, std::string("recv: ") + std::strerror(errno));
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

bool TcpClient::round_trip(const std::string& text, std::chrono::milliseconds timeout) {
  if (!send(text + "\n")) return false;
  auto line = read_line(timeout);
  return line && *line == text;
}

Result<std::unique_ptr<TcpClient>> session_with(const std::string& address, int port, const std::string& name,
                                                std::chrono::milliseconds timeout) {
  auto client = TcpClient::connect(address, port, timeout);
  if (!client) return std::unexpected(client.error());
  auto greeting = (*client)->read_line(timeout);
  if (!greeting) return std::unexpected(greeting.error());
  if (*greeting != name) return make_error(ErrorCode::kInvalid, "greeted by \"" + *greeting + "\", not \"" + name + "\"");
  return std::move(*client);
}

Result<std::string> greeting_at(const std::string& address, int port, std::chrono::milliseconds timeout) {
  auto client = TcpClient::connect(address, port, timeout);
  if (!client) return std::unexpected(client.error());
  return (*client)->read_line(timeout);
}

}  // namespace berth::testing
