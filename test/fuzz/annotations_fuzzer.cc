// Feeds: the input bytes as a JSON object of annotations (string values only, as the API
// returns metadata.annotations) on a Service, read the two ways berth reads annotations:
//   - allocations (controller/allocation_annotations.h): parse_host_port() on every value,
//     read_allocation_annotations() on a Service with the TCP ports the keys name (and 3306),
//     and allocation_changes() to the valid allocations it read;
//   - options (dataplane/service_options.h): parse_service_options() and safe_excerpt();
// each with berth's default keys and with a custom class annotation and prefix. Every key and
// value also goes through kube/name_validation.h.
//
// Asserts, beyond no crash, leak, undefined behaviour or escaping exception:
//   - a host port is accepted only in canonical decimal 1..65535 (to_string(port) == text);
//   - applying allocation_changes() leaves exactly the desired allocation keys, with canonical
//     values, and touches no other annotation;
//   - option values that reach BackendOptions are in their safe alphabets (check user,
//     HTTP check path), allow-sources is sorted, unique and at most kMaxAllowSources;
//     servable is false only with an allow-sources problem;
//   - every problem message and every safe_excerpt() is one line of printable ASCII, bounded,
//     and the reason never quotes the value;
//   - the name validators accept exactly what kube-apiserver's regular expressions accept
//     (checked against std::regex on the documented expressions), so names berth accepts are
//     valid DNS labels and subdomains.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <regex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "controller/allocation_annotations.h"
#include "dataplane/service_options.h"
#include "fuzz_check.h"
#include "kube/name_validation.h"

namespace {

using berth::fuzz::is_printable_ascii;
using berth::fuzz::require;
namespace kube = berth::kube;
namespace controller = berth::controller;
namespace dataplane = berth::dataplane;

// kube-apiserver's expressions (k8s.io/apimachinery/pkg/util/validation), the reference the
// validators must agree with.
bool matches(std::string_view text, const std::regex& re) { return std::regex_match(text.begin(), text.end(), re); }
const std::regex kDns1123Label("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
const std::regex kDns1123Subdomain("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
const std::regex kDns1035Label("[a-z]([-a-z0-9]*[a-z0-9])?");
const std::regex kQualifiedNamePart("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");

bool reference_qualified_name(std::string_view text) {
  std::string_view name = text;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    std::string_view prefix = text.substr(0, slash);
    name = text.substr(slash + 1);
    if (prefix.empty() || prefix.size() > 253 || !matches(prefix, kDns1123Subdomain)) return false;
  }
  return !name.empty() && name.size() <= 63 && matches(name, kQualifiedNamePart);
}

void check_name_validation(std::string_view text) {
  // std::regex recurses per character; the names in question are at most 253 long anyway.
  if (text.size() > 300) return;
  require(kube::dns1123_label_error(text).empty() == (text.size() <= 63 && matches(text, kDns1123Label)),
          "dns1123_label_error agrees with kube-apiserver", text);
  require(kube::dns1123_subdomain_error(text).empty() == (text.size() <= 253 && matches(text, kDns1123Subdomain)),
          "dns1123_subdomain_error agrees with kube-apiserver", text);
  require(kube::dns1035_label_error(text).empty() == (text.size() <= 63 && matches(text, kDns1035Label)),
          "dns1035_label_error agrees with kube-apiserver", text);
  require(kube::qualified_name_error(text).empty() == reference_qualified_name(text),
          "qualified_name_error agrees with kube-apiserver", text);
  require(kube::label_value_error(text).empty() ==
              (text.empty() || (text.size() <= 63 && matches(text, kQualifiedNamePart))),
          "label_value_error agrees with kube-apiserver", text);
}

void check_host_port(const std::string& text) {
  const controller::HostPortValue value = controller::parse_host_port(text);
  if (const int* port = std::get_if<int>(&value)) {
    require(*port >= 1 && *port <= 65535 && std::to_string(*port) == text, "host ports are canonical 1..65535",
            text);
  } else {
    const auto& invalid = std::get<controller::InvalidValue>(value);
    require(invalid.raw == text && !invalid.reason.empty(), "an invalid value keeps the raw text and says why");
  }
}

void check_excerpt(const std::string& text) {
  const std::string excerpt = dataplane::safe_excerpt(text);
  require(is_printable_ascii(excerpt), "safe_excerpt is printable ASCII", excerpt);
  require(excerpt.size() >= 2 && excerpt.front() == '"', "safe_excerpt is quoted", excerpt);
  require(excerpt.size() <= 128, "safe_excerpt is bounded", excerpt);
}

void check_allocations(const std::map<std::string, std::string>& annotations, const controller::AnnotationConfig& config) {
  kube::Service service;
  service.meta.namespace_ = "tenant";
  service.meta.name = "db";
  service.meta.annotations = annotations;
  std::set<int> ports = {3306};
  for (const auto& [key, value] : annotations) {
    auto name = controller::name_under_prefix(config, key);
    if (!name || name->empty() || name->size() > 5 || !std::ranges::all_of(*name, [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    if (int port = std::stoi(std::string(*name)); port >= 1 && port <= 65535) ports.insert(port);
  }
  for (int port : ports) service.ports.push_back(kube::ServicePort{.port = port, .target_port = {port}});

  const controller::AllocationAnnotations read = controller::read_allocation_annotations(service, config);
  std::map<int, int> desired;
  for (const auto& [service_port, value] : read.by_service_port) {
    require(ports.contains(service_port), "allocations belong to spec ports");
    if (const int* host_port = std::get_if<int>(&value)) desired.emplace(service_port, *host_port);
  }
  for (const auto& stale : read.stale) {
    require(controller::is_allocation_key(config, stale.key), "stale entries are allocation keys", stale.key);
  }

  std::map<std::string, std::string> after = annotations;
  for (const auto& [key, change] : controller::allocation_changes(service.meta, config, desired)) {
    require(controller::is_allocation_key(config, key), "changes touch allocation keys only", key);
    if (change) {
      after[key] = *change;
    } else {
      after.erase(key);
    }
  }
  for (const auto& [key, value] : after) {
    if (!controller::is_allocation_key(config, key)) {
      require(annotations.contains(key) && annotations.at(key) == value, "other annotations are untouched", key);
      continue;
    }
    auto name = controller::name_under_prefix(config, key);
    require(name->size() <= 5, "after the changes, no allocation key is out of range", key);
    int service_port = std::stoi(std::string(*name));
    require(std::to_string(service_port) == *name && desired.contains(service_port) &&
                std::to_string(desired.at(service_port)) == value,
            "after the changes, the allocation keys are exactly the desired ones", key);
  }
  for (const auto& [service_port, host_port] : desired) {
    require(after.contains(controller::allocation_key(config, service_port)), "every desired allocation is written");
  }
  for (const auto& [key, value] : annotations) {
    if (!controller::is_allocation_key(config, key)) require(after.contains(key), "other annotations stay", key);
  }
}

bool in_alphabet(std::string_view text, std::string_view extra) {
  return std::ranges::all_of(text, [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

void check_options(const std::map<std::string, std::string>& annotations, const controller::AnnotationConfig& config) {
  const dataplane::ServiceOptions parsed = dataplane::parse_service_options(annotations, config);
  const auto& o = parsed.options;
  require(o.check_user.size() <= 63 && in_alphabet(o.check_user, "_.-"), "the check user is safe", o.check_user);
  if (o.check_http) {
    const std::string& path = o.check_http->path;
    require(path.starts_with('/') && path.size() <= 256 && in_alphabet(path, "._~/-"), "the check path is safe", path);
    require(o.check_http->port >= 1 && o.check_http->port <= 65535, "the check port is 1..65535");
  }
  require(o.allow_sources.size() <= dataplane::kMaxAllowSources, "allow-sources is bounded");
  require(std::ranges::is_sorted(o.allow_sources) &&
              std::ranges::adjacent_find(o.allow_sources) == o.allow_sources.end(),
          "allow-sources is sorted and unique");
  require(o.maxconn >= 0 && o.timeout_connect.count() > 0 && o.timeout_client.count() > 0 &&
              o.timeout_server.count() > 0,
          "numbers are positive");
  bool allow_sources_problem = false;
  for (const auto& problem : parsed.problems) {
    const std::string message = problem.message();
    require(is_printable_ascii(message), "a problem is one line of printable ASCII", message);
    require(message.size() <= 1024, "a problem is bounded", message);
    if (problem.key.find("allow-sources") != std::string::npos) allow_sources_problem = true;
  }
  require(parsed.servable || allow_sources_problem, "only allow-sources makes a Service unservable");
  require(std::ranges::is_sorted(parsed.problems), "problems are sorted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto doc = nlohmann::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr,
                                         /*allow_exceptions=*/false);
  if (!doc.is_object()) return 0;
  std::map<std::string, std::string> annotations;
  for (const auto& [key, value] : doc.items()) {
    if (value.is_string()) annotations.emplace(key, value.get<std::string>());
  }
  for (const auto& [key, value] : annotations) {
    check_name_validation(key);
    check_name_validation(value);
    check_host_port(value);
    check_excerpt(key);
    check_excerpt(value);
  }
  const controller::AnnotationConfig custom{
      .class_annotation = "berth.example.com/expose", .ingress_class = "true", .prefix = "berth.example.com"};
  for (const controller::AnnotationConfig& config : {controller::AnnotationConfig{}, custom}) {
    require(controller::validate(config).has_value(), "the configs under test are valid");
    check_allocations(annotations, config);
    check_options(annotations, config);
  }
  return 0;
}
