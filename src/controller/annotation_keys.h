// The one place for berth's annotation keys on a Service: the marker that exposes it and the
// write-back keys "<prefix>/<service port>" that hold its host ports.
//
// The defaults are those of the system berth grew from (`ingress: haproxy-ingress`,
// `haproxy-ingress/3306: "26735"`), so its users can migrate without touching their Services.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "kube/object_meta.h"

namespace berth::controller {

struct AnnotationConfig {
  std::string class_annotation = "ingress";        // --class-annotation
  std::string ingress_class = "haproxy-ingress";   // --ingress-class
  std::string prefix = "haproxy-ingress";          // --annotation-prefix
};

// Accepts the config as a whole or rejects it (kInvalidArgument) with a message that names the
// flag and the rule it breaks: the prefix must be a DNS-1123 subdomain (≤ 253 characters) so
// that "<prefix>/<port>" is a valid annotation key; the class annotation must be a valid
// qualified name and must not be one of berth's own keys under the prefix; the ingress class
// must not be empty.
Result<void> validate(const AnnotationConfig& config);

// Whether the Service (its metadata) asks to be exposed: annotation class_annotation equals
// ingress_class exactly.
bool is_marked(const kube::ObjectMeta& meta, const AnnotationConfig& config);

// "haproxy-ingress/3306". service_port is 1..65535 (a caller's invariant).
std::string allocation_key(const AnnotationConfig& config, int service_port);

// The part after "<prefix>/" when `key` lies under the prefix, else nullopt.
std::optional<std::string_view> name_under_prefix(const AnnotationConfig& config, std::string_view key);

// Whether `key` is a write-back key: under the prefix with an all-digit name part. Option
// annotations under the same prefix ("haproxy-ingress/check") are not.
bool is_allocation_key(const AnnotationConfig& config, std::string_view key);

// "<prefix>/quarantine": the Lease annotation holding quarantined host ports
// (see quarantine_record.h).
std::string quarantine_key(const AnnotationConfig& config);

}  // namespace berth::controller
