#include "controller/annotation_keys.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/ascii.h"
#include "kube/name_validation.h"

namespace berth::controller {

Result<void> validate(const AnnotationConfig& config) {
  if (auto error = kube::dns1123_subdomain_error(config.prefix); !error.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--annotation-prefix \"{}\" is not a DNS-1123 subdomain: {}", config.prefix, error));
  }
  if (auto error = kube::qualified_name_error(config.class_annotation); !error.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--class-annotation \"{}\" is not a valid annotation key: {}",
                                  config.class_annotation, error));
  }
  // berth rewrites and deletes its own keys; a marker among them would unmark the Service.
  if (is_allocation_key(config, config.class_annotation) || config.class_annotation == quarantine_key(config)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--class-annotation \"{}\" collides with berth's own keys under "
                                  "--annotation-prefix \"{}\"",
                                  config.class_annotation, config.prefix));
  }
  if (config.ingress_class.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "--ingress-class must not be empty");
  }
  return {};
}

bool is_marked(const kube::ObjectMeta& meta, const AnnotationConfig& config) {
  auto it = meta.annotations.find(config.class_annotation);
  return it != meta.annotations.end() && it->second == config.ingress_class;
}

std::string allocation_key(const AnnotationConfig& config, int service_port) {
  return fmt::format("{}/{}", config.prefix, service_port);
}

std::optional<std::string_view> name_under_prefix(const AnnotationConfig& config, std::string_view key) {
  if (key.size() <= config.prefix.size() || !key.starts_with(config.prefix) || key[config.prefix.size()] != '/') {
    return std::nullopt;
  }
  return key.substr(config.prefix.size() + 1);
}

bool is_allocation_key(const AnnotationConfig& config, std::string_view key) {
  auto name = name_under_prefix(config, key);
  return name && is_ascii_digits(*name);
}

std::string quarantine_key(const AnnotationConfig& config) { return config.prefix + "/quarantine"; }

}  // namespace berth::controller
