#include "kube/cache_sync.h"

#include <algorithm>

namespace berth::kube {

bool wait_for_cache_sync(const std::vector<std::function<bool()>>& synced, std::stop_token stop, Clock& clock,
                         Clock::duration timeout, Clock::duration poll) {
  const Clock::time_point deadline = clock.now() + timeout;
  for (;;) {
    if (stop.stop_requested()) return false;
    if (std::all_of(synced.begin(), synced.end(), [](const auto& f) { return f(); })) return true;
    const Clock::time_point now = clock.now();
    if (now >= deadline) return false;
    if (!clock.sleep_until(std::min(now + poll, deadline), stop)) return false;
  }
}

}  // namespace berth::kube
