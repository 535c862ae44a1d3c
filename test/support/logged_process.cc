#include "support/logged_process.h"

#include <fstream>
#include <sstream>
#include <thread>

namespace berth::testing {
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

LoggedProcess::LoggedProcess(std::string name, std::vector<std::string> argv, std::vector<std::string> launcher)
    : name_(std::move(name)), argv_(std::move(argv)), launcher_(std::move(launcher)) {}

LoggedProcess::~LoggedProcess() { kill(); }

Result<void> LoggedProcess::start() {
  if (child_ && child_->running()) return make_error(ErrorCode::kInvalidArgument, name_ + " is already running");
  // The shell only redirects and then becomes the launcher or the process (exec), and a
  // launcher execs the process in turn, so the PID is the process's own.
  std::string command = "exec";
  for (const std::string& arg : launcher_) command += " " + shell_quote(arg);
  for (const std::string& arg : argv_) command += " " + shell_quote(arg);
  command += " >>" + shell_quote((dir_.path() / "process.log").string()) + " 2>&1";
  auto child = ChildProcess::spawn({"/bin/sh", "-c", command});
  if (!child) return std::unexpected(child.error());
  child_ = std::move(*child);
  return {};
}

void LoggedProcess::kill() {
  if (child_) child_->kill();
}

Result<int> LoggedProcess::stop(std::chrono::milliseconds grace, int signal) {
  if (!child_) return make_error(ErrorCode::kInvalidArgument, name_ + " was not started");
  return child_->stop(grace, signal);
}

bool LoggedProcess::running() { return child_ && child_->running(); }

std::string LoggedProcess::log() const {
  std::ifstream in(dir_.path() / "process.log");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::size_t LoggedProcess::count_in_log(const std::string& text) const {
  const std::string all = log();
  std::size_t n = 0;
  for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size())) ++n;
  return n;
}

Result<void> LoggedProcess::wait_for_log(const std::string& text, std::chrono::milliseconds timeout,
                                         std::size_t times) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (count_in_log(text) >= times) return {};
    if (!running()) return make_error(ErrorCode::kIo, name_ + " exited before logging \"" + text + "\"");
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(ErrorCode::kTimeout, name_ + " did not log \"" + text + "\" in time");
    }
    // Polling a file: there is nothing to wait on but time. Bounded by the deadline above.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace berth::testing
