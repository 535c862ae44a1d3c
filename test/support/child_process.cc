#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

namespace berth::testing {
namespace {

using Clock = std::chrono::steady_clock;

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(const std::vector<std::string>& argv, Options options) {
  if (argv.empty()) return make_error(ErrorCode::kInvalidArgument, "empty argv");
  int out[2];
  int err[2] = {-1, -1};
  int in[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return make_error(ErrorCode::kIo, std::string("pipe: ") + std::strerror(errno));
  if (options.pipe_stderr && ::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return make_error(ErrorCode::kIo, std::string("pipe: ") + std::strerror(errno));
  }
  if (::pipe2(in, O_CLOEXEC) != 0) {
    for (int fd : {out[0], out[1], err[0], err[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return make_error(ErrorCode::kIo, std::string("pipe: ") + std::strerror(errno));
  }

  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return make_error(ErrorCode::kIo, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    if (err[1] >= 0) ::dup2(err[1], STDERR_FILENO);
    // The test process may block signals (gtest does not, but a harness might).
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  if (err[1] >= 0) ::close(err[1]);

  // Small inputs (manifests) fit the pipe buffer, so writing before reading cannot deadlock.
  std::size_t done = 0;
  while (done < options.stdin_data.size()) {
    ssize_t n = ::write(in[1], options.stdin_data.data() + done, options.stdin_data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (!options.keep_stdin_open) ::close(in[1]);

  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = pid;
  child->out_fd_ = out[0];
  child->err_fd_ = err[0];
  if (options.keep_stdin_open) child->in_fd_ = in[1];
  return child;
}

ChildProcess::~ChildProcess() {
  close_fd(in_fd_);
  if (pid_ > 0 && !exit_status_) kill();
  close_fd(out_fd_);
  close_fd(err_fd_);
}

Result<void> ChildProcess::write_stdin(std::string_view text) {
  if (in_fd_ < 0) return make_error(ErrorCode::kIo, "stdin is not open");
  std::size_t done = 0;
  while (done < text.size()) {
    // MSG_NOSIGNAL does not apply to pipes; a closed reader gives EPIPE because the test
    // binary ignores SIGPIPE (gtest_main does not, so send() would kill it: write() with the
    // signal blocked for this thread instead).
    sigset_t pipe_only, old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    ssize_t n = ::write(in_fd_, text.data() + done, text.size() - done);
    const int saved = errno;
    if (n < 0 && saved == EPIPE) {
      // Consume the pending SIGPIPE before unblocking, so it is never delivered.
      timespec zero{0, 0};
      ::sigtimedwait(&pipe_only, nullptr, &zero);
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (n < 0 && saved == EINTR) continue;
    if (n <= 0) return make_error(ErrorCode::kIo, std::string("write to stdin: ") + std::strerror(saved));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

void ChildProcess::close_stdin() { close_fd(in_fd_); }

bool ChildProcess::running() {
  if (exit_status_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = decode_status(status);
    return false;
  }
  return true;
}

Result<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (auto nl = out_buffer_.find('\n'); nl != std::string::npos) {
      std::string line = out_buffer_.substr(0, nl);
      out_buffer_.erase(0, nl + 1);
      return line;
    }
    if (out_fd_ < 0) {
      if (!out_buffer_.empty()) return std::exchange(out_buffer_, {});
      return make_error(ErrorCode::kIo, "end of output");
    }
    pollfd p{out_fd_, POLLIN, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return make_error(ErrorCode::kTimeout, "no line within the timeout");
    char buf[4096];
    ssize_t got = ::read(out_fd_, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      close_fd(out_fd_);
      continue;
    }
    out_buffer_.append(buf, static_cast<std::size_t>(got));
  }
}

ChildProcess::Output ChildProcess::drain(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  Output output;
  output.out = std::exchange(out_buffer_, {});
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    pollfd fds[2];
    int count = 0;
    if (out_fd_ >= 0) fds[count++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) fds[count++] = {err_fd_, POLLIN, 0};
    int n = ::poll(fds, static_cast<nfds_t>(count), remaining_ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (int i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      char buf[8192];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      bool is_out = fds[i].fd == out_fd_;
      if (got <= 0) {
        close_fd(is_out ? out_fd_ : err_fd_);
        continue;
      }
      (is_out ? output.out : output.err).append(buf, static_cast<std::size_t>(got));
    }
  }
  return output;
}

Result<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return make_error(ErrorCode::kTimeout, "process still running");
    // Polling a child's exit: there is no waitpid with a timeout (pidfd would need Linux 5.3
    // headers and glibc support we cannot assume).
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return *exit_status_;
}

Result<int> ChildProcess::stop(std::chrono::milliseconds grace, int signal) {
  if (!running()) return *exit_status_;
  ::kill(pid_, signal);
  if (auto status = wait(grace)) return status;
  kill();
  return make_error(ErrorCode::kTimeout, std::string("process ignored ") + ::sigabbrev_np(signal) + " and was killed");
}

void ChildProcess::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_status_ = decode_status(status);
}

Result<CommandResult> run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                  std::string stdin_data) {
  auto deadline = Clock::now() + timeout;
  auto child = ChildProcess::spawn(argv, {.pipe_stderr = true, .stdin_data = std::move(stdin_data)});
  if (!child) return std::unexpected(child.error());
  CommandResult result;
  auto output = (*child)->drain(timeout);
  result.out = std::move(output.out);
  result.err = std::move(output.err);
  auto code = (*child)->wait(std::chrono::milliseconds(remaining_ms(deadline)));
  if (!code) {
    (*child)->kill();
    return make_error(ErrorCode::kTimeout, argv[0] + " did not finish in time; output: " + result.out + result.err);
  }
  result.exit_code = *code;
  return result;
}

}  // namespace berth::testing
