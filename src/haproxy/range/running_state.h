// Range mode's state read back from a running HAProxy, so that a berth that starts (or
// restarts) beside one adopts it with no reload: the layout from the config's bind lines and
// the worker's backends, the routes from its maps and server slots, the allow-lists from the
// ACL files. The driver (range_driver.h) trusts the result only when rendering it gives back the
// very config on disk that HAProxy confirmed running.
//
// Thread-safety: a pure function of its arguments.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/error.h"
#include "haproxy/range/backend_kind.h"
#include "haproxy/range/range_state.h"

namespace berth::haproxy {

// The answers of the current worker and the config it runs.
struct RunningRangeAnswers {
  std::string config_text;    // haproxy.cfg on disk
  std::string ports_map;      // `show map <ports.map>`
  std::string services_map;   // `show map <services.map>`
  std::string maxconn_map;    // `show map <maxconn.map>`
  std::string servers_state;  // `show servers state`
};

// `kinds`: kind id → kind, for every kind berth can name (those of the desired Model); a backend
// of any other kind cannot be rendered again, so it fails the rebuild. `acl_text_of(backend)`:
// its ACL file's content, nullopt when unreadable. Backends no port maps to come back draining:
// their sessions (if any) may be a removed port's, and the next apply frees the idle ones.
// kInvalid naming the first thing that does not fit.
Result<RangeState> rebuild_range_state(const RunningRangeAnswers& answers,
                                       const std::map<std::string, BackendKind>& kinds,
                                       const std::function<std::optional<std::string>(const std::string&)>& acl_text_of);

}  // namespace berth::haproxy
