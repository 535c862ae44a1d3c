#include "haproxy/haproxy_master.h"

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/log.h"
#include "common/subprocess.h"

namespace berth::haproxy {
namespace {

using namespace std::chrono_literals;

// HAProxy sends no notification when a worker is up or a reload is done, and its master socket
// refuses connections for ~10 ms while it re-executes: `show proc` is polled at this interval.
constexpr auto kPollInterval = 10ms;
// A reload of 10,000 proxies logs a "Paused"/"Resumed" line for each: read at most this much of
// what was appended, and quote at most kMaxExcerpt characters of it in an error.
constexpr std::uintmax_t kMaxLogRead = 16 * 1024 * 1024;
constexpr std::size_t kMaxExcerpt = 4000;

std::uintmax_t file_size_or_zero(const std::filesystem::path& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

// What was appended to the log since `offset` (all of it, if the file was truncated since).
std::string log_since(const std::filesystem::path& path, std::uintmax_t offset) {
  const auto size = file_size_or_zero(path);
  if (size < offset) offset = 0;
  if (size - offset > kMaxLogRead) offset = size - kMaxLogRead;
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(std::move(line));
  }
  return lines;
}

// HAProxy's explanation in its output: its ALERT lines, which name the file, line and cause
// ("Binding [cfg:17] for frontend p26735: cannot bind socket (Address already in use) for
// [0.0.0.0:26735]"); when it printed none, its last few lines. One line, at most kMaxExcerpt.
std::string explain(std::string_view output) {
  auto lines = lines_of(output);
  std::vector<std::string> chosen;
  std::copy_if(lines.begin(), lines.end(), std::back_inserter(chosen),
               [](const std::string& line) { return line.starts_with("[ALERT]"); });
  if (chosen.empty()) {
    constexpr std::size_t kTail = 5;
    chosen.assign(lines.end() - static_cast<std::ptrdiff_t>(std::min(lines.size(), kTail)), lines.end());
  }
  if (chosen.empty()) return "(HAProxy printed nothing)";
  std::string text = fmt::format("{}", fmt::join(chosen, " | "));
  if (text.size() > kMaxExcerpt) text = text.substr(0, kMaxExcerpt) + " ...";
  return text;
}

long long elapsed_ms(Clock& clock, Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - since).count();
}

// Whether `pid` is a live (not zombie) process whose name is haproxy's: a pid reused by
// something else since is not the master.
bool runs_haproxy(int pid) {
  if (!process_running(pid)) return false;
  std::ifstream comm(fmt::format("/proc/{}/comm", pid));
  std::string name;
  std::getline(comm, name);
  return name.starts_with("haproxy");
}

}  // namespace

HaproxyMaster::HaproxyMaster(HaproxyPaths paths, MasterCli& cli, Clock& clock)
    : paths_(std::move(paths)), cli_(cli), clock_(clock) {}

Result<ProcessTable> HaproxyMaster::status() {
  auto answer = cli_.to_master("show proc");
  if (!answer) return std::unexpected(answer.error());
  auto table = parse_show_proc(*answer);
  if (table) {
    last_pid_ = table->master.pid;
    last_answer_ = clock_.now();
  }
  return table;
}

bool HaproxyMaster::taken_for_dead(Clock::duration patience) const {
  if (last_pid_ <= 0 || clock_.now() - last_answer_ >= patience) return true;
  return !runs_haproxy(last_pid_);
}

Result<ProcessTable> HaproxyMaster::start(std::chrono::milliseconds timeout, std::stop_token stop) {
  if (auto running = status()) {
    return make_error(ErrorCode::kAlreadyExists,
                      fmt::format("a master already answers on {} (pid {}); adopt it instead of starting another",
                                  paths_.master_socket.string(), running->master.pid));
  }
  // -S takes "<path>,<option>,...": a comma in the path would be read as an option.
  if (paths_.master_socket.string().find(',') != std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("the master socket path must not hold a comma: {}", paths_.master_socket.string()));
  }
  const auto begin = clock_.now();
  const auto deadline = begin + timeout;
  const auto log_offset = file_size_or_zero(paths_.master_log);
  const std::vector<std::string> argv = {paths_.binary,
                                         "-W",
                                         "-S",
                                         paths_.master_socket.string() + ",mode,600",
                                         "-f",
                                         paths_.config.string(),
                                         "-p",
                                         paths_.pid_file.string()};
  auto pid = spawn_detached(argv, paths_.master_log);
  if (!pid) return std::unexpected(pid.error());

  while (true) {
    auto table = status();
    if (table && table->current_worker() && table->master.pid != *pid) {
      // Someone else's master took the socket meanwhile (deploy/'s haproxy container, whose
      // berth starts none: its binary exits at once). Not ours to claim; adopt it instead.
      if (process_running(*pid)) ::kill(*pid, SIGTERM);
      return make_error(ErrorCode::kAlreadyExists,
                        fmt::format("a master started elsewhere (pid {}) answers on {}; adopt it instead",
                                    table->master.pid, paths_.master_socket.string()));
    }
    if (table && table->current_worker()) {
      logger("haproxy")->info("started master pid={} worker={} took_ms={}", table->master.pid,
                              *table->current_worker(), elapsed_ms(clock_, begin));
      return table;
    }
    if (!process_running(*pid)) {
      return make_error(ErrorCode::kInvalid,
                        fmt::format("haproxy exited while starting: {}", explain(log_since(paths_.master_log, log_offset))));
    }
    if (clock_.now() >= deadline) {
      // A master that has not brought up a worker in time is broken; it is ours, and left alone
      // it would hold the ports and the socket.
      ::kill(*pid, SIGTERM);
      return make_error(ErrorCode::kInvalid,
                        fmt::format("haproxy (pid {}) listed no worker within {} ms and was stopped: {}", *pid,
                                    timeout.count(), explain(log_since(paths_.master_log, log_offset))));
    }
    if (!clock_.sleep_for(kPollInterval, stop)) {
      return make_error(ErrorCode::kCancelled, fmt::format("start cancelled; haproxy (pid {}) left running", *pid));
    }
  }
}

Result<ProcessTable> HaproxyMaster::reload(std::chrono::milliseconds timeout, std::stop_token stop) {
  auto before = status();
  if (!before) return std::unexpected(before.error());
  const auto begin = clock_.now();
  const auto deadline = begin + timeout;
  const auto log_offset = file_size_or_zero(paths_.master_log);
  const auto previous_worker = before->current_worker();
  if (auto sent = cli_.to_master("reload"); !sent) return std::unexpected(sent.error());

  std::optional<Error> last_error;
  while (true) {
    if (!clock_.sleep_for(kPollInterval, stop)) {
      return make_error(ErrorCode::kCancelled, "cancelled while waiting for the reload's outcome");
    }
    auto table = status();
    if (table && table->master.reloads > before->master.reloads) {
      if (table->failed_reloads > 0) {
        auto why = explain(log_since(paths_.master_log, log_offset));
        logger("haproxy")->warn("reload refused worker={} reason=\"{}\"", previous_worker.value_or(0), why);
        return make_error(ErrorCode::kInvalid, fmt::format("haproxy refused the reload: {}", why));
      }
      auto current = table->current_worker();
      if (current && current != previous_worker) {
        logger("haproxy")->info("reloaded worker={} old_workers={} took_ms={}", *current, table->old_workers().size(),
                                elapsed_ms(clock_, begin));
        return table;
      }
      // Counted but the new worker is not listed yet: keep polling.
    } else if (!table) {
      // Refused connections while the master re-executes are expected; anything else is not.
      if (table.error().code != ErrorCode::kTransport && table.error().code != ErrorCode::kTimeout) {
        return std::unexpected(table.error());
      }
      last_error = table.error();
    }
    if (!process_running(before->master.pid)) {
      return make_error(ErrorCode::kTransport,
                        fmt::format("the haproxy master (pid {}) exited during the reload: {}", before->master.pid,
                                    explain(log_since(paths_.master_log, log_offset))));
    }
    if (clock_.now() >= deadline) {
      return make_error(ErrorCode::kTimeout,
                        fmt::format("no reload outcome within {} ms{}", timeout.count(),
                                    last_error ? "; last: " + last_error->describe() : std::string()));
    }
  }
}

Result<void> check_config(const std::string& binary, const std::filesystem::path& config,
                          std::chrono::milliseconds timeout) {
  // Not -q: with it HAProxy 2.6 prints nothing at all, not even the ALERT lines of a bad config.
  auto result = run_process({binary, "-c", "-f", config.string()}, timeout);
  if (!result) return std::unexpected(result.error());
  if (result->exit_code != 0) {
    return make_error(ErrorCode::kInvalid, fmt::format("haproxy -c rejected {} (exit {}): {}", config.string(),
                                                       result->exit_code, explain(result->output)));
  }
  return {};
}

}  // namespace berth::haproxy
