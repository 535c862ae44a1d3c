// `berth status`: reads a running berth's GET /status (on its --metrics-bind-address) and prints
// a table of every marked Service port, or the JSON document itself (status_report.h).
//
//   berth status --address 127.0.0.1:8080 [--output table|json] [--timeout 5s]
//
//   berth 0.1.0  leader  ready  haproxy master 41, worker 97, 0 old workers
//   SERVICE          PORT  HOST PORT  STATE        BACKENDS UP  DOWN  SESSIONS  REASON
//   default/mysql    3306  20000      serving      1            0     2
//   default/waiting  5432  -          not served   0            0     0         no host port allocated yet
//
// Exit codes: 0 printed; 1 berth could not be reached or answered something that is not its
// status (the reason on stderr); 2 a usage error.
//
// Thread-safety: a command of its own; not for use inside the controller.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace berth::app {

// The table for a status document; a field the document lacks prints as "-". Pure, for tests.
std::string render_status_table(const nlohmann::json& status);

// argv[0] is "status". Prints to stdout (and errors to stderr); returns the exit code.
int run_status_command(int argc, const char* const* argv);

}  // namespace berth::app
