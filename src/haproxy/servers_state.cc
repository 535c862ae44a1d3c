#include "haproxy/servers_state.h"

#include <charconv>
#include <functional>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "haproxy/cli_fields.h"

namespace berth::haproxy {
namespace {

constexpr std::string_view kVersion = "1";

bool state_field_int(std::string_view text, int& value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

struct Columns {
  std::size_t backend, server, address, op_state, admin_state, port;
  std::size_t count;
};

Result<Columns> find_columns(std::string_view header) {
  auto names = cli_fields(header.substr(1));  // after the '#'
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

Result<void> for_each_server_state(std::string_view text, const std::function<void(const ServerState&)>& visit,
                                   std::string* header) {
  auto next_line = [&text]() -> std::optional<std::string_view> {
    if (text.empty()) return std::nullopt;
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    return line;
  };
  auto version = next_line();
  if (!version || *version != kVersion) {
    return make_error(ErrorCode::kParse,
                      fmt::format("servers state: expected version \"1\", got \"{}\"", version.value_or("")));
  }
  auto head = next_line();
  if (!head || !head->starts_with("#")) {
    return make_error(ErrorCode::kParse,
                      fmt::format("servers state: expected the \"# be_id ...\" header, got \"{}\"", head.value_or("")));
  }
  auto columns = find_columns(*head);
  if (!columns) return std::unexpected(columns.error());
  if (header) *header = *head;
  ServerState server;  // one line at a time: a dump of 20,000 servers costs no more than its text
  while (auto line = next_line()) {
    if (line->empty()) continue;
    auto fields = cli_fields(*line);
    if (fields.size() < columns->count) {
      return make_error(ErrorCode::kParse, fmt::format("servers state: {} fields where the header names {}: \"{}\"",
                                                       fields.size(), columns->count, *line));
    }
    server.backend = fields[columns->backend];
    server.server = fields[columns->server];
    server.address = fields[columns->address];
    if (!state_field_int(fields[columns->port], server.port) || server.port < 0 || server.port > 65535 ||
        !state_field_int(fields[columns->op_state], server.operational_state) ||
        !state_field_int(fields[columns->admin_state], server.admin_state)) {
      return make_error(ErrorCode::kParse, fmt::format("servers state: a non-numeric port or state in \"{}\"", *line));
    }
    server.line = *line;
    visit(server);
  }
  return {};
}

Result<ServersState> parse_servers_state(std::string_view text) {
  ServersState state;
  auto ok = for_each_server_state(
      text, [&](const ServerState& server) { state.servers.push_back(server); }, &state.header);
  if (!ok) return std::unexpected(ok.error());
  return state;
}

std::string state_file_text(std::string_view header, std::string_view lines) {
  return fmt::format("{}\n{}\n{}", kVersion, header, lines);
}

std::string to_state_file(const ServersState& state) {
  std::string lines;
  for (const auto& server : state.servers) lines.append(server.line).push_back('\n');
  return state_file_text(state.header, lines);
}

}  // namespace berth::haproxy
