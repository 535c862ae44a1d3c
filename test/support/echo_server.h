// A TCP server for data-plane tests, standing in for a database: listens on a loopback
// address (port 0: the kernel picks), greets every connection with "<name>\n" (so a test can
// tell which endpoint answered), then echoes what it receives. Connections stay open until the
// peer closes them or the server stops, like database sessions.
//
//   EchoServer db("db-1");                 // 127.0.0.1:<free port>
//   auto s = TcpClient::connect("127.0.0.1", db.port(), 2s);
//   s->read_line(2s) == "db-1"; s->send("ping\n"); s->read_line(2s) == "ping"
//
// Thread-safety: the accessors may be called from any thread; one thread serves.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/error.h"

namespace berth::testing {

class EchoServer {
 public:
  explicit EchoServer(std::string name, std::string address = "127.0.0.1");
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  int port() const { return port_; }
  const std::string& name() const { return name_; }
  std::size_t accepted() const { return accepted_.load(); }
  std::size_t open_connections() const { return open_.load(); }

 private:
  void serve(std::stop_token stop);

  std::string name_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<std::size_t> accepted_{0}, open_{0};
  std::jthread thread_;
};

// A blocking TCP client with deadlines, for talking through HAProxy.
class TcpClient {
 public:
  // kTransport (refused, reset) or kTimeout.
  static Result<std::unique_ptr<TcpClient>> connect(const std::string& address, int port,
                                                    std::chrono::milliseconds timeout);
  ~TcpClient();
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  Result<void> send(std::string_view data);
  // A line without its newline. kIo when the peer closed the connection, kTimeout.
  Result<std::string> read_line(std::chrono::milliseconds timeout);
  // send(text + "\n") and read the echoed line back; true when it came back unchanged.
  bool round_trip(const std::string& text, std::chrono::milliseconds timeout);

 private:
  explicit TcpClient(int fd) : fd_(fd) {}
  int fd_ = -1;
  std::string buffer_;
};

// Connects and reads the greeting; the open connection (a session held through HAProxy, say)
// when the greeting is `name`, else an error saying what answered.
Result<std::unique_ptr<TcpClient>> session_with(const std::string& address, int port, const std::string& name,
                                                std::chrono::milliseconds timeout);

// Connects, reads the greeting line and closes: which EchoServer answered on `port`, or the
// error (refused, closed at once by a listener with no server, timeout).
Result<std::string> greeting_at(const std::string& address, int port, std::chrono::milliseconds timeout);

}  // namespace berth::testing
