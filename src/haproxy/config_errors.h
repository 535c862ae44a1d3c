// Which listeners a config HAProxy rejected is to blame, read from HAProxy's own complaint.
//
// `haproxy -c` names the line of every error ("parsing [/path/haproxy.cfg.candidate:31] :
// unknown keyword ..."). Every line of a rendered config belongs to the section above it; a
// section named "p<host port>" (frontend, backend or listen) is a listener's. When every
// error line lies in a listener's section, those listeners are to blame and the rest of the
// config can still be served; an error anywhere else (global, defaults, a section a custom
// template added) or no line number at all means the whole config is at fault.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <set>
#include <string_view>

namespace berth::haproxy {

// The host ports of the listeners blamed by `haproxy_output` for `config_text`, or nullopt
// when the complaint cannot be pinned on listeners alone.
std::optional<std::set<int>> listeners_blamed(std::string_view haproxy_output, std::string_view config_text);

}  // namespace berth::haproxy
