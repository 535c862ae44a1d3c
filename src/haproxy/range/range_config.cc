#include "haproxy/range/range_config.h"

#include <algorithm>
#include <deque>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "haproxy/config_values.h"

namespace berth::haproxy {
namespace {

void append_global(std::string& out, const GlobalSettings& global) {
  out += "# haproxy.cfg written by berth (--listen-mode=range) from its state; edits are lost at the next render.\n";
  out += "global\n    noreuseport\n";
  if (global.maxconn > 0) out += fmt::format("    maxconn {}\n", global.maxconn);
  if (global.nbthread > 0) out += fmt::format("    nbthread {}\n", global.nbthread);
  if (!global.admin_socket.empty()) {
    out += fmt::format("    stats socket {} mode 600 level admin\n", checked_path("admin_socket", global.admin_socket));
  }
  if (!global.server_state_file.empty()) {
    out += fmt::format("    server-state-file {}\n", checked_path("server_state_file", global.server_state_file));
  }
  const auto& log = global.log;
  switch (log.kind) {
    case LogTarget::Kind::kNone: break;
    case LogTarget::Kind::kStdout: out += "    log stdout format raw local0\n"; break;
    case LogTarget::Kind::kStderr: out += "    log stderr format raw local0\n"; break;
    case LogTarget::Kind::kUnixSocket: out += fmt::format("    log {} local0\n", checked_path("log path", log.path)); break;
    case LogTarget::Kind::kUdp:
      if (!log.address) std::abort();  // model.h: a UDP target has an address
      out += fmt::format("    log {} local0\n", log.address->with_port(log.port));
      break;
  }
  if (global.max_old_workers > 0) out += fmt::format("    mworker-max-reloads {}\n", global.max_old_workers);
  if (global.prometheus) {
    out += "\ndefaults\n    mode http\n    timeout client 10s\n    timeout http-request 10s\n\n";
    out += fmt::format("frontend berth_metrics\n    bind {}\n", global.prometheus->address.with_port(global.prometheus->port));
    out += "    http-request use-service prometheus-exporter if { path /metrics }\n    http-request deny\n";
  }
  out += "\ndefaults\n    mode tcp\n";
  if (log.kind != LogTarget::Kind::kNone) {
    // The same audit line as the per-port mode (default_template.cc); the service comes from services.map.
    out += "    log global\n";
    out += "    log-format \"client=%ci:%cp host_port=%fp service=%[var(sess.berth_service)] backend=%b/%s "
           "server=%si:%sp bytes_in=%U bytes_out=%B duration_ms=%Tt connect_ms=%Tc termination=%ts accepted=%t\"\n";
  }
  out += "    option tcpka\n";
  if (!global.server_state_file.empty()) out += "    load-server-state-from-file global\n";
  out += fmt::format("    default-server inter {} fall 2 rise 2\n", format_duration(global.check_interval));
}

void append_binds(std::string& out, const GlobalSettings& global, const std::vector<PortSpan>& spans) {
  auto spell = [](const PortSpan& span) {
    return span.first == span.last ? std::string() : fmt::format("-{}", span.last);
  };
  const auto& addresses = global.bind_addresses;
  const bool any_v4 = std::ranges::any_of(addresses, [](const IpAddress& a) { return !a.is_v6(); });
  for (const auto& span : spans) {
    if (addresses.empty()) out += fmt::format("    bind 0.0.0.0:{}{}\n", span.first, spell(span));
    for (const auto& address : addresses) {
      // "::" alone takes IPv4 too; beside an IPv4 bind it must not, or the two would collide.
      const bool dual_stack = address.is_v6() && address.is_unspecified() && !any_v4;
      out += fmt::format("    bind {}{}{}\n", address.with_port(span.first), spell(span),
                         dual_stack ? " v4v6" : (address.is_v6() ? " v6only" : ""));
    }
  }
}

void append_frontend(std::string& out, const GlobalSettings& global, const RangeState& state,
                     const RangeFiles& files) {
  std::size_t ports = 0;
  for (const auto& span : state.layout.binds) ports += static_cast<std::size_t>(span.last - span.first + 1);
  const auto ports_map = checked_path("ports map", files.ports_map.string());
  out += fmt::format("\nfrontend {}\n", kRangeFrontendName);
  append_binds(out, global, state.layout.binds);
  out += fmt::format("    timeout client {}\n", format_duration(BackendOptions{}.timeout_client));
  // The audit log's service field. First, so that a refused connection's line names its Service
  // too; always there, so that services.map is loaded and the Runtime API can edit it.
  out += fmt::format("    tcp-request connection set-var(sess.berth_service) dst_port,map_int({})\n",
                     checked_path("services map", files.services_map.string()));
  // A port no Service holds accepts and closes at once.
  out += fmt::format("    tcp-request connection reject unless {{ dst_port,map_int({}) -m found }}\n", ports_map);
  // Per-port maxconn: each port's sessions counted in a table, refused at once over the limit.
  out += fmt::format("    stick-table type integer size {} store conn_cur\n", std::max<std::size_t>(1, ports));
  out += "    tcp-request connection track-sc0 dst_port\n";
  out += fmt::format("    tcp-request connection set-var(sess.berth_maxconn) dst_port,map_int({},0)\n",
                     checked_path("maxconn map", files.maxconn_map.string()));
  out += "    tcp-request connection reject if { var(sess.berth_maxconn) -m int gt 0 } "
         "{ sc0_conn_cur,sub(sess.berth_maxconn) -m int gt 0 }\n";
  out += fmt::format("    use_backend %[dst_port,map_int({})]\n", ports_map);
}

// A kind's lines, the same in every backend of the kind: made once per kind and rendering, not
// once per backend (at 10,000 backends that was most of a rendering's allocations).
struct KindLines {
  std::string settings;  // balance and timeouts
  std::string options;   // the check's option lines
  std::string suffix;    // of each server line
};

KindLines kind_lines(const BackendKind& kind) {
  KindLines lines;
  BackendOptions options;  // the kind's values, for the shared checks of config_values.h
  options.check = kind.check;
  options.check_user = kind.check_user;
  options.check_http = kind.check_http;
  lines.settings += fmt::format("    balance {}\n", balance_keyword(kind.balance));
  lines.settings += fmt::format("    timeout connect {}\n", format_duration(kind.timeout_connect));
  lines.settings += fmt::format("    timeout server {}\n", format_duration(kind.timeout_server));
  // The frontend is shared, so a kind's client timeout cannot be the frontend's: once the session
  // is established, the tunnel timeout rules both sides. An idle session ends after the shorter
  // of the two, as it does in the per-port mode.
  lines.settings +=
      fmt::format("    timeout tunnel {}\n", format_duration(std::min(kind.timeout_client, kind.timeout_server)));
  const bool http = kind.check_http.has_value();
  const std::string user = checked_check_user(options);
  switch (http ? CheckKind::kNone : kind.check) {
    case CheckKind::kMysql:
      lines.options +=
          user.empty() ? std::string("    option mysql-check\n") : fmt::format("    option mysql-check user {}\n", user);
      break;
    case CheckKind::kPgsql: lines.options += fmt::format("    option pgsql-check user {}\n", user); break;
    case CheckKind::kRedis: lines.options += "    option redis-check\n"; break;
    default: break;
  }
  if (http) {
    lines.options += fmt::format("    option httpchk GET {}\n    http-check expect status 200\n",
                                 checked_http_path(*kind.check_http));
  }
  const bool checked = http || kind.check != CheckKind::kNone;
  if (checked) lines.suffix += " check";
  if (http) lines.suffix += fmt::format(" port {}", kind.check_http->port);
  if (kind.proxy_protocol == ProxyProtocol::kV1) lines.suffix += " send-proxy";
  if (kind.proxy_protocol == ProxyProtocol::kV2) lines.suffix += " send-proxy-v2";
  return lines;
}

void append_backend(std::string& out, const std::string& name, const RangeBackend& backend, const Route* route,
                    const RangeFiles& files, const KindLines& kind) {
  out += "\nbackend ";
  out += name;
  out += '\n';
  if (route) {
    out += "    # ";
    out += service_label(route->service);
    out += '\n';
  }
  out += kind.settings;
  out += "    tcp-request content reject unless { src -f ";
  out += checked_path("acl file", files.acl_file(name).string());
  out += " }\n";
  out += kind.options;
  for (std::size_t i = 0; i < backend.servers; ++i) {
    const std::optional<Server>* server = route && i < route->slots.size() ? &route->slots[i] : nullptr;
    out += "    server ";
    out += slot_name(i);
    out += ' ';
    if (server && *server) {
      out += (*server)->address.with_port((*server)->port);
    } else {
      out += kPlaceholderAddress;
      out += " disabled";
    }
    out += kind.suffix;
    out += '\n';
  }
}

// Each kind's lines, made on first use: kinds are few and backends many. A deque, so that the
// lines handed out stay where they are while more kinds are added.
class KindLinesCache {
 public:
  const KindLines& of(const BackendKind& kind) {
    for (const auto& [known, lines] : kinds_) {
      if (known == kind) return lines;
    }
    return kinds_.emplace_back(kind, kind_lines(kind)).second;
  }

 private:
  std::deque<std::pair<BackendKind, KindLines>> kinds_;
};

}  // namespace

std::string render_range_config(const GlobalSettings& global, const RangeState& state, const RangeFiles& files) {
  std::string out;
  out.reserve(2048 + state.layout.backends.size() * 400);
  append_global(out, global);
  // A frontend must bind something; with the whole pool excluded or busy there is nothing to route.
  if (!state.layout.binds.empty()) append_frontend(out, global, state, files);
  std::unordered_map<std::string_view, const Route*> route_of;
  route_of.reserve(state.routes.size());
  for (const auto& [port, route] : state.routes) route_of[route.backend] = &route;
  KindLinesCache kinds;
  for (const auto& [name, backend] : state.layout.backends) {
    auto it = route_of.find(name);
    append_backend(out, name, backend, it == route_of.end() ? nullptr : it->second, files, kinds.of(backend.kind));
  }
  return out;
}

}  // namespace berth::haproxy
