// MasterSocket's framing and failure paths against a scripted Unix-socket server; the same
// class against the real master is in haproxy_master_test.cc.
#include "haproxy/master_socket.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace berth::haproxy {
namespace {

using namespace std::chrono_literals;

// Accepts connections one at a time, reads each request to end of file (the client's
// shutdown), and writes back what `reply` says — or, for nullopt, nothing, holding the
// connection open until the server is destroyed.
class ScriptedMasterServer {
 public:
  using Reply = std::function<std::optional<std::string>(const std::string& request)>;

  ScriptedMasterServer(const std::filesystem::path& path, Reply reply) : reply_(std::move(reply)) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(listen_fd_, 8);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::jthread([this] { run(); });
  }
  ~ScriptedMasterServer() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
    ::close(stop_fd_);
    ::close(listen_fd_);
  }

  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  // Waits until `fd` is readable; false when the server is stopping.
  bool wait_readable(int fd) {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {fd, POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0) {
    }
    return fds[0].revents == 0;
  }

  void run() {
    while (wait_readable(listen_fd_)) {
      const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string request;
      char buffer[4096];
      bool stopping = false;
      while (true) {
        if (!wait_readable(c)) {
          stopping = true;
          break;
        }
        const ssize_t n = ::recv(c, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      {
        std::lock_guard lock(mu_);
        requests_.push_back(request);
      }
      auto answer = stopping ? std::optional<std::string>() : reply_(request);
      if (answer) {
        [[maybe_unused]] auto n = ::send(c, answer->data(), answer->size(), MSG_NOSIGNAL);
      } else if (!stopping) {
        pollfd stop{stop_fd_, POLLIN, 0};  // hold the connection open until stopped
        while (::poll(&stop, 1, -1) < 0) {
        }
        ::close(c);
        return;
      }
      ::close(c);
    }
  }

  Reply reply_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  std::jthread thread_;
};

class MasterSocketTest : public ::testing::Test {
 protected:
  std::filesystem::path socket_path() const { return dir_.path() / "m.sock"; }
  testing::TempDir dir_;
};

TEST_F(MasterSocketTest, PrefixesEachCommandAndSplitsTheAnswersAtEmptyLines) {
  ScriptedMasterServer server(socket_path(), [](const std::string&) { return "first\n\n\nthird 1\nthird 2\n\n"; });
  MasterSocket cli(socket_path(), 2s);
  auto answers = cli.to_worker(42, std::vector<std::string>{"set server a/s1 addr 10.0.0.1 port 80",
                                                            "set server a/s1 state ready", "show servers state a"});
  ASSERT_TRUE(answers) << answers.error().describe();
  EXPECT_EQ(*answers, (std::vector<std::string>{"first\n", "", "third 1\nthird 2\n"}));
  EXPECT_EQ(server.requests(),
            std::vector<std::string>{"@!42 set server a/s1 addr 10.0.0.1 port 80\n@!42 set server a/s1 state ready\n"
                                     "@!42 show servers state a\n"});
}

TEST_F(MasterSocketTest, ToMasterReturnsTheAnswerWithoutItsTerminator) {
  ScriptedMasterServer server(socket_path(), [](const std::string& request) {
    return request == "reload\n" ? std::string() : std::string("#<PID> ...\n# programs\n\n");
  });
  MasterSocket cli(socket_path(), 2s);
  auto proc = cli.to_master("show proc");
  ASSERT_TRUE(proc) << proc.error().describe();
  EXPECT_EQ(*proc, "#<PID> ...\n# programs\n");
  auto reload = cli.to_master("reload");
  ASSERT_TRUE(reload) << reload.error().describe();
  EXPECT_EQ(*reload, "");
  EXPECT_EQ(server.requests(), (std::vector<std::string>{"show proc\n", "reload\n"}));
}

TEST_F(MasterSocketTest, AnUnknownPidIsNotFoundWhereverTheMasterSaysSo) {
  ScriptedMasterServer server(socket_path(), [](const std::string&) {
    return "ok\n\nCan't find the target PID matching the prefix '@!7'\n";
  });
  MasterSocket cli(socket_path(), 2s);
  auto answers = cli.to_worker(7, std::vector<std::string>{"a", "b", "c"});
  ASSERT_FALSE(answers);
  EXPECT_EQ(answers.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(answers.error().message, "Can't find the target PID matching the prefix '@!7'");
}

TEST_F(MasterSocketTest, ACutOrAmbiguousSessionIsAnError) {
  std::string reply;
  ScriptedMasterServer server(socket_path(), [&](const std::string&) { return reply; });
  MasterSocket cli(socket_path(), 2s);
  const std::vector<std::string> two = {"a", "b"};

  reply = "only one\n\n";
  auto short_session = cli.to_worker(1, two);
  ASSERT_FALSE(short_session);
  EXPECT_EQ(short_session.error().code, ErrorCode::kTransport);
  EXPECT_NE(short_session.error().message.find("answered 1 of 2"), std::string::npos) << short_session.error().message;

  reply = "one\n\ntwo, cut";
  EXPECT_EQ(cli.to_worker(1, two).error().code, ErrorCode::kTransport);

  reply = "one\n\ntwo\n\nthree\n\n";
  EXPECT_EQ(cli.to_worker(1, two).error().code, ErrorCode::kParse);

  // Alone, a command's answer may hold empty lines: everything before the last one is its own.
  reply = "para 1\n\npara 2\n\n";
  auto alone = cli.to_worker(1, std::vector<std::string>{"show errors"});
  ASSERT_TRUE(alone) << alone.error().describe();
  EXPECT_EQ(*alone, std::vector<std::string>{"para 1\n\npara 2\n"});

  reply = "unterminated";
  EXPECT_EQ(cli.to_worker(1, std::vector<std::string>{"x"}).error().code, ErrorCode::kTransport);
  EXPECT_EQ(cli.to_master("show proc").error().code, ErrorCode::kTransport);
}

TEST_F(MasterSocketTest, RefusesCommandsThatCouldCarryAnotherWithoutConnecting) {
  ScriptedMasterServer server(socket_path(), [](const std::string&) { return "\n"; });
  MasterSocket cli(socket_path(), 2s);
  for (std::string bad : {"show info;reload", "show info\nreload", "show info\r", ""}) {
    auto to_worker = cli.to_worker(1, std::vector<std::string>{"fine", bad});
    ASSERT_FALSE(to_worker);
    EXPECT_EQ(to_worker.error().code, ErrorCode::kInvalidArgument);
    auto to_master = cli.to_master(bad);
    ASSERT_FALSE(to_master);
    EXPECT_EQ(to_master.error().code, ErrorCode::kInvalidArgument);
  }
  auto none = cli.to_worker(1, std::vector<std::string>{});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(MasterSocketTest, ASilentMasterTimesOut) {
  ScriptedMasterServer server(socket_path(), [](const std::string&) { return std::nullopt; });
  MasterSocket cli(socket_path(), 200ms);
  const auto begin = std::chrono::steady_clock::now();
  auto answer = cli.to_master("show proc");
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, ErrorCode::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

TEST_F(MasterSocketTest, NoMasterIsATransportErrorAndALongPathIsRefused) {
  MasterSocket missing(socket_path(), 1s);
  auto answer = missing.to_master("show proc");
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, ErrorCode::kTransport);
  EXPECT_NE(answer.error().message.find("No such file or directory"), std::string::npos) << answer.error().message;

  MasterSocket too_long(dir_.path() / std::string(120, 'x'), 1s);
  EXPECT_EQ(too_long.to_master("show proc").error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::haproxy
