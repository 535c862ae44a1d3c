// Writing core/v1 Events about an object (a Service with a bad annotation, a port allocated).
//
//   create_event(client, object_reference(kServices, service.meta), EventType::kWarning,
//                "InvalidAnnotation", "haproxy-ingress/balance: unknown algorithm \"x\"", "berth");
//
// Each call creates one Event named "<object>.<hex nanoseconds>" like client-go's recorder;
// there is no aggregation of repeated events (count is 1). Messages longer than 1024 bytes are
// cut at a UTF-8 character boundary.
//
// Errors: those of ApiClient::create. Thread-safety: as the ApiClient.
#pragma once

#include <chrono>
#include <string_view>

#include "common/error.h"
#include "kube/api_client.h"
#include "kube/event.h"
#include "kube/object_meta.h"
#include "kube/resource.h"

namespace berth::kube {

enum class EventType { kNormal, kWarning };

std::string_view to_string(EventType type);

// The reference to `meta`, an object of `type`.
ObjectReference object_reference(const ResourceType& type, const ObjectMeta& meta);

// The Event that create_event() sends (in the involved object's namespace).
Event make_event(const ObjectReference& involved, EventType type, std::string_view reason,
                 std::string_view message, std::string_view component, std::chrono::system_clock::time_point now);

Result<Event> create_event(ApiClient& client, const ObjectReference& involved, EventType type,
                           std::string_view reason, std::string_view message, std::string_view component,
                           std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace berth::kube
