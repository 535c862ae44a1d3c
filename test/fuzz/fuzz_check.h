// What the fuzz targets share: an invariant check that holds in every build type (assert()
// vanishes under NDEBUG, and the fuzz build is RelWithDebInfo), and the byte-level properties
// several targets assert about text berth shows to people or to HAProxy.
//
// require() prints the broken invariant with its place and aborts, which libFuzzer reports as
// a crash and saves the input (crash-<sha1>) for replay.
//
// Thread-safety: pure functions; the fuzz targets are single-threaded.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <source_location>
#include <string_view>

namespace berth::fuzz {

[[noreturn]] inline void invariant_broken(std::string_view what, std::string_view detail,
                                          const std::source_location& where) {
  std::fprintf(stderr, "%s:%u: fuzz invariant broken: %.*s\n", where.file_name(), where.line(),
               static_cast<int>(what.size()), what.data());
  if (!detail.empty()) std::fprintf(stderr, "  detail: %.*s\n", static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// `detail` is shown when the invariant breaks (the offending value, say); pass something cheap.
inline void require(bool holds, std::string_view what, std::string_view detail = {},
                    const std::source_location& where = std::source_location::current()) {
  if (!holds) invariant_broken(what, detail, where);
}

// Printable ASCII (0x20..0x7E) only: safe for one line of a log, an Event or a config.
inline bool is_printable_ascii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace berth::fuzz
