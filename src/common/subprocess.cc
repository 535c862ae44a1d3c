#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include <fmt/format.h>

namespace berth {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The fd a child reports a failed exec (or fork) through; CLOEXEC, so a successful exec closes
// it and the parent reads end of file.
constexpr int kStatusFd = 3;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string errno_text(int error) { return std::strerror(error); }

// Every fd the child rearranges must lie above 0..2 (and above kStatusFd), so a dup2() onto a
// standard stream can never overwrite another one it still needs; a caller that runs with a
// standard stream closed would otherwise get one back from pipe() or open(). Takes ownership.
Result<Fd> above_reserved(int fd, std::string_view what) {
  if (fd < 0) return make_error(ErrorCode::kIo, fmt::format("{}: {}", what, errno_text(errno)));
  if (fd > kStatusFd) return Fd(fd);
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, kStatusFd + 1);
  int error = errno;
  ::close(fd);
  if (moved < 0) return make_error(ErrorCode::kIo, fmt::format("{}: {}", what, errno_text(error)));
  return Fd(moved);
}

struct Pipe {
  Fd read;
  Fd write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return make_error(ErrorCode::kIo, "pipe: " + errno_text(errno));
  auto read_end = above_reserved(fds[0], "pipe");
  if (!read_end) {
    ::close(fds[1]);
    return std::unexpected(read_end.error());
  }
  auto write_end = above_reserved(fds[1], "pipe");
  if (!write_end) return std::unexpected(write_end.error());
  return Pipe{std::move(*read_end), std::move(*write_end)};
}

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

void write_status(int tag, int value) {
  // Two ints, far below PIPE_BUF: one atomic write, so messages from the intermediate child and
  // the grandchild never interleave.
  int message[2] = {tag, value};
  while (::write(kStatusFd, message, sizeof message) < 0 && errno == EINTR) {
  }
}

// In a freshly forked child, before exec: async-signal-safe calls only. Makes stdin, stdout and
// stderr the given fds, the status pipe fd 3, and closes everything else.
void become_exec_child(int stdin_fd, int output_fd, int status_fd) {
  ::dup2(stdin_fd, STDIN_FILENO);
  ::dup2(output_fd, STDOUT_FILENO);
  ::dup2(output_fd, STDERR_FILENO);
  ::dup2(status_fd, kStatusFd);
  ::fcntl(kStatusFd, F_SETFD, FD_CLOEXEC);
  if (::close_range(kStatusFd + 1, ~0U, 0) != 0) {
    rlimit limit{};
    int top = 65536;
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      top = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20));
    }
    for (int fd = kStatusFd + 1; fd < top; ++fd) ::close(fd);
  }
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return decode_status(status);
}

// Reads the status pipe to end of file: the messages children wrote before exec closed it.
std::vector<std::pair<int, int>> read_status_messages(int fd) {
  std::vector<std::pair<int, int>> messages;
  std::string buffer;
  char chunk[64];
  while (true) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  for (std::size_t at = 0; at + 2 * sizeof(int) <= buffer.size(); at += 2 * sizeof(int)) {
    int message[2];
    std::memcpy(message, buffer.data() + at, sizeof message);
    messages.emplace_back(message[0], message[1]);
  }
  return messages;
}

int remaining_ms(SteadyClock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

Result<Fd> open_dev_null() {
  return above_reserved(::open("/dev/null", O_RDONLY | O_CLOEXEC), "open /dev/null");
}

}  // namespace

Result<ProcessOutput> run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                  std::stop_token stop) {
  if (argv.empty()) return make_error(ErrorCode::kInvalidArgument, "run_process: empty argv");
  const auto deadline = SteadyClock::now() + timeout;
  auto dev_null = open_dev_null();
  if (!dev_null) return std::unexpected(dev_null.error());
  auto output_pipe = make_pipe();
  if (!output_pipe) return std::unexpected(output_pipe.error());
  auto status_pipe = make_pipe();
  if (!status_pipe) return std::unexpected(status_pipe.error());
  // A stop request wakes the poll below at once instead of at its next timeout.
  Fd stop_event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_event) return make_error(ErrorCode::kIo, "eventfd: " + errno_text(errno));
  auto args = c_argv(argv);

  const pid_t pid = ::fork();
  if (pid < 0) return make_error(ErrorCode::kIo, fmt::format("fork for {}: {}", argv[0], errno_text(errno)));
  if (pid == 0) {
    become_exec_child(dev_null->get(), output_pipe->write.get(), status_pipe->write.get());
    ::execv(args[0], args.data());
    write_status('e', errno);
    ::_exit(127);
  }
  output_pipe->write.reset();
  status_pipe->write.reset();
  for (auto [tag, value] : read_status_messages(status_pipe->read.get())) {
    if (tag == 'e') {
      reap(pid);
      return make_error(ErrorCode::kIo, fmt::format("cannot run {}: {}", argv[0], errno_text(value)));
    }
  }

  std::stop_callback on_stop(stop, [fd = stop_event.get()] {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
  });
  // The raw syscall: glibc 2.36's <sys/pidfd.h> declares pidfd_open without extern "C".
  Fd process_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  ::fcntl(output_pipe->read.get(), F_SETFL, O_NONBLOCK);

  ProcessOutput result;
  bool output_open = true;
  std::optional<int> exit_code;
  auto read_available = [&] {
    char chunk[8192];
    while (output_open) {
      ssize_t n = ::read(output_pipe->read.get(), chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;  // EAGAIN: nothing more for now
      if (n == 0) {
        output_open = false;
        return;
      }
      std::size_t room = kMaxProcessOutput - std::min(kMaxProcessOutput, result.output.size());
      result.output.append(chunk, std::min(room, static_cast<std::size_t>(n)));
    }
  };
  auto check_exit = [&] {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) exit_code = decode_status(status);
  };

  // Done when the child has exited and its output is drained. Output still open after the exit
  // (a grandchild kept the pipe) is not waited for: what is in the pipe now is all we take.
  while (!exit_code) {
    pollfd fds[3];
    nfds_t count = 0;
    fds[count++] = {stop_event.get(), POLLIN, 0};
    if (output_open) fds[count++] = {output_pipe->read.get(), POLLIN, 0};
    if (process_fd) fds[count++] = {process_fd.get(), POLLIN, 0};
    // Without a pidfd (an old kernel) the exit is noticed by polling waitpid every 10 ms.
    int wait_ms = remaining_ms(deadline);
    if (!process_fd) wait_ms = std::min(wait_ms, 10);
    int ready = ::poll(fds, count, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    if (stop.stop_requested() || SteadyClock::now() >= deadline) break;
    read_available();
    check_exit();
  }
  if (!exit_code) {
    ::kill(pid, SIGKILL);
    reap(pid);
    read_available();
    const bool cancelled = stop.stop_requested();
    return make_error(cancelled ? ErrorCode::kCancelled : ErrorCode::kTimeout,
                      fmt::format("{} {} and was killed; output: {}", argv[0],
                                  cancelled ? "was cancelled" : fmt::format("ran longer than {} ms", timeout.count()),
                                  result.output));
  }
  read_available();
  result.exit_code = *exit_code;
  return result;
}

Result<pid_t> spawn_detached(const std::vector<std::string>& argv, const std::filesystem::path& log_file) {
  if (argv.empty()) return make_error(ErrorCode::kInvalidArgument, "spawn_detached: empty argv");
  auto log = above_reserved(::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644),
                            fmt::format("open {}", log_file.string()));
  if (!log) return std::unexpected(log.error());
  auto dev_null = open_dev_null();
  if (!dev_null) return std::unexpected(dev_null.error());
  auto status_pipe = make_pipe();
  if (!status_pipe) return std::unexpected(status_pipe.error());
  auto args = c_argv(argv);

  const pid_t intermediate = ::fork();
  if (intermediate < 0) {
    return make_error(ErrorCode::kIo, fmt::format("fork for {}: {}", argv[0], errno_text(errno)));
  }
  if (intermediate == 0) {
    // A new session: no controlling terminal, and a signal to our process group (a Ctrl-C, a
    // supervisor killing the group) does not reach the program.
    ::setsid();
    ::dup2(status_pipe->write.get(), kStatusFd);
    const pid_t program = ::fork();
    if (program < 0) {
      write_status('f', errno);
      ::_exit(1);
    }
    if (program == 0) {
      become_exec_child(dev_null->get(), log->get(), status_pipe->write.get());
      ::execv(args[0], args.data());
      write_status('e', errno);
      ::_exit(127);
    }
    write_status('p', program);
    ::_exit(0);
  }
  status_pipe->write.reset();
  // End of file comes once the intermediate child has exited and the program has exec'd (or
  // died), so this read is as short as a fork and an exec.
  auto messages = read_status_messages(status_pipe->read.get());
  reap(intermediate);
  std::optional<pid_t> program;
  for (auto [tag, value] : messages) {
    if (tag == 'f') return make_error(ErrorCode::kIo, fmt::format("fork for {}: {}", argv[0], errno_text(value)));
    if (tag == 'e') return make_error(ErrorCode::kIo, fmt::format("cannot run {}: {}", argv[0], errno_text(value)));
    if (tag == 'p') program = value;
  }
  if (!program) return make_error(ErrorCode::kIo, fmt::format("starting {}: the intermediate child died", argv[0]));
  return *program;
}

bool process_running(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat_file(fmt::format("/proc/{}/stat", pid));
  std::stringstream text;
  text << stat_file.rdbuf();
  const std::string stat = text.str();
  // "<pid> (<comm>) <state> ...": comm may hold blanks and parentheses, so look after the last ')'.
  const auto close = stat.rfind(')');
  // Unreadable (another user's process without /proc access): kill() said it exists.
  if (close == std::string::npos || close + 2 >= stat.size()) return true;
  const char state = stat[close + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace berth
