#include "haproxy/master_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <fmt/format.h>

namespace berth::haproxy {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A `show servers state` of 20,000 slots is about 2 MB; anything near this is not an answer.
constexpr std::size_t kMaxAnswer = 64 * 1024 * 1024;

constexpr std::string_view kUnknownPid = "Can't find the target PID";

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Result<void> check_command(std::string_view command) {
  if (command.empty()) return make_error(ErrorCode::kInvalidArgument, "empty master CLI command");
  if (command.find_first_of("\n\r;") != std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("master CLI command holds a newline or ';': \"{}\"", command));
  }
  return {};
}

int remaining_ms(SteadyClock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

// The answer to one command: everything before its terminating empty line. nullopt when the
// text does not end with one (the master cut the session short).
std::optional<std::string> without_terminator(std::string_view text) {
  if (text == "\n") return std::string();
  if (text.ends_with("\n\n")) return std::string(text.substr(0, text.size() - 1));
  return std::nullopt;
}

struct Split {
  std::vector<std::string> answers;
  std::string_view rest;  // text after the last empty line: an answer cut short
};

Split split_answers(std::string_view output) {
  Split split;
  std::string current;
  std::size_t at = 0;
  while (at < output.size()) {
    const auto newline = output.find('\n', at);
    if (newline == std::string_view::npos) break;
    const auto line = output.substr(at, newline - at);
    at = newline + 1;
    if (line.empty()) {
      split.answers.push_back(std::move(current));
      current.clear();
    } else {
      current.append(line).push_back('\n');
    }
  }
  split.rest = output.substr(at - current.size());
  return split;
}

}  // namespace

MasterSocket::MasterSocket(std::filesystem::path socket_path, std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)), timeout_(timeout) {}

Result<std::string> MasterSocket::to_master(std::string_view command) {
  if (auto valid = check_command(command); !valid) return std::unexpected(valid.error());
  auto output = exchange(fmt::format("{}\n", command));
  if (!output) return output;
  if (output->empty()) return output;  // `reload`
  auto answer = without_terminator(*output);
  if (!answer) {
    return make_error(ErrorCode::kTransport,
                      fmt::format("the master cut its answer to \"{}\" short: \"{}\"", command, *output));
  }
  return *answer;
}

Result<std::vector<std::string>> MasterSocket::to_worker(int pid, std::span<const std::string> commands) {
  for (const auto& command : commands) {
    if (auto valid = check_command(command); !valid) return std::unexpected(valid.error());
  }
  if (commands.empty()) return std::vector<std::string>{};
  std::string request;
  for (const auto& command : commands) request += fmt::format("@!{} {}\n", pid, command);
  auto output = exchange(request);
  if (!output) return std::unexpected(output.error());

  const auto unknown = output->find(kUnknownPid);
  if (unknown != std::string::npos && (unknown == 0 || (*output)[unknown - 1] == '\n')) {
    auto end = output->find('\n', unknown);
    return make_error(ErrorCode::kNotFound, output->substr(unknown, end == std::string::npos ? end : end - unknown));
  }
  if (commands.size() == 1) {
    auto answer = without_terminator(*output);
    if (!answer) {
      return make_error(ErrorCode::kTransport,
                        fmt::format("worker {} cut its answer to \"{}\" short: \"{}\"", pid, commands[0], *output));
    }
    return std::vector<std::string>{std::move(*answer)};
  }
  auto split = split_answers(*output);
  if (split.answers.size() > commands.size()) {
    return make_error(ErrorCode::kParse,
                      fmt::format("worker {} gave {} answers to {} commands: an answer holds an empty line", pid,
                                  split.answers.size(), commands.size()));
  }
  if (split.answers.size() < commands.size() || !split.rest.empty()) {
    return make_error(ErrorCode::kTransport, fmt::format("worker {} answered {} of {} commands before the session ended",
                                                         pid, split.answers.size(), commands.size()));
  }
  return std::move(split.answers);
}

Result<std::string> MasterSocket::exchange(std::string_view request) {
  const auto deadline = SteadyClock::now() + timeout_;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = socket_path_.string();
  if (path.size() >= sizeof address.sun_path) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("master socket path is longer than {} bytes: {}", sizeof address.sun_path - 1, path));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  Socket socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (socket.get() < 0) return make_error(ErrorCode::kIo, fmt::format("socket: {}", std::strerror(errno)));
  // A Unix-socket connect blocks only while the listen backlog is full; SO_SNDTIMEO bounds it.
  const auto connect_ms = std::max(1, remaining_ms(deadline));
  timeval connect_timeout{connect_ms / 1000, (connect_ms % 1000) * 1000};
  ::setsockopt(socket.get(), SOL_SOCKET, SO_SNDTIMEO, &connect_timeout, sizeof connect_timeout);
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    if (error == EAGAIN || error == EINPROGRESS) {
      return make_error(ErrorCode::kTimeout, fmt::format("connect {}: the master's backlog stayed full", path));
    }
    return make_error(ErrorCode::kTransport, fmt::format("connect {}: {}", path, std::strerror(error)));
  }
  ::fcntl(socket.get(), F_SETFL, ::fcntl(socket.get(), F_GETFL) | O_NONBLOCK);

  std::string answer;
  std::size_t written = 0;
  bool writing = true;
  while (true) {
    pollfd p{socket.get(), static_cast<short>(POLLIN | (writing ? POLLOUT : 0)), 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return make_error(ErrorCode::kIo, fmt::format("poll: {}", std::strerror(errno)));
    if (ready == 0) {
      return make_error(ErrorCode::kTimeout, fmt::format("the master on {} did not answer within {} ms", path,
                                                         timeout_.count()));
    }
    if (writing && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = ::send(socket.get(), request.data() + written, request.size() - written, MSG_NOSIGNAL);
      if (n > 0) written += static_cast<std::size_t>(n);
      // EPIPE: the master closed early (an unknown "@!<pid>"); what it said is still to be read.
      if (n < 0 && errno != EAGAIN && errno != EINTR && errno != EPIPE) {
        return make_error(ErrorCode::kTransport, fmt::format("send to {}: {}", path, std::strerror(errno)));
      }
      if (written == request.size() || (n < 0 && errno == EPIPE)) {
        writing = false;
        ::shutdown(socket.get(), SHUT_WR);
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char chunk[16384];
      const ssize_t n = ::recv(socket.get(), chunk, sizeof chunk, 0);
      if (n == 0) return answer;
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return make_error(ErrorCode::kTransport, fmt::format("recv from {}: {}", path, std::strerror(errno)));
      }
      if (n > 0) answer.append(chunk, static_cast<std::size_t>(n));
      if (answer.size() > kMaxAnswer) {
        return make_error(ErrorCode::kParse, fmt::format("the master's answer on {} exceeds {} bytes", path, kMaxAnswer));
      }
    }
  }
}

}  // namespace berth::haproxy
