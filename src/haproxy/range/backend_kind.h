// Range mode's grouping of backends: the settings that live in a backend's config lines (check,
// balance, timeouts, PROXY protocol). Service ports whose options share a kind can take any
// free backend of that kind with no reload; what differs per port (servers, maxconn,
// allow-sources, the Service's name) is set through the Runtime API (range_plan.h).
//
// A kind is named by a hash of its values ("k1f3a09c2"), so the same options get the same
// backend names in every berth and every run: HAProxy's server-state file matches backends by
// name across reloads.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "haproxy/model.h"

namespace berth::haproxy {

struct BackendKind {
  CheckKind check = CheckKind::kTcp;
  std::string check_user;               // as in BackendOptions
  std::optional<HttpCheck> check_http;  // replaces `check` when set
  Balance balance = Balance::kRoundRobin;
  std::chrono::milliseconds timeout_connect{0};
  std::chrono::milliseconds timeout_client{0};
  std::chrono::milliseconds timeout_server{0};
  ProxyProtocol proxy_protocol = ProxyProtocol::kNone;
  auto operator<=>(const BackendKind&) const = default;
};

BackendKind kind_of(const BackendOptions& options);

// "k" + 8 hex digits of a stable hash of every value: equal kinds, equal ids, in any build.
std::string kind_id(const BackendKind& kind);

// The backend names range mode renders: "<kind id>_<n>" (n from 1), and their inverse
// ("k1f3a09c2_17" → {"k1f3a09c2", 17}; nullopt for any other name).
std::string range_backend_name(std::string_view kind_id, int index);
struct RangeBackendName {
  std::string kind_id;
  int index = 0;
};
std::optional<RangeBackendName> parse_range_backend_name(std::string_view name);

}  // namespace berth::haproxy
