#include "kube/name_validation.h"

#include <algorithm>

#include <fmt/format.h>

namespace berth::kube {
namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

bool is_dns1123_label(std::string_view s) {
  if (s.empty() || s.size() > 63 || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

std::string max_len(std::size_t n) { return fmt::format("must be no more than {} characters", n); }

}  // namespace

std::string dns1123_label_error(std::string_view value) {
  if (value.size() > 63) return max_len(63);
  if (is_dns1123_label(value)) return "";
  return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
         "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
}

std::string dns1123_subdomain_error(std::string_view value) {
  if (value.size() > 253) return max_len(253);
  bool ok = !value.empty();
  std::size_t start = 0;
  while (ok) {
    std::size_t dot = value.find('.', start);
    std::string_view part = value.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    // Subdomain labels may be longer than 63 characters in kube-apiserver's regex; only the
    // characters and the ends matter.
    ok = !part.empty() && lower_alnum(part.front()) && lower_alnum(part.back()) &&
         std::all_of(part.begin(), part.end(), [](char c) { return lower_alnum(c) || c == '-'; });
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (ok) return "";
  return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
         "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
}

std::string dns1035_label_error(std::string_view value) {
  if (value.size() > 63) return max_len(63);
  if (!value.empty() && value.front() >= 'a' && value.front() <= 'z' && is_dns1123_label(value)) return "";
  return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
         "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
         "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
}

std::string qualified_name_error(std::string_view value) {
  std::string_view name = value;
  if (auto slash = value.find('/'); slash != std::string_view::npos) {
    std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) return "prefix part must be non-empty";
    if (auto e = dns1123_subdomain_error(prefix); !e.empty()) return "prefix part " + e;
  }
  if (name.empty()) return "name part must be non-empty";
  if (name.size() > 63) return "name part " + max_len(63);
  if (alnum(name.front()) && alnum(name.back()) &&
      std::all_of(name.begin(), name.end(), [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; })) {
    return "";
  }
  return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
         "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
         "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
}

std::string label_value_error(std::string_view value) {
  if (value.empty()) return "";
  if (value.size() > 63) return max_len(63);
  if (alnum(value.front()) && alnum(value.back()) &&
      std::all_of(value.begin(), value.end(), [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; })) {
    return "";
  }
  return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
         "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
         "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
}

}  // namespace berth::kube
