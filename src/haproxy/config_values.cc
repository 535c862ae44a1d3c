#include "haproxy/config_values.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace berth::haproxy {
namespace {

[[noreturn]] void broken_invariant(std::string_view what, std::string_view value) {
  // Writing such a value into haproxy.cfg could add config lines; model.h promises it never
  // gets here, so this is a bug in whatever built the model.
  std::fprintf(stderr, "berth: ConfigRenderer: %.*s \"%.*s\" is not a validated value\n",
               static_cast<int>(what.size()), what.data(), static_cast<int>(value.size()), value.data());
  std::abort();
}

bool all_of_alphabet(std::string_view text, std::string_view extra) {
  return std::ranges::all_of(text, [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

}  // namespace

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms != 0 && ms % 1'000 == 0) return fmt::format("{}s", ms / 1'000);
  return fmt::format("{}ms", ms);
}

std::string_view balance_keyword(Balance balance) {
  switch (balance) {
    case Balance::kRoundRobin: return "roundrobin";
    case Balance::kLeastConn: return "leastconn";
    case Balance::kFirst: return "first";
    case Balance::kSource: return "source";
  }
  std::abort();
}

const std::string& checked_path(std::string_view what, const std::string& path) {
  if (path.size() < 2 || path.front() != '/' || !all_of_alphabet(path, "._/-")) broken_invariant(what, path);
  return path;
}

std::string checked_check_user(const BackendOptions& options) {
  const auto kind = options.check;
  if (options.check_http || (kind != CheckKind::kMysql && kind != CheckKind::kPgsql)) return {};
  if (options.check_user.size() > 63 || !all_of_alphabet(options.check_user, "_.-")) {
    broken_invariant("check user", options.check_user);
  }
  if (kind == CheckKind::kPgsql && options.check_user.empty()) return "postgres";
  return options.check_user;
}

const std::string& checked_http_path(const HttpCheck& check) {
  const auto& path = check.path;
  if (path.empty() || path.size() > 256 || path.front() != '/' || !all_of_alphabet(path, "._~/-")) {
    broken_invariant("HTTP check path", path);
  }
  return path;
}

bool is_dns_label(std::string_view text) {
  if (text.empty() || text.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return alnum(text.front()) && alnum(text.back()) &&
         std::ranges::all_of(text, [&](char c) { return alnum(c) || c == '-'; });
}

}  // namespace berth::haproxy
