#include "app/status_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <httplib.h>

#include "common/go_duration.h"
#include "metrics/probe_server.h"

namespace berth::app {
namespace {

using nlohmann::json;

// A value for a terminal: strings as they are but with control characters replaced (a hostile
// Service name must not move the cursor or clear the screen), numbers as numbers, else "-".
std::string cell(const json& value) {
  if (value.is_number_integer()) return std::to_string(value.get<long long>());
  if (!value.is_string()) return "-";
  std::string text = value.get<std::string>();
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text.empty() ? "-" : text;
}

const json& field(const json& object, const char* name) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(name);
  return it == object.end() ? kNull : *it;
}

std::string yes_no(const json& value, const char* yes, const char* no) {
  return value.is_boolean() ? (value.get<bool>() ? yes : no) : "-";
}

std::string haproxy_line(const json& haproxy) {
  if (!haproxy.is_object()) return "no data plane (--dataplane=none)";
  const json& error = field(haproxy, "error");
  if (error.is_string() && !error.get<std::string>().empty()) return "haproxy unreachable: " + cell(error);
  const json& old = field(haproxy, "old_worker_pids");
  return fmt::format("haproxy master {}, worker {}, {} old workers", cell(field(haproxy, "master_pid")),
                     cell(field(haproxy, "worker_pid")), old.is_array() ? old.size() : 0);
}

}  // namespace

std::string render_status_table(const json& status) {
  std::string out = fmt::format("berth {}  {}  {}  {}\n", cell(field(status, "version")),
                                yes_no(field(status, "leader"), "leader", "follower"),
                                yes_no(field(status, "ready"), "ready", "not ready"), haproxy_line(field(status, "haproxy")));
  const json& reason = field(status, "ready_reason");
  if (field(status, "ready").is_boolean() && !field(status, "ready").get<bool>() && reason.is_string()) {
    out += "not ready: " + cell(reason) + "\n";
  }
  std::vector<std::vector<std::string>> rows = {
      {"SERVICE", "PORT", "HOST PORT", "STATE", "BACKENDS UP", "DOWN", "SESSIONS", "REASON"}};
  const json& services = field(status, "services");
  if (services.is_array()) {
    for (const json& s : services) {
      rows.push_back({cell(field(s, "service")), cell(field(s, "service_port")), cell(field(s, "host_port")),
                      cell(field(s, "state")), cell(field(s, "backends_up")), cell(field(s, "backends_down")),
                      cell(field(s, "sessions")), cell(field(s, "reason"))});
      if (rows.back().back() == "-") rows.back().back().clear();
    }
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (rows.size() == 1) out += "(no marked Service)\n";
  return out;
}

int run_status_command(int argc, const char* const* argv) {
  CLI::App cli{"berth status: what a running berth serves (reads GET /status on its --metrics-bind-address)",
               "berth status"};
  std::string address;
  std::string output = "table";
  std::string timeout_text = "5s";
  cli.add_option("--address", address, "the running berth's --metrics-bind-address, host:port")->required();
  cli.add_option("--output,-o", output, "table or json")->capture_default_str()->check(CLI::IsMember({"table", "json"}));
  cli.add_option("--timeout", timeout_text, "how long to wait for the answer")->capture_default_str();
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  auto bind = metrics::parse_bind_address(address);
  if (!bind || !*bind) {
    std::fprintf(stderr, "berth status: --address %s\n",
                 bind ? "must name a host and port, not 0" : bind.error().message.c_str());
    return 2;
  }
  auto timeout = parse_go_duration(timeout_text);
  if (!timeout || *timeout <= std::chrono::nanoseconds::zero()) {
    std::fprintf(stderr, "berth status: --timeout \"%s\" is not a positive duration such as 5s\n", timeout_text.c_str());
    return 2;
  }
  // ":8080" means every IPv4 address to the server; the client asks the local one.
  const std::string host = (*bind)->host == "0.0.0.0" ? "127.0.0.1" : (*bind)->host == "::" ? "::1" : (*bind)->host;
  httplib::Client client(host, (*bind)->port);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
  client.set_connection_timeout(ms);
  client.set_read_timeout(ms);
  auto answer = client.Get("/status");
  const std::string where = metrics::BindAddress{host, (*bind)->port}.to_string();
  if (!answer) {
    std::fprintf(stderr, "berth status: cannot reach berth at %s: %s\n", where.c_str(),
                 httplib::to_string(answer.error()).c_str());
    return 1;
  }
  if (answer->status != 200) {
    std::fprintf(stderr, "berth status: %s answered HTTP %d to /status (is it berth's --metrics-bind-address?)\n",
                 where.c_str(), answer->status);
    return 1;
  }
  json status = json::parse(answer->body, nullptr, false);
  if (status.is_discarded() || !status.is_object() || !status.contains("services")) {
    std::fprintf(stderr, "berth status: %s answered something that is not berth's status\n", where.c_str());
    return 1;
  }
  const std::string text = output == "json" ? status.dump(2) + "\n" : render_status_table(status);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace berth::app
