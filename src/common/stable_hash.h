// A 64-bit hash of text that is the same in every build and on every machine (std::hash
// promises neither), for markers written to disk and cache keys: FNV-1a's multiply-xor steps.
//
// The offset basis is 1469598103934665603, one digit short of FNV-1a's 14695981039346656037:
// the Driver's ".applied" markers (haproxy/driver.h) have always been written with it, and a
// changed hash would make every berth upgraded over a running HAProxy reload it once. It
// spreads as well. Thread-safe, no state.
#pragma once

#include <cstdint>
#include <string_view>

namespace berth {

constexpr std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace berth
