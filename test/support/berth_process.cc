#include "support/berth_process.h"

#include <fstream>
#include <sstream>
#include <thread>

#include "common/clock.h"

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

BerthProcess::BerthProcess(std::vector<std::string> args) : args_(std::move(args)) {}

BerthProcess::~BerthProcess() { kill(); }

Result<void> BerthProcess::start() {
  if (child_ && child_->running()) return make_error(ErrorCode::kInvalidArgument, "berth is already running");
  // The shell only redirects and then becomes berth (exec), so the PID is berth's own.
  std::string command = "exec " + shell_quote(BERTH_BIN);
  for (const std::string& arg : args_) command += " " + shell_quote(arg);
  command += " >>" + shell_quote((dir_.path() / "berth.log").string()) + " 2>&1";
  auto child = ChildProcess::spawn({"/bin/sh", "-c", command});
  if (!child) return std::unexpected(child.error());
  child_ = std::move(*child);
  return {};
}

void BerthProcess::kill() {
  if (child_) child_->kill();
}

Result<int> BerthProcess::stop(std::chrono::milliseconds grace) {
  if (!child_) return make_error(ErrorCode::kInvalidArgument, "berth was not started");
  return child_->stop(grace);
}

bool BerthProcess::running() { return child_ && child_->running(); }

std::string BerthProcess::log() const {
  std::ifstream in(dir_.path() / "berth.log");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::size_t BerthProcess::count_in_log(const std::string& text) const {
  const std::string all = log();
  std::size_t n = 0;
  for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size())) ++n;
  return n;
}

Result<void> BerthProcess::wait_for_log(const std::string& text, std::chrono::milliseconds timeout,
                                        std::size_t times) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (count_in_log(text) >= times) return {};
    if (!running()) return make_error(ErrorCode::kIo, "berth exited before logging \"" + text + "\"");
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(ErrorCode::kTimeout, "berth did not log \"" + text + "\" in time");
    }
    // Polling a file: there is nothing to wait on but time. Bounded by the deadline above.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace berth::testing
