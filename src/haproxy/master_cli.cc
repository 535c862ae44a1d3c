#include "haproxy/master_cli.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "haproxy/cli_fields.h"

namespace berth::haproxy {
namespace {

bool to_int(std::string_view text, int& value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size() && value >= 0;
}

Error bad_line(std::string_view line, std::string_view why) {
  return Error{ErrorCode::kParse, fmt::format("show proc: {} in line \"{}\"", why, line)};
}

// "<pid> <type> <reloads> [failed: N] <uptime> <version>"; only the master has "[failed: N]".
Result<ProcessEntry> parse_entry(std::string_view line, std::string_view type, int* failed) {
  auto fields = cli_fields(line);
  ProcessEntry entry;
  if (fields.size() < 4 || fields[1] != type) return std::unexpected(bad_line(line, fmt::format("not a {}", type)));
  if (!to_int(fields[0], entry.pid) || entry.pid == 0) return std::unexpected(bad_line(line, "no pid"));
  if (!to_int(fields[2], entry.reloads)) return std::unexpected(bad_line(line, "no reload count"));
  std::size_t next = 3;
  if (failed != nullptr && fields[next] == "[failed:") {
    std::string_view count = next + 1 < fields.size() ? fields[next + 1] : "";
    if (count.empty() || count.back() != ']' || !to_int(count.substr(0, count.size() - 1), *failed)) {
      return std::unexpected(bad_line(line, "a malformed failed-reload count"));
    }
    next += 2;
  }
  if (next >= fields.size()) return std::unexpected(bad_line(line, "no uptime"));
  entry.uptime = fields[next++];
  if (next < fields.size()) entry.version = fields[next];
  return entry;
}

}  // namespace

std::optional<int> ProcessTable::current_worker() const {
  auto newest = std::min_element(workers.begin(), workers.end(),
                                 [](const ProcessEntry& a, const ProcessEntry& b) { return a.reloads < b.reloads; });
  if (newest == workers.end()) return std::nullopt;
  return newest->pid;
}

std::vector<int> ProcessTable::old_workers() const {
  std::vector<int> old;
  auto current = current_worker();
  for (const auto& worker : workers) {
    if (worker.pid != current) old.push_back(worker.pid);
  }
  return old;
}

Result<ProcessTable> parse_show_proc(std::string_view text) {
  enum class Section { kHeader, kMaster, kWorkers, kPrograms };
  Section section = Section::kHeader;
  ProcessTable table;
  bool have_master = false;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    if (line.starts_with("#<PID>")) {
      section = Section::kMaster;
      continue;
    }
    // 2.6 lists draining workers under "# workers" with their reload count; older versions had
    // a "# old workers" section, read the same way.
    if (line.starts_with("# workers") || line.starts_with("# old workers")) {
      section = Section::kWorkers;
      continue;
    }
    if (line.starts_with("# programs") || line.starts_with("# old programs")) {
      section = Section::kPrograms;
      continue;
    }
    switch (section) {
      case Section::kHeader:
        return make_error(ErrorCode::kParse, fmt::format("show proc: expected the \"#<PID>\" header, got \"{}\"", line));
      case Section::kMaster: {
        if (have_master) return std::unexpected(bad_line(line, "a second master"));
        auto master = parse_entry(line, "master", &table.failed_reloads);
        if (!master) return std::unexpected(master.error());
        table.master = std::move(*master);
        have_master = true;
        break;
      }
      case Section::kWorkers: {
        auto worker = parse_entry(line, "worker", nullptr);
        if (!worker) return std::unexpected(worker.error());
        table.workers.push_back(std::move(*worker));
        break;
      }
      case Section::kPrograms:
        break;  // external programs (`program` sections): berth configures none
    }
  }
  if (!have_master) {
    return make_error(ErrorCode::kParse, fmt::format("show proc: no master line in \"{}\"", text.substr(0, 200)));
  }
  return table;
}

}  // namespace berth::haproxy
