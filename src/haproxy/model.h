// What HAProxy should serve, with no Kubernetes types: the seam between the data plane's
// ModelBuilder (Services and EndpointSlices → Model) and everything that renders, diffs and
// applies it (renderer, update plan, driver).
//
//   Model            desired state: one Listener per allocated host port (its Service, its
//                    backend options, the servers it should send to)
//   GlobalSettings   what the flags say about the whole HAProxy process
//   SlotTable        which server slot of each backend holds which server (plus spare,
//                    disabled slots), so servers can change through the Runtime API with no
//                    reload; it depends on history, so the driver owns it (slot_table.h)
//   Config           GlobalSettings + Model + SlotTable: everything one rendered config says
//
// Every string in here is a validated value: names are DNS-1123 labels, addresses are
// IpAddress/Cidr, paths and the check user are checked against a small safe alphabet where
// they are made. Nothing a user writes can carry a newline, '#', a quote or a blank into a
// config line through these types. Containers are ordered (std::map, sorted vectors), so equal
// values render byte-identical configs.
//
// Listen modes: this is the per-port mode (one frontend and backend per host port). A later
// range mode (the pool bound once, ports routed through runtime maps) reuses Model and
// GlobalSettings and lays out SlotTable per backend kind instead of per port.
//
// Thread-safety: value types.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "haproxy/ip_address.h"

namespace berth::haproxy {

using namespace std::chrono_literals;

// One endpoint traffic can go to: a pod's address and port (or a ClusterIP and service port).
struct Server {
  IpAddress address;
  int port = 0;  // 1..65535
  auto operator<=>(const Server&) const = default;
};

enum class CheckKind { kTcp, kMysql, kPgsql, kRedis, kNone };
enum class Balance { kRoundRobin, kLeastConn, kFirst, kSource };
enum class ProxyProtocol { kNone, kV1, kV2 };

// A Patroni-style HTTP check ("8008 /primary"): the server is UP when GET <path> on <port> of
// its address answers 200. path: starts with '/', at most 256 of [A-Za-z0-9._~/-].
struct HttpCheck {
  int port = 0;
  std::string path;
  auto operator<=>(const HttpCheck&) const = default;
};

// Per-Service options (annotations "<prefix>/<option>", parsed by dataplane/service_options.h).
// The defaults suit database sessions that stay open for hours.
struct BackendOptions {
  CheckKind check = CheckKind::kTcp;
  // mysql/pgsql check user; "" = HAProxy's default (mysql: greeting only; pgsql needs one, so
  // the parser fills "postgres"). At most 63 of [A-Za-z0-9_.-].
  std::string check_user;
  std::optional<HttpCheck> check_http;  // replaces `check` when set
  Balance balance = Balance::kRoundRobin;
  std::chrono::milliseconds timeout_connect = 5s;
  std::chrono::milliseconds timeout_client = 24h;
  std::chrono::milliseconds timeout_server = 24h;
  int maxconn = 0;  // concurrent sessions of this listener; 0 = only the global limit
  ProxyProtocol proxy_protocol = ProxyProtocol::kNone;
  std::vector<Cidr> allow_sources;  // sorted, unique; empty = every source
  auto operator<=>(const BackendOptions&) const = default;
};

// The Service a listener serves; for names in comments and logs only (the config's own names
// derive from the host port). ns and name are DNS-1123 labels.
struct ServiceRef {
  std::string ns;
  std::string name;
  int port = 0;  // the service port
  auto operator<=>(const ServiceRef&) const = default;
};

struct Listener {
  int host_port = 0;  // 1..65535; the frontend and backend are named after it
  ServiceRef service;
  BackendOptions options;
  std::vector<Server> servers;  // sorted, unique; empty = the port accepts and closes at once
  auto operator<=>(const Listener&) const = default;
};

struct Model {
  std::map<int, Listener> listeners;  // by host port
  bool operator==(const Model&) const = default;
};

// Where HAProxy's log lines go: nowhere, its stdout/stderr (a container's log), a syslog
// socket path, or a UDP syslog address.
struct LogTarget {
  enum class Kind { kNone, kStdout, kStderr, kUnixSocket, kUdp };
  Kind kind = Kind::kNone;
  std::string path;                    // kUnixSocket: an absolute path of safe characters
  std::optional<IpAddress> address;    // kUdp
  int port = 514;                      // kUdp
  auto operator<=>(const LogTarget&) const = default;
};

// Where HAProxy serves its own Prometheus exporter (`--haproxy-metrics-bind-address`).
struct MetricsEndpoint {
  IpAddress address;
  int port = 0;  // 1..65535
  auto operator<=>(const MetricsEndpoint&) const = default;
};

struct GlobalSettings {
  // Global maxconn; 0 = HAProxy derives it from its open-files limit (it needs about
  // 2 × maxconn + listeners + checked servers + 40 fds, and fails to start when it cannot
  // raise the limit that far).
  int maxconn = 0;
  int nbthread = 0;     // 0 = HAProxy's default (one per core)
  // Where bind lines listen; default every IPv4 address. An IPv6 "::" alone listens dual-stack.
  std::vector<IpAddress> bind_addresses;
  // Files HAProxy is told about (absolute paths of [A-Za-z0-9._/-], validated by the options).
  std::string admin_socket;       // stats socket, level admin, mode 0600
  std::string server_state_file;  // `server-state-file` + `load-server-state-from-file global`
  LogTarget log;
  // HAProxy's Prometheus exporter on GET /metrics (frontend "berth_metrics"); none when unset.
  std::optional<MetricsEndpoint> prometheus;
  int max_old_workers = 0;  // mworker-max-reloads; 0 = unlimited (no session is ever cut)
  std::chrono::milliseconds check_interval = 2s;  // `inter` of every health check
  auto operator<=>(const GlobalSettings&) const = default;
};

// The server slots of one backend: slot i is "s<i+1>"; an empty slot is rendered disabled
// and can be given a server at run time.
using Slots = std::vector<std::optional<Server>>;

struct SlotTable {
  std::map<int, Slots> backends;  // by host port, one entry per listener
  bool operator==(const SlotTable&) const = default;
};

struct Config {
  GlobalSettings global;
  Model model;
  SlotTable slots;
  bool operator==(const Config&) const = default;
};

// The names the per-port mode gives things, shared by the renderer, the runtime commands and
// the state-file filter: frontend and backend "p<host port>", server "s<slot + 1>".
std::string proxy_name(int host_port);
std::string slot_name(std::size_t slot_index);
// Their inverses, for names read back from HAProxy (`show stat`, `show servers state`, the
// sections `haproxy -c` blames): "p26735" → 26735, "s2" → 1; nullopt for any other name.
std::optional<int> host_port_of_proxy(std::string_view name);
std::optional<std::size_t> slot_index_of(std::string_view name);

}  // namespace berth::haproxy
