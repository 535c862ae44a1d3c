// Kubernetes' rules for names, keys and label values, with kube-apiserver's wording.
// kube-sim validates objects with them, and berth validates its own annotation keys
// (--annotation-prefix, --class-annotation) with them, so both agree with a real cluster.
//
// Each function returns "" when `value` is valid, else the explanation kube-apiserver gives.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace berth::kube {

// A DNS-1123 label: at most 63 of [a-z0-9-], alphanumeric at both ends (namespaces, ...).
std::string dns1123_label_error(std::string_view value);
// A DNS-1123 subdomain: at most 253, dot-separated labels (most object names, key prefixes).
std::string dns1123_subdomain_error(std::string_view value);
// A DNS-1035 label: a DNS-1123 label that starts with a letter (Service names).
std::string dns1035_label_error(std::string_view value);
// A qualified name: an optional DNS-1123 subdomain prefix and "/", then a name of at most 63
// of [A-Za-z0-9-_.], alphanumeric at both ends (label and annotation keys).
std::string qualified_name_error(std::string_view value);
// A label value: empty, or at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends.
std::string label_value_error(std::string_view value);

}  // namespace berth::kube
