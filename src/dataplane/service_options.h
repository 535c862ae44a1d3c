// The per-Service option annotations "<prefix>/<option>" → haproxy::BackendOptions and the
// backend mode. docs/dataplane.md lists every option, its values and its default.
//
// Annotations are written by users, so every value is checked against an exact grammar
// (case-sensitive, no surrounding blanks unless an option says otherwise) and nothing a user
// wrote reaches the options unchecked: enums, numbers, Cidr values, and strings of a small
// safe alphabet. A value that fails is reported as an OptionProblem and the option keeps its
// default, with one exception: an invalid `allow-sources` makes the Service not servable
// (`servable == false`), because its default, "every source", would open a port the user
// meant to restrict.
//
// Not options, and so neither read nor reported: the allocation keys "<prefix>/<digits>"
// (allocation_annotations.h), "<prefix>/quarantine", and the class annotation when it lies
// under the prefix. Every other key under the prefix that is not an option is reported as
// "unknown option" and changes nothing else.
//
// Problems carry only a safe excerpt of the value (safe_excerpt()), so an Event message can
// never carry a newline, a control character, non-ASCII bytes or 10,000 characters of it.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "controller/annotation_keys.h"
#include "haproxy/model.h"

namespace berth::dataplane {

// Where a Service's listener sends traffic: the ready endpoints of its EndpointSlices (no
// kube-proxy hop, real health checks), or its ClusterIP (`<prefix>/backend: clusterip`).
enum class BackendMode { kEndpoints, kClusterIp };

// The option names berth knows ("check", "allow-sources", ...), sorted; any other name under
// the prefix is an unknown option.
std::span<const std::string_view> option_names();

struct OptionProblem {
  std::string key;     // the annotation key, as safe_excerpt() shows it
  std::string value;   // safe_excerpt() of the value
  std::string reason;  // what is wrong and what berth does instead; never contains the value
  // `<key> <value>: <reason>`, e.g.
  //   haproxy-ingress/check "tcpx": must be one of tcp, mysql, pgsql, redis, none; using tcp
  std::string message() const;
  auto operator<=>(const OptionProblem&) const = default;
};

struct ServiceOptions {
  haproxy::BackendOptions options;
  BackendMode mode = BackendMode::kEndpoints;
  // false when `allow-sources` is invalid: the Service's ports must not be served at all
  // rather than to every source (its problem says so).
  bool servable = true;
  std::vector<OptionProblem> problems;  // sorted (by key, then value, then reason)
};

// The most allow-sources entries accepted. HAProxy 2.6 truncates a config line after 64 words
// (measured: an `acl` line with 61 ranges fails `haproxy -c`), so a renderer splits long lists
// across lines; the bound keeps the config of one Service small.
inline constexpr std::size_t kMaxAllowSources = 64;

ServiceOptions parse_service_options(const std::map<std::string, std::string>& annotations,
                                     const controller::AnnotationConfig& config);

// `text` in double quotes, as printable ASCII only: '"' and '\' are escaped with '\', tab, CR
// and LF as \t \r \n, every other byte outside 0x20..0x7E as \xNN. Longer than about 64
// characters, it is cut (never inside an escape) and followed by "... (<n> bytes)".
//   safe_excerpt("a\nb") == R"("a\nb")"
std::string safe_excerpt(std::string_view text);

}  // namespace berth::dataplane
