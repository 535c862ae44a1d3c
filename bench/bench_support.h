// What the benchmarks share: percentiles, rounding, the HAProxy version for the JSON lines, a
// process's memory from /proc, and the times of berth's log lines.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
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

// Proportional set size (shared pages split among their sharers) in kB, from smaps_rollup, or -1.
inline long pss_kb(pid_t pid) {
  std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line;
  while (std::getline(rollup, line)) {
    if (line.rfind("Pss:", 0) == 0) return std::stol(line.substr(4));
  }
  return -1;
}

// berth's log lines ("I1201 20:14:57.407112 allocator] ..."), each with its local time of day
// in seconds, to split a latency into what berth did when.
struct LogLine {
  double time_of_day = 0;
  std::string text;
};

inline std::vector<LogLine> log_lines(const std::string& log) {
  std::vector<LogLine> out;
  std::size_t at = 0;
  while (at < log.size()) {
    const auto end = std::min(log.find('\n', at), log.size());
    const std::string line = log.substr(at, end - at);
    at = end + 1;
    int h = 0, m = 0;
    double sec = 0;
    if (line.size() > 22 && std::sscanf(line.c_str() + 6, "%2d:%2d:%lf", &h, &m, &sec) == 3) {
      out.push_back({h * 3600.0 + m * 60.0 + sec, line});
    }
  }
  return out;
}

// `t` as a local time of day in seconds, as berth's log writes it.
inline double time_of_day(std::chrono::system_clock::time_point t) {
  const std::time_t whole = std::chrono::system_clock::to_time_t(t);
  std::tm local{};
  localtime_r(&whole, &local);
  const double fraction = std::chrono::duration<double>(t - std::chrono::system_clock::from_time_t(whole)).count();
  return local.tm_hour * 3600.0 + local.tm_min * 60.0 + local.tm_sec + fraction;
}

// Milliseconds from `from` to `to`, both times of day (a run that crosses midnight wraps).
inline double ms_between(double from, double to) {
  double d = to - from;
  if (d < -43200) d += 86400;
  return d * 1000;
}

}  // namespace berth::bench
