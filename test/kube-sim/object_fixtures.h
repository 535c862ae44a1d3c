// Minimal objects for the ObjectStore's tests: what a client would POST, before defaults.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace berth::kubesim {

// A Service with one port.
inline nlohmann::json service(std::string name, int port = 80) {
  return {{"metadata", {{"name", std::move(name)}}}, {"spec", {{"ports", nlohmann::json::array({{{"port", port}}})}}}};
}

// A Service with one port (80) and the given labels, for selector and watch tests.
inline nlohmann::json labeled_service(std::string name, nlohmann::json labels = nlohmann::json::object()) {
  nlohmann::json s = service(std::move(name));
  s["metadata"]["labels"] = std::move(labels);
  return s;
}

// A Service with the given spec, as sent (the validation and ClusterIP tests).
inline nlohmann::json svc(std::string name, nlohmann::json spec) {
  return {{"metadata", {{"name", std::move(name)}}}, {"spec", std::move(spec)}};
}

inline std::uint64_t rv_of(const nlohmann::json& obj) {
  return std::stoull(obj["metadata"]["resourceVersion"].get<std::string>());
}

}  // namespace berth::kubesim
