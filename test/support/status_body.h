// The JSON body of a failed Kubernetes API request (a metav1.Status), as kube-apiserver sends it,
// for tests that script API answers.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace berth::testing {

inline std::string failure_status_body(int code, std::string_view reason, std::string_view message) {
  return nlohmann::json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                        {"reason", reason}, {"message", message}, {"code", code}}
      .dump();
}

}  // namespace berth::testing
