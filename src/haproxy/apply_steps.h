// Small steps both drivers take (driver.h for the per-port mode, range/range_driver.h for range
// mode): the ".applied" marker, reading HAProxy's answers, and summing up reload reasons.
//
// Thread-safety: pure functions.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace berth::haproxy {

// The ".applied" marker's content: a hash of the config text that every build computes alike.
std::string config_hash(std::string_view text);

// The ports of a config's bind lines, one port ("bind 0.0.0.0:20000", the per-port mode) or a
// span ("bind 0.0.0.0:20000-20999", range mode), for a master berth adopts without knowing its
// state: they are HAProxy's own, not another process's, whichever mode wrote the config. With
// `frontend`, only that frontend's (range mode's own, not the metrics exporter's).
std::set<int> bound_ports_of_config(std::string_view config_text, std::string_view frontend = {});

// Where two texts first differ, for a log line: "line N: \"<a's line>\" against \"<b's>\"",
// each line cut to `width` characters; "" when their lines are equal (a last newline aside).
std::string first_difference(std::string_view a, std::string_view b, std::size_t width = 120);

// Whether HAProxy's answer to a runtime command says it was done: state changes, map and ACL
// edits answer nothing; address changes report what changed "by 'stats socket command'".
// Anything else ("Key not found.", "No such server.", "Unknown ...") is a refusal.
bool command_succeeded(const std::string& answer);

// The first `shown` reasons joined by "; ", with "and N more" after them.
std::string summarize(const std::vector<std::string>& reasons);

// The part of HAProxy's complaint that names the error (its output arrives as " | "-joined
// lines), for Events and logs: the first "parsing [...]" ALERT, else the first ALERT.
std::string first_alert(const std::string& message);

// The error of an apply that found the master silent but alive (HaproxyMaster::taken_for_dead
// said no): nothing is changed, and the apply is retried.
Error master_still_running(const Error& silence);

}  // namespace berth::haproxy
