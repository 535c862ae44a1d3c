// Character classes of the ASCII text berth parses (port numbers, durations, annotation keys).
//
// <cctype> is locale-dependent and undefined for negative chars, and every value berth parses
// is defined by an ASCII grammar, so these are plain range tests. Thread-safe, no state.
#pragma once

#include <algorithm>
#include <string_view>

namespace berth {

constexpr bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// True for a non-empty run of ASCII digits (no sign, no spaces).
constexpr bool is_ascii_digits(std::string_view text) {
  return !text.empty() && std::ranges::all_of(text, is_ascii_digit);
}

}  // namespace berth
