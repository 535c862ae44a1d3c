#include "haproxy/servers_state.h"

#include <charconv>
#include <map>
#include <sstream>

#include <fmt/format.h>

namespace berth::haproxy {
namespace {

constexpr std::string_view kVersion = "1";

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t at = 0;
  while (at < line.size()) {
    at = line.find_first_not_of(' ', at);
    if (at == std::string_view::npos) break;
    auto end = std::min(line.find(' ', at), line.size());
    fields.push_back(line.substr(at, end - at));
    at = end;
  }
  return fields;
}

bool to_int(std::string_view text, int& value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

struct Columns {
  std::size_t backend, server, address, op_state, admin_state, port;
  std::size_t count;
};

Result<Columns> find_columns(std::string_view header) {
  auto names = fields_of(header.substr(1));  // after the '#'
  std::map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < names.size(); ++i) index.emplace(names[i], i);
  Columns columns{};
  columns.count = names.size();
  for (auto [name, slot] : {std::pair{"be_name", &columns.backend}, std::pair{"srv_name", &columns.server},
                            std::pair{"srv_addr", &columns.address}, std::pair{"srv_op_state", &columns.op_state},
                            std::pair{"srv_admin_state", &columns.admin_state}, std::pair{"srv_port", &columns.port}}) {
    auto found = index.find(name);
    if (found == index.end()) {
      return make_error(ErrorCode::kParse, fmt::format("servers state: the header has no column {}: \"{}\"", name, header));
    }
    *slot = found->second;
  }
  return columns;
}

}  // namespace

Result<ServersState> parse_servers_state(std::string_view text) {
  std::istringstream lines{std::string(text)};
  std::string line;
  if (!std::getline(lines, line) || line != kVersion) {
    return make_error(ErrorCode::kParse, fmt::format("servers state: expected version \"1\", got \"{}\"", line));
  }
  if (!std::getline(lines, line) || !line.starts_with("#")) {
    return make_error(ErrorCode::kParse, fmt::format("servers state: expected the \"# be_id ...\" header, got \"{}\"", line));
  }
  auto columns = find_columns(line);
  if (!columns) return std::unexpected(columns.error());
  ServersState state;
  state.header = line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto fields = fields_of(line);
    if (fields.size() < columns->count) {
      return make_error(ErrorCode::kParse, fmt::format("servers state: {} fields where the header names {}: \"{}\"",
                                                       fields.size(), columns->count, line));
    }
    ServerState server;
    server.backend = fields[columns->backend];
    server.server = fields[columns->server];
    server.address = fields[columns->address];
    if (!to_int(fields[columns->port], server.port) || server.port < 0 || server.port > 65535 ||
        !to_int(fields[columns->op_state], server.operational_state) ||
        !to_int(fields[columns->admin_state], server.admin_state)) {
      return make_error(ErrorCode::kParse, fmt::format("servers state: a non-numeric port or state in \"{}\"", line));
    }
    server.line = line;
    state.servers.push_back(std::move(server));
  }
  return state;
}

std::string to_state_file(const ServersState& state) {
  std::string text = fmt::format("{}\n{}\n", kVersion, state.header);
  for (const auto& server : state.servers) text.append(server.line).push_back('\n');
  return text;
}

}  // namespace berth::haproxy
