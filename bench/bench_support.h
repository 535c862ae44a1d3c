// What the benchmarks share: percentiles, rounding, the HAProxy version for the JSON lines, and
// a process's memory from /proc.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace berth::bench {

// Nearest rank.
inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

inline double round3(double v) { return std::round(v * 1000) / 1000; }

// The first line of `<binary> <flag>`, stdout or stderr (nginx -v prints to stderr).
inline std::string version_line(const std::string& binary, const std::string& flag) {
  auto result = berth::testing::run_command({binary, flag}, std::chrono::seconds(10));
  if (!result) return "unknown";
  const std::string& text = result->out.empty() ? result->err : result->out;
  return text.substr(0, text.find('\n'));
}

inline std::string haproxy_version() { return version_line("/usr/sbin/haproxy", "-v"); }

// A field of /proc/<pid>/status in kB (VmRSS, VmHWM), or -1.
inline long proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

}  // namespace berth::bench
