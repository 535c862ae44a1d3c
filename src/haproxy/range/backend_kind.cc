#include "haproxy/range/backend_kind.h"

#include <charconv>

#include <fmt/format.h>

#include "common/stable_hash.h"

namespace berth::haproxy {

BackendKind kind_of(const BackendOptions& options) {
  return BackendKind{.check = options.check,
                     .check_user = options.check_user,
                     .check_http = options.check_http,
                     .balance = options.balance,
                     .timeout_connect = options.timeout_connect,
                     .timeout_client = options.timeout_client,
                     .timeout_server = options.timeout_server,
                     .proxy_protocol = options.proxy_protocol};
}

std::string kind_id(const BackendKind& kind) {
  // Every field, separated by a byte no value holds; a field added to BackendKind must be added
  // here, or two kinds would share backends.
  const std::string canonical = fmt::format(
      "{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}", static_cast<int>(kind.check), kind.check_user,
      kind.check_http ? kind.check_http->port : 0, kind.check_http ? kind.check_http->path : std::string(),
      static_cast<int>(kind.balance), kind.timeout_connect.count(), kind.timeout_client.count(),
      kind.timeout_server.count(), static_cast<int>(kind.proxy_protocol));
  return fmt::format("k{:08x}", static_cast<std::uint32_t>(stable_hash(canonical)));
}

std::string range_backend_name(std::string_view kind_id, int index) { return fmt::format("{}_{}", kind_id, index); }

std::optional<RangeBackendName> parse_range_backend_name(std::string_view name) {
  constexpr std::size_t kIdSize = 9;  // "k" + 8 hex digits
  if (name.size() < kIdSize + 2 || name[0] != 'k' || name[kIdSize] != '_') return std::nullopt;
  for (std::size_t i = 1; i < kIdSize; ++i) {
    const char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  const auto digits = name.substr(kIdSize + 1);
  if (digits.front() == '0') return std::nullopt;
  int index = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || end != digits.data() + digits.size() || index <= 0) return std::nullopt;
  return RangeBackendName{std::string(name.substr(0, kIdSize)), index};
}

}  // namespace berth::haproxy
