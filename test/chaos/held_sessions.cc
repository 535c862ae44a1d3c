#include "chaos/held_sessions.h"

#include <fmt/format.h>

namespace berth::chaos {

using namespace std::chrono_literals;

Result<void> HeldSessions::open(const std::string& address, int host_port, const std::string& backend, int count) {
  for (int i = 0; i < count; ++i) {
    auto session = testing::session_with(address, host_port, backend, 5s);
    const std::string name = fmt::format("{}:{} {} #{}", address, host_port, backend, i);
    if (!session) return make_error(ErrorCode::kInternal, name + ": " + session.error().describe());
    sessions_.push_back(Session{.name = name, .client = std::move(*session), .round_trips = 0});
  }
  return {};
}

int HeldSessions::check() {
  int cut_now = 0;
  for (Session& s : sessions_) {
    if (!s.client) continue;
    if (s.client->round_trip(fmt::format("{} {}", s.name, s.round_trips), 5s)) {
      ++s.round_trips;
      continue;
    }
    s.client.reset();
    ++cut_now;
    cut_names_.push_back(fmt::format("{} after {} round trips", s.name, s.round_trips));
  }
  cut_ += cut_now;
  return cut_now;
}

}  // namespace berth::chaos
