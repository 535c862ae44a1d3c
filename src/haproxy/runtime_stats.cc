#include "haproxy/runtime_stats.h"

#include "haproxy/map_entries.h"
#include "haproxy/model.h"

#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace berth::haproxy {
namespace {

// `show stat` is plain CSV without quoting: HAProxy writes no commas inside its fields.
std::vector<std::string_view> csv_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

int to_count(std::string_view text) {
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

bool is_free_slot(const StatRow& row) { return row.status.starts_with("MAINT"); }
bool is_server(const StatRow& row) { return row.name != "FRONTEND" && row.name != "BACKEND"; }

}  // namespace

Result<std::vector<StatRow>> parse_show_stat(std::string_view text) {
  std::vector<StatRow> rows;
  std::optional<std::size_t> pxname, svname, scur, status, addr;
  std::size_t columns = 0;
  bool header_seen = false;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.starts_with("# ")) {
      const auto names = csv_fields(line.substr(2));
      columns = names.size();
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i] == "pxname") pxname = i;
        if (names[i] == "svname") svname = i;
        if (names[i] == "scur") scur = i;
        if (names[i] == "status") status = i;
        if (names[i] == "addr") addr = i;
      }
      if (!pxname || !svname || !scur || !status || !addr) {
        return make_error(ErrorCode::kParse, "show stat: the header lacks pxname, svname, scur, status or addr");
      }
      header_seen = true;
      continue;
    }
    if (!header_seen) return make_error(ErrorCode::kParse, fmt::format("show stat: a row before the header: \"{}\"", line));
    const auto fields = csv_fields(line);
    if (fields.size() < columns) {
      return make_error(ErrorCode::kParse,
                        fmt::format("show stat: {} fields where the header has {}", fields.size(), columns));
    }
    rows.push_back(StatRow{.proxy = std::string(fields[*pxname]),
                           .name = std::string(fields[*svname]),
                           .sessions = to_count(fields[*scur]),
                           .status = std::string(fields[*status]),
                           .address = std::string(fields[*addr])});
  }
  if (!header_seen) return make_error(ErrorCode::kParse, "show stat: no header line");
  return rows;
}

ServerHealth server_health(std::string_view status) {
  if (status == "no check") return ServerHealth::kUnchecked;
  if (status == "UP" || status.starts_with("UP ")) return ServerHealth::kUp;
  return ServerHealth::kDown;
}

std::optional<int> ProxyNaming::port_of(const std::string& proxy) const {
  if (!range_backends) return host_port_of_proxy(proxy);
  auto it = range_backends->find(proxy);
  if (it == range_backends->end()) return std::nullopt;
  return it->second;
}

std::map<int, ListenerRuntime> combine_worker_stats(const std::vector<StatRow>& current,
                                                    const std::vector<std::vector<StatRow>>& old_workers,
                                                    const ProxyNaming& naming) {
  std::map<int, ListenerRuntime> listeners;
  const auto sessions_row = naming.sessions_row();
  for (const StatRow& row : current) {
    const auto port = naming.port_of(row.proxy);
    if (!port) continue;
    ListenerRuntime& listener = listeners[*port];
    if (row.name == sessions_row) {
      listener.sessions += row.sessions;
    } else if (is_server(row) && !is_free_slot(row)) {
      listener.servers.push_back(ServerRuntime{.address = row.address,
                                               .health = server_health(row.status),
                                               .status = row.status,
                                               .sessions = row.sessions});
    }
  }
  // An old worker's sessions count where the current worker still serves the port (and, for a
  // server, the same address); a port it alone still has is gone from the config.
  for (const auto& rows : old_workers) {
    for (const StatRow& row : rows) {
      const auto port = naming.port_of(row.proxy);
      if (!port) continue;
      auto listener = listeners.find(*port);
      if (listener == listeners.end()) continue;
      if (row.name == sessions_row) {
        listener->second.sessions += row.sessions;
      } else if (is_server(row) && row.sessions > 0) {
        for (ServerRuntime& server : listener->second.servers) {
          if (server.address == row.address) server.sessions += row.sessions;
        }
      }
    }
  }
  return listeners;
}

Result<RuntimeStats> read_runtime_stats(MasterCli& cli, const std::optional<std::string>& range_ports_map) {
  auto proc = cli.to_master("show proc");
  if (!proc) return std::unexpected(proc.error());
  auto table = parse_show_proc(*proc);
  if (!table) return std::unexpected(table.error());
  const auto current = table->current_worker();
  if (!current) return make_error(ErrorCode::kInvalid, "haproxy master lists no worker");
  ProxyNaming naming;
  if (range_ports_map) {
    auto map = cli.to_worker(*current, std::vector<std::string>{"show map " + *range_ports_map});
    if (!map) return std::unexpected(map.error());
    naming.range_backends.emplace();
    for (const auto& [port, backend] : parse_show_map(map->empty() ? std::string() : map->front())) {
      (*naming.range_backends)[backend] = port;
    }
  }
  // Frontends (1) or backends (2), and servers (4), of every proxy (-1).
  const std::vector<std::string> show_stat{range_ports_map ? "show stat -1 6 -1" : "show stat -1 5 -1"};
  auto stat_of = [&](int pid) -> Result<std::vector<StatRow>> {
    auto answer = cli.to_worker(pid, show_stat);
    if (!answer) return std::unexpected(answer.error());
    if (answer->empty()) return make_error(ErrorCode::kParse, "show stat: no answer");
    return parse_show_stat(answer->front());
  };
  auto current_rows = stat_of(*current);
  if (!current_rows) return std::unexpected(current_rows.error());
  std::vector<std::vector<StatRow>> old_rows;
  for (int pid : table->old_workers()) {
    // An old worker may exit between `show proc` and this: its sessions have ended then.
    if (auto rows = stat_of(pid)) old_rows.push_back(std::move(*rows));
  }
  return RuntimeStats{.processes = std::move(*table),
                      .listeners = combine_worker_stats(*current_rows, old_rows, naming)};
}

}  // namespace berth::haproxy
