#include "haproxy/settings_validation.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace berth::haproxy {

std::string config_path_error(std::string_view path, std::size_t max_length) {
  if (path.empty() || path[0] != '/') return "must be an absolute path";
  if (path.size() > max_length) return fmt::format("is longer than {} bytes", max_length);
  for (char c : path) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '/' || c == '-';
    if (!safe) return "may contain only letters, digits and . _ / -";
  }
  for (std::size_t start = 1; start <= path.size();) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    if (part == "." || part == "..") return "must not contain . or .. components";
    start = end + 1;
  }
  return "";
}

Result<LogTarget> parse_log_target(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("log target \"{}\": {}", text, why));
  };
  if (text == "none") return LogTarget{};
  if (text == "stdout") return LogTarget{.kind = LogTarget::Kind::kStdout};
  if (text == "stderr") return LogTarget{.kind = LogTarget::Kind::kStderr};
  if (!text.empty() && text[0] == '/') {
    if (auto error = config_path_error(text, kMaxSocketPath); !error.empty()) return invalid(error);
    return LogTarget{.kind = LogTarget::Kind::kUnixSocket, .path = std::string(text)};
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return invalid("expected none, stdout, stderr, an absolute socket path or <ip>:<port>");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return invalid("write an IPv6 address in brackets: [fd00::1]:514");
  }
  auto address = IpAddress::parse(host);
  if (!address) return invalid(address.error().message);
  const std::string_view digits = text.substr(colon + 1);
  int port = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || port < 1 || port > 65535 ||
      digits[0] == '0') {
    return invalid("the port must be 1..65535");
  }
  return LogTarget{.kind = LogTarget::Kind::kUdp, .address = *address, .port = port};
}

}  // namespace berth::haproxy
