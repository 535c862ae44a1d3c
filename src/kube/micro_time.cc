#include "kube/micro_time.h"

#include <charconv>

#include <fmt/format.h>

namespace berth::kube {
namespace {

using namespace std::chrono;

bool read_int(std::string_view& s, std::size_t digits, int& out) {
  if (s.size() < digits) return false;
  for (std::size_t i = 0; i < digits; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  std::from_chars(s.data(), s.data() + digits, out);
  s.remove_prefix(digits);
  return true;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || (s.front() != c && !(c == 'T' && s.front() == 't'))) return false;
  s.remove_prefix(1);
  return true;
}

// "2026-11-23T19:29:33" (no zone), the part both time formats share.
std::string utc_seconds(sys_seconds s) {
  const auto day = floor<days>(s);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{s - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

}  // namespace

std::string format_micro_time(system_clock::time_point t) {
  const auto us = floor<microseconds>(t);
  return fmt::format("{}.{:06}Z", utc_seconds(floor<seconds>(us)), (us - floor<seconds>(us)).count());
}

std::string format_time(system_clock::time_point t) { return utc_seconds(floor<seconds>(t)) + "Z"; }

Result<system_clock::time_point> parse_time(std::string_view text) {
  auto bad = [&] { return make_error(ErrorCode::kParse, fmt::format("\"{}\" is not an RFC 3339 time", text)); };
  std::string_view s = text;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!read_int(s, 4, y) || !expect(s, '-') || !read_int(s, 2, mo) || !expect(s, '-') || !read_int(s, 2, d) ||
      !expect(s, 'T') || !read_int(s, 2, h) || !expect(s, ':') || !read_int(s, 2, mi) || !expect(s, ':') ||
      !read_int(s, 2, sec)) {
    return bad();
  }
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return bad();
  nanoseconds fraction{0};
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    long long scale = 100'000'000;
    std::size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
      fraction += nanoseconds((s[n] - '0') * scale);
      scale /= 10;
      ++n;
    }
    if (n == 0) return bad();
    s.remove_prefix(n);
  }
  minutes offset{0};
  if (!s.empty() && (s.front() == 'Z' || s.front() == 'z')) {
    s.remove_prefix(1);
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    int sign = s.front() == '+' ? 1 : -1;
    s.remove_prefix(1);
    int oh = 0, om = 0;
    if (!read_int(s, 2, oh) || !expect(s, ':') || !read_int(s, 2, om)) return bad();
    offset = minutes(sign * (oh * 60 + om));
  } else {
    return bad();
  }
  if (!s.empty()) return bad();
  auto t = sys_days{ymd} + hours(h) + minutes(mi) + seconds(sec) + fraction - offset;
  return time_point_cast<system_clock::duration>(t);
}

}  // namespace berth::kube
