// Waiting for informer caches before starting workers: client-go's WaitForCacheSync.
//
//   if (!wait_for_cache_sync({[&] { return services.has_synced(); },
//                             [&] { return slices.has_synced(); }}, stop, clock, 2min)) {
//     return;  // stopped or timed out: do not start the workers
//   }
//
// Polls every `poll` on `clock` (the reflectors fill the caches on their own threads).
// Thread-safety: a free function; the predicates must be safe to call from this thread.
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <vector>

#include "common/clock.h"

namespace berth::kube {

// True once every predicate returned true; false when `stop` is requested or `timeout` passes
// first.
bool wait_for_cache_sync(const std::vector<std::function<bool()>>& synced, std::stop_token stop, Clock& clock,
                         Clock::duration timeout,
                         Clock::duration poll = std::chrono::milliseconds(100));

}  // namespace berth::kube
