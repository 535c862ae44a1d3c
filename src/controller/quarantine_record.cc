#include "controller/quarantine_record.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "controller/allocation_annotations.h"

namespace berth::controller {
namespace {

using namespace std::chrono;

// The latest second system_clock::time_point can hold (nanoseconds in libstdc++: 2262-04-11).
// A later value is garbage, and converting it would overflow (UBSan caught year 9999 doing so).
constexpr std::int64_t kMaxUnixSeconds =
    duration_cast<seconds>(system_clock::time_point::max().time_since_epoch()).count();

}  // namespace

std::string format_quarantine(const QuarantinedPorts& ports) {
  std::string out = "{";
  for (const auto& [port, release] : ports) {
    if (out.size() > 1) out += ',';
    fmt::format_to(std::back_inserter(out), "\"{}\":{}", port, ceil<seconds>(release).time_since_epoch().count());
  }
  out += '}';
  return out;
}

Result<QuarantineRecord> parse_quarantine(std::string_view text) {
  QuarantineRecord record;
  if (std::ranges::all_of(text, [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; })) {
    return record;
  }
  nlohmann::json document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) {
    return make_error(ErrorCode::kParse,
                      document.is_discarded() ? "quarantine record is not valid JSON"
                                              : "quarantine record is not a JSON object");
  }
  for (const auto& [key, value] : document.items()) {
    HostPortValue port = parse_host_port(key);
    if (const auto* invalid = std::get_if<InvalidValue>(&port)) {
      record.problems.push_back(fmt::format("entry \"{}\": key is not a port ({})", key, invalid->reason));
      continue;
    }
    std::int64_t seconds_since_epoch = -1;
    if (value.is_number_unsigned()) {
      seconds_since_epoch = value.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxUnixSeconds)
                                ? -1
                                : static_cast<std::int64_t>(value.get<std::uint64_t>());
    } else if (value.is_number_integer()) {
      seconds_since_epoch = value.get<std::int64_t>();
    }
    if (seconds_since_epoch < 0 || seconds_since_epoch > kMaxUnixSeconds) {
      // A hand-edited record may hold anything; keep the report one short line.
      std::string shown = value.dump();
      if (shown.size() > 40) shown = shown.substr(0, 40) + "...";
      record.problems.push_back(
          fmt::format("entry \"{}\": release time {} is not Unix seconds 0..{}", key, shown, kMaxUnixSeconds));
      continue;
    }
    record.ports.emplace(std::get<int>(port), system_clock::time_point(seconds(seconds_since_epoch)));
  }
  return record;
}

}  // namespace berth::controller
