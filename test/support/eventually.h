// Waiting on another process that cannot notify us (the API server, a log file, a port):
// poll a real condition until it holds or a bounded deadline passes. A timeout only turns a
// hang into a failure; it never stands in for the condition.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace berth::testing {

// Calls `done` every `poll` until it returns true or `timeout` passes; returns its last answer.
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);  // polling another process: bounded by the deadline
  }
}

}  // namespace berth::testing
