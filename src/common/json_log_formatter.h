// berth's log lines as JSON objects, one per line (--log-format json), for log pipelines:
//
//   I1201 20:14:57.407112 allocator] allocated service=default/db port=3306 host_port=20000
// becomes
//   {"ts":"2026-12-01T20:14:57.407112Z","level":"info","logger":"allocator","msg":"allocated",
//    "service":"default/db","port":"3306","host_port":"20000"}
//
// berth's messages are "<words> key=value key=\"quoted value\" ...": the words become "msg"
// and each pair a field (values stay strings). A message that does not have that shape (a
// word after a pair, a key that is not [a-z0-9_]+ or clashes with ts/level/logger/msg) is
// kept whole in "msg" with no fields, so nothing is ever lost or misattributed. Timestamps are
// UTC. JSON escaping comes from nlohmann::json, so no message can break the line.
//
// Thread-safety: a formatter is used by one sink at a time (spdlog's contract); the functions
// are pure.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/formatter.h>

namespace berth {

struct LogFields {
  std::string msg;
  std::vector<std::pair<std::string, std::string>> fields;  // in message order
};

// Splits a message as described above.
LogFields split_log_fields(std::string_view message);

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }
};

}  // namespace berth
