// Server-side printing: the meta.k8s.io/v1 Table that kubectl asks for
// (Accept: application/json;as=Table;v=v1;g=meta.k8s.io) so that `kubectl get` shows the same
// columns as against kube-apiserver (Service: NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE,
// SELECTOR with -o wide; Namespace, Event, EndpointSlice and Lease likewise).
//
// Each row carries the full object (kubectl reads the namespace for -A from it). A watch that
// asked for tables gets one single-row Table per event.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/resource.h"

namespace berth::kubesim {

// Whether an Accept header asks for a meta.k8s.io Table (of any version kube-sim can produce).
bool accepts_table(std::string_view accept_header);

// A Table of `objects`; `resource_version`/`continue_token` go to its metadata when non-empty.
// `now` is the wall-clock time the AGE columns are computed against.
nlohmann::json make_table(const kube::ResourceType& type, const std::vector<nlohmann::json>& objects,
                          std::chrono::system_clock::time_point now, std::string_view resource_version = "",
                          std::string_view continue_token = "");

// kubectl's short ages: "45s", "5m12s", "3h", "2d4h", "400d", "3y20d".
std::string human_duration(std::chrono::seconds age);

}  // namespace berth::kubesim
