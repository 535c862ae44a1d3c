#include "common/go_duration.h"

#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "common/ascii.h"

namespace berth {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t nanos;
};

// Longest names first, so "ms" is not read as "m" followed by "s".
constexpr Unit kUnits[] = {{"ns", 1},
                           {"us", 1'000},
                           {"\xC2\xB5s", 1'000},  // µs (micro sign)
                           {"\xCE\xBCs", 1'000},  // μs (Greek mu), as Go accepts both
                           {"ms", 1'000'000},
                           {"s", 1'000'000'000},
                           {"m", 60'000'000'000},
                           {"h", 3'600'000'000'000}};

}  // namespace

Result<std::chrono::nanoseconds> parse_go_duration(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("invalid duration \"{}\": {}", text, why));
  };
  if (text.empty()) return invalid("empty");
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.front() == '-' || text.front() == '+') return invalid("a sign is not allowed");
  std::string_view rest = text;
  // Accumulated as long double per term, then checked against int64: exact enough for flags
  // (whole nanoseconds) and immune to overflow while parsing.
  long double total = 0;
  while (!rest.empty()) {
    std::size_t i = 0;
    long double whole = 0;
    bool digits = false;
    while (i < rest.size() && is_ascii_digit(rest[i])) {
      whole = whole * 10 + (rest[i] - '0');
      digits = true;
      ++i;
    }
    long double fraction = 0, scale = 1;
    if (i < rest.size() && rest[i] == '.') {
      ++i;
      while (i < rest.size() && is_ascii_digit(rest[i])) {
        scale /= 10;
        fraction += (rest[i] - '0') * scale;
        digits = true;
        ++i;
      }
    }
    if (!digits) return invalid("expected a number");
    rest.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (rest.starts_with(u.name)) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return invalid(rest.empty() ? "missing unit (ns, us, ms, s, m, h)" : "unknown unit");
    rest.remove_prefix(unit->name.size());
    total += (whole + fraction) * static_cast<long double>(unit->nanos);
    if (total > static_cast<long double>(std::numeric_limits<std::int64_t>::max())) return invalid("too large");
  }
  return std::chrono::nanoseconds(static_cast<std::int64_t>(total));
}

std::string format_go_duration(std::chrono::nanoseconds d) {
  std::int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  // |INT64_MIN| does not fit: work in unsigned.
  std::uint64_t u = ns < 0 ? static_cast<std::uint64_t>(-(ns + 1)) + 1 : static_cast<std::uint64_t>(ns);
  auto with_fraction = [](std::uint64_t value, std::uint64_t per_unit, std::string_view unit) {
    std::string out = std::to_string(value / per_unit);
    std::uint64_t frac = value % per_unit;
    if (frac != 0) {
      std::string digits = std::to_string(frac);
      digits.insert(0, std::to_string(per_unit).size() - 1 - digits.size(), '0');
      while (digits.back() == '0') digits.pop_back();
      out += "." + digits;
    }
    return out + std::string(unit);
  };
  if (u < 1'000) return sign + std::to_string(u) + "ns";
  if (u < 1'000'000) return sign + with_fraction(u, 1'000, "\xC2\xB5s");
  if (u < 1'000'000'000) return sign + with_fraction(u, 1'000'000, "ms");
  std::string out = sign;
  const std::uint64_t hours = u / 3'600'000'000'000ULL;
  u %= 3'600'000'000'000ULL;
  const std::uint64_t minutes = u / 60'000'000'000ULL;
  u %= 60'000'000'000ULL;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  return out + with_fraction(u, 1'000'000'000, "s");
}

}  // namespace berth
