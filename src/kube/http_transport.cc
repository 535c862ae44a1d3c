#include "kube/http_transport.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace berth::kube {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::optional<std::string> HttpHeaders::get(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

std::optional<std::chrono::seconds> HttpResponse::retry_after() const {
  auto value = headers.get("Retry-After");
  if (!value) return std::nullopt;
  std::string_view s = *value;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  long long seconds = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
  // The HTTP-date form is not used by the API server; ignore it rather than guess.
  if (ec != std::errc() || ptr != s.data() + s.size() || seconds < 0) return std::nullopt;
  return std::chrono::seconds(seconds);
}

}  // namespace berth::kube
